"""Streaming: ``session.advanced.stream(query)``, ``stream_with_statistics`` and
``stream_starting_with`` (RavenDB's names): every result, in the query's order, untracked, one
request; projections streamed as the same query returns them; what cannot be streamed is
refused before anything is read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rookdb import DocumentStore, InvalidOperationError, QueryError, StreamQueryStatistics
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Employee, Product


def _products(store: DocumentStore, count: int) -> None:
    with store.bulk_insert() as bulk:
        for i in range(count):
            bulk.store(Product(f"p{i:05d}", i % 7), id=f"products/{i:05d}")


def test_stream_a_query_yields_every_result_in_order(store: DocumentStore) -> None:
    _products(store, 2500)  # more than a page of every backend
    with store.open_session() as session:
        query = session.query(object_type=Product).order_by("name")
        with session.advanced.stream(query) as results:
            names = [r.document.name for r in results]
    assert names == [f"p{i:05d}" for i in range(2500)]


def test_stream_result_holds_id_change_vector_metadata_and_entity(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("Ada", "Lovelace"), "employees/ada")
        session.save_changes()
        change_vector = session.advanced.get_change_vector_for(session.load("employees/ada"))
    with store.open_session() as session:
        (result,) = list(session.advanced.stream(session.query(object_type=Employee)))
    assert result.key == "employees/ada"
    assert result.change_vector == change_vector
    assert isinstance(result.document, Employee)
    assert (result.document.first_name, result.document.Id) == ("Ada", "employees/ada")
    assert result.metadata["@id"] == "employees/ada"
    assert result.metadata["@collection"] == "Employees"
    assert result.metadata["@change-vector"] == change_vector
    assert result.metadata["@last-modified"]


def test_streamed_entities_are_not_tracked(store: DocumentStore) -> None:
    _products(store, 3)
    with store.open_session() as session:
        results = list(session.advanced.stream(session.query(object_type=Product)))
        for r in results:
            r.document.units_in_stock = 1000
        assert session.advanced.get_tracked_entities() == {}
        assert not session.advanced.is_loaded("products/00000")
        assert session.has_changes() is False
        session.save_changes()
        assert session.number_of_requests == 1  # the stream; nothing to save
        loaded = session.load("products/00000", Product)
        assert loaded is not results[0].document
        assert loaded.units_in_stock == 0


def test_stream_filters_pages_and_counts_with_statistics(store: DocumentStore) -> None:
    _products(store, 100)
    seen: list[StreamQueryStatistics] = []
    with store.open_session() as session:
        query = (
            session.query(object_type=Product)
            .where_equals("units_in_stock", 3)
            .order_by_descending("name")
            .skip(2)
            .take(5)
        )
        results = session.advanced.stream_with_statistics(query, seen.append)
        assert len(seen) == 1  # before the first result is read
        names = [r.document.name for r in results]
    matching = [f"p{i:05d}" for i in range(100) if i % 7 == 3]
    assert names == sorted(matching, reverse=True)[2:7]
    assert seen[0].total_results == len(matching)
    assert seen[0].is_stale is False


def test_stream_a_raw_query(store: DocumentStore) -> None:
    _products(store, 20)
    with store.open_session() as session:
        raw = session.advanced.raw_query("from Products where units_in_stock = 0", Product)
        ids = [r.key for r in session.advanced.stream(raw)]
    assert ids == ["products/00000", "products/00007", "products/00014"]


def test_stream_of_nothing(store: DocumentStore) -> None:
    with store.open_session() as session:
        assert list(session.advanced.stream(session.query(object_type=Product))) == []
        assert list(session.advanced.stream_starting_with("products/")) == []


def test_a_stream_is_one_request(store: DocumentStore) -> None:
    _products(store, 1200)
    calls = record_requests(store)
    with store.open_session() as session:
        assert len(list(session.advanced.stream(session.query(object_type=Product)))) == 1200
        assert session.number_of_requests == 1
    assert [c.method for c in calls] == ["stream_query"]


class NameOnly:
    name: str


def _query_and_stream(session: Any, query: Any) -> tuple[list[Any], list[Any]]:
    """What ``query`` returns, and what streaming it yields (its ``StreamResult``s)."""
    listed = query.to_list()
    return listed, list(session.advanced.stream(query))


def test_a_projection_streams_as_the_query_returns_it(store: DocumentStore) -> None:
    _products(store, 1200)  # more than a page
    with store.open_session() as session:
        query = (
            session.query(object_type=Product)
            .where_greater_than("units_in_stock", 4)
            .order_by_descending("name")
            .select_fields(dict, "name", "units_in_stock")
        )
        listed, streamed = _query_and_stream(session, query)
        assert [r.document for r in streamed] == listed
        assert len(listed) == len([i for i in range(1200) if i % 7 > 4])
        assert listed[0] == {"name": "p01196", "units_in_stock": 6}
        first = streamed[0]
        assert first.key == "products/01196"  # the document each projection came from
        assert first.change_vector
        assert first.metadata["@projection"] is True
        assert first.metadata["@id"] == "products/01196"
        assert first.metadata["@collection"] == "Products"
        assert first.metadata["@change-vector"] == first.change_vector
        assert first.metadata["@last-modified"]
        assert session.advanced.get_tracked_entities() == {}
        assert session.number_of_requests == 2  # the query and the stream


def test_a_projection_class_and_rql_select_stream(store: DocumentStore) -> None:
    _products(store, 30)
    with store.open_session() as session:
        by_class = session.query(object_type=Product).select_fields(NameOnly).skip(3).take(4)
        listed, streamed = _query_and_stream(session, by_class)
        assert [type(r.document) for r in streamed] == [NameOnly] * 4
        assert [r.document.name for r in streamed] == [n.name for n in listed]
        assert [r.key for r in streamed] == [f"products/{i:05d}" for i in range(3, 7)]
        raw = session.advanced.raw_query(
            "from Products where units_in_stock = $u select name as title, id() as key, missing",
            dict,
        ).add_parameter("u", 2)
        listed, streamed = _query_and_stream(session, raw)
        assert [r.document for r in streamed] == listed
        assert listed[:2] == [
            {"title": "p00002", "key": "products/00002", "missing": None},
            {"title": "p00009", "key": "products/00009", "missing": None},
        ]


def test_a_projection_streams_with_statistics(store: DocumentStore) -> None:
    _products(store, 50)
    seen: list[StreamQueryStatistics] = []
    with store.open_session() as session:
        query = (
            session.query(object_type=Product)
            .where_equals("units_in_stock", 1)
            .select_fields(dict, "name")
            .take(3)
        )
        results = session.advanced.stream_with_statistics(query, seen.append)
        names = [r.document["name"] for r in results]
    assert names == ["p00001", "p00008", "p00015"]
    assert seen[0].total_results == len([i for i in range(50) if i % 7 == 1])
    assert seen[0].index_name == "Auto/Products/Byunits_in_stock"


def test_stream_statistics_say_when_the_index_was_complete(store: DocumentStore) -> None:
    # RavenDB's IndexTimestamp: when the index last indexed. rookdb's automatic indexes are
    # written with the documents, so an index holds every write made before the stream
    # began; a collection scan uses no index, and says so (None; RavenDB's DateTime.MinValue).
    _products(store, 10)
    seen: list[StreamQueryStatistics] = []
    before = dt.datetime.now(dt.timezone.utc)
    with store.open_session() as session:
        indexed = session.query(object_type=Product).where_equals("units_in_stock", 3)
        list(session.advanced.stream_with_statistics(indexed, seen.append))
        scan = session.query(object_type=Product)
        list(session.advanced.stream_with_statistics(scan, seen.append))
    after = dt.datetime.now(dt.timezone.utc)
    assert seen[0].index_timestamp is not None
    # The wire keeps 7 digits of a second: allow the rounding.
    assert before - dt.timedelta(milliseconds=1) <= seen[0].index_timestamp <= after
    assert seen[1].index_name == "collection/Products"
    assert seen[1].index_timestamp is None


def test_distinct_and_includes_cannot_be_streamed(store: DocumentStore) -> None:
    calls = record_requests(store)
    with store.open_session() as session:
        advanced = session.advanced
        with pytest.raises(QueryError):
            advanced.stream(
                session.query(object_type=Product).select_fields(dict, "name").distinct()
            )
        with pytest.raises(QueryError):
            advanced.stream(session.query(object_type=Product).include("supplier"))
        with pytest.raises(InvalidOperationError):
            advanced.stream("from Products")  # type: ignore[arg-type]
        assert session.number_of_requests == 0
    assert calls == []


def test_writes_while_reading_a_stream(store: DocumentStore) -> None:
    # Streaming and writing in the same thread, as an export-and-fix loop does.
    _products(store, 1500)
    with store.open_session() as session:
        seen = 0
        for result in session.advanced.stream(session.query(object_type=Product)):
            assert result.document.name.startswith("p")
            seen += 1
            if seen % 500 == 0:
                with store.open_session() as writer:  # another collection: the count holds
                    writer.store({"name": f"new{seen}"}, f"extra/{seen}")
                    writer.save_changes()
        assert seen == 1500
    with store.open_session() as session:
        assert session.load("extra/1500")["name"] == "new1500"


def test_closing_a_stream_early_releases_it(store: DocumentStore) -> None:
    _products(store, 3000)
    for _ in range(20):  # more than any pool: each early close gives its connection back
        with store.open_session() as session:
            with session.advanced.stream(session.query(object_type=Product)) as results:
                assert next(results).key == "products/00000"
            with store.open_session() as other:
                other.store({"n": 1}, "late/1")
                other.save_changes()


# -- stream_starting_with ---------------------------------------------------------------------


def _ids(store: DocumentStore, ids: list[str]) -> None:
    with store.bulk_insert() as bulk:
        for document_id in ids:
            bulk.store({"n": document_id}, id=document_id)


def test_stream_starting_with_is_by_id_prefix_in_id_order(store: DocumentStore) -> None:
    ids = [f"orders/{i:05d}" for i in range(2100)] + ["order", "ordersx/1", "other/1"]
    _ids(store, ids)
    with store.open_session() as session:
        got = [r.key for r in session.advanced.stream_starting_with("orders/")]
        assert got == sorted(i for i in ids if i.startswith("orders/"))
        upper = [r.key for r in session.advanced.stream_starting_with("ORDERS/0000")]
        assert upper == [f"orders/{i:05d}" for i in range(10)]


def test_stream_starting_with_matches_exclude_start_page_size_start_after(
    store: DocumentStore,
) -> None:
    ids = ["users/ann", "users/bob", "users/bo", "users/carl", "users/cole", "users/dave"]
    _ids(store, ids)
    with store.open_session() as session:
        advanced = session.advanced

        def keys(**kwargs: object) -> list[str]:
            return [r.key for r in advanced.stream_starting_with("users/", **kwargs)]  # type: ignore[arg-type]

        assert keys(matches="c*") == ["users/carl", "users/cole"]
        assert keys(matches="b?") == ["users/bo"]
        assert keys(matches="ann|D*") == ["users/ann", "users/dave"]
        assert keys(matches="*", exclude="c*") == [
            "users/ann",
            "users/bo",
            "users/bob",
            "users/dave",
        ]
        assert keys(start=1, page_size=2) == ["users/bo", "users/bob"]
        assert keys(start_after="users/bob") == ["users/carl", "users/cole", "users/dave"]
        assert keys(page_size=0) == []


def test_stream_starting_with_builds_entities_untracked(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("Ada"), "employees/1")
        session.save_changes()
    with store.open_session() as session:
        (result,) = session.advanced.stream_starting_with("employees/", object_type=Employee)
        assert isinstance(result.document, Employee)
        assert result.document.first_name == "Ada"
        assert session.advanced.get_tracked_entities() == {}
        assert session.number_of_requests == 1


def test_stream_starting_with_refuses_bad_arguments(store: DocumentStore) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError):
            session.advanced.stream_starting_with("users/", start=-1)
        with pytest.raises(QueryError):
            session.advanced.stream_starting_with("users/", page_size=True)  # type: ignore[arg-type]
        with pytest.raises(InvalidOperationError):
            session.advanced.stream_starting_with(None)  # type: ignore[arg-type]
        assert session.number_of_requests == 0

"""RavenDB's own Python client (``ravendb`` 7.2) streaming and bulk inserting against
``rookdb serve``: ``session.advanced.stream`` (``POST /streams/queries?format=jsonl``),
``stream_with_statistics``, ``stream_starting_with`` (``GET /streams/docs``) and
``store.bulk_insert()`` (``/operations/next-operation-id`` then one streamed
``POST /bulk_insert``), and what rookdb's own API reads back of what the client wrote."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import DocumentStore as RookStore
from rookdb.testing.backends import BACKENDS, serve_on

ravendb = pytest.importorskip("ravendb")
from ravendb.documents.bulk_insert_operation import BulkInsertOptions  # noqa: E402
from ravendb.exceptions.documents.bulkinsert import BulkInsertAbortedException  # noqa: E402

DATABASE = "Streams"


class Product:
    def __init__(self, name: str | None = None, units: int = 0, Id: str | None = None) -> None:
        self.name, self.units, self.Id = name, units, Id


@pytest.fixture
def server_url() -> Iterator[str]:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    yield url
    spec.clean_up(url)


@pytest.fixture
def official(server_url: str) -> Iterator[Any]:
    store = ravendb.DocumentStore(urls=[server_url], database=DATABASE)
    store.initialize()
    yield store
    store.close()


def _load(server_url: str, count: int) -> None:
    with RookStore(urls=server_url, database=DATABASE) as store, store.bulk_insert() as bulk:
        for i in range(count):
            bulk.store(Product(f"p{i:04d}", i % 5), id=f"products/{i:04d}")


def test_the_official_client_streams_a_query(official: Any, server_url: str) -> None:
    _load(server_url, 1500)
    with official.open_session() as session:
        query = session.query(object_type=Product).where_equals("units", 2).order_by("name")
        results = list(session.advanced.stream(query))
        assert [r.document.name for r in results] == [
            f"p{i:04d}" for i in range(1500) if i % 5 == 2
        ]
        first = results[0]
        assert isinstance(first.document, Product)
        assert first.key == "products/0002"
        assert first.change_vector.startswith("A:")
        assert first.metadata["@collection"] == "Products"
        assert session.advanced.number_of_requests == 1
        assert session.advanced.is_loaded("products/0002") is False  # streams do not track


def test_the_official_client_streams_with_statistics(official: Any, server_url: str) -> None:
    _load(server_url, 40)
    seen: list[Any] = []
    with official.open_session() as session:
        query = session.query(object_type=Product).where_equals("units", 0)
        results = list(session.advanced.stream_with_statistics(query, seen.append))
    assert len(results) == 8
    assert seen[0].total_results == 8
    assert seen[0].index_name


def test_the_official_client_streams_a_raw_query(official: Any, server_url: str) -> None:
    _load(server_url, 10)
    with official.open_session() as session:
        raw = session.advanced.raw_query("from Products where units = $u", Product)
        raw.add_parameter("u", 4)
        assert [r.key for r in session.advanced.stream(raw)] == ["products/0004", "products/0009"]


class NameAndUnits:
    def __init__(self, name: str | None = None, units: int | None = None) -> None:
        self.name, self.units = name, units


def test_the_official_client_streams_a_projection(official: Any, server_url: str) -> None:
    # Each streamed item is the projection as /queries sends it: the same entity the query
    # builds, @metadata with @projection and the document it came from.
    _load(server_url, 1100)
    with official.open_session() as session:
        query = (
            session.query(object_type=Product)
            .where_greater_than("units", 2)
            .order_by_descending("name")
            .select_fields(NameAndUnits, "name", "units")
        )
        listed = list(query)
        results = list(session.advanced.stream(query))
        assert [vars(r.document) for r in results] == [vars(p) for p in listed]
        assert len(results) == len([i for i in range(1100) if i % 5 > 2])
        first = results[0]
        assert isinstance(first.document, NameAndUnits)
        assert vars(first.document) == {"name": "p1099", "units": 4}
        assert first.key == "products/1099"
        assert first.change_vector.startswith("A:")
        assert first.metadata["@projection"] is True
        assert first.metadata["@collection"] == "Products"
        assert session.advanced.is_loaded("products/1099") is False


def test_the_official_client_streams_an_rql_select(official: Any, server_url: str) -> None:
    _load(server_url, 12)
    with official.open_session() as session:
        raw = session.advanced.raw_query(
            "from Products where units = $u select name as title, id() as key", dict
        )
        raw.add_parameter("u", 1)
        seen: list[Any] = []
        results = list(session.advanced.stream_with_statistics(raw, seen.append))
        assert [{k: r.document[k] for k in ("title", "key")} for r in results] == [
            {"title": "p0001", "key": "products/0001"},
            {"title": "p0006", "key": "products/0006"},
            {"title": "p0011", "key": "products/0011"},
        ]
        assert [r.key for r in results] == ["products/0001", "products/0006", "products/0011"]
        assert seen[0].total_results == 3


def test_stream_statistics_index_timestamp(official: Any, server_url: str) -> None:
    # RavenDB's IndexTimestamp: when the index last indexed; DateTime.MinValue for a
    # collection query (no index). rookdb's automatic indexes are written with the documents:
    # complete as the stream began.
    _load(server_url, 10)
    seen: list[Any] = []
    before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with official.open_session() as session:
        indexed = session.query(object_type=Product).where_equals("units", 3)
        list(session.advanced.stream_with_statistics(indexed, seen.append))
        list(
            session.advanced.stream_with_statistics(session.query(object_type=Product), seen.append)
        )
    after = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert before - datetime.timedelta(milliseconds=1) <= seen[0].index_timestamp <= after
    assert seen[1].index_timestamp == datetime.datetime(1, 1, 1)


def test_the_official_client_streams_starting_with(official: Any, server_url: str) -> None:
    _load(server_url, 1200)
    with RookStore(urls=server_url, database=DATABASE) as store, store.open_session() as s:
        s.store({"name": "other"}, "productsx/1")
        s.save_changes()
    with official.open_session() as session:
        keys = [
            r.key for r in session.advanced.stream_starting_with("products/", object_type=Product)
        ]
        assert keys == [f"products/{i:04d}" for i in range(1200)]
        matched = session.advanced.stream_starting_with("products/", matches="000*|1199")
        assert [r.key for r in matched] == [f"products/{i:04d}" for i in range(10)] + [
            "products/1199"
        ]
        after = session.advanced.stream_starting_with(
            "products/", start_after="products/1197", object_type=Product
        )
        assert [r.document.name for r in after] == ["p1198", "p1199"]


def test_the_official_client_bulk_inserts(official: Any, server_url: str) -> None:
    with official.bulk_insert() as bulk:
        for i in range(2500):  # several of the server's chunks
            bulk.store(Product(f"b{i}", i))
        bulk.store_as(Product("named"), "products/named")
    with RookStore(urls=server_url, database=DATABASE) as store:
        assert store.maintenance.get_statistics().collections["Products"] == 2501
        with store.open_session() as session:
            assert session.load("products/named", Product).name == "named"
            last = session.query(object_type=Product).where_equals("name", "b2499").single()
            assert last.units == 2499
    with official.open_session() as session:  # and the client reads its own writes
        loaded = session.load("products/named", Product)
        assert loaded.name == "named"


def test_the_official_client_bulk_inserts_compressed(official: Any, server_url: str) -> None:
    with official.bulk_insert(options=BulkInsertOptions(use_compression=True)) as bulk:
        for i in range(300):
            bulk.store_as({"n": i}, f"things/{i}")
    with RookStore(urls=server_url, database=DATABASE) as store, store.open_session() as s:
        assert s.load("things/299")["n"] == 299


def test_the_official_client_bulk_insert_overwrites(official: Any, server_url: str) -> None:
    with official.bulk_insert() as bulk:
        bulk.store_as(Product("first"), "products/1")
    with official.bulk_insert() as bulk:
        bulk.store_as(Product("second"), "products/1")
    with official.open_session() as session:
        assert session.load("products/1", Product).name == "second"


def test_a_failed_chunk_over_the_protocol(official: Any, server_url: str) -> None:
    # A document deeper than rookdb stores, in the third of the server's chunks: the first two
    # stay, nothing of the third is written, and the client raises its abort error.
    from rookdb.server.bulk_insert import CHUNK_DOCUMENTS

    deep: dict[str, Any] = {}
    node = deep
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    bad = 2 * CHUNK_DOCUMENTS + 10
    with pytest.raises(BulkInsertAbortedException), official.bulk_insert() as bulk:
        for i in range(3 * CHUNK_DOCUMENTS):
            bulk.store_as(Product(deep if i == bad else "p", i), f"products/{i}")
    with RookStore(urls=server_url, database=DATABASE) as store, store.open_session() as s:
        written = store.maintenance.get_statistics().collections.get("Products", 0)
        assert written == 2 * CHUNK_DOCUMENTS
        assert s.load(f"products/{2 * CHUNK_DOCUMENTS - 1}") is not None
        assert s.load(f"products/{2 * CHUNK_DOCUMENTS}") is None


def test_bulk_insert_kinds_rookdb_does_not_keep_are_refused(official: Any, server_url: str) -> None:
    with pytest.raises(BulkInsertAbortedException), official.bulk_insert() as bulk:
        bulk.store_as({"n": 1}, "things/1")
        with bulk.time_series_for("things/1", "heartrate") as series:  # (counters are kept)
            series.append_single(datetime.datetime.now(), 60)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_official_client_streams_and_bulk_inserts_on_each_backend(
    backend: str, tmp_path: Path
) -> None:
    with serve_on(backend, tmp_path) as url:
        store = ravendb.DocumentStore(urls=[url], database=DATABASE)
        store.initialize()
        try:
            with store.bulk_insert() as bulk:
                for i in range(1100):
                    bulk.store_as(Product(f"p{i:04d}", i), f"products/{i:04d}")
            with store.open_session() as session:
                query = session.query(object_type=Product).order_by_descending("name")
                names = [r.document.name for r in session.advanced.stream(query)]
                assert names == [f"p{i:04d}" for i in reversed(range(1100))]
                keys = [r.key for r in session.advanced.stream_starting_with("products/10")]
                assert keys == [f"products/10{i:02d}" for i in range(100)]
        finally:
            store.close()


def test_operation_ids_do_not_repeat_after_a_restart(tmp_path: Path) -> None:
    # Operation states live in the server's memory, as RavenDB's do: a restart forgets them.
    # An id a client still holds must then be unknown (404), never another operation's.
    def next_id(base: str) -> int:
        url = f"{base}/databases/{DATABASE}/operations/next-operation-id"
        answer = httpx.get(url)
        assert answer.status_code == 200
        operation_id: int = answer.json()["Id"]
        return operation_id

    with serve_on("sqlite", tmp_path) as base:
        first = [next_id(base) for _ in range(3)]
        with ravendb.DocumentStore(urls=[base], database=DATABASE) as store:
            store.initialize()
            with store.bulk_insert() as bulk:
                bulk.store_as({"n": 1}, "things/1")
        state = httpx.get(f"{base}/databases/{DATABASE}/operations/state?id={first[-1] + 1}")
        assert state.status_code == 200
        assert state.json()["Status"] == "Completed"
    with serve_on("sqlite", tmp_path) as base:
        forgotten = httpx.get(f"{base}/databases/{DATABASE}/operations/state?id={first[-1] + 1}")
        assert forgotten.status_code == 404
        assert next_id(base) > first[-1] + 1
    assert first == sorted(first) and len(set(first)) == 3

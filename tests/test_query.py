"""The first slice of queries (SPEC Q1): the fluent builder over the immutable AST, executors,
paging and statistics, on every backend. The query issue extends this."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb import DocumentStore, InvalidOperationError, QueryError, QueryStatistics
from rookdb.query import And, Equals, Not, Or, Query

DOCS: dict[str, dict[str, Any]] = {
    "items/1": {"name": "a", "n": 1, "flag": True, "nested": {"k": "x"}},
    "items/2": {"name": "b", "n": 1.0, "flag": False, "nested": {"k": "y"}},
    "items/3": {"name": "c", "n": "1", "flag": 1},
    "items/4": {"name": "d", "n": None},
    "items/5": {"name": "e"},
}


@pytest.fixture
def items(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for document_id, doc in DOCS.items():
            session.store(dict(doc), document_id)
        session.store({"name": "a"}, "others/1")  # another collection
        session.save_changes()
    return store


def _names(store: DocumentStore, build: Any) -> list[str]:
    with store.open_session() as session:
        query = build(session.query(collection_name="items")).order_by("name")
        return [doc["name"] for doc in query]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("n", 1, ["a", "b"]),  # numbers by value: 1 == 1.0
        ("n", "1", ["c"]),  # strings are not numbers
        ("n", None, ["d"]),  # null, not missing
        ("flag", True, ["a"]),  # booleans are not numbers
        ("flag", 1, ["c"]),
        ("nested.k", "y", ["b"]),
        ("missing", "x", []),
    ],
)
def test_where_equals_is_json_equality(
    items: DocumentStore, field: str, value: Any, expected: list[str]
) -> None:
    assert _names(items, lambda q: q.where_equals(field, value)) == expected
    everything = sorted(d["name"] for d in DOCS.values())
    negated = _names(items, lambda q: q.where_not_equals(field, value))
    assert sorted(negated + expected) == everything  # two-valued: |p| + |not p| = all


def test_boolean_structure(items: DocumentStore) -> None:
    assert _names(
        items, lambda q: q.where_equals("name", "a").or_else().where_equals("n", None)
    ) == [
        "a",
        "d",
    ]
    # AND binds tighter than OR: a OR (n = 1 AND flag = false)
    assert _names(
        items,
        lambda q: (
            q.where_equals("name", "a")
            .or_else()
            .where_equals("n", 1)
            .and_also()
            .where_equals("flag", False)
        ),
    ) == ["a", "b"]
    assert _names(
        items,
        lambda q: (
            q.not_()
            .open_subclause()
            .where_equals("name", "a")
            .or_else()
            .where_equals("name", "b")
            .close_subclause()
        ),
    ) == ["c", "d", "e"]


def test_the_builder_makes_the_immutable_ast(store: DocumentStore) -> None:
    with store.open_session() as session:
        query = (
            session.query(collection_name="items")
            .where_equals("a", 1)
            .or_else()
            .not_()
            .where_equals("b", 2)
            .where_equals("c", 3)
        )
        ast = query.to_query()
    assert ast == Query(
        collection="items",
        where=Or((Equals("a", 1), And((Not(Equals("b", 2)), Equals("c", 3))))),
    )
    with pytest.raises(AttributeError):
        ast.collection = "x"  # type: ignore[misc]


def test_unbalanced_subclauses(store: DocumentStore) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError):
            session.query(collection_name="items").close_subclause()
        with pytest.raises(QueryError):
            session.query(collection_name="items").open_subclause().first()


def test_executors_paging_and_statistics(items: DocumentStore) -> None:
    seen: list[QueryStatistics] = []
    with items.open_session() as session:
        query = session.query(collection_name="items")
        assert query.count() == 5 and query.any()
        assert session.query(collection_name="nothing").any() is False
        page = session.query(collection_name="items").order_by("name").skip(1).take(2)
        assert [d["name"] for d in page.statistics(seen.append)] == ["b", "c"]
        assert (seen[0].total_results, seen[0].skipped_results) == (5, 1)
        assert page.count() == 2
        descending = session.query(collection_name="items").order_by_descending("name")
        assert descending.first()["name"] == "e"
        single = session.query(collection_name="items").where_equals("name", "c")
        assert single.single()["name"] == "c" and single.single_or_default()["name"] == "c"
        none = session.query(collection_name="items").where_equals("name", "zz")
        assert none.first_or_default() is None and none.single_or_default() is None
        with pytest.raises(InvalidOperationError):
            none.first()
        with pytest.raises(InvalidOperationError):
            none.single()
        with pytest.raises(InvalidOperationError):
            session.query(collection_name="items").single()
        with pytest.raises(InvalidOperationError):
            session.query(collection_name="items").single_or_default()


def test_query_includes_load_in_the_same_request(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "Acme"}, "companies/1")
        session.store({"name": "Ann", "company": "companies/1"}, "people/1")
        session.save_changes()
    with store.open_session() as session:
        (person,) = session.query(collection_name="people").include("company")
        assert session.load(person["company"])["name"] == "Acme"
        assert session.number_of_requests == 1


def test_array_paths_wait_for_the_query_issue(store: DocumentStore) -> None:
    with store.open_session() as session, pytest.raises(QueryError):
        session.query(collection_name="items").where_equals("lines[].product", "x").to_list()

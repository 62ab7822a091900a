"""Queries as the backend runs them inside: the indexes it plans with, the cap on automatic
indexes (what the shipped suite, ``rookdb.testing.suite.test_query``, cannot see)."""

from __future__ import annotations

import pytest

from rookdb import DocumentStore
from rookdb.query import Equals, In, Query, Search
from rookdb.testing.suite import test_query as suite
from tests.internals import query_plan

# The suite's fixtures of these documents, found by pytest under these names.
items, posts = suite.items, suite.posts


# PostgreSQL plans by cost, not on 5 rows: test_postgres_storage checks its plans at scale.
@pytest.mark.rookdb_backends("memory", "sqlite", "http")
def test_a_query_on_an_indexed_field_uses_its_index(items: DocumentStore) -> None:
    plan = query_plan(items, Query("items", Equals("name", "a")))
    assert "USING INDEX auto/name" in plan and "SCAN documents" not in plan
    plan = query_plan(items, Query("items", In("tags[]", ("a",))))
    assert "USING INDEX auto_values_lookup" in plan


# The cap is a setting of the storage object; behind a server it is the server's (tested there).
@pytest.mark.rookdb_backends("memory", "sqlite", "postgres")
def test_auto_indexes_are_capped_per_collection_then_queries_scan(items: DocumentStore) -> None:
    storage = items._storage(items.database)
    storage.max_auto_indexes = 2  # type: ignore[attr-defined]
    with items.open_session() as session:
        for field in ("name", "n", "flag"):
            found = session.query(collection_name="items").where_exists(field).count()
            assert found == {"name": 5, "n": 4, "flag": 3}[field]  # still right when scanning
    assert items.maintenance.get_statistics().indexes == ["auto/items/n", "auto/items/name"]


def test_search_uses_a_full_text_index(posts: DocumentStore) -> None:
    with posts.open_session() as session:  # makes the index
        session.query(collection_name="posts").search("tags[]", "coffee").to_list()
    plan = query_plan(posts, Query("posts", Search("tags[]", ("coffee",))))
    assert "auto/fts/" in plan or "auto_search_" in plan


def test_builders_over_one_collection_start_from_one_checked_query(items: DocumentStore) -> None:
    """A ``DocumentQuery`` starts from a ``Query`` shared by every builder over its collection
    (frozen: nothing can change it); a query with no clause is that one, a clause makes its
    own; a name ``Query`` refuses is refused as before, and never kept."""
    from rookdb.errors import QueryError
    from rookdb.query import _shared_start

    with items.open_session() as session:
        first = session.query(collection_name="items").to_query()
        assert session.query(collection_name="items").to_query() is first
        assert first == Query("items")
        where = session.query(collection_name="items").where_equals("name", "a").to_query()
        assert where == Query("items", Equals("name", "a"))
        assert session.query(collection_name="items").to_query() == Query("items")
        assert [item["name"] for item in session.query(collection_name="items").to_list()]
        for bad in ("", "a\x00b", 3, ["items"]):
            kept = _shared_start.cache_info().currsize
            with pytest.raises(QueryError):
                session.query(collection_name=bad)  # type: ignore[arg-type]
            assert _shared_start.cache_info().currsize == kept  # nothing kept of it


def test_with_where_is_replace_of_where_for_every_field() -> None:
    """``Query.with_where`` names each field itself (``dataclasses.replace`` walks them): a
    field added to ``Query`` and left out there would be dropped from every built query."""
    import dataclasses

    from rookdb.query_ast import OrderBy

    values = {
        "collection": None,
        "where": Equals("a", 1),
        "order_by": (OrderBy("a"),),
        "skip": 3,
        "take": 4,
        "includes": ("b",),
        "select": ("a", "c"),
        "distinct": True,
        "select_as": ("x", "y"),
        "counters": ("likes",),
        "index_name": "Things/ByA",
        "group_by": ("g",),
    }
    assert set(values) == {field.name for field in dataclasses.fields(Query)}
    query = Query(**values)  # type: ignore[arg-type]
    where = In("a", (1, 2))
    assert query.with_where(where) == dataclasses.replace(query, where=where)
    assert query.with_where(where).where is where

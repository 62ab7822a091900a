"""``counter('name')`` and ``counter(x, 'name')`` in RQL ``select`` on every backend: each
document's counter value (None where it has none) under the counter's name or its ``as`` key,
read in the query's snapshot; in pages, ``distinct`` and streams, and printed back as RQL for
a server."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb import DocumentStore, QueryError
from rookdb.query_ast import counter_field
from rookdb.rql import parse as parse_rql
from rookdb.rql_printer import print_query as to_rql

pytestmark = pytest.mark.rookdb_requires("counters")


class Page:
    def __init__(self, title: str = "", tag: str = "") -> None:
        self.title = title
        self.tag = tag


def _seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        for i in (1, 2, 3):
            session.store(Page(f"p{i}", "t"), f"pages/{i}")
            if i < 3:
                session.counters_for(f"pages/{i}").increment("Views", i)
        session.counters_for("pages/1").increment("likes", 7)
        session.save_changes()


def _rows(store: DocumentStore, rql: str, **values: Any) -> list[dict[str, Any]]:
    with store.open_session() as session:
        query = session.advanced.raw_query(rql, dict)
        for name, value in values.items():
            query = query.add_parameter(name, value)
        return list(query)


def test_select_counters_of_the_documents_found(store: DocumentStore) -> None:
    _seed(store)
    assert _rows(store, "from Pages order by title select title, counter('views')") == [
        {"title": "p1", "views": 1},
        {"title": "p2", "views": 2},
        {"title": "p3", "views": None},
    ]
    rows = _rows(
        store,
        "from Pages as p where title != 'p2' order by title "
        "select counter(p, 'likes') as l, counter(p, $name), id(p) as id",
        name="Views",
    )
    assert rows == [
        {"l": 7, "Views": 1, "id": "pages/1"},
        {"l": None, "Views": None, "id": "pages/3"},
    ]
    paged = _rows(store, "from Pages order by title select counter('Views') limit 1 offset 1")
    assert paged == [{"Views": 2}]


def test_select_distinct_and_stream_counters(store: DocumentStore) -> None:
    _seed(store)
    distinct = _rows(store, "from Pages order by title select distinct tag, counter('likes')")
    assert distinct == [{"tag": "t", "likes": 7}, {"tag": "t", "likes": None}]
    with store.open_session() as session:
        query = session.advanced.raw_query(
            "from Pages order by title select title, counter('views') as v", dict
        )
        with session.advanced.stream(query) as stream:
            assert [r.document for r in stream] == [
                {"title": "p1", "v": 1},
                {"title": "p2", "v": 2},
                {"title": "p3", "v": None},
            ]


def test_counter_projections_parse_and_print() -> None:
    query = parse_rql("from Pages as p select counter(p, 'a b') as x, counter('y')")
    assert query.select == (counter_field("a b"), counter_field("y"))
    assert query.select_as == ("x", "y")
    text, parameters = to_rql(query)
    assert parse_rql(text, parameters) == query
    # include counters($p) of a list of names, as the official client sends several
    assert parse_rql("from Pages include counters($p)", {"p": ["a", "b"]}).counters == ("a", "b")
    with pytest.raises(QueryError):
        parse_rql("from Pages include counters($p)", {"p": ["a", 1]})
    for bad in (
        "from Pages select counter()",
        "from Pages select counter(1)",
        "from Pages as p select counter(q.x, 'a')",
    ):
        with pytest.raises(QueryError):
            parse_rql(bad)

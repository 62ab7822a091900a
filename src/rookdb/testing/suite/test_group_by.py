"""Dynamic aggregation on every backend that keeps indexes: ``group by`` (RQL and the
builder) answered by an automatic map-reduce index, never stale.

The groups equal plain Python's over the documents after any puts, updates that move a
document between groups, and deletes; a group left empty vanishes.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from typing import Any

import pytest

from rookdb import DocumentStore, QueryError
from rookdb.operations import GetIndexNamesOperation, GetIndexStatisticsOperation
from rookdb.query import QueryStatistics
from rookdb.query_group_by import GroupBy, GroupByField

pytestmark = pytest.mark.rookdb_requires("indexes")


def _by_company(clauses: str = "") -> str:
    """Count per company, with ``clauses`` (where, order by) before the select."""
    return f"from Orders group by company {clauses} select key() as company, count() as count"


def _order(company: str | None, freight: int, country: str = "UK", **more: Any) -> dict[str, Any]:
    return {
        "company": company,
        "freight": freight,
        "ship_to": {"country": country},
        **more,
        "@metadata": {"@collection": "Orders"},
    }


def _save(store: DocumentStore, *documents: tuple[str, dict[str, Any]]) -> None:
    with store.open_session() as session:
        for document_id, document in documents:
            session.store(document, document_id)
        session.save_changes()


def _delete(store: DocumentStore, *ids: str) -> None:
    with store.open_session() as session:
        for document_id in ids:
            session.delete(document_id)
        session.save_changes()


def _rql(store: DocumentStore, text: str) -> list[dict[str, Any]]:
    with store.open_session() as session:
        return list(session.advanced.raw_query(text))


def _three(store: DocumentStore) -> None:
    _save(
        store,
        ("orders/1", _order("a", 10)),
        ("orders/2", _order("a", 5, "FR")),
        ("orders/3", _order("b", 1)),
    )


def test_count_per_group_in_rql(store: DocumentStore) -> None:
    _three(store)
    rows = _rql(store, _by_company("order by company"))
    assert rows == [{"company": "a", "count": 2}, {"company": "b", "count": 1}]


def test_sum_and_count_unnamed_take_ravendb_names(store: DocumentStore) -> None:
    _three(store)
    rows = _rql(
        store, "from Orders group by company order by company select key(), count(), sum(freight)"
    )
    assert rows == [
        {"company": "a", "Count": 2, "freight": 15},
        {"company": "b", "Count": 1, "freight": 1},
    ]


def test_the_builder_selects_keys_count_and_sums(store: DocumentStore) -> None:
    _three(store)
    with store.open_session() as session:
        counted = (
            session.query(collection_name="Orders")
            .group_by("company")
            .select_key()
            .select_count()
            .order_by_descending("count")
            .to_list()
        )
        summed = (
            session.query(collection_name="Orders")
            .group_by(GroupBy.field("company"))
            .select_key("company", "name")
            .select_sum(GroupByField("freight", "total"))
            .where_greater_than("total", 2)
            .to_list()
        )
    assert counted == [{"company": "a", "count": 2}, {"company": "b", "count": 1}]
    assert summed == [{"name": "a", "total": 15}]


def test_a_group_by_query_lazily_and_not_streamed(store: DocumentStore) -> None:
    _three(store)
    with store.open_session() as session:
        lazy = session.advanced.raw_query(_by_company("order by company")).lazily()
        assert lazy.value == [{"company": "a", "count": 2}, {"company": "b", "count": 1}]
        query = session.advanced.raw_query(_by_company("order by company"))
        with pytest.raises(QueryError):  # as any map-reduce index's results: query them
            list(session.advanced.stream(query))


def test_several_group_by_fields(store: DocumentStore) -> None:
    _three(store)
    rows = _rql(
        store,
        "from Orders group by company, ship_to.country order by company, ship_to.country "
        "select company, ship_to.country as country, count() as n",
    )
    assert rows == [
        {"company": "a", "country": "FR", "n": 1},
        {"company": "a", "country": "UK", "n": 1},
        {"company": "b", "country": "UK", "n": 1},
    ]


def test_where_and_order_on_aggregations_and_their_names(store: DocumentStore) -> None:
    _three(store)
    _save(store, ("orders/4", _order("c", 100)))
    assert _rql(store, _by_company("where count() > 1")) == [{"company": "a", "count": 2}]
    assert _rql(store, _by_company("where count = 1 and company != 'b'")) == [
        {"company": "c", "count": 1}
    ]
    ordered = _rql(
        store,
        "from Orders group by company order by sum(freight) as long desc "
        "select key() as company, sum(freight) as total",
    )
    assert [r["company"] for r in ordered] == ["c", "a", "b"]
    by_count = _rql(store, _by_company("order by count() desc, company desc") + " limit 2")
    assert by_count == [{"company": "a", "count": 2}, {"company": "c", "count": 1}]


def test_never_stale_moves_between_groups_and_empty_groups_vanish(store: DocumentStore) -> None:
    _three(store)
    assert len(_rql(store, _by_company())) == 2  # the index is made, from the documents there
    _save(store, ("orders/4", _order("c", 1)))
    assert {r["company"]: r["count"] for r in _rql(store, _by_company())} == {
        "a": 2,
        "b": 1,
        "c": 1,
    }
    _save(store, ("orders/3", _order("a", 1)))  # b's only order moves to a: b vanishes
    assert {r["company"]: r["count"] for r in _rql(store, _by_company())} == {"a": 3, "c": 1}
    _delete(store, "orders/4")
    assert {r["company"]: r["count"] for r in _rql(store, _by_company())} == {"a": 3}


def test_missing_and_null_keys_make_one_null_group(store: DocumentStore) -> None:
    _save(
        store,
        ("orders/1", _order(None, 1)),
        ("orders/2", {"freight": 2, "@metadata": {"@collection": "Orders"}}),
        ("orders/3", _order("a", 3)),
    )
    rows = _rql(store, _by_company("order by company"))
    assert rows == [{"company": None, "count": 2}, {"company": "a", "count": 1}]


def test_group_by_array_values(store: DocumentStore) -> None:
    lines = [{"product": "p1", "quantity": 1}, {"product": "p2", "quantity": 2}]
    _save(
        store,
        ("orders/1", _order("a", 1, lines=lines)),
        ("orders/2", _order("a", 1, lines=[{"product": "p2", "quantity": 3}])),
    )
    rows = _rql(
        store,
        "from Orders group by lines[].product order by count() "
        "select key() as product, count() as count, sum(lines[].quantity) as quantity",
    )
    assert rows == [
        {"product": "p1", "count": 1, "quantity": 1},
        {"product": "p2", "count": 2, "quantity": 5},
    ]


def test_group_by_array_content(store: DocumentStore) -> None:
    """``array(path)``: one group per distinct array of values (RQL and ``GroupBy.array``)."""
    both = [{"product": "p1", "quantity": 1}, {"product": "p2", "quantity": 2}]
    _save(
        store,
        ("orders/1", _order("a", 1, lines=both)),
        ("orders/2", _order("a", 1, lines=[{"product": "p2", "quantity": 3}])),
        ("orders/3", _order("b", 1, lines=both)),
    )
    rows = _rql(
        store,
        "from Orders group by array(lines[].product) order by count() "
        "select key() as products, count() as count",
    )
    assert rows == [{"products": ["p2"], "count": 1}, {"products": ["p1", "p2"], "count": 2}]
    with store.open_session() as session:
        built = (
            session.query(collection_name="Orders")
            .group_by(GroupBy.array("lines[].product"), "company")
            .select_key("lines[].product", "products")
            .select_key("company")
            .select_count()
            .order_by("company")
            .to_list()
        )
    assert sorted(built, key=lambda r: (r["company"], len(r["products"]))) == [
        {"products": ["p2"], "company": "a", "count": 1},
        {"products": ["p1", "p2"], "company": "a", "count": 1},
        {"products": ["p1", "p2"], "company": "b", "count": 1},
    ]


def test_the_automatic_index_is_named_and_listed_as_ravendb_does(store: DocumentStore) -> None:
    _three(store)
    seen: list[QueryStatistics] = []
    with store.open_session() as session:
        raw = session.advanced.raw_query(
            "from Orders group by company select key(), count(), sum(freight)"
        )
        list(raw.statistics(seen.append))
    name = "Auto/Orders/ByCountAndfreightReducedBycompany"
    assert seen[0].index_name == name
    assert seen[0].is_stale is False
    assert name in store.maintenance.send(GetIndexNamesOperation(0, 25))
    stats = store.maintenance.send(GetIndexStatisticsOperation(name))
    assert stats.type == "AutoMapReduce"
    assert stats.reduce_results_count == 2


@pytest.mark.parametrize(
    "text",
    [
        "from Orders group by company select key() as company, freight",
        "from Orders group by company where freight > 1 select count()",
        "from Orders group by company order by freight select count()",
        "from Orders group by company select avg(freight)",
        "from Orders group by lines[].a[].b select count()",
        "from Orders group by a, b select key()",
        "from index 'X' group by company select count()",
    ],
)
def test_a_group_by_rookdb_cannot_answer_is_a_query_error(store: DocumentStore, text: str) -> None:
    _three(store)
    with pytest.raises(QueryError):
        _rql(store, text)


def test_an_automatic_index_holding_what_a_query_asks_answers_it(store: DocumentStore) -> None:
    """As RavenDB: a query asking for part of what an automatic index on the same group-by
    fields holds reads it; one asking for more gets an index holding it all."""
    _three(store)
    seen: list[QueryStatistics] = []

    def index_of(text: str) -> str:
        with store.open_session() as session:
            list(session.advanced.raw_query(text).statistics(seen.append))
        return seen[-1].index_name

    both = "Auto/Orders/ByCountAndfreightReducedBycompany"
    assert index_of("from Orders group by company select key(), count()") == (
        "Auto/Orders/ByCountReducedBycompany"
    )
    assert index_of("from Orders group by company select key(), sum(freight)") == both
    assert index_of("from Orders group by company select count()") == both
    assert index_of("from Orders group by company select sum(freight) as f") == both
    rows = _rql(store, "from Orders group by company order by company select sum(freight) as f")
    assert rows == [{"f": 15}, {"f": 1}]
    assert "Auto/Orders/ByCountReducedBycompany" in store.maintenance.send(
        GetIndexNamesOperation(0, 25)
    )


def test_concurrent_first_queries_share_one_index(store: DocumentStore) -> None:
    """Sessions that run the first group-by query together all get the groups, and the
    database one automatic index."""
    _three(store)
    barrier = threading.Barrier(4)
    found: list[Any] = []

    def run() -> None:
        barrier.wait()
        try:
            found.append(sorted(_rql(store, _by_company()), key=lambda r: r["company"]))
        except Exception as exc:  # reported below, in the test's thread
            found.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [[{"company": "a", "count": 2}, {"company": "b", "count": 1}]] * 4
    names = store.maintenance.send(GetIndexNamesOperation(0, 25))
    assert names == ["Auto/Orders/ByCountReducedBycompany"]


def test_a_user_index_cannot_take_an_automatic_name(store: DocumentStore) -> None:
    from rookdb import IndexCompilationError
    from rookdb.indexes import IndexDefinition
    from rookdb.operations import PutIndexesOperation

    definition = IndexDefinition(
        name="Auto/Orders/ByX", maps={"from o in docs.Orders select new { o.X }"}
    )
    with pytest.raises(IndexCompilationError):
        store.maintenance.send(PutIndexesOperation(definition))


def test_groups_equal_plain_python_under_random_writes(store: DocumentStore) -> None:
    """The differential test: count and sum per (company, country) after each random batch
    of puts, moves and deletes equal plain Python's over the documents."""
    rng = random.Random(16)
    documents: dict[str, dict[str, Any]] = {}
    text = (
        "from Orders group by company, ship_to.country "
        "select company, ship_to.country as country, count() as n, sum(freight) as total"
    )
    for _ in range(10):
        with store.open_session() as session:
            for number in rng.sample(range(1, 21), rng.randint(1, 7)):
                document_id = f"orders/{number}"
                if document_id in documents and rng.random() < 0.3:
                    session.delete(document_id)
                    del documents[document_id]
                else:
                    company = rng.choice(["a", "b", "c", None])
                    documents[document_id] = _order(
                        company, rng.randint(0, 50), rng.choice(["UK", "FR"])
                    )
                    session.store(dict(documents[document_id]), document_id)
            session.save_changes()
        expected: dict[tuple[Any, Any], list[int]] = defaultdict(lambda: [0, 0])
        for document in documents.values():
            group = expected[document["company"], document["ship_to"]["country"]]
            group[0] += 1
            group[1] += document["freight"]
        found = {(r["company"], r["country"]): [r["n"], r["total"]] for r in _rql(store, text)}
        assert found == dict(expected)


def test_random_group_by_queries_equal_plain_python(store: DocumentStore) -> None:
    """Random where, order and paging on the aggregations and keys of random documents
    (some with array lines), each query's rows equal to plain Python's."""
    rng = random.Random(61)
    documents = {
        f"orders/{n}": _order(
            rng.choice(["a", "b", "c", "d", None]),
            rng.randint(0, 9),
            rng.choice(["UK", "FR"]),
            lines=[{"product": rng.choice("xyz")} for _ in range(rng.randint(0, 3))],
        )
        for n in range(40)
    }
    _save(store, *documents.items())
    for _ in range(12):
        key = rng.choice(["company", "ship_to.country", "lines[].product"])
        least = rng.randint(0, 12)
        skip, take = rng.randint(0, 2), rng.randint(1, 4)
        text = (
            f"from Orders group by {key} where count() >= $least "
            f"order by count() desc, sum(freight) desc, {key} "
            f"select {key} as k, count() as n, sum(freight) as total limit $take offset $skip"
        )
        groups: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for document in documents.values():
            if key == "lines[].product":
                values = [line["product"] for line in document["lines"]]
            elif key == "company":
                values = [document["company"]]
            else:
                values = [document["ship_to"]["country"]]
            for value in values:
                groups[value][0] += 1
                groups[value][1] += document["freight"]
        expected = [
            {"k": k, "n": n, "total": total}
            for k, (n, total) in sorted(
                groups.items(), key=lambda g: (-g[1][0], -g[1][1], g[0] is not None, g[0] or "")
            )
            if n >= least
        ][skip : skip + take]
        with store.open_session() as session:
            query = session.advanced.raw_query(text)
            for name, value in (("least", least), ("take", take), ("skip", skip)):
                query = query.add_parameter(name, value)
            found = list(query)
        assert found == expected, text

"""RavenDB's own client (``ravendb`` 7.2) against ``rookdb serve``: user-defined indexes
(issue 16). Its creation tasks put themselves (``PUT /admin/indexes``), its sessions query
them (``from index '...'``, map and map-reduce, ``wait_for_non_stale_results``), and its
maintenance operations read, reset and delete them, with the answers its ``from_json``
needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.official_client import official_store, wait_for_indexing

ravendb = pytest.importorskip("ravendb")
from ravendb import AbstractIndexCreationTask, IndexDefinition  # noqa: E402
from ravendb.documents.operations.indexes import (  # noqa: E402
    DeleteIndexErrorsOperation,
    DeleteIndexOperation,
    GetIndexErrorsOperation,
    GetIndexesOperation,
    GetIndexNamesOperation,
    GetIndexOperation,
    GetIndexStatisticsOperation,
    PutIndexesOperation,
    ResetIndexOperation,
)
from ravendb.exceptions.documents.compilation import IndexCompilationException  # noqa: E402


class Order:
    def __init__(self, company: str | None = None, total: int = 0) -> None:
        self.company, self.total = company, total


class CompanyTotal:
    def __init__(self, company: str | None = None, count: int = 0, total: int = 0) -> None:
        self.company, self.count, self.total = company, count, total


class Orders_ByCompany(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from o in docs.Orders select new { o.company, count = 1, o.total }"
        self.reduce = (
            "from r in results group r by r.company into g select new "
            "{ company = g.Key, count = g.Sum(x => x.count), total = g.Sum(x => x.total) }"
        )


class Orders_ByTotal(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from o in docs.Orders select new { o.total }"


@pytest.fixture
def store() -> Iterator[Any]:
    with official_store("Indexes") as store:
        yield store


def _orders(store: Any, *orders: tuple[str, int]) -> None:
    with store.open_session() as session:
        for number, (company, total) in enumerate(orders, 1):
            session.store(Order(company, total), f"orders/{number}")
        session.save_changes()


def test_a_map_index_queried_by_the_client(store: Any) -> None:
    _orders(store, ("a", 10), ("b", 30), ("c", 20))
    Orders_ByTotal().execute(store)
    with store.open_session() as session:
        found = list(
            session.query_index_type(Orders_ByTotal, Order)
            .wait_for_non_stale_results()
            .where_greater_than("total", 15)
            .order_by("total")
        )
        assert [o.company for o in found] == ["c", "b"]
        assert all(isinstance(o, Order) for o in found)


def test_a_map_reduce_index_answers_its_results(store: Any) -> None:
    Orders_ByCompany().execute(store)
    _orders(store, ("a", 10), ("b", 30), ("a", 5))
    with store.open_session() as session:
        rows = list(session.query_index("Orders/ByCompany", CompanyTotal).order_by("company"))
        assert [(r.company, r.count, r.total) for r in rows] == [("a", 2, 15), ("b", 1, 30)]
        session.delete("orders/1")
        session.save_changes()
    with store.open_session() as session:
        rows = list(session.query_index("Orders/ByCompany", CompanyTotal).order_by("company"))
        assert [(r.company, r.count, r.total) for r in rows] == [("a", 1, 5), ("b", 1, 30)]


def test_the_client_manages_indexes(store: Any) -> None:
    _orders(store, ("a", 10))
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Orders/Half", maps={"from o in docs.Orders select new { Half = o.total / 2 }"}
            )
        )
    )
    Orders_ByTotal().execute(store)
    wait_for_indexing(store)
    assert store.maintenance.send(GetIndexNamesOperation(0, 10)) == [
        "Orders/ByTotal",
        "Orders/Half",
    ]
    definition = store.maintenance.send(GetIndexOperation("Orders/ByTotal"))
    assert definition.name == "Orders/ByTotal"
    assert [d.name for d in store.maintenance.send(GetIndexesOperation(0, 10))] == [
        "Orders/ByTotal",
        "Orders/Half",
    ]
    stats = store.maintenance.send(GetIndexStatisticsOperation("Orders/ByTotal"))
    assert stats.entries_count == 1 and not stats.stale
    store.maintenance.send(ResetIndexOperation("Orders/ByTotal"))
    wait_for_indexing(store)
    with store.open_session() as session:
        session.store(Order("b", "x"), "orders/2")  # type: ignore[arg-type]
        session.save_changes()  # a map that fails is recorded, not raised
    (errors,) = store.maintenance.send(GetIndexErrorsOperation("Orders/Half"))
    assert errors.name == "Orders/Half"
    assert [(e.document, e.action) for e in errors.errors] == [("orders/2", "Map")]
    assert errors.errors[0].timestamp is not None
    store.maintenance.send(DeleteIndexErrorsOperation(["Orders/Half"]))  # DELETE /indexes/errors
    (errors,) = store.maintenance.send(GetIndexErrorsOperation("Orders/Half"))
    assert errors.errors == []
    store.maintenance.send(DeleteIndexOperation("Orders/Half"))
    assert store.maintenance.send(GetIndexNamesOperation(0, 10)) == ["Orders/ByTotal"]


def test_a_definition_rookdb_cannot_run_is_refused(store: Any) -> None:
    bad = IndexDefinition(name="Bad", maps={"from o in docs.Orders select o.Foo(1, 2)"})
    with pytest.raises(IndexCompilationException):
        store.maintenance.send(PutIndexesOperation(bad))
    assert store.maintenance.send(GetIndexNamesOperation(0, 10)) == []


def test_map_reduce_results_queried_without_a_type(store: Any) -> None:
    # RavenDB sends a map-reduce index's results (no select) without @projection, so its
    # client builds them without an entity type; a projection of them would fail there.
    _orders(store, ("a", 10), ("a", 5))
    Orders_ByCompany().execute(store)
    wait_for_indexing(store)
    with store.open_session() as session:
        found = session.query_index("Orders/ByCompany").where_equals("company", "a").single()
        assert found is not None
    with store.open_session() as session:
        totals = list(session.query_index("Orders/ByCompany", CompanyTotal))
        assert [(t.company, t.count, t.total) for t in totals] == [("a", 2, 15)]

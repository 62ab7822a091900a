"""``store.operations``: ``PatchOperation``, ``PatchByQueryOperation`` and
``DeleteByQueryOperation``, on every backend."""

from __future__ import annotations

import pytest

from rookdb import ConfigurationError, DocumentStore, PatchRequest, PatchScriptError, QueryError
from rookdb.by_query import split_update
from rookdb.document_operations import (
    DeleteByQueryOperation,
    PatchByQueryOperation,
    PatchOperation,
)
from rookdb.testing.suite.models import Product


def _seed(store: DocumentStore, n: int = 5) -> None:
    with store.open_session() as session:
        for i in range(n):
            session.store(Product(f"p{i}", i), f"products/{i}")
        session.save_changes()


def _stock(store: DocumentStore) -> dict[str, int]:
    with store.open_session() as session:
        products = session.query(object_type=Product).to_list()
        return {p.name: p.units_in_stock for p in products}


def test_patch_operation(store: DocumentStore) -> None:
    _seed(store, 1)
    result = store.operations.send(
        PatchOperation("products/0", None, PatchRequest("this.units_in_stock += args.n;", {"n": 4}))
    )
    assert result.status == "Patched"
    assert result.document is not None and result.document["units_in_stock"] == 4
    with store.open_session() as session:
        product = session.load("products/0", Product)
        assert product.units_in_stock == 4
        assert session.advanced.get_change_vector_for(product) == result.change_vector
    missing = store.operations.send(PatchOperation("products/9", None, PatchRequest("this.a=1;")))
    assert missing == ("DocumentDoesNotExist", None, None)
    with pytest.raises(ConfigurationError):
        store.operations.send("not an operation")  # type: ignore[arg-type]


def test_patch_by_query(store: DocumentStore) -> None:
    _seed(store)
    operation = store.operations.send(
        PatchByQueryOperation(
            "from Products where units_in_stock >= $min update {\n this.units_in_stock += $by; }",
            {"min": 3, "by": 100},
        )
    )
    assert operation.wait_for_completion().total == 2
    assert _stock(store) == {"p0": 0, "p1": 1, "p2": 2, "p3": 103, "p4": 104}


def test_patch_by_query_script_error_is_typed(store: DocumentStore) -> None:
    _seed(store)
    with pytest.raises(PatchScriptError) as info:
        store.operations.send(PatchByQueryOperation("from Products update {\n this.a.b = 1; }"))
    assert info.value.line == 2
    assert _stock(store)["p1"] == 1


def test_delete_by_query(store: DocumentStore) -> None:
    _seed(store)
    operation = store.operations.send(
        DeleteByQueryOperation("from Products where units_in_stock < $n", {"n": 2})
    )
    assert operation.wait_for_completion().total == 2
    assert sorted(_stock(store)) == ["p2", "p3", "p4"]


def test_split_update() -> None:
    assert split_update("from A where b = 'update {' update { this.x = 1; }") == (
        "from A where b = 'update {' ",
        " this.x = 1; ",
    )
    with pytest.raises(QueryError):
        split_update("from A where x = 1")

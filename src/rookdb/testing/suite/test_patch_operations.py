"""``store.operations``: ``PatchOperation``, ``PatchByQueryOperation`` and
``DeleteByQueryOperation``, on every backend."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from rookdb import (
    ConfigurationError,
    DocumentStore,
    PatchRequest,
    PatchScriptError,
    QueryError,
    SerializationError,
)
from rookdb.by_query import split_update
from rookdb.document_operations import (
    DeleteByQueryOperation,
    PatchByQueryOperation,
    PatchOperation,
)
from rookdb.serialization.encoding import MAX_DEPTH
from rookdb.storage.commands import PatchCommand
from rookdb.testing.suite.models import Product
from rookdb.testing.suite.test_bad_input import _BAD_VALUES


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


# -- the values a script reads --------------------------------------------------------------------


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


_BAD_ARGS: dict[str, Callable[[], Any]] = {
    **_BAD_VALUES,
    "past-max-depth": lambda: _deep(MAX_DEPTH + 1),
    "past-orjson-depth": lambda: _deep(300),
    "past-recursion-limit": lambda: _deep(1100),
}


@pytest.mark.parametrize("make", list(_BAD_ARGS.values()), ids=list(_BAD_ARGS))
def test_a_script_value_no_document_could_hold_is_refused_and_writes_nothing(
    store: DocumentStore, make: Callable[[], Any]
) -> None:
    _seed(store, 1)
    request = PatchRequest("this.units_in_stock = args.v;", {"v": make()})
    with pytest.raises(SerializationError):
        store.operations.send(PatchOperation("products/0", None, request))
    with store.open_session() as session:
        session.load("products/0", Product).name = "changed"
        with pytest.raises(SerializationError):  # when deferred, before the save
            session.advanced.defer(PatchCommand("products/0", request))
        session.save_changes()  # the session's own change, and nothing of the patch
    with pytest.raises(SerializationError):
        store.operations.send(
            PatchByQueryOperation(
                "from Products update { this.units_in_stock = $v; }", {"v": make()}
            )
        )
    with pytest.raises(SerializationError):
        store.operations.send(
            DeleteByQueryOperation("from Products where units_in_stock = $v", {"v": make()})
        )
    assert _stock(store) == {"changed": 0}


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


_ARGS: dict[str, Any] = {
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    "aware-datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    "date": datetime.date(2024, 1, 2),
    "timedelta": datetime.timedelta(hours=25, seconds=3),
    "decimal": decimal.Decimal("9.50"),
    "uuid": uuid.UUID(int=5),
    "enum": Colour.RED,
    "dataclass": Point(1, 2.5),
    "tuple": (1, "a"),
    "set": {3, 1, 2},
    "int-dict-key": {1: "a"},
    "nested": {"a": [datetime.date(2024, 1, 2), {"b": Colour.RED}]},
    "max-depth": _deep(MAX_DEPTH - 1),
}


@pytest.mark.parametrize("value", list(_ARGS.values()), ids=list(_ARGS))
def test_a_script_reads_a_value_as_a_document_holding_it_stores_it(
    store: DocumentStore, value: Any
) -> None:
    # (the same on every backend: the value is written once, where the request is made)
    with store.open_session() as session:
        session.store({"held": value}, "holders/1")
        session.store({"held": None}, "holders/2")
        session.store({"held": None}, "holders/3")
        session.save_changes()
    script = "this.held = args.v;"
    request = PatchRequest(script)
    request.values = {"v": value}  # as RavenDB's client sets them, after the request is made
    store.operations.send(PatchOperation("holders/2", None, request))
    store.operations.send(
        PatchByQueryOperation(
            "from @all_docs where id() = 'holders/3' update { this.held = $v; }", {"v": value}
        )
    )
    held = _held(store)
    assert held["holders/2"] == held["holders/3"] == held["holders/1"]


def _held(store: DocumentStore) -> dict[str, Any]:
    with store.open_session() as session:
        found = session.load(["holders/1", "holders/2", "holders/3"], dict)
        return {key: found[key]["held"] for key in found}


def test_a_by_query_parameter_compares_as_a_document_holding_it_stores_it(
    store: DocumentStore,
) -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    with store.open_session() as session:
        session.store({"at": when, "n": 1}, "events/1")
        session.store({"at": when + datetime.timedelta(days=1), "n": 2}, "events/2")
        session.save_changes()
    operation = store.operations.send(
        PatchByQueryOperation(
            "from @all_docs where at = $when update { this.n = 10; }", {"when": when}
        )
    )
    assert operation.wait_for_completion().total == 1
    operation = store.operations.send(
        DeleteByQueryOperation("from @all_docs where at > $when", {"when": when})
    )
    assert operation.wait_for_completion().total == 1
    with store.open_session() as session:
        assert session.load("events/1", dict)["n"] == 10
        assert session.load("events/2", dict) is None


class Money:
    __slots__ = ("cents",)

    def __init__(self, cents: int) -> None:
        self.cents = cents


def test_script_values_are_written_with_the_stores_encoders(
    new_store: Callable[..., DocumentStore],
) -> None:
    store = new_store()
    store.conventions.register_encoder(Money, lambda m: f"{m.cents / 100:.2f} EUR")
    with store.open_session() as session:
        session.store({"held": Money(950)}, "holders/1")
        session.store({"held": None}, "holders/2")
        session.store({"held": None}, "holders/3")
        session.save_changes()
    store.operations.send(
        PatchOperation("holders/2", None, PatchRequest("this.held = args.v;", {"v": Money(950)}))
    )
    with store.open_session() as session:
        command = PatchCommand("holders/3", PatchRequest("this.held = args.v;", {"v": Money(950)}))
        session.advanced.defer(command)
        session.save_changes()
    assert _held(store) == {
        "holders/1": "9.50 EUR",
        "holders/2": "9.50 EUR",
        "holders/3": "9.50 EUR",
    }
    operation = store.operations.send(
        DeleteByQueryOperation("from @all_docs where held = $m", {"m": Money(950)})
    )
    assert operation.wait_for_completion().total == 3

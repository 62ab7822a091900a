"""Bad input gets a typed error and nothing of the batch is written (SPEC §2.7, D2, S14)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from rookdb import (
    ConfigurationError,
    DocumentStore,
    InvalidIdError,
    QueryError,
    RookError,
    SerializationError,
)
from rookdb.testing.suite.models import Employee, Ratio


def _documents(store: DocumentStore) -> list[str]:
    return [r.id for r in store._storage(store.database).stream()]


class Node:
    def __init__(self) -> None:
        self.child: Any = None


def _cycle() -> Any:
    a, b = Node(), Node()
    a.child, b.child = b, a
    return a


@dataclasses.dataclass
class Holder:
    value: Any


_BAD_VALUES: dict[str, Callable[[], Any]] = {
    "nan": lambda: float("nan"),
    "infinity": lambda: float("-inf"),
    "int-over-64-bits": lambda: 2**63,
    "int-under-64-bits": lambda: -(2**63) - 1,
    "huge-int": lambda: 10**40,
    "tuple-dict-key": lambda: {(1, 2): "x"},
    "float-dict-key": lambda: {1.5: "x"},
    "bool-dict-key": lambda: {True: "x"},
    "colliding-keys": lambda: {1: "a", "1": "b"},
    "lone-surrogate": lambda: "\ud800",
    "surrogate-key": lambda: {"\udfff": 1},
    "bytes": lambda: b"raw",
    "function": lambda: print,
    "object-without-state": lambda: object(),
    "circular-reference": _cycle,
    "self-containing-list": lambda: (lambda x: (x.append(x), x)[1])([]),
    "nan-decimal": lambda: __import__("decimal").Decimal("NaN"),
}


@pytest.mark.parametrize("make", list(_BAD_VALUES.values()), ids=list(_BAD_VALUES))
def test_unserializable_values_write_nothing(store: DocumentStore, make: Callable[[], Any]) -> None:
    with store.open_session() as session:
        session.store(Employee("Good"), "employees/good")
        bad = Holder(make())
        session.store(bad, "holders/bad")
        with pytest.raises(SerializationError):
            session.save_changes()
        with pytest.raises(TypeError):  # SerializationError is a TypeError too
            session.save_changes()
        assert _documents(store) == []
        session.advanced.evict(bad)
        session.save_changes()  # the next save works
    assert _documents(store) == ["employees/good"]


class Odd(float, enum.Enum):
    NAN = float("nan")


class Shade(enum.Enum):
    INFINITE = float("inf")


class Reading(pydantic.BaseModel):
    value: float
    note: str | None = None


# A non-finite float beside None values: orjson writes both as null, so the bytes cannot tell
# them apart and the save looks at the values (issue 18: a null no longer costs the slow walk).
_HIDDEN_AMONG_NULLS: dict[str, Callable[[], Any]] = {
    "top-level": lambda: Holder([None, float("nan")]),
    "nested-object": lambda: Holder(Holder(float("inf"))),
    "list": lambda: [None, 1.5, float("-inf")],
    "tuple": lambda: (None, float("nan")),
    "dict": lambda: {"a": None, "b": {"c": float("nan")}},
    "set": lambda: {1.0, float("nan")},
    "float-enum": lambda: Odd.NAN,
    "enum-value": lambda: Shade.INFINITE,
    "float-subclass": lambda: Ratio("nan"),
    "pydantic-model": lambda: Reading(value=float("nan")),
}


@pytest.mark.parametrize("make", list(_HIDDEN_AMONG_NULLS.values()), ids=list(_HIDDEN_AMONG_NULLS))
def test_a_non_finite_float_among_nulls_writes_nothing(
    store: DocumentStore, make: Callable[[], Any]
) -> None:
    with store.open_session() as session:
        session.store(Holder(None), "holders/good")
        session.store({"note": None, "value": make()}, "holders/bad")
        with pytest.raises(SerializationError, match="not a JSON number"):
            session.save_changes()
    assert _documents(store) == []


def test_a_non_finite_float_set_on_a_loaded_entity_with_unknown_fields_writes_nothing(
    store: DocumentStore,
) -> None:
    # Loaded with a field its class does not declare, held to be written back (the session's
    # extras): the check walks the entity with them.
    with store.open_session() as session:
        session.store({"value": 1.5, "unknown": None}, "holders/1")
        session.save_changes()
    with store.open_session() as session:
        holder = session.load("holders/1", Holder)
        holder.value = [None, float("nan")]
        with pytest.raises(SerializationError):
            session.save_changes()
        holder.value = [None, 2.5]
        session.save_changes()
    with store.open_session() as session:
        assert session.load("holders/1", dict) == {"value": [None, 2.5], "unknown": None}


def test_documents_holding_nulls_and_finite_floats_are_written_as_they_are(
    store: DocumentStore,
) -> None:
    values = {
        "none": None,
        "floats": [None, 1.5, -0.0, 1e308, Ratio(2.5)],
        "nested": Holder({"a": None, "b": 3.25}),
        "model": Reading(value=0.5),
    }
    with store.open_session() as session:
        session.store(dict(values), "holders/nulls")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("holders/nulls", dict) == {
            "none": None,
            "floats": [None, 1.5, -0.0, 1e308, 2.5],
            "nested": {"value": {"a": None, "b": 3.25}},
            "model": {"value": 0.5, "note": None},
        }


def test_a_bad_value_deep_in_a_big_batch_writes_nothing(store: DocumentStore) -> None:
    # Big enough that PostgreSQL has sent statements for the first 4,000 documents (it
    # pipelines a batch in statements of 2,000) when the session meets the bad one.
    with store.open_session() as session:
        for i in range(5000):
            session.store(Employee(f"E{i}"), f"employees/{i}")
        bad = Holder(float("nan"))
        session.store(bad, "holders/bad")
        with pytest.raises(SerializationError):
            session.save_changes()
        assert _documents(store) == []
        session.advanced.evict(bad)
        session.save_changes()  # the next save works, and writes each document once
    assert len(_documents(store)) == 5000


def test_a_bad_edit_to_a_loaded_entity_writes_nothing(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Holder(1.5), "holders/1")
        session.save_changes()
    with store.open_session() as session:
        holder = session.load("holders/1", Holder)
        holder.value = float("nan")
        other = Employee("Other")
        session.store(other, "employees/1")
        with pytest.raises(SerializationError):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("holders/1", Holder).value == 1.5
        assert session.load("employees/1") is None


_BAD_IDS = {
    "too-long": "a" * 513,
    "too-long-utf8": "é" * 257,
    "nul": "employees/\x00",  # other control characters are ids, as in RavenDB (test_limits)
    "lone-surrogate": "employees/\ud800",
    "leading-slash": "/employees/1",
}


@pytest.mark.parametrize("bad_id", list(_BAD_IDS.values()), ids=list(_BAD_IDS))
def test_invalid_ids(store: DocumentStore, bad_id: str) -> None:
    with store.open_session() as session:
        with pytest.raises(InvalidIdError):
            session.store(Employee("x"), bad_id)
        with pytest.raises(InvalidIdError):
            session.store(Employee("x", Id=bad_id))
        with pytest.raises(ValueError):  # InvalidIdError is a ValueError
            session.load(bad_id)
        with pytest.raises(InvalidIdError):
            session.delete(bad_id)
        assert session.advanced.has_changes is False
        session.save_changes()
    assert _documents(store) == []


def test_the_longest_valid_id(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("x"), "a" * 512)
        session.save_changes()
    assert _documents(store) == ["a" * 512]


@pytest.mark.parametrize("entity", [None, 1, "text", [1], (1,), b"x", {1, 2}])
def test_an_entity_is_an_object_or_a_dict(store: DocumentStore, entity: Any) -> None:
    with store.open_session() as session, pytest.raises(SerializationError):
        session.store(entity, "things/1")


@pytest.mark.parametrize(
    "field",
    [
        "a b",
        "a'b",
        'a"b',
        "a;b",
        "",
        "a..b",
        "a[0]",
        "$x",
        "a)",
        "a." * 300 + "a",
        "x" * 600,
        "a[]." * 127 + "a[]",
    ],
    ids=lambda field: field[:12],
)
def test_invalid_query_field_names(store: DocumentStore, field: str) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError):
            session.query(collection_name="Employees").where_equals(field, 1)
        assert session.number_of_requests == 0


@pytest.mark.parametrize("value", [[1], {"a": 1}, float("nan"), object(), 2**63, -(2**63) - 1])
def test_invalid_query_values(store: DocumentStore, value: Any) -> None:
    with store.open_session() as session, pytest.raises(QueryError):
        session.query(collection_name="Employees").where_equals("name", value)
    with store.open_session() as session, pytest.raises(QueryError):
        raw = session.advanced.raw_query("from Employees where name = $v", dict)
        raw.add_parameter("v", value).to_list()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"urls": "ftp://host"},
        {"urls": "nothing-at-all"},
        {"urls": []},
        {"database": "../escape"},
        {"database": ".hidden"},
        {"database": "x" * 129},  # RavenDB's limit is 128
        {"database": "a/b"},
        {"database": "a b"},
    ],
)
def test_bad_configuration(kwargs: dict[str, Any], tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError):
        DocumentStore(**kwargs).initialize()


def test_database_names_up_to_ravendbs_limit(store: DocumentStore) -> None:
    longest = "Db-" + "x" * 125  # 128 characters, RavenDB's limit
    with store.open_session(longest) as session:
        session.store({"n": 1}, "things/1")
        session.save_changes()
    with store.open_session(longest.lower()) as session:  # case-insensitive, as every name
        assert session.load("things/1") == {"n": 1}
    store.maintenance.delete_database(longest)


def test_every_error_is_a_rook_error() -> None:
    import rookdb

    errors = [getattr(rookdb, n) for n in rookdb.__all__ if n.endswith(("Error", "Exception"))]
    assert errors and all(issubclass(e, RookError) for e in errors)


@pytest.mark.parametrize(
    "reference", ["a\x00b", "\x01", "x" * 600, "\u00e9" * 300, "/a", ""], ids=repr
)
def test_an_include_of_a_value_that_is_no_id_includes_nothing(
    store: DocumentStore, reference: str
) -> None:
    with store.open_session() as session:
        session.store({"name": "x", "ref": reference, "refs": [reference, "people/1"]}, "orders/1")
        session.store({"name": "p"}, "people/1")
        session.save_changes()
    with store.open_session() as session:
        order = session.include("ref").include("refs[]").load("orders/1")
        assert order["ref"] == reference
        assert session.load("people/1") == {"name": "p"}
        assert session.number_of_requests == 1  # people/1 came as an include

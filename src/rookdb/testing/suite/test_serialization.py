"""Documents, serialization and collections (SPEC D1-D5) and the round-trip law."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
import pydantic
import pytest

from rookdb import DocumentStore
from rookdb.conventions import default_collection_name
from rookdb.serialization.encoding import json_equal
from rookdb.serialization.entities import EntityCodec
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import (
    Address,
    Color,
    Company,
    Employee,
    Line,
    Order,
    Ratio,
    Slotted,
)


def _stored_json(store: DocumentStore, document_id: str) -> dict[str, Any]:
    storage = store._storage(store.database)
    record = storage.get([document_id]).documents[document_id.lower()]
    return orjson.loads(record.data)  # type: ignore[no-any-return]


def _order() -> Order:
    return Order(
        customer="c",
        address=Address("Oslo", "Main"),
        lines=[Line("p1", 2), Line("p2", 1)],
        placed=dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
        color=Color.BLUE,
        tags=["x"],
    )


# -- D1 / D2: what is written -----------------------------------------------------------------


def test_document_shape_and_metadata(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(_order(), "orders/1")
        session.save_changes()
    doc = _stored_json(store, "orders/1")
    assert doc == {
        "customer": "c",
        "address": {"city": "Oslo", "street": "Main"},
        "lines": [{"product": "p1", "quantity": 2}, {"product": "p2", "quantity": 1}],
        "placed": "2024-01-02T03:04:05.1234560",  # fixed width, 7 digits (scalars.py)
        "color": "blue",
        "tags": ["x"],
        "@metadata": {
            "@collection": "Orders",
            "Raven-Python-Type": "rookdb.testing.suite.models.Order",
        },
    }
    assert list(doc) == [*list(doc)[:-1], "@metadata"]  # document order, metadata last


class Everything:
    pass


def test_supported_value_types() -> None:
    e = Everything()
    e.naive = dt.datetime(2024, 1, 1, 12, 0)  # type: ignore[attr-defined]
    e.aware = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # type: ignore[attr-defined]
    e.day = dt.date(2024, 1, 1)  # type: ignore[attr-defined]
    e.clock = dt.time(8, 30)  # type: ignore[attr-defined]
    e.span = dt.timedelta(minutes=1, milliseconds=500)  # type: ignore[attr-defined]
    e.money = decimal.Decimal("10.50")  # type: ignore[attr-defined]
    e.uid = uuid.UUID(int=5)  # type: ignore[attr-defined]
    e.tags = {"b", "a"}  # type: ignore[attr-defined]
    e.mixed = {1, "a"}  # type: ignore[attr-defined]
    e.pair = (1, 2)  # type: ignore[attr-defined]
    e.color = Color.RED  # type: ignore[attr-defined]
    e.int_keys = {1: "one"}  # type: ignore[attr-defined]

    class Point(NamedTuple):
        x: int
        y: int

    e.point = Point(1, 2)  # type: ignore[attr-defined]
    data = EntityCodec().encode_checked(e, {})
    doc = orjson.loads(data)
    assert doc["naive"] == "2024-01-01T12:00:00.0000000"
    assert doc["aware"] == "2024-01-01T10:00:00.0000000Z"  # in UTC
    assert (doc["day"], doc["clock"], doc["span"]) == ("2024-01-01", "08:30:00.0000000", 60.5)
    assert b'"money":10.50,' in data and doc["uid"] == str(uuid.UUID(int=5))
    assert doc["tags"] == ["a", "b"]  # sorted when the elements sort
    assert sorted(map(str, doc["mixed"])) == ["1", "a"]
    assert (doc["pair"], doc["color"], doc["int_keys"], doc["point"]) == (
        [1, 2],
        "red",
        {"1": "one"},
        [1, 2],
    )


def test_float_subclasses_are_written_as_their_number(store: DocumentStore) -> None:
    # orjson hands a float subclass to ``default``: it was written as the object's attributes
    # ({}), unless the document also held a null, which took the validating walk.
    with store.open_session() as session:
        session.store({"plain": Ratio(2.5), "in_a_list": [Ratio("-0.125")]}, "ratios/1")
        session.store({"plain": Ratio(2.5), "beside": None}, "ratios/2")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("ratios/1", dict) == {"plain": 2.5, "in_a_list": [-0.125]}
        assert session.load("ratios/2", dict) == {"plain": 2.5, "beside": None}


def test_a_user_hook_for_other_types(new_store) -> None:  # type: ignore[no-untyped-def]
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

        __slots__ = ("cents",)

    class Wallet:
        def __init__(self) -> None:
            self.balance = Money(150)

    store = new_store()
    store.conventions.register_encoder(Money, lambda m: f"{m.cents / 100:.2f} EUR")
    with store.open_session() as session:
        session.store(Wallet(), "wallets/1")
        session.save_changes()
    assert _stored_json(store, "wallets/1")["balance"] == "1.50 EUR"


# -- D3: reading ------------------------------------------------------------------------------


def test_nested_objects_come_back_typed_from_hints(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(_order(), "orders/1")
        session.save_changes()
    with store.open_session() as session:
        order = session.load("orders/1", Order)
        assert order == dataclasses.replace(_order(), Id="orders/1")
        assert type(order.lines[0]) is Line and type(order.address) is Address
        assert order.color is Color.BLUE and type(order.placed) is dt.datetime


def test_without_hints_nested_objects_are_dicts(store: DocumentStore) -> None:
    employee = Employee("Ann")
    employee.address = Address("Oslo")  # type: ignore[attr-defined]
    with store.open_session() as session:
        session.store(employee, "employees/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("employees/1", Employee).address == {"city": "Oslo", "street": ""}


def test_ravendb_seven_digit_datetimes_are_read() -> None:
    @dataclasses.dataclass
    class Stamp:
        at: dt.datetime

    stamp = EntityCodec().decode({"at": "2024-01-02T03:04:05.1234567Z"}, Stamp, "s/1")
    assert stamp.at == dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)


def test_constructors_are_not_called_nor_validators_when_validation_is_off(
    new_store: Callable[..., DocumentStore],
) -> None:
    # Validation on load is the default (tests/test_models.py); turned off, pydantic models are
    # built with model_construct and hold exactly what was stored.
    store = new_store()
    store.conventions.validate_on_load = False
    store.initialize()

    class Strict:
        def __init__(self, required: str) -> None:
            raise AssertionError("never called on load")

    class Validated(pydantic.BaseModel):
        n: int

        @pydantic.field_validator("n")
        @classmethod
        def positive(cls, v: int) -> int:
            if v < 0:
                raise ValueError("negative")
            return v

    with store.open_session() as session:
        session.store({"required": "x"}, "strict/1")
        session.store({"n": -5}, "validated/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("strict/1", Strict).required == "x"  # type: ignore[attr-defined]
        assert session.load("validated/1", Validated).n == -5  # kept as stored
        assert session.advanced.has_changes is False


def test_a_value_that_does_not_match_its_hint_is_kept(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(
            {"customer": "c", "address": "not an object", "lines": 5, "placed": "?"}, "orders/1"
        )
        session.save_changes()
    with store.open_session() as session:
        order = session.load("orders/1", Order)
        assert (order.address, order.lines, order.placed) == ("not an object", 5, "?")


@pytest.mark.parametrize("cls", [Employee, Slotted, Company, Order], ids=lambda c: c.__name__)
def test_unknown_fields_survive_a_round_trip(store: DocumentStore, cls: type) -> None:
    base: dict[str, Any] = {
        "first_name": "a",
        "name": "n",
        "size": 1,
        "customer": "c",
        "address": {"city": "x", "street": "", "extra_nested": 1},
        "lines": [],
        "placed": "2024-01-01T00:00:00.0000000",  # as rookdb writes it, so nothing changes
        "color": "red",
        "tags": [],
    }
    base["unknown"] = {"deep": [1, 2]}
    with store.open_session() as session:
        session.store(dict(base), "things/1")
        session.save_changes()
    calls = record_requests(store)
    with store.open_session() as session:
        entity = session.load("things/1", cls)
        assert session.advanced.has_changes is False
        session.save_changes()
        (getattr(entity, "first_name", None) is not None and setattr(entity, "first_name", "b"))
        if cls is Employee:
            assert [c.field_name for c in session.advanced.what_changed_for(entity)] == [
                "first_name"
            ]
            session.save_changes()
    assert len([c for c in calls if c.method == "apply"]) == (1 if cls is Employee else 0)
    stored = _stored_json(store, "things/1")
    assert stored["unknown"] == {"deep": [1, 2]}
    assert stored["address"]["extra_nested"] == 1


def test_missing_dataclass_fields_get_their_defaults_as_new_fields(store: DocumentStore) -> None:
    """Schema evolution: a field the document lacks gets the class's default, so the object is
    usable; the session reports it as a NEW_FIELD and the next save writes it."""
    with store.open_session() as session:
        session.store({"city": "Oslo"}, "addresses/1")
        session.save_changes()
    with store.open_session() as session:
        address = session.load("addresses/1", Address)
        assert address.street == ""
        changes = session.advanced.what_changed()["addresses/1"]
        assert [(str(c.change), c.field_name) for c in changes] == [("new_field", "street")]


def test_round_trip_law_load_then_save_writes_nothing(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(_order(), "orders/1")
        session.store(Employee("A"), "employees/1")
        session.store({"free": ["form", {"json": None}]}, "docs/1")
        session.save_changes()
    calls = record_requests(store)
    with store.open_session() as session:
        session.load("orders/1", Order)
        session.load("employees/1", Employee)
        session.load("docs/1")
        assert session.advanced.what_changed() == {}
        session.save_changes()
    assert [c.method for c in calls] == ["get", "get", "get"]


def test_edit_one_field_writes_only_that_change(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(_order(), "orders/1")
        session.save_changes()
    with store.open_session() as session:
        order = session.load("orders/1", Order)
        order.lines[1].quantity = 7
        changes = session.advanced.what_changed()["orders/1"]
        assert [(c.field_path, c.field_name) for c in changes] == [("lines[1]", "quantity")]
        session.save_changes()
    assert _stored_json(store, "orders/1")["lines"][1] == {"product": "p2", "quantity": 7}


# -- D4: collections --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "collection"),
    [
        ("Employee", "Employees"),
        ("Company", "Companies"),
        ("Person", "People"),
        ("Address", "Addresses"),
        ("Box", "Boxes"),
        ("Day", "Days"),
        ("OrderLine", "OrderLines"),
        ("SalesPerson", "SalesPeople"),
    ],
)
def test_collection_names(name: str, collection: str) -> None:
    assert default_collection_name(type(name, (), {})) == collection


def test_dict_collections_come_from_the_id_prefix(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"a": 1}, "invoices/1")
        session.store({"a": 1, "@metadata": {"@collection": "Custom"}}, "x/1")
        session.save_changes()
    stats = store.maintenance.get_statistics()
    assert stats.collections == {"Custom": 1, "invoices": 1}


# -- D5: one canonical JSON -------------------------------------------------------------------


def test_the_snapshot_is_exactly_the_stored_bytes(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(_order(), "orders/1")
        session.save_changes()
    stored = store._storage(store.database).get(["orders/1"]).documents["orders/1"].data
    with store.open_session() as session:
        order = session.load("orders/1", Order)
        state = session._map.by_entity(order)
        assert state is not None and state.snapshot == stored
        assert session._encode(state) == stored


def test_json_equal() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1) and not json_equal(0, False) and not json_equal("1", 1)
    assert json_equal({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not json_equal([1], [1, 1]) and not json_equal({"a": None}, {})


class Shade(enum.IntEnum):
    LIGHT = 1


def test_int_enums_and_bools_stay_apart() -> None:
    e = Everything()
    e.shade = Shade.LIGHT  # type: ignore[attr-defined]
    e.flag = True  # type: ignore[attr-defined]
    assert orjson.loads(EntityCodec().encode_checked(e, {})) == {
        "shade": 1,
        "flag": True,
        "@metadata": {},
    }


def test_line_separators_in_strings_survive_a_stream(store: DocumentStore) -> None:
    # JSON writes U+2028, U+2029 and U+0085 unescaped; a stream of JSON lines (export, the
    # server's /streams) must split at "\n" only. Over http such a document came back cut.
    texts = ["a\u2028b", "a\u2029b", "a\x85b", "a\nb\r\nc", "a\x1cb\x1d\x1e"]
    with store.open_session() as session:
        for i, text in enumerate(texts):
            session.store({"text": text}, f"lines/{i}")
        session.save_changes()
    streamed = {r.id: orjson.loads(r.data)["text"] for r in store._storage(store.database).stream()}
    assert streamed == {f"lines/{i}": text for i, text in enumerate(texts)}

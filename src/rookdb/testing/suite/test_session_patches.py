"""The session's patches (``session.advanced.patch``, ``increment``, ``patch_array``,
``add_or_patch``, ``add_or_increment``, ``add_or_patch_array``, ``defer``), on every backend:
sent in the next save's one batch, RavenDB's rules for documents the session also writes,
the tracked entity updated from the patch's reply, nothing lost after a failed save, a
``Decimal`` the patch sets written with its digits (``9.50``, not ``9.5``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from rookdb import (
    ConcurrencyError,
    DocumentStore,
    InvalidOperationError,
    PatchCommand,
    PatchError,
    PatchRequest,
    PatchScriptError,
    PutCommand,
    SerializationError,
)
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Address, Line, Order, Product


def _order() -> Order:
    return Order(
        "alice", Address("Oslo"), [Line("p/1", 1)], dt.datetime(2026, 1, 2, 3, 4, 5), tags=["a"]
    )


def _seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Product("Ink", 10), "products/1")
        session.store(_order(), "orders/1")
        session.save_changes()


def test_patch_and_increment_by_id_in_one_request(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        session.advanced.patch("products/1", "name", "Paper")
        session.advanced.increment("products/1", "units_in_stock", -3)
        session.advanced.increment("products/1", "units_in_stock", -2)
        assert session.advanced.has_changes
        calls = record_requests(store)
        session.save_changes()
        assert [c.method for c in calls] == ["apply"]
        (batch,) = calls[0].args
        assert len(list(batch)) == 1  # the three patches of one document: one command
        assert not session.advanced.has_changes
    with store.open_session() as session:
        product = session.load("products/1", Product)
        assert (product.name, product.units_in_stock) == ("Paper", 5)


def test_patch_a_tracked_entity_updates_it(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        order = session.load("orders/1", Order)
        before = session.advanced.get_change_vector_for(order)
        session.advanced.patch(order, "address.city", "Bergen")
        session.advanced.patch_array(order, "tags", lambda tags: tags.add("b", "c").remove_at(0))
        session.save_changes()
        # The reply's document: the entity holds it, with the new change vector.
        assert order.address.city == "Bergen" and order.tags == ["b", "c"]
        assert session.advanced.get_change_vector_for(order) != before
        assert not session.advanced.has_changes
        order.customer = "bob"  # and it saves normally afterwards, under its new change vector
        session.save_changes()
    with store.open_session() as session:
        stored = session.load("orders/1", Order)
        assert (stored.customer, stored.address.city, stored.tags) == ("bob", "Bergen", ["b", "c"])


def test_values_are_encoded_as_fields_are(store: DocumentStore) -> None:
    _seed(store)
    when = dt.datetime(2030, 5, 6, 7, 8, 9)
    with store.open_session() as session:
        session.advanced.patch("orders/1", "placed", when)
        session.advanced.patch_array("orders/1", "lines", lambda lines: lines.add(Line("p/2", 2)))
        session.save_changes()
    with store.open_session() as session:
        order = session.load("orders/1", Order)
        assert order.placed == when
        assert order.lines == [Line("p/1", 1), Line("p/2", 2)]


def test_add_or_patch_creates_then_patches(store: DocumentStore) -> None:
    for round_ in range(2):
        with store.open_session() as session:
            session.advanced.add_or_patch("products/7", Product("New", 1), "name", "Patched")
            counter = Product("Count", 1)
            session.advanced.add_or_increment("products/8", counter, "units_in_stock", 5)
            session.advanced.add_or_patch_array(
                "orders/7", _order(), "tags", lambda tags: tags.add("x")
            )
            session.save_changes()
        with store.open_session() as session:
            product = session.load("products/7", Product)
            counted = session.load("products/8", Product)
            order = session.load("orders/7", Order)
            if round_ == 0:  # created as given, not patched
                assert product.name == "New" and counted.units_in_stock == 1
                assert order.tags == ["a"]
            else:
                assert product.name == "Patched" and counted.units_in_stock == 6
                assert order.tags == ["a", "x"]
            assert session.advanced.get_metadata_for(product)["@collection"] == "Products"


def test_patch_of_a_missing_document_writes_nothing(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.advanced.patch("products/404", "name", "x")
        session.save_changes()
        assert session.load("products/404", Product) is None


def test_a_document_modified_in_the_session_cannot_also_be_patched(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        product = session.load("products/1", Product)
        product.name = "Changed"
        session.advanced.increment(product, "units_in_stock", 1)
        with pytest.raises(InvalidOperationError, match="deferred"):
            session.save_changes()
    with store.open_session() as session:
        session.advanced.patch("products/1", "name", "x")
        with pytest.raises(InvalidOperationError, match="deferred"):
            session.store(Product("Other"), "products/1")
        session.delete("products/1")
        with pytest.raises(InvalidOperationError, match="deleted"):
            session.save_changes()
    with store.open_session() as session:
        product = session.load("products/1", Product)
        assert (product.name, product.units_in_stock) == ("Ink", 10)  # nothing written


def test_a_failed_save_keeps_the_deferred_commands(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        session.store(Product("Brush"), "products/2")
        session.advanced.increment("products/1", "units_in_stock", 1)
        session.advanced.defer(
            PatchCommand("orders/1", PatchRequest("this.x = 1;"), expected_change_vector="A:1-st")
        )
        with pytest.raises(ConcurrencyError):
            session.save_changes()
        assert session.load("products/2", Product) is not None  # still tracked, unsaved
        assert session.advanced.has_changes
    with store.open_session() as session:
        assert session.load("products/2", Product) is None
        assert session.load("products/1", Product).units_in_stock == 10


def test_defer_script_and_puts(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        session.advanced.defer(
            PatchCommand(
                "products/1",
                PatchRequest(
                    "this.units_in_stock *= args.k; put('logs/1', {n: this.units_in_stock});",
                    {"k": 3},
                ),
            ),
            PutCommand("notes/1", "Notes", b'{"text":"hi","@metadata":{"@collection":"Notes"}}'),
        )
        session.save_changes()
    with store.open_session() as session:
        assert session.load("products/1", Product).units_in_stock == 30
        assert session.load("logs/1")["n"] == 30
        assert session.load("notes/1")["text"] == "hi"


def test_a_script_error_in_a_save_writes_nothing(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        session.store(Product("Brush"), "products/2")
        session.advanced.defer(PatchCommand("products/1", PatchRequest("this.a.b = 1;")))
        with pytest.raises(PatchScriptError):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("products/2", Product) is None


def test_typed_patch_errors(store: DocumentStore) -> None:
    _seed(store)
    with pytest.raises(ValueError):
        PatchRequest(" ")
    with store.open_session() as session:
        with pytest.raises(ValueError):
            session.advanced.patch("products/1", "bad path!", 1)
        with pytest.raises(ValueError):
            session.advanced.increment("products/1", "units_in_stock", "1")  # type: ignore[arg-type]
        with pytest.raises(InvalidOperationError):
            session.advanced.patch(Product("untracked"), "name", "x")
        session.advanced.patch_array("products/1", "name", lambda a: a.add(1))
        with pytest.raises(PatchError, match="not an array"):
            session.save_changes()


# -- a Decimal the patch sets -----------------------------------------------------------------


@dataclasses.dataclass
class PriceLine:
    amount: Decimal


@dataclasses.dataclass
class PriceList:
    price: Decimal
    lines: list[PriceLine]
    rates: list[Decimal]
    by_month: dict[str, Decimal]
    fee: Decimal | None = None


def _price_list(price: str = "1") -> PriceList:
    return PriceList(Decimal(price), [PriceLine(Decimal("2"))], [Decimal("3")], {"jan": Decimal(4)})


def _stored(store: DocumentStore, document_id: str) -> bytes:
    return store._storage(store.database).get([document_id]).documents[document_id].data


#: How the session patches "prices/1" (tracked as ``entity``), which of the loaded entity's
#: Decimals hold what it set, with their digits, and what the stored JSON then holds.
DecimalPatch = tuple[
    Callable[[Any, PriceList], None], Callable[[PriceList], list[Any]], list[str], bytes
]

DECIMAL_PATCHES: dict[str, DecimalPatch] = {
    "patch": (
        lambda advanced, entity: advanced.patch(entity, "price", Decimal("9.50")),
        lambda loaded: [loaded.price],
        ["9.50"],
        b'"price":9.50',
    ),
    "patch by id": (
        lambda advanced, entity: advanced.patch("prices/1", "fee", Decimal("0.10")),
        lambda loaded: [loaded.fee],
        ["0.10"],
        b'"fee":0.10',
    ),
    "patch a nested path": (
        lambda advanced, entity: advanced.patch(entity, "by_month.feb", Decimal("1E+3")),
        lambda loaded: [loaded.by_month["feb"]],
        ["1E+3"],
        b'"feb":1E+3',
    ),
    "patch a dict": (
        lambda advanced, entity: advanced.patch(entity, "by_month", {"mar": Decimal("5.00")}),
        lambda loaded: list(loaded.by_month.values()),
        ["5.00"],
        b'"by_month":{"mar":5.00}',
    ),
    "patch a list": (
        lambda advanced, entity: advanced.patch(
            entity, "rates", (Decimal("1.10"), Decimal("-0.20"), Decimal("7"))
        ),
        lambda loaded: loaded.rates,
        ["1.10", "-0.20", "7"],
        b'"rates":[1.10,-0.20,7]',
    ),
    "patch an object": (
        lambda advanced, entity: advanced.patch(entity, "lines", [PriceLine(Decimal("7.70"))]),
        lambda loaded: [line.amount for line in loaded.lines],
        ["7.70"],
        b'"lines":[{"amount":7.70}]',
    ),
    "patch_array": (
        lambda advanced, entity: advanced.patch_array(
            entity, "rates", lambda rates: rates.add(Decimal("2.50"), Decimal("0.000"))
        ),
        lambda loaded: loaded.rates,
        ["3", "2.50", "0.000"],
        b'"rates":[3,2.50,0.000]',
    ),
    "patch_array of objects": (
        lambda advanced, entity: advanced.patch_array(
            entity, "lines", lambda lines: lines.add(PriceLine(Decimal("8.80")))
        ),
        lambda loaded: [line.amount for line in loaded.lines],
        ["2", "8.80"],
        b'"lines":[{"amount":2},{"amount":8.80}]',
    ),
    "add_or_patch": (
        lambda advanced, entity: advanced.add_or_patch(
            "prices/1", _price_list(), "price", Decimal("12.3400")
        ),
        lambda loaded: [loaded.price],
        ["12.3400"],
        b'"price":12.3400',
    ),
    "add_or_patch_array": (
        lambda advanced, entity: advanced.add_or_patch_array(
            "prices/1", _price_list(), "rates", lambda rates: rates.add(Decimal("1.50E-7"))
        ),
        lambda loaded: loaded.rates,
        ["3", "1.50E-7"],
        b'"rates":[3,1.50E-7]',
    ),
}


@pytest.mark.parametrize("case", DECIMAL_PATCHES.values(), ids=list(DECIMAL_PATCHES))
def test_a_decimal_the_patch_sets_keeps_its_digits(
    store: DocumentStore, case: DecimalPatch
) -> None:
    patch, read, digits, stored = case
    with store.open_session() as session:
        session.store(_price_list(), "prices/1")
        session.save_changes()
    with store.open_session() as session:
        entity = session.load("prices/1", PriceList)
        patch(session.advanced, entity)
        session.save_changes()
        # The tracked entity holds the patched document as stored: nothing to write again.
        assert [str(value) for value in read(entity)] == digits
        assert not session.advanced.has_changes
    assert stored in _stored(store, "prices/1")
    with store.open_session() as session:
        loaded = read(session.load("prices/1", PriceList))
        assert loaded == [Decimal(text) for text in digits]
        assert [str(value) for value in loaded] == digits
        assert all(type(value) is Decimal for value in loaded)


def test_a_decimal_patch_writes_its_digits_over_an_equal_number(store: DocumentStore) -> None:
    # 9.5 stored and 9.50 set: equal numbers written otherwise, so the patch writes it, as a
    # save of a field changed so would; the same digits again change nothing (RavenDB's
    # NotModified: nothing written, the change vector kept).
    with store.open_session() as session:
        session.store(_price_list("9.5"), "prices/1")
        session.save_changes()

    def patched(value: Decimal) -> tuple[str | None, Decimal]:
        with store.open_session() as session:
            session.advanced.patch("prices/1", "price", value)
            session.save_changes()
        with store.open_session() as session:
            entity = session.load("prices/1", PriceList)
            return session.advanced.get_change_vector_for(entity), entity.price

    before, _ = patched(Decimal("9.5"))
    written, price = patched(Decimal("9.50"))
    assert written != before and str(price) == "9.50" and price == Decimal("9.50")
    assert b'"price":9.50' in _stored(store, "prices/1")
    assert patched(Decimal("9.50")) == (written, price)
    again, price = patched(Decimal("9.5"))
    assert again != written and str(price) == "9.5"


def test_a_decimal_patch_writes_its_digits_over_an_equal_integer(store: DocumentStore) -> None:
    # 10 stored and 10.00 set (and back): equal, written otherwise, so written.
    with store.open_session() as session:
        session.store(_price_list("10"), "prices/1")
        session.save_changes()
    assert _stored(store, "prices/1").startswith(b'{"price":10,')
    for value, stored in (("10.00", b'{"price":10.00,'), ("1E+1", b'{"price":1E+1,')):
        with store.open_session() as session:
            session.advanced.patch("prices/1", "price", Decimal(value))
            session.save_changes()
        assert _stored(store, "prices/1").startswith(stored)
        with store.open_session() as session:
            assert str(session.load("prices/1", PriceList).price) == value
    with store.open_session() as session:
        session.advanced.patch("prices/1", "price", Decimal("10"))
        session.save_changes()
    assert _stored(store, "prices/1").startswith(b'{"price":10,')


#: How the session sets "v" of a document (tracked as ``entity``) to ``value``.
SETTERS: dict[str, Callable[[Any, Any, Any], None]] = {
    "patch": lambda advanced, entity, value: advanced.patch(entity, "v", value),
    "patch by id": lambda advanced, entity, value: advanced.patch(entity["Id"], "v", value),
    "add_or_patch": lambda advanced, entity, value: advanced.add_or_patch(
        entity["Id"], {"v": None}, "v", value
    ),
    "patch_array": lambda advanced, entity, value: advanced.patch_array(
        entity, "a", lambda a: (a.remove_at(0), a.add(value))
    ),
}

#: A value set over a stored one Python finds equal, and the JSON it is written as.
EQUAL_IN_PYTHON_ONLY = [
    (1, True, b"true"),
    (True, 1, b"1"),
    (0, False, b"false"),
    (False, 0, b"0"),
    (1, 1.0, b"1.0"),
    (1.0, 1, b"1"),
    (1, Decimal("1.0"), b"1.0"),
    (1.5, Decimal("1.50"), b"1.50"),
]


@pytest.mark.parametrize("setter", SETTERS.values(), ids=list(SETTERS))
def test_a_patch_writes_a_value_python_finds_equal_to_the_stored_one(
    store: DocumentStore, setter: Callable[[Any, Any, Any], None]
) -> None:
    # ``True == 1`` and ``1 == 1.0`` in Python; JSON writes them otherwise, so the patch
    # writes them (RavenDB's Patched, not NotModified), and the session holds them.
    with store.open_session() as session:
        for n, (stored, _, _) in enumerate(EQUAL_IN_PYTHON_ONLY):
            session.store({"v": stored, "a": [stored], "Id": f"things/{n}"}, f"things/{n}")
        session.save_changes()
    with store.open_session() as session:
        for n, (stored, value, written) in enumerate(EQUAL_IN_PYTHON_ONLY):
            entity = session.load(f"things/{n}")
            before = session.advanced.get_change_vector_for(entity)
            setter(session.advanced, entity, value)
            session.save_changes()
            assert session.advanced.get_change_vector_for(entity) != before, (stored, value)
            assert not session.advanced.has_changes
            data = _stored(store, f"things/{n}")
            if setter is SETTERS["patch_array"]:
                expected = b'{"v":' + orjson.dumps(stored) + b',"a":[' + written + b"],"
            else:
                expected = b'{"v":' + written + b',"a":['
            assert data.startswith(expected), (stored, value, data)


def test_an_increment_by_zero_keeps_the_digits(store: DocumentStore) -> None:
    # Adding 0 changes nothing (RavenDB's NotModified): the number stays as it was written.
    with store.open_session() as session:
        session.store(_price_list("9.50"), "prices/1")
        session.save_changes()
        before = session.advanced.get_change_vector_for(session.load("prices/1", PriceList))
    with store.open_session() as session:
        session.advanced.increment("prices/1", "price", 0)
        session.save_changes()
    with store.open_session() as session:
        entity = session.load("prices/1", PriceList)
        assert session.advanced.get_change_vector_for(entity) == before
        assert str(entity.price) == "9.50"
    assert _stored(store, "prices/1").startswith(b'{"price":9.50,')


@pytest.mark.parametrize(
    "value", [Decimal("12345678901234567.89"), Decimal("NaN"), Decimal("-Infinity")]
)
def test_a_decimal_a_json_number_cannot_hold_is_refused_at_the_patch(
    store: DocumentStore, value: Decimal
) -> None:
    # As a field holding it is refused at store(): never stored as another number.
    with store.open_session() as session:
        session.store(_price_list(), "prices/1")
        session.save_changes()
    with store.open_session() as session:
        with pytest.raises(SerializationError):
            session.advanced.patch("prices/1", "price", value)
        with pytest.raises(SerializationError):
            session.advanced.patch("prices/1", "by_month", {"feb": value})
        with pytest.raises(SerializationError):
            session.advanced.patch_array("prices/1", "rates", lambda rates: rates.add(value))
        assert not session.advanced.has_changes
    assert _stored(store, "prices/1").startswith(b'{"price":1,')

"""The session's patches (``session.advanced.patch``, ``increment``, ``patch_array``,
``add_or_patch``, ``add_or_increment``, ``add_or_patch_array``, ``defer``), on every backend:
sent in the next save's one batch, RavenDB's rules for documents the session also writes,
the tracked entity updated from the patch's reply, nothing lost after a failed save."""

from __future__ import annotations

import datetime as dt

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

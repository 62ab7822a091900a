"""A ``Decimal`` field loads with the digits it was stored with (SPEC D2).

A decimal is stored as a JSON number holding its own digits (``Decimal("9.50")`` as ``9.50``,
``Decimal("1E+3")`` as ``1E+3``). A JSON number is read as a float, which keeps the value but
not how it was written: ``9.50`` reads as ``9.5``. A field the class types as ``Decimal`` is
read from the stored text instead, at any depth (nested objects, lists, dicts, Optional), by
every way a session reads documents; every other field reads numbers as it always has.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pydantic
import pytest

from rookdb import DocumentStore
from rookdb.indexes import IndexDefinition
from rookdb.operations import PutIndexesOperation
from rookdb.patches import ArrayAdd, Increment, SetValue
from rookdb.storage.commands import PatchCommand, PatchRequest, PutCommand
from rookdb.testing.recording import record_requests
from rookdb.transfer import export_records, import_records

# Written as they are: trailing zeros, exponents, a negative, integers, negative zeros.
DIGITS = ["9.50", "100.00", "1E+3", "0.00", "-12.340", "1.5E-7", "2.5E+2", "20", "7.0"]
DIGITS += ["-0", "-0.00"]


@dataclasses.dataclass
class Line:
    amount: Decimal
    weight: float = 0.0  # a float field: read as a float, whatever its text


@dataclasses.dataclass
class Ledger:
    total: Decimal
    fee: Decimal | None
    lines: list[Line]
    rates: list[Decimal]
    by_month: dict[str, Decimal]
    ratio: float
    loose: dict[str, Any]  # untyped: a number in it is read as JSON reads it
    Id: str | None = None


@dataclasses.dataclass
class Basket:  # Decimals only in the objects it holds
    owner: str
    lines: list[Line]


class Price:  # a plain class, typed by its __init__
    def __init__(self, amount: Decimal, currency: str) -> None:
        self.amount = amount
        self.currency = currency


class PricedModel(pydantic.BaseModel):
    amount: Decimal
    history: list[Decimal] = []


def _ledger(at: int) -> Ledger:
    text = DIGITS[at % len(DIGITS)]
    return Ledger(
        total=Decimal(text),
        fee=Decimal("0.50"),
        lines=[Line(Decimal("3.10")), Line(Decimal(text), 2.5)],
        rates=[Decimal("1.000"), Decimal(text)],
        by_month={"jan": Decimal("10.10"), "feb": Decimal(text)},
        ratio=0.25,
        loose={"kept": Decimal("2.50")},
    )


def _digits(ledger: Ledger) -> list[str]:
    return [
        str(value)
        for value in (
            ledger.total,
            ledger.fee,
            *(line.amount for line in ledger.lines),
            *ledger.rates,
            *ledger.by_month.values(),
        )
    ]


@pytest.fixture
def ledgers(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for at in range(len(DIGITS)):
            session.store(_ledger(at), f"ledgers/{at}")
        session.save_changes()
    return store


def _load_one(session: Any) -> list[Ledger]:
    return [session.load(f"ledgers/{at}", Ledger) for at in range(len(DIGITS))]


def _load_many(session: Any) -> list[Ledger]:
    found = session.load([f"ledgers/{at}" for at in range(len(DIGITS))], Ledger)
    return [found[f"ledgers/{at}"] for at in range(len(DIGITS))]


def _by_metadata(session: Any) -> list[Ledger]:
    # No class asked for: the one the document's metadata names.
    found = session.load([f"ledgers/{at}" for at in range(len(DIGITS))])
    return [found[f"ledgers/{at}"] for at in range(len(DIGITS))]


def _query(session: Any) -> list[Ledger]:
    found = {ledger.Id: ledger for ledger in session.query(object_type=Ledger)}
    return [found[f"ledgers/{at}"] for at in range(len(DIGITS))]


def _lazily(session: Any) -> list[Ledger]:
    lazy = session.advanced.lazily.load([f"ledgers/{at}" for at in range(len(DIGITS))], Ledger)
    found = lazy.value
    return [found[f"ledgers/{at}"] for at in range(len(DIGITS))]


READS: dict[str, Callable[[Any], list[Ledger]]] = {
    "load": _load_one,
    "load many": _load_many,
    "load by metadata": _by_metadata,
    "query": _query,
    "lazily": _lazily,
}


@pytest.mark.parametrize("read", READS.values(), ids=list(READS))
def test_decimal_fields_load_with_their_digits(
    ledgers: DocumentStore, read: Callable[[Any], list[Ledger]]
) -> None:
    calls = record_requests(ledgers)
    with ledgers.open_session() as session:
        loaded = read(session)
        for at, ledger in enumerate(loaded):
            assert isinstance(ledger, Ledger)
            assert _digits(ledger) == _digits(_ledger(at))
            assert all(type(line.amount) is Decimal for line in ledger.lines)
        # Read back as written, so the stored JSON is what the entity gives: nothing changed.
        assert not session.advanced.has_changes
        assert session.advanced.what_changed() == {}
        reads = len(calls)
        session.save_changes()
        assert len(calls) == reads  # nothing written


def test_streamed_and_refreshed_decimals_keep_their_digits(ledgers: DocumentStore) -> None:
    with ledgers.open_session() as session:
        query = session.query(object_type=Ledger)
        streamed = {r.key: r.document for r in session.advanced.stream(query)}
        for at in range(len(DIGITS)):
            assert _digits(streamed[f"ledgers/{at}"]) == _digits(_ledger(at))
        ledger = session.load("ledgers/0", Ledger)
        ledger.total = Decimal("1")
        session.advanced.refresh(ledger)
        assert str(ledger.total) == DIGITS[0]


@dataclasses.dataclass
class Amounts:  # a projection of a Ledger
    total: Decimal
    fee: Decimal | None
    lines: list[Line]
    rates: list[Decimal]
    by_month: dict[str, Decimal]


def _amounts(amounts: Amounts) -> list[str]:
    a = amounts
    return _digits(Ledger(a.total, a.fee, a.lines, a.rates, a.by_month, ratio=0.0, loose={}))


def _select(session: Any) -> list[Amounts]:
    return session.query(object_type=Ledger).select_fields(
        Amounts, "total", "fee", "lines", "rates", "by_month"
    )


def _select_declared(session: Any) -> list[Amounts]:
    return session.query(object_type=Ledger).select_fields(Amounts)  # the fields it declares


def _raw_select(session: Any) -> list[Amounts]:
    rql = "from Ledgers select total, fee, lines, rates, by_month"
    return session.advanced.raw_query(rql, Amounts)


def _select_lazily(session: Any) -> list[Amounts]:
    return _select_declared(session).lazily().value


def _select_streamed(session: Any) -> list[Amounts]:
    return [row.document for row in session.advanced.stream(_select_declared(session))]


PROJECTIONS: dict[str, Callable[[Any], Any]] = {
    "select_fields": _select,
    "select_fields of the class": _select_declared,
    "RQL select": _raw_select,
    "lazily": _select_lazily,
    "streamed": _select_streamed,
}


@pytest.mark.rookdb_requires("projection_digits")
@pytest.mark.parametrize("project", PROJECTIONS.values(), ids=list(PROJECTIONS))
def test_projections_into_decimal_fields_keep_their_digits(
    ledgers: DocumentStore, project: Callable[[Any], Any]
) -> None:
    # As a load of the whole entity reads them: 9.50 is Decimal("9.50"), not 9.5.
    with ledgers.open_session() as session:
        projected = list(project(session))
        assert all(type(amounts) is Amounts for amounts in projected)
        assert sorted(map(_amounts, projected)) == sorted(
            _digits(_ledger(at)) for at in range(len(DIGITS))
        )
        assert all(type(line.amount) is Decimal for p in projected for line in p.lines)
        # A projection into a dict reads numbers as JSON does.
        rows = list(session.query(object_type=Ledger).select_fields(dict, "total", "fee"))
        assert {"total": 9.5, "fee": 0.5} in rows and all(type(r["fee"]) is float for r in rows)


@pytest.mark.rookdb_requires("projection_digits")
def test_distinct_projections_keep_the_digits_of_the_first(ledgers: DocumentStore) -> None:
    # Decimals compare by value (SPEC D2): -0 and -0.00 make one projection, with the digits
    # of the first document giving it; every other one keeps its own.
    with ledgers.open_session() as session:
        projected = list(_select_declared(session).distinct())
        expected = [_digits(_ledger(at)) for at in range(len(DIGITS))]
        assert len(projected) == len(DIGITS) - 1
        assert all(_amounts(p) in expected for p in projected)


@pytest.mark.rookdb_requires("indexes", "projection_digits")
def test_projections_of_a_map_index_query_keep_their_digits(ledgers: DocumentStore) -> None:
    # Projected from the documents the index answers, queried and streamed.
    definition = IndexDefinition(
        name="Ledgers/ByRatio", maps={"from l in docs.Ledgers select new { l.ratio }"}
    )
    ledgers.maintenance.send(PutIndexesOperation(definition))
    expected = sorted(_digits(_ledger(at)) for at in range(len(DIGITS)))
    with ledgers.open_session() as session:
        query = session.query_index("Ledgers/ByRatio", Ledger).where_equals("ratio", 0.25)
        projected = query.select_fields(Amounts)
        assert sorted(map(_amounts, projected)) == expected
        streamed = session.advanced.stream(query.select_fields(Amounts))
        assert sorted(_amounts(row.document) for row in streamed) == expected


def test_other_fields_read_numbers_as_json_does(store: DocumentStore) -> None:
    # The same text in a field not typed Decimal: a float field holds a float, an untyped
    # one the float JSON reads, as before.
    with store.open_session() as session:
        session.store(_ledger(0), "ledgers/a")
        session.store(
            {
                "total": Decimal("1.10"),
                "fee": None,
                "lines": [{"amount": Decimal("2.20"), "weight": Decimal("4.50")}],
                "rates": [],
                "by_month": {},
                "ratio": Decimal("0.50"),
                "loose": {"kept": Decimal("2.50"), "deep": [Decimal("1E+2")]},
                "extra": Decimal("3.30"),  # a field Ledger does not declare
            },
            "ledgers/b",
        )
        session.save_changes()
    with store.open_session() as session:
        a = session.load("ledgers/a", Ledger)
        assert a.loose == {"kept": 2.5} and type(a.loose["kept"]) is float
        b = session.load("ledgers/b", Ledger)
        assert str(b.total) == "1.10" and str(b.lines[0].amount) == "2.20"
        assert b.fee is None
        assert type(b.ratio) is float and b.ratio == 0.5
        assert type(b.lines[0].weight) is float and b.lines[0].weight == 4.5
        assert b.loose == {"kept": 2.5, "deep": [100.0]}
        assert type(b.loose["deep"][0]) is float
        # The field Ledger does not declare is kept, and written back as it was read.
        b.total = Decimal("1.20")
        session.save_changes()
    with store.open_session() as session:
        raw = session.load("ledgers/b", dict)
        assert raw["extra"] == 3.3 and raw["total"] == 1.2


def test_plain_classes_and_models_read_decimals_with_their_digits(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Price(Decimal("19.90"), "EUR"), "prices/1")
        session.store(PricedModel(amount=Decimal("5.00"), history=[Decimal("4.50")]), "models/1")
        session.save_changes()
    with store.open_session() as session:
        price = session.load("prices/1", Price)
        model = session.load("models/1", PricedModel)
        assert str(price.amount) == "19.90" and price.currency == "EUR"
        assert str(model.amount) == "5.00" and [str(d) for d in model.history] == ["4.50"]
        assert not session.advanced.has_changes


def test_a_document_without_such_numbers_reads_as_before(store: DocumentStore) -> None:
    # Decimals a float gives back as written, and text that only looks like a number.
    with store.open_session() as session:
        session.store(Price(Decimal("19.9"), "1.50 E+3"), "prices/1")
        session.save_changes()
    with store.open_session() as session:
        price = session.load("prices/1", Price)
        assert str(price.amount) == "19.9" and price.currency == "1.50 E+3"
        assert not session.advanced.has_changes


@pytest.mark.parametrize("text", ["-0", "-0.00", "-0E+2", "0"])
def test_a_zero_keeps_its_sign_and_digits(store: DocumentStore, text: str) -> None:
    # JSON's -0 is read as the integer 0 (by orjson, SQLite, every JSON reader of Python), so
    # Decimal("-0") is written -0E+0: the same digits, sign and exponent, read as -0.0.
    written = {"-0": b"-0E+0", "-0.00": b"-0.00", "-0E+2": b"-0E+2", "0": b"0"}[text]
    with store.open_session() as session:
        session.store(Price(Decimal(text), "EUR"), "prices/1")
        session.store(Price(Decimal("1"), "EUR"), "prices/2")
        session.save_changes()
    storage = store._storage(store.database)
    assert (
        storage.get(["prices/1"])
        .documents["prices/1"]
        .data.startswith(b'{"amount":' + written + b",")
    )
    with store.open_session() as session:
        price = session.load("prices/1", Price)
        assert str(price.amount) == text and price.amount.as_tuple() == Decimal(text).as_tuple()
        assert not session.advanced.has_changes
        # A zero, numerically, for queries, whatever its sign.
        zeros = session.query(object_type=Price).where_equals("amount", Decimal("0"))
        assert [str(p.amount) for p in zeros] == [text]
        session.advanced.patch("prices/2", "amount", Decimal(text))
        session.save_changes()
    with store.open_session() as session:
        assert str(session.load("prices/2", Price).amount) == text


def test_decimals_of_nested_objects_only_keep_their_digits(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Basket("ann", [Line(Decimal("4.50")), Line(Decimal("1E+2"))]), "baskets/1")
        session.save_changes()
    with store.open_session() as session:
        basket = session.load("baskets/1", Basket)
        assert [str(line.amount) for line in basket.lines] == ["4.50", "1E+2"]
        assert not session.advanced.has_changes


def test_what_changed_shows_numbers_as_they_would_be_written(store: DocumentStore) -> None:
    # Its values are the JSON the save writes, decoded (a datetime as its text): a number a
    # float does not give back as written is the Decimal of its text (9.50, not 9.5).
    with store.open_session() as session:
        session.store(Price(Decimal("9.50"), "EUR"), "prices/1")
        (added,) = session.advanced.what_changed()["prices/1"]
        shown = added.field_new_value["amount"]
        assert type(shown) is Decimal and str(shown) == "9.50"
        session.save_changes()
    with store.open_session() as session:
        price = session.load("prices/1", Price)
        price.amount = Decimal("7.10")
        (changed,) = session.advanced.what_changed_for(price)
        old, new = changed.field_old_value, changed.field_new_value
        assert (type(old), str(old), type(new), str(new)) == (Decimal, "9.50", Decimal, "7.10")
        ((replace,),) = session.advanced.what_changed(as_patch=True).values()
        assert replace == {"op": "replace", "path": "/amount", "value": Decimal("7.10")}
        assert str(replace["value"]) == "7.10"
        price.amount = Decimal("7.5")  # a float's own digits: the float, as JSON reads it
        (changed,) = session.advanced.what_changed()["prices/1"]
        assert changed.field_new_value == 7.5 and type(changed.field_new_value) is float
        session.delete(price)
        (deleted,) = session.advanced.what_changed()["prices/1"]
        assert str(deleted.field_old_value["amount"]) == "9.50"


def test_bulk_inserted_decimals_keep_their_digits(store: DocumentStore) -> None:
    with store.bulk_insert() as bulk:
        for at in range(len(DIGITS)):
            bulk.store(_ledger(at), id=f"ledgers/{at}")
    with store.open_session() as session:
        for at, ledger in enumerate(_load_one(session)):
            assert _digits(ledger) == _digits(_ledger(at))


def test_decimals_saved_with_an_attachment_keep_their_digits(store: DocumentStore) -> None:
    # One save with both: over HTTP, a batch with the attachment's stream (multipart).
    with store.open_session() as session:
        session.store(_ledger(0), "ledgers/0")
        session.advanced.attachments.store("ledgers/0", "receipt.txt", b"paid")
        session.save_changes()
    with store.open_session() as session:
        assert _digits(session.load("ledgers/0", Ledger)) == _digits(_ledger(0))


def test_a_typed_patch_keeps_the_digits_it_does_not_touch(ledgers: DocumentStore) -> None:
    # A patch rewrites the stored document: what it does not change is written as it was.
    with ledgers.open_session() as session:
        ledger = session.load("ledgers/0", Ledger)
        session.advanced.increment(ledger, "ratio", 1)
        session.advanced.patch(ledger, "by_month.mar", 3)
        session.advanced.patch_array(ledger, "rates", lambda rates: rates.add(2))
        session.save_changes()
    with ledgers.open_session() as session:
        ledger = session.load("ledgers/0", Ledger)
        expected = _ledger(0)
        assert ledger.ratio == 1.25 and str(ledger.by_month["mar"]) == "3"
        assert str(ledger.rates[-1]) == "2"
        assert not session.advanced.has_changes
        expected.by_month["mar"] = Decimal(3)
        expected.rates.append(Decimal(2))
        assert _digits(ledger) == _digits(expected)


def test_add_or_patch_creates_with_the_decimals_digits(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.advanced.add_or_increment("ledgers/new", _ledger(0), "ratio", 1)
        session.save_changes()
    with store.open_session() as session:
        ledger = session.load("ledgers/new", Ledger)
        assert _digits(ledger) == _digits(_ledger(0)) and ledger.ratio == 0.25


def test_a_typed_patch_writes_back_the_numbers_it_does_not_touch(store: DocumentStore) -> None:
    # The stored bytes, whatever class reads them: a number the patch does not set is
    # written as it was, one it sets is written as JSON writes its value.
    storage = store._storage(store.database)
    data = b'{"a":9.50,"b":1E+3,"c":[0.10,2],"n":1.50,"@metadata":{"@collection":"Things"}}'
    storage.apply([PutCommand("things/1", "Things", data)])
    operations = (Increment("n", 1), SetValue("d", 2.5), ArrayAdd("c", (3,)))
    storage.apply([PatchCommand("things/1", PatchRequest("", {}, operations))])
    stored = storage.get(["things/1"]).documents["things/1"].data
    assert stored.startswith(b'{"a":9.50,"b":1E+3,"c":[0.10,2,3],"n":2.5,')
    assert orjson.loads(stored)["d"] == 2.5
    # Created when missing: stored as it is.
    created = b'{"a":1.10,"@metadata":{"@collection":"Things"}}'
    storage.apply(
        [PatchCommand("things/2", PatchRequest("", {}, operations), create_if_missing=created)]
    )
    assert storage.get(["things/2"]).documents["things/2"].data.startswith(b'{"a":1.10,')


def test_export_and_import_keep_the_digits(ledgers: DocumentStore) -> None:
    storage = ledgers._storage(ledgers.database)
    exported = b"".join(line for _, line in export_records(storage))
    assert b'"total":9.50,"fee":0.50' in exported  # ledgers/0, as stored
    with ledgers.open_session() as session:
        session.delete("ledgers/0")
        session.save_changes()
    import_records(storage, io.BytesIO(exported))
    with ledgers.open_session() as session:
        assert _digits(session.load("ledgers/0", Ledger)) == _digits(_ledger(0))


@pytest.mark.rookdb_requires("revisions")
def test_imported_revisions_keep_the_digits(store: DocumentStore) -> None:
    storage = store._storage(store.database)
    line = (
        b'{"@revision":{"total":9.50,"@metadata":{"@collection":"Ledgers","@id":"ledgers/9",'
        b'"@change-vector":"A:1-imported","@last-modified":"2026-01-02T03:04:05.0000000Z",'
        b'"@flags":"Revision"}}}\n'
    )
    assert import_records(storage, io.BytesIO(line)).revisions == 1
    (revision,) = storage.get_revisions("ledgers/9", 0, 10).records
    assert revision.data.startswith(b'{"total":9.50,')


def test_a_patched_entity_keeps_its_digits_in_the_same_session(ledgers: DocumentStore) -> None:
    # The session takes the patched document from the patch's answer: over HTTP too, it is
    # the stored text, so the entity is unchanged and nothing is written again.
    calls = record_requests(ledgers)
    with ledgers.open_session() as session:
        ledger = session.load("ledgers/0", Ledger)
        session.advanced.increment(ledger, "ratio", 1)
        session.save_changes()
        assert _digits(ledger) == _digits(_ledger(0)) and ledger.ratio == 1.25
        assert not session.advanced.has_changes
        writes = len(calls)
        session.save_changes()
        assert len(calls) == writes


@pytest.mark.rookdb_requires("revisions")
def test_a_collection_with_revisions_keeps_the_digits(store: DocumentStore) -> None:
    from rookdb.operations import ConfigureRevisionsOperation
    from rookdb.revisions import RevisionsCollectionConfiguration, RevisionsConfiguration

    configuration = RevisionsConfiguration(default_config=RevisionsCollectionConfiguration())
    store.maintenance.send(ConfigureRevisionsOperation(configuration))
    with store.open_session() as session:
        session.store(_ledger(0), "ledgers/0")
        session.save_changes()
    with store.open_session() as session:
        assert _digits(session.load("ledgers/0", Ledger)) == _digits(_ledger(0))
        (revision,) = session.advanced.revisions.get_for("ledgers/0", Ledger)
        assert _digits(revision) == _digits(_ledger(0))
        assert not session.advanced.has_changes

"""Queries on typed values give right answers (issue 12 §3; SPEC D2).

A value an entity can hold (``Decimal``, aware and naive ``datetime``, ``date``, ``time``,
``UUID``, enums, values of a registered encoder) is a query parameter, fluent and RQL, encoded
as the entity's field is; ranges and ordering follow the value's meaning (numeric for decimals,
chronological for datetimes) on every backend; values load back equal; documents written in the
old encodings still load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rookdb import DocumentStore, QueryError, SerializationError
from rookdb.evaluate import matches
from rookdb.query import Compare, Equals
from rookdb.serialization.entities import EntityCodec
from rookdb.testing.recording import record_requests

UTC = dt.timezone.utc


def _tz(hours: float) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours))


class Status(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 3


class Shade(enum.Enum):  # a plain Enum with str values
    LIGHT = "light"
    DARK = "dark"


@dataclasses.dataclass
class Invoice:
    name: str
    total: Decimal
    due: dt.datetime  # aware
    created: dt.datetime  # naive
    day: dt.date
    at: dt.time
    ref: uuid.UUID
    status: Status
    priority: Priority
    shade: Shade
    labels: list[Status]
    holidays: list[dt.date]
    Id: str | None = None


def _invoice(name: str, total: str, due: dt.datetime, created: dt.datetime, **kw: Any) -> Invoice:
    i = "abcde".index(name)
    return Invoice(
        name=name,
        total=Decimal(total),
        due=due,
        created=created,
        day=kw["day"],
        at=kw["at"],
        ref=uuid.UUID(int=i + 1),
        status=Status.OPEN if name in "ab" else Status.CLOSED,
        priority=Priority.HIGH if name in "bce" else Priority.LOW,
        shade=Shade.DARK if name == "a" else Shade.LIGHT,
        labels=[Status.OPEN, Status.CLOSED] if name == "c" else [Status.CLOSED],
        holidays=[dt.date(2024, 12, 25)] if name in "ae" else [dt.date(2024, 1, 1)],
    )


# Text order of the old encodings is wrong for each typed field: decimals were strings
# ("0.5" < "100.00" < "1E+3" < "20" < "9.50"), aware datetimes kept their own offsets.
INVOICES = [
    _invoice(
        "a",
        "9.50",
        dt.datetime(2024, 1, 1, 12, 30, tzinfo=_tz(1)),  # 11:30Z
        dt.datetime(2024, 1, 1, 12, 0),
        day=dt.date(2024, 1, 9),
        at=dt.time(9, 30),
    ),
    _invoice(
        "b",
        "100.00",
        dt.datetime(2024, 1, 1, 12, 0, tzinfo=UTC),  # 12:00Z
        dt.datetime(2024, 1, 1, 12, 0, 0, 500000),
        day=dt.date(2024, 1, 10),
        at=dt.time(10, 0),
    ),
    _invoice(
        "c",
        "20",
        dt.datetime(2024, 1, 1, 13, 0, tzinfo=_tz(2)),  # 11:00Z
        dt.datetime(2024, 1, 1, 11, 59, 59, 999999),
        day=dt.date(2023, 12, 31),
        at=dt.time(9, 5, 0, 500000),
    ),
    _invoice(
        "d",
        "0.5",
        dt.datetime(2024, 1, 1, 6, 55, tzinfo=_tz(-5)),  # 11:55Z
        dt.datetime(2024, 1, 2),
        day=dt.date(2024, 2, 1),
        at=dt.time(23, 59),
    ),
    _invoice(
        "e",
        "1E+3",
        dt.datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=UTC),  # just after 12:00Z
        dt.datetime(2024, 1, 1),
        day=dt.date(2024, 1, 1),
        at=dt.time(0, 0),
    ),
]


@pytest.fixture
def invoices(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for invoice in INVOICES:
            session.store(dataclasses.replace(invoice), f"invoices/{invoice.name}")
        session.save_changes()
    return store


def _names(store: DocumentStore, build: Callable[[Any], Any]) -> list[str]:
    with store.open_session() as session:
        return [i.name for i in build(session.query(object_type=Invoice))]


def _matching(store: DocumentStore, build: Callable[[Any], Any]) -> list[str]:
    return sorted(_names(store, build))


def _at(hour: int, minute: int, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime(2024, 1, 1, hour, minute, tzinfo=tz)


# -- ordering follows the value's meaning ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("total", "dacbe"),  # 0.5 < 9.50 < 20 < 100.00 < 1E+3, numerically
        ("due", "cadbe"),  # by instant: 11:00Z, 11:30Z, 11:55Z, 12:00Z, 12:00:00.000001Z
        ("created", "ecabd"),  # naive, fractions of a second included
        ("day", "ceabd"),
        ("at", "ecabd"),
    ],
)
def test_order_by_follows_the_values_meaning(
    invoices: DocumentStore, field: str, expected: str
) -> None:
    assert "".join(_names(invoices, lambda q: q.order_by(field))) == expected
    descending = _names(invoices, lambda q: q.order_by_descending(field))
    assert "".join(descending) == expected[::-1]


# -- ranges and equality with typed parameters ------------------------------------------------

RANGES: list[tuple[str, Callable[[Any], Any], str]] = [
    # Decimal: numeric, with Decimal, int and float parameters
    ("decimal >", lambda q: q.where_greater_than("total", Decimal("10")), "bce"),
    ("int >", lambda q: q.where_greater_than("total", 10), "bce"),
    ("float >=", lambda q: q.where_greater_than_or_equal("total", 9.5), "abce"),
    ("decimal <=", lambda q: q.where_less_than_or_equal("total", Decimal("9.5")), "ad"),
    ("decimal <", lambda q: q.where_less_than("total", Decimal("100.000")), "acd"),
    (
        "decimal between",
        lambda q: q.where_between("total", Decimal("9.50"), Decimal("100")),
        "abc",
    ),
    ("decimal =", lambda q: q.where_equals("total", Decimal("100")), "b"),
    ("int =", lambda q: q.where_equals("total", 100), "b"),
    ("exponent =", lambda q: q.where_equals("total", Decimal("1000.000")), "e"),
    ("decimal !=", lambda q: q.where_not_equals("total", Decimal("9.5")), "bcde"),
    ("decimal in", lambda q: q.where_in("total", [Decimal("0.50"), 20]), "cd"),
    # aware datetimes: by instant, whatever offset either side is written in
    ("due > 11:50Z", lambda q: q.where_greater_than("due", _at(11, 50)), "bde"),
    ("due > 12:50+01", lambda q: q.where_greater_than("due", _at(12, 50, _tz(1))), "bde"),
    ("due < 12:00Z", lambda q: q.where_less_than("due", _at(12, 0)), "acd"),
    ("due >= 12:00Z", lambda q: q.where_greater_than_or_equal("due", _at(12, 0)), "be"),
    ("due <= 7:00-5", lambda q: q.where_less_than_or_equal("due", _at(7, 0, _tz(-5))), "abcd"),
    ("due between", lambda q: q.where_between("due", _at(11, 30), _at(12, 0)), "abd"),
    ("due = 11:30Z", lambda q: q.where_equals("due", _at(11, 30)), "a"),
    ("due in", lambda q: q.where_in("due", [_at(11, 0), _at(5, 55, _tz(-6))]), "cd"),
    # naive datetimes, dates, times
    ("created =", lambda q: q.where_equals("created", dt.datetime(2024, 1, 1, 12)), "a"),
    ("created >", lambda q: q.where_greater_than("created", dt.datetime(2024, 1, 1, 12)), "bd"),
    (
        "created between",
        lambda q: q.where_between(
            "created", dt.datetime(2024, 1, 1, 11, 59, 59), dt.datetime(2024, 1, 1, 12)
        ),
        "ac",
    ),
    ("day =", lambda q: q.where_equals("day", dt.date(2024, 1, 9)), "a"),
    (
        "day between",
        lambda q: q.where_between("day", dt.date(2024, 1, 1), dt.date(2024, 1, 10)),
        "abe",
    ),
    ("at <", lambda q: q.where_less_than("at", dt.time(9, 30)), "ce"),
    ("at =", lambda q: q.where_equals("at", dt.time(9, 5, 0, 500000)), "c"),
    # UUIDs and enums
    ("uuid =", lambda q: q.where_equals("ref", uuid.UUID(int=2)), "b"),
    ("uuid in", lambda q: q.where_in("ref", [uuid.UUID(int=1), uuid.UUID(int=5)]), "ae"),
    ("str enum =", lambda q: q.where_equals("status", Status.CLOSED), "cde"),
    ("str enum !=", lambda q: q.where_not_equals("status", Status.CLOSED), "ab"),
    ("int enum =", lambda q: q.where_equals("priority", Priority.HIGH), "bce"),
    ("int enum >", lambda q: q.where_greater_than("priority", Priority.LOW), "bce"),
    ("enum =", lambda q: q.where_equals("shade", Shade.DARK), "a"),
    ("enum in", lambda q: q.where_in("shade", [Shade.DARK, Shade.LIGHT]), "abcde"),
    # arrays of typed values
    ("contains_any enum", lambda q: q.contains_any("labels", [Status.OPEN]), "c"),
    (
        "contains_all enum",
        lambda q: q.contains_all("labels", [Status.OPEN, Status.CLOSED]),
        "c",
    ),
    ("contains_any date", lambda q: q.contains_any("holidays", [dt.date(2024, 12, 25)]), "ae"),
    ("equals in array", lambda q: q.where_equals("holidays", dt.date(2024, 1, 1)), "bcd"),
]


@pytest.mark.parametrize(("build", "expected"), [r[1:] for r in RANGES], ids=[r[0] for r in RANGES])
def test_typed_parameters_compare_by_meaning(
    invoices: DocumentStore, build: Callable[[Any], Any], expected: str
) -> None:
    assert "".join(_matching(invoices, build)) == expected


RQL: list[tuple[str, dict[str, Any], str]] = [
    ("total > $min order by total", {"min": Decimal("10")}, "cbe"),
    ("total between $low and $high order by total", {"low": 1, "high": Decimal("20.0")}, "ac"),
    ("due > $t order by due", {"t": _at(11, 50)}, "dbe"),
    ("status = $s and priority = $p order by name", {"s": Status.CLOSED, "p": Priority.HIGH}, "ce"),
    ("ref in ($r1, $r2) order by name", {"r1": uuid.UUID(int=4), "r2": uuid.UUID(int=3)}, "cd"),
    ("day >= $d order by day", {"d": dt.date(2024, 1, 10)}, "bd"),
    ("labels all in ($x, $y) order by name", {"x": Status.OPEN, "y": Status.CLOSED}, "c"),
]


@pytest.mark.parametrize(("where", "parameters", "expected"), RQL)
def test_rql_parameters_take_typed_values(
    invoices: DocumentStore, where: str, parameters: dict[str, Any], expected: str
) -> None:
    with invoices.open_session() as session:
        query = session.advanced.raw_query(f"from Invoices where {where}", Invoice)
        for name, value in parameters.items():
            query.add_parameter(name, value)
        assert "".join(i.name for i in query) == expected


# -- round trips and stored forms -------------------------------------------------------------


def test_typed_values_load_back_equal_and_unchanged(invoices: DocumentStore) -> None:
    calls = record_requests(invoices)
    with invoices.open_session() as session:
        for invoice in INVOICES:
            loaded = session.load(f"invoices/{invoice.name}", Invoice)
            assert loaded == dataclasses.replace(invoice, Id=f"invoices/{invoice.name}")
            assert type(loaded.total) is Decimal and type(loaded.ref) is uuid.UUID
            assert loaded.status is invoice.status and loaded.priority is invoice.priority
            assert loaded.due.utcoffset() == dt.timedelta(0)  # aware datetimes come back in UTC
        assert session.advanced.what_changed() == {}
        session.save_changes()
    assert [c.method for c in calls] == ["get"] * len(INVOICES)  # nothing written


def test_stored_forms_are_ravendbs() -> None:
    entity = INVOICES[0]
    data = EntityCodec().encode_checked(entity, {})
    assert b'"total":9.50,' in data  # a JSON number, the decimal's own digits
    doc = orjson.loads(data)
    assert doc["due"] == "2024-01-01T11:30:00.0000000Z"  # UTC, 7 fractional digits
    assert doc["created"] == "2024-01-01T12:00:00.0000000"  # naive: no zone
    assert (doc["day"], doc["at"]) == ("2024-01-09", "09:30:00.0000000")
    assert doc["ref"] == "00000000-0000-0000-0000-000000000001"
    assert (doc["status"], doc["priority"], doc["shade"]) == ("open", 1, "dark")
    exponent = EntityCodec().encode_checked(INVOICES[4], {})
    assert b'"total":1E+3,' in exponent


def test_stored_documents_hold_numbers_and_utc_texts(invoices: DocumentStore) -> None:
    with invoices.open_session() as session:
        raw = session.load("invoices/a", dict)
    assert raw["total"] == 9.5 and type(raw["total"]) is float
    assert raw["due"] == "2024-01-01T11:30:00.0000000Z"


def test_documents_in_the_old_encodings_still_load(store: DocumentStore) -> None:
    old = {
        "name": "old",
        "total": "10.50",  # Decimal as a string
        "due": "2024-01-01T12:00:00+02:00",  # aware, its own offset
        "created": "2024-01-01T12:00:00",  # isoformat without fraction
        "day": "2024-01-01",
        "at": "08:30:00",
        "ref": str(uuid.UUID(int=9)),
        "status": "open",
        "priority": 1,
        "shade": "dark",
        "labels": ["closed"],
        "holidays": ["2024-12-25"],
        "ravendb": "2024-01-02T03:04:05.1234567Z",
    }
    with store.open_session() as session:
        session.store(old, "invoices/old")
        session.save_changes()
    with store.open_session() as session:
        loaded = session.load("invoices/old", Invoice)
        assert loaded.total == Decimal("10.50") and type(loaded.total) is Decimal
        assert loaded.due == dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
        assert loaded.created == dt.datetime(2024, 1, 1, 12, 0)
        assert (loaded.day, loaded.at) == (dt.date(2024, 1, 1), dt.time(8, 30))
        assert loaded.ref == uuid.UUID(int=9) and loaded.status is Status.OPEN
        assert loaded.labels == [Status.CLOSED] and loaded.holidays == [dt.date(2024, 12, 25)]
        # Saving re-encodes the fields written in an old form (the migration README describes);
        # typed queries find the document from then on.
        changes = session.advanced.what_changed()["invoices/old"]
        assert sorted(c.field_name for c in changes) == ["at", "created", "due", "total"]
        session.save_changes()
    with store.open_session() as session:
        query = session.query(collection_name="invoices").where_greater_than("due", _at(9, 59))
        assert [i["name"] for i in query.where_equals("total", Decimal("10.5"))] == ["old"]


# -- what cannot be written is refused, in entities and in queries alike ----------------------

UNWRITABLE = [
    Decimal("0.1000000000000000000001"),  # more digits than a JSON number keeps
    Decimal("12345678901234567890"),
    Decimal("NaN"),
    Decimal("Infinity"),
    dt.datetime(1, 1, 1, 0, 30, tzinfo=_tz(1)),  # before year 1 in UTC
]


@pytest.mark.parametrize("value", UNWRITABLE, ids=str)
def test_values_that_cannot_be_written_are_refused_everywhere(
    store: DocumentStore, value: Any
) -> None:
    with store.open_session() as session, pytest.raises(SerializationError):
        session.store({"v": value}, "things/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("things/1") is None
        with pytest.raises(QueryError):
            session.query(collection_name="things").where_equals("v", value).to_list()
        with pytest.raises(QueryError):
            session.advanced.raw_query("from things where v = $v").add_parameter(
                "v", value
            ).to_list()


def test_values_of_a_registered_encoder_are_parameters(new_store: Any) -> None:
    class Money:
        __slots__ = ("cents",)

        def __init__(self, cents: int) -> None:
            self.cents = cents

    store = new_store()
    store.conventions.register_encoder(Money, lambda m: m.cents)
    store.initialize()
    with store.open_session() as session:
        for i, cents in enumerate([50, 150, 1000]):
            session.store({"balance": Money(cents)}, f"wallets/{i}")
        session.save_changes()
    with store.open_session() as session:
        rich = session.query(collection_name="wallets").where_greater_than("balance", Money(100))
        assert sorted(w["balance"] for w in rich) == [150, 1000]


# -- properties of the encodings (pure) -------------------------------------------------------

# Decimals a JSON number keeps exactly (up to 15 significant digits)
decimals = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: len(d.as_tuple().digits) <= 15 and -300 < d.adjusted() < 300
)
offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
aware = st.datetimes(
    min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=offsets
)
TYPED = st.one_of(
    decimals,
    aware,
    st.datetimes(),
    st.dates(),
    st.times(),
    st.times(timezones=offsets),
    st.uuids(),
    st.sampled_from([*Status, *Priority, *Shade]),
)


def _encoded(value: Any) -> Any:
    """What a document holding ``value`` holds, decoded: the stored form of the field."""
    return orjson.loads(EntityCodec().encode_checked({"v": value}, {}))["v"]


@given(st.one_of(st.tuples(decimals, decimals), st.tuples(aware, aware)))
def test_encodings_keep_order_and_equality(pair: tuple[Any, Any]) -> None:
    a, b = pair
    doc = {"v": _encoded(a)}
    bound = _encoded(b)
    for op, holds in ((">", a > b), ("<", a < b), (">=", a >= b), ("<=", a <= b)):
        assert matches(doc, Compare("v", op, bound)) is holds
    assert matches(doc, Equals("v", bound)) is (a == b)


@given(st.one_of(st.tuples(st.datetimes(), st.datetimes()), st.tuples(st.dates(), st.dates())))
def test_naive_and_date_encodings_keep_order(pair: tuple[Any, Any]) -> None:
    a, b = pair
    assert (_encoded(a) < _encoded(b)) is (a < b)
    assert (_encoded(a) == _encoded(b)) is (a == b)


@given(TYPED)
def test_a_parameter_is_the_stored_form_and_loads_back_equal(value: Any) -> None:
    codec = EntityCodec()
    assert orjson.dumps(codec.json_value(value)) == orjson.dumps(_encoded(value))
    holder = dataclasses.make_dataclass("Holder", [("v", type(value))])
    loaded = codec.decode({"v": _encoded(value)}, holder, "h/1")
    assert loaded.v == value and type(loaded.v) is type(value)


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value", [[1], (1,), {"a": 1}, {1}, _deep_list(100_000)], ids=lambda v: type(v).__name__
)
def test_containers_are_not_parameters(store: DocumentStore, value: Any) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError):
            session.query(collection_name="things").where_equals("v", value)
        with pytest.raises(QueryError):
            session.query(collection_name="things").where_in("v", [value])
        with pytest.raises(QueryError):
            session.advanced.raw_query("from things where v = $v").add_parameter("v", value).first()
        assert session.number_of_requests == 0

"""The per-class fast paths of the entity codec agree with the general path (issue 18).

A dataclass whose ``__dict__`` holds exactly its fields in order, and a pydantic model without
extra fields, hand orjson their live ``__dict__``; every class gets a documenter made once. These
properties check that the fields, and the bytes, are those the general rules give: declared
fields in order (missing ones left out), then the other attributes of the ``__dict__``; a
model's extra fields after its own; the entity itself never changed by an encode.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb import DocumentStore, SerializationError
from rookdb.serialization import encoding
from rookdb.serialization.entities import EntityCodec
from rookdb.serialization.layouts import build, layout_of
from rookdb.testing.suite.models import Ratio

NAMES = ("a", "b", "c", "_d", "Id")


@dataclasses.dataclass
class Point:
    a: int = 0
    b: str = ""
    c: list[int] = dataclasses.field(default_factory=list)
    _d: float = 0.5
    Id: str | None = None


@dataclasses.dataclass
class Plain:
    a: int = 0
    b: str = ""


class Shadowed(Plain):
    """A property over the field ``b``: getattr, not the __dict__, is the truth."""

    @property  # type: ignore[override]
    def b(self) -> str:
        return "X"

    @b.setter
    def b(self, value: str) -> None:
        pass


class Model(pydantic.BaseModel):
    a: int = 0
    b: str = ""


class Open(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    a: int = 0


@dataclasses.dataclass
class Address:
    city: str


@dataclasses.dataclass
class Person:
    name: str
    address: Address
    tags: list[str]
    id: str | None = None


class AddressModel(pydantic.BaseModel):
    city: str


class PersonModel(pydantic.BaseModel):
    name: str
    address: AddressModel
    tags: list[str]
    id: str | None = None


def reference_fields(obj: Any, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The general rule, written out: declared fields in order, then the rest of __dict__."""
    out = [(name, getattr(obj, name)) for name in names if hasattr(obj, name)]
    seen = {name for name, _ in out}
    out += [(key, value) for key, value in obj.__dict__.items() if key not in seen]
    return out


values = st.integers(-5, 5) | st.text(max_size=3) | st.lists(st.integers(0, 3), max_size=2)


@st.composite
def points(draw: st.DrawFn) -> Point:
    """A Point whose __dict__ has its fields in any order, some missing, some extra."""
    point = Point()
    if draw(st.booleans()):  # as __init__ leaves it: the fast path
        order, kept = list(NAMES), list(NAMES)
    else:
        order = draw(st.permutations(NAMES))
        kept = draw(st.lists(st.sampled_from(NAMES), unique=True))
    for name in order:
        delattr(point, name)
    for name in order:
        if name in kept:
            setattr(point, name, draw(values))
    for extra in draw(st.lists(st.sampled_from(("x", "y", "_z")), unique=True)):
        setattr(point, extra, draw(values))
    return point


@settings(max_examples=300, deadline=None)
@given(points())
def test_dataclass_fields_agree_with_the_general_rule(point: Point) -> None:
    before = dict(point.__dict__)
    fields = layout_of(Point).fields(point)
    assert list(fields.items()) == reference_fields(point, NAMES)
    codec = EntityCodec()
    data = codec.encode(point, {"@collection": "Points"})
    expected = {k: v for k, v in reference_fields(point, NAMES) if k != "Id"}
    expected["@metadata"] = {"@collection": "Points"}
    assert data == encoding.dumps(expected)
    assert point.__dict__ == before  # the live dict was copied, never changed
    assert list(point.__dict__) == list(before)


def test_a_property_over_a_field_is_read_through_getattr() -> None:
    obj = Shadowed(1, "x")
    obj.__dict__["b"] = "stale"  # what the __dict__ says is not what getattr says
    assert list(obj.__dict__) == ["a", "b"]
    assert layout_of(Shadowed).fields(obj) == {"a": 1, "b": "X"}


@settings(max_examples=100, deadline=None)
@given(st.integers(-5, 5), st.text(max_size=3), st.dictionaries(st.sampled_from("xyz"), values))
def test_pydantic_fields_agree_with_the_general_rule(a: int, b: str, extra: dict[str, Any]) -> None:
    codec = EntityCodec()
    model = Model(a=a, b=b)
    assert codec.encode(model, {}) == encoding.dumps({"a": a, "b": b, "@metadata": {}})
    opened = Open(a=a, **extra)
    before = dict(opened.__dict__)
    expected = {"a": a, **extra, "@metadata": {}}
    assert codec.encode(opened, {}) == encoding.dumps(expected)
    assert opened.__dict__ == before


def test_nested_models_are_read_not_changed() -> None:
    @dataclasses.dataclass
    class Outer:
        inner: Point
        model: Model

    inner, model = Point(1, "b", [2]), Model(a=3, b="c")
    data = EntityCodec().encode(Outer(inner, model), {})
    assert encoding.loads(data) == {
        "inner": {"a": 1, "b": "b", "c": [2], "_d": 0.5, "Id": None},
        "model": {"a": 3, "b": "c"},
        "@metadata": {},
    }
    assert list(inner.__dict__) == list(NAMES)


def test_a_dataclass_whose_fields_moved_is_clean(tmp_path: Any) -> None:
    """Deleting and setting a field again moves it to the end of the __dict__: other bytes,
    the same JSON, so nothing to save (S5), and the next check is a bytes comparison again."""
    with DocumentStore(urls="memory://", database="db").initialize() as store:
        with store.open_session() as session:
            session.store(Point(1, "b", [2]), "points/1")
            session.save_changes()
        with store.open_session() as session:
            point = session.load("points/1", Point)
            assert point is not None
            value = point.a
            del point.a
            point.a = value
            assert not session.advanced.has_changes
            assert session.advanced.what_changed() == {}
            session.save_changes()
            assert session.advanced.number_of_requests == 1


@settings(max_examples=300, deadline=None)
@given(points())
def test_the_change_check_gives_the_canonical_bytes_of_what_it_writes(point: Point) -> None:
    """The change check serializes the fields in the order the entity holds them
    (``encode(..., held=True)``); ``in_order`` then gives exactly ``encode``'s bytes, whatever
    the order of the __dict__, fields missing or added; held in the document's order, the
    check's bytes are already those."""
    codec = EntityCodec()
    codec.encode(Point(), {})  # the class's documenter made: the check's own path from here
    metadata = {"@collection": "Points"}
    before = list(point.__dict__.items())
    held = codec.encode(point, metadata, None, held=True)
    canonical = codec.encode(point, metadata)
    assert codec.in_order(point, metadata, None, held) == canonical
    if list(point.__dict__) == list(NAMES):
        assert held == canonical
    if set(NAMES) <= set(point.__dict__):  # nothing read from a class default
        assert encoding.json_equal(encoding.loads(held), encoding.loads(canonical))
    assert list(point.__dict__.items()) == before


@dataclasses.dataclass
class Account:
    """The id declared first, as many dataclasses have it: a load sets it after the fields."""

    id: str | None = None
    owner: str = ""
    balance: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)


def test_a_dataclass_whose_id_comes_first_is_checked_and_written_in_its_fields_order() -> None:
    with DocumentStore(urls="memory://", database="db").initialize() as store:
        with store.open_session() as session:
            session.store(Account(owner="Ann", balance=3, tags=["a"]), "accounts/1")
            session.save_changes()
        storage = store._storage(store.database)
        written = storage.get(["accounts/1"]).documents["accounts/1"].data
        assert list(encoding.loads(written)) == ["owner", "balance", "tags", "@metadata"]
        with store.open_session() as session:
            account = session.load("accounts/1", Account)
            assert list(account.__dict__) == ["owner", "balance", "tags", "id"]
            assert not session.advanced.has_changes
            del account.tags
            account.tags = ["a"]  # deleted and set again: held last now, the same document
            del account.owner
            account.owner = "Ann"
            assert not session.advanced.has_changes
            assert session.advanced.what_changed() == {}
            account.balance = 4
            assert list(session.advanced.what_changed()) == ["accounts/1"]
            session.save_changes()
            assert session.advanced.number_of_requests == 2
            assert not session.advanced.has_changes
        rewritten = storage.get(["accounts/1"]).documents["accounts/1"].data
        assert list(encoding.loads(rewritten)) == ["owner", "balance", "tags", "@metadata"]
        assert encoding.loads(rewritten)["balance"] == 4


def test_a_field_deleted_from_the_dict_reads_its_class_default_at_every_check() -> None:
    """A dataclass field whose attribute was deleted reads its class default (``getattr``):
    the check's bytes then lack it, the canonical bytes hold it, and those decide."""
    with DocumentStore(urls="memory://", database="db").initialize() as store:
        with store.open_session() as session:
            session.store(Account(owner="Ann"), "accounts/1")  # balance 0, the class default
            session.save_changes()
        with store.open_session() as session:
            account = session.load("accounts/1", Account)
            del account.balance
            assert account.balance == 0
            assert not session.advanced.has_changes
            session.save_changes()
            assert session.advanced.number_of_requests == 1
            del account.owner  # "" by default: stored "Ann", so a change
            assert session.advanced.what_changed()["accounts/1"][0].field_name == "owner"
            session.save_changes()
            assert not session.advanced.has_changes  # and not again at every save
        with store.open_session() as session:
            assert session.load("accounts/1", Account).owner == ""


@settings(max_examples=300, deadline=None)
@given(
    st.permutations((*NAMES, "x")).flatmap(
        lambda order: st.lists(st.sampled_from(order), unique=True).map(
            lambda kept: [name for name in order if name in kept]
        )
    ),
    values,
)
def test_a_dataclass_built_by_adopting_its_dict_is_built_as_field_by_field(
    keys: list[str], value: Any
) -> None:
    """``build`` adopts the decoded dict of a dataclass: the same __dict__, in the same order,
    as setting each key and then each missing field's default (the general path)."""
    data = {key: value for key in keys}
    assert layout_of(Point).adopts_on_build
    built = build(Point, dict(data), {})
    reference = object.__new__(Point)
    for key, item in data.items():
        object.__setattr__(reference, key, item)
    for name, default in (("a", 0), ("b", ""), ("c", []), ("_d", 0.5), ("Id", None)):
        if name not in data:
            object.__setattr__(reference, name, default)
    assert list(built.__dict__.items()) == list(reference.__dict__.items())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from((*NAMES, "zz")), unique=True).flatmap(st.permutations),
    values,
)
def test_a_loaded_dataclass_is_built_as_field_by_field_then_given_its_id(
    keys: list[str], value: Any
) -> None:
    """A session's batch decoder adopts the decoded dict of a dataclass too (the id written in
    place, no default made for it): the same __dict__, in the same order, as setting each key,
    then each missing field's default, then the id (the general path)."""
    data = {key: value for key in keys}
    (loaded,), _ = EntityCodec().batch_decoder(Point)([dict(data)], ["points/1"])
    reference = object.__new__(Point)
    for key, item in data.items():
        object.__setattr__(reference, key, item)
    for name, default in (("a", 0), ("b", ""), ("c", []), ("_d", 0.5), ("Id", None)):
        if name not in data:
            object.__setattr__(reference, name, default)
    object.__setattr__(reference, "Id", "points/1")
    assert list(loaded.__dict__.items()) == list(reference.__dict__.items())


def test_a_dataclass_with_a_property_is_built_field_by_field() -> None:
    """A property with a setter intercepts the write: such classes keep the general path."""
    assert not layout_of(Shadowed).adopts_on_build
    built = build(Shadowed, {"a": 1, "b": "stored"}, {})
    assert built.__dict__ == {"a": 1} and built.b == "X"


def test_changes_through_the_fast_paths_are_found_by_every_question() -> None:
    """A change to a nested dataclass or model (read through its live __dict__) is reported by
    has_changes, what_changed and written by save_changes, the one code path (S4)."""
    made: list[tuple[type[Any], Any]] = [
        (Person, Person("Ann", Address("Oslo"), ["a"])),
        (PersonModel, PersonModel(name="Ann", address=AddressModel(city="Oslo"), tags=["a"])),
    ]
    for cls, person in made:
        with DocumentStore(urls="memory://", database="db").initialize() as store:
            with store.open_session() as session:
                session.store(person, "employees/1")
                session.save_changes()
            with store.open_session() as session:
                employee: Any = session.load("employees/1", cls)
                assert not session.advanced.has_changes
                employee.address.city = "Bergen"
                assert session.advanced.has_changes
                (change,) = session.advanced.what_changed()["employees/1"]
                assert (change.field_full_name, change.field_new_value) == (
                    "address.city",
                    "Bergen",
                )
                session.save_changes()
                assert not session.advanced.has_changes
            with store.open_session() as session:
                assert session.load("employees/1", cls).address.city == "Bergen"


class Town:
    def __init__(self, name: str) -> None:
        self.name = name


class Resident:
    town: Town

    def __init__(self, town: Town) -> None:
        self.town = town


def test_nested_objects_made_inline_by_a_batch_are_those_build_makes() -> None:
    """A batch decoder makes a nested object of a class built as-is itself (a new instance
    adopting the decoded dict): the object ``build`` makes; a value that is no object stays."""
    bodies: list[dict[str, Any]] = [
        {"town": {"name": "Oslo", "extra": [1]}},
        {"town": "not an object"},
        {"other": 1},
    ]
    expected = [build(Resident, dict(body), {}) for body in encoding.loads(encoding.dumps(bodies))]
    loaded, held = EntityCodec().batch_decoder(Resident)(bodies, ["r/1", "r/2", "r/3"])
    assert held == {}
    assert type(loaded[0].town) is Town and loaded[0].town.__dict__ == {
        "name": "Oslo",
        "extra": [1],
    }
    assert loaded[1].town == "not an object"
    for got, want, document_id in zip(loaded, expected, ["r/1", "r/2", "r/3"], strict=True):
        want.Id = document_id
        assert type(got) is Resident
        assert {k: getattr(v, "__dict__", v) for k, v in got.__dict__.items()} == {
            k: getattr(v, "__dict__", v) for k, v in want.__dict__.items()
        }


class Holder:
    anything: Any

    def __init__(self, anything: Any) -> None:
        self.anything = anything


def test_a_field_typed_any_keeps_its_decoded_value() -> None:
    """``Any`` is a class since Python 3.11, but no class to build objects of: an object in a
    field typed ``Any`` stays the decoded dict, in every document of every batch."""
    for _ in range(2):
        bodies: list[dict[str, Any]] = [{"anything": {"a": 1}}, {"anything": {"b": [2]}}]
        loaded, _ = EntityCodec().batch_decoder(Holder)(bodies, ["h/1", "h/2"])
        assert [h.anything for h in loaded] == [{"a": 1}, {"b": [2]}]
        assert build(Holder, {"anything": {"c": 3}}, {}).anything == {"c": 3}


class Box:
    """A plain object holding a value: what orjson hands to ``default``."""

    def __init__(self, value: Any) -> None:
        self.value = value


class Hue(enum.Enum):
    A = 1.5
    B = float("inf")


class Level(enum.IntEnum):
    LOW = 1


class Tone(str, enum.Enum):
    DARK = "dark"


class Tags(list):  # type: ignore[type-arg]
    """Subclasses orjson writes as it writes their base."""


class Fields(dict):  # type: ignore[type-arg]
    pass


# JSON's scalars, every float included (NaN and infinities too), and what rookdb converts.
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(encoding.INT64_MIN, encoding.INT64_MAX)
    | st.floats()
    | st.floats().map(Ratio)
    | st.text(max_size=3)
    | st.sampled_from([*Hue, *Level, *Tone])
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.uuids()
    | st.datetimes()
    | st.dates()
    | st.timedeltas()
    | st.frozensets(st.integers(0, 3), max_size=3)
)
trees = st.recursive(
    _leaves,
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.tuples(kids, kids)
        | st.lists(kids, max_size=2).map(Tags)
        | st.dictionaries(st.text(max_size=2), kids, max_size=2).map(Fields)
        | st.dictionaries(st.text(max_size=2), kids, max_size=3)
        | kids.map(Box)
        | kids.map(lambda v: Model(a=1, b="x") if v is None else Box(v))
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(trees, trees)
def test_checked_bytes_are_the_validating_walks(first: Any, second: Any) -> None:
    """``encode_checked`` takes orjson's bytes of a document holding null when no float in it is
    a NaN or an infinity, and only then (issue 18): what it returns, or refuses, is what the
    reference walk over every value returns, or refuses."""
    codec = EntityCodec()
    entity = Box([first, None, second])
    try:
        expected: bytes | None = encoding.dumps(codec.to_tree(codec.document(entity, {})))
    except SerializationError:
        expected = None
    if expected is None:
        with pytest.raises(SerializationError):
            codec.encode_checked(entity, {})
    else:
        assert codec.encode_checked(entity, {}) == expected

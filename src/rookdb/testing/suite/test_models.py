"""Model classes as users write them: pydantic, dataclasses, attrs, annotated plain classes
(issue 12 §5).

- a model that declares ``id`` and no ``Id`` has ``id`` as its identity property;
- pydantic models are validated on load, unless ``conventions.validate_on_load`` is False;
- frozen attrs classes load, and ``__init__`` annotations rebuild nested values like class ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any

import attr
import attrs
import pydantic
import pytest

from rookdb import (
    DocumentConventions,
    DocumentStore,
    DocumentValidationError,
    SerializationError,
)

# -- identity: ``id`` for models that declare it -----------------------------------------------


class PydanticUser(pydantic.BaseModel):
    id: str | None = None
    name: str
    age: int = 0


@dataclasses.dataclass
class DataclassUser:
    name: str
    age: int = 0
    id: str | None = None


@attrs.define
class AttrsUser:
    name: str
    age: int = 0
    id: str | None = None


@dataclasses.dataclass
class BothIds:
    name: str
    id: int = 0  # an ordinary field: the class also declares Id
    Id: str | None = None


class IntIdUser(pydantic.BaseModel):
    id: int  # cannot hold a document id: an ordinary field, the identity stays Id
    name: str


class PlainUser:
    def __init__(self, name: str, id: str | None = None) -> None:
        self.name, self.id = name, id


USERS = [PydanticUser, DataclassUser, AttrsUser]


def _raw(store: DocumentStore, document_id: str) -> dict[str, Any]:
    with store.open_session() as session:
        raw: dict[str, Any] = session.load(document_id, dict)
        return raw


@pytest.mark.parametrize("cls", USERS, ids=lambda c: c.__name__)
def test_the_default_identity_of_a_model_declaring_id_is_id(cls: type) -> None:
    find = DocumentConventions().find_identity_property_name
    assert find(cls) == "id"
    assert find(BothIds) == "Id"
    assert find(IntIdUser) == "Id"
    assert find(PlainUser) == "Id"  # plain classes declare no fields: RavenDB's Id


@pytest.mark.parametrize("cls", USERS, ids=lambda c: c.__name__)
def test_id_is_assigned_loaded_queried_and_never_stored(store: DocumentStore, cls: Any) -> None:
    with store.open_session() as session:
        user = cls(name="Ann", age=30)
        session.store(user)
        assert user.id == session.advanced.get_document_id(user)
        assert user.id.endswith("/1-A")
        session.save_changes()
    document_id = user.id
    assert _raw(store, document_id) == {"name": "Ann", "age": 30}  # no "id", no "Id"

    with store.open_session() as session:
        loaded = session.load(document_id, cls)
        assert (loaded.id, loaded.name) == (document_id, "Ann")
        assert session.advanced.has_changes is False
        loaded.age = 31
        changes = session.advanced.what_changed()[document_id]
        assert [c.field_name for c in changes] == ["age"]
        session.save_changes()
    assert _raw(store, document_id) == {"name": "Ann", "age": 31}

    with store.open_session() as session:
        found = list(session.query(object_type=cls).where_equals("name", "Ann"))
        assert [u.id for u in found] == [document_id]
        assert session.advanced.has_changes is False


@pytest.mark.parametrize("cls", USERS, ids=lambda c: c.__name__)
def test_an_id_the_model_holds_is_its_document_id(store: DocumentStore, cls: Any) -> None:
    with store.open_session() as session:
        session.store(cls(name="Bo", id="users/bo"))
        session.save_changes()
    with store.open_session() as session:
        assert session.load("users/bo", cls).name == "Bo"


@pytest.mark.parametrize("cls", USERS, ids=lambda c: c.__name__)
def test_a_stored_id_field_of_another_value_is_kept(store: DocumentStore, cls: Any) -> None:
    # Written before ``id`` was the identity property (or by another program): the entity gets
    # the document id, and the stored field is written back as it was, never dropped.
    with store.open_session() as session:
        session.store({"id": "uuid-1234", "name": "Ann", "age": 30}, "users/ann")
        session.save_changes()
    with store.open_session() as session:
        user = session.load("users/ann", cls)
        assert user.id == "users/ann"
        assert session.advanced.has_changes is False
        user.age = 31
        assert [c.field_name for c in session.advanced.what_changed()["users/ann"]] == ["age"]
        session.save_changes()
    assert _raw(store, "users/ann") == {"id": "uuid-1234", "name": "Ann", "age": 31}


def test_a_class_declaring_both_keeps_Id_and_stores_id(store: DocumentStore) -> None:
    with store.open_session() as session:
        entity = BothIds(name="b", id=7)
        session.store(entity)
        session.save_changes()
    assert entity.Id is not None and entity.id == 7
    assert _raw(store, entity.Id) == {"name": "b", "id": 7}


def test_an_int_id_stays_an_ordinary_field(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(IntIdUser(id=7, name="n"), "intidusers/1")
        session.save_changes()
    assert _raw(store, "intidusers/1") == {"id": 7, "name": "n"}
    with store.open_session() as session:
        assert session.load("intidusers/1", IntIdUser).id == 7
        assert session.advanced.has_changes is False


# -- pydantic models are validated on load ---------------------------------------------------


class Address(pydantic.BaseModel):
    city: str
    zip: int


class Customer(pydantic.BaseModel):
    name: str
    age: int
    address: Address | None = None
    Id: str | None = None


@dataclasses.dataclass
class Shipment:
    to: Address
    stops: list[Address] = dataclasses.field(default_factory=list)


class Positive(pydantic.BaseModel):
    n: int

    @pydantic.field_validator("n")
    @classmethod
    def positive(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must not be negative")
        return v


def _put(store: DocumentStore, document_id: str, body: dict[str, Any]) -> None:
    with store.open_session() as session:
        session.store(body, document_id)
        session.save_changes()


@pytest.mark.parametrize(
    ("cls", "body", "field"),
    [
        (Customer, {"name": "x", "age": "old"}, "age"),
        (Customer, {"age": 1}, "name"),
        (Customer, {"name": "x", "age": 1, "address": {"city": "O", "zip": "N-1"}}, "address.zip"),
        (Shipment, {"to": {"city": 5, "zip": 1}}, "to.city"),
        (
            Shipment,
            {"to": {"city": "a", "zip": 1}, "stops": [{"city": "b", "zip": 2}, {"city": "c"}]},
            "stops.1.zip",
        ),
        (Positive, {"n": -5}, "n"),
    ],
    ids=["type", "missing", "nested", "in-a-dataclass", "in-a-list", "validator"],
)
def test_a_document_that_does_not_validate_raises_naming_id_and_field(
    store: DocumentStore, cls: type, body: dict[str, Any], field: str
) -> None:
    _put(store, "things/1", body)
    with store.open_session() as session:
        with pytest.raises(DocumentValidationError) as caught:
            session.load("things/1", cls)
        error = caught.value
        assert isinstance(error, SerializationError)
        assert error.document_id == "things/1"
        assert field in [path for path, _ in error.errors]
        assert "things/1" in str(error) and field in str(error)
        assert isinstance(error.__cause__, pydantic.ValidationError)
        # Nothing was tracked, and the session goes on working.
        assert session.advanced.has_changes is False
        session.store(Customer(name="ok", age=1), "customers/ok")
        session.save_changes()
    assert _raw(store, "customers/ok")["name"] == "ok"


def test_query_results_and_registered_types_are_validated(store: DocumentStore) -> None:
    _put(store, "customers/1", {"name": "a", "age": 1})
    _put(
        store,
        "customers/2",
        {
            "name": "b",
            "age": "x",
            "@metadata": {
                "@collection": "Customers",
                "Raven-Python-Type": f"{Customer.__module__}.{Customer.__qualname__}",
            },
        },
    )
    with (
        store.open_session() as session,
        pytest.raises(DocumentValidationError, match="customers/2"),
    ):
        list(session.query(object_type=Customer))
    with store.open_session() as session:
        assert session.load("customers/1", Customer).name == "a"  # registers Customer
        with pytest.raises(DocumentValidationError, match="age"):
            session.load("customers/2")  # the class named by Raven-Python-Type


def test_validation_can_be_turned_off(new_store: Callable[..., DocumentStore]) -> None:
    store = new_store()
    store.conventions.validate_on_load = False
    store.initialize()
    _put(store, "customers/1", {"name": "x", "age": "old", "address": None})
    _put(store, "positives/1", {"n": -5})
    with store.open_session() as session:
        assert session.load("customers/1", Customer).age == "old"  # kept as stored
        assert session.load("positives/1", Positive).n == -5
        assert session.advanced.has_changes is False


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Line(pydantic.BaseModel):
    product: str
    quantity: int


class Rich(pydantic.BaseModel):
    when: dt.datetime
    day: dt.date
    amount: decimal.Decimal
    ref: uuid.UUID
    colour: Colour
    ratio: float
    lines: list[Line]
    labels: set[str]
    pair: tuple[int, str]
    wait: dt.timedelta
    note: str | None = None
    Id: str | None = None


def _rich() -> Rich:
    return Rich(
        when=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        day=dt.date(2024, 5, 6),
        amount=decimal.Decimal("9.50"),
        ref=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        colour=Colour.BLUE,
        ratio=0.25,
        lines=[Line(product="tea", quantity=2), Line(product="cake", quantity=1)],
        labels={"b", "a"},
        pair=(1, "one"),
        wait=dt.timedelta(minutes=90),
    )


def test_a_validated_model_compares_clean_and_keeps_unknown_fields(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(_rich(), "riches/1")
        session.save_changes()
    with store.open_session() as session:  # another client adds a field, writes a float as 2
        raw = session.load("riches/1", dict)
        raw["legacy"] = {"kept": True}
        raw["ratio"] = 2
        session.save_changes()

    with store.open_session() as session:
        rich = session.load("riches/1", Rich)
        assert rich == _rich().model_copy(update={"ratio": 2.0, "Id": "riches/1"})
        assert session.advanced.has_changes is False
        assert session.advanced.what_changed() == {}
        rich.lines[1].quantity = 3
        changes = session.advanced.what_changed()["riches/1"]
        assert [(c.field_path, c.field_name) for c in changes] == [("lines[1]", "quantity")]
        session.save_changes()
    raw = _raw(store, "riches/1")
    assert raw["legacy"] == {"kept": True} and raw["lines"][1]["quantity"] == 3


class Aliased(pydantic.BaseModel):
    first: str = pydantic.Field(alias="First")
    last: str = pydantic.Field(validation_alias="Last")
    Id: str | None = None


class Closed(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    name: str


def test_models_with_aliases_or_closed_to_extra_fields_load(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Aliased(First="Ann", Last="Lee"), "aliaseds/1")  # stored by field name
        session.save_changes()
    _put(store, "closeds/1", {"name": "c", "added_later": 1})
    with store.open_session() as session:
        aliased = session.load("aliaseds/1", Aliased)
        assert (aliased.first, aliased.last) == ("Ann", "Lee")
        assert session.load("closeds/1", Closed).name == "c"
        assert session.advanced.has_changes is False
        aliased.last = "Li"
        session.save_changes()
    assert _raw(store, "aliaseds/1") == {"first": "Ann", "last": "Li"}
    assert _raw(store, "closeds/1") == {"name": "c", "added_later": 1}


@dataclasses.dataclass(slots=True)
class SlottedCity:
    name: str


@dataclasses.dataclass
class Trip:
    to: Address  # pydantic
    via: list[SlottedCity]
    Id: str | None = None


def test_nested_objects_keep_fields_their_class_does_not_declare(store: DocumentStore) -> None:
    """Nested objects that cannot hold unknown fields (pydantic, ``__slots__``) keep them in
    the session's extras, as the entity itself does: load, edit, save loses nothing."""
    _put(
        store,
        "trips/1",
        {
            "to": {"city": "Oslo", "zip": 150, "country": "NO"},
            "via": [{"name": "Bergen", "pier": 3}],
        },
    )
    with store.open_session() as session:
        trip = session.load("trips/1", Trip)
        assert (trip.to.city, trip.via[0].name) == ("Oslo", "Bergen")
        assert session.advanced.has_changes is False
        trip.via[0].name = "Stavanger"
        changes = session.advanced.what_changed()["trips/1"]
        assert [(c.field_path, c.field_name) for c in changes] == [("via[0]", "name")]
        session.save_changes()
    assert _raw(store, "trips/1") == {
        "to": {"city": "Oslo", "zip": 150, "country": "NO"},
        "via": [{"name": "Stavanger", "pier": 3}],
    }


# -- attrs classes and ``__init__`` annotations ----------------------------------------------


@attrs.frozen
class Point:
    x: int
    y: int


@attrs.frozen
class Segment:
    start: Point
    end: Point
    Id: str | None = None


@attr.s(frozen=True)
class Pin:  # attrs' older API: not slotted, types given to attr.ib
    at = attr.ib(type=Point)
    label = attr.ib(type=str, default="")


@attrs.define
class Route:
    name: str
    stops: list[Point] = attrs.Factory(list)
    Id: str | None = None


def test_frozen_attrs_classes_load(store: DocumentStore) -> None:
    with store.open_session() as session:
        segment = Segment(Point(1, 2), Point(3, 4))
        session.store(segment)
        session.store(Pin(Point(5, 6), "here"), "pins/1")
        session.save_changes()
        segment_id = session.advanced.get_document_id(segment)
    assert segment.Id is None  # frozen: the session keeps its id (SPEC S14)
    with store.open_session() as session:
        loaded = session.load(segment_id, Segment)
        assert loaded == Segment(Point(1, 2), Point(3, 4), Id=segment_id)
        pin = session.load("pins/1", Pin)
        assert pin == Pin(Point(5, 6), "here")
        assert session.advanced.has_changes is False
        assert [s.Id for s in session.query(object_type=Segment)] == [segment_id]


def test_attrs_classes_get_defaults_for_missing_fields(store: DocumentStore) -> None:
    _put(store, "routes/1", {"name": "r"})
    with store.open_session() as session:
        route = session.load("routes/1", Route)
        assert route == Route("r", [], Id="routes/1")
        route.stops.append(Point(0, 0))
        session.save_changes()
    assert _raw(store, "routes/1") == {"name": "r", "stops": [{"x": 0, "y": 0}]}


class Coord:
    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon


class Stop:
    """Types only on ``__init__``'s parameters, as most plain classes have them."""

    def __init__(
        self,
        name: str,
        at: Coord,
        when: dt.datetime,
        legs: list[Coord],
        colour: Colour,
        Id: str | None = None,
    ) -> None:
        self.name, self.at, self.when, self.legs, self.colour, self.Id = (
            name,
            at,
            when,
            legs,
            colour,
            Id,
        )


class SlottedStop:
    __slots__ = ("Id", "at", "name")

    def __init__(self, name: str, at: Coord) -> None:
        self.name, self.at = name, at


def test_init_annotations_rebuild_nested_values(store: DocumentStore) -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5)
    with store.open_session() as session:
        session.store(Stop("s", Coord(1.5, 2.5), when, [Coord(0.5, 0.5)], Colour.RED), "stops/1")
        session.store(SlottedStop("t", Coord(3.5, 4.5)), "slottedstops/1")
        session.save_changes()
    with store.open_session() as session:
        stop = session.load("stops/1", Stop)
        assert isinstance(stop.at, Coord) and (stop.at.lat, stop.at.lon) == (1.5, 2.5)
        assert stop.when == when and stop.colour is Colour.RED
        assert [type(leg) for leg in stop.legs] == [Coord]
        slotted = session.load("slottedstops/1", SlottedStop)
        assert isinstance(slotted.at, Coord) and slotted.at.lon == 4.5
        assert session.advanced.has_changes is False
        stop.at.lat = 9.5
        changes = session.advanced.what_changed()["stops/1"]
        assert [(c.field_path, c.field_name) for c in changes] == [("at", "lat")]


class StopName:
    def __init__(self, name: str, colour: Colour) -> None:
        self.name, self.colour = name, colour


def test_init_annotations_name_the_fields_of_a_projection(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Stop("s", Coord(1, 2), dt.datetime(2024, 1, 1), [], Colour.BLUE), "stops/1")
        session.save_changes()
    with store.open_session() as session:
        [projected] = list(session.query(object_type=Stop).select_fields(StopName))
    assert type(projected) is StopName
    assert vars(projected) == {"name": "s", "colour": Colour.BLUE}

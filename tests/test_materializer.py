"""A batch of loaded documents is built as each document alone would be (``Materializer``).

Loads of many ids, queries and prefix reads build their entities a batch at a time; what one
document holds (its unknown fields, its class, a bad id among many) must stay that document's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pydantic
import pytest

from rookdb import DocumentStore
from rookdb.errors import DocumentValidationError, InvalidIdError
from rookdb.ids import validate_ids


class Place(pydantic.BaseModel):
    city: str


class PlaceWithLegacy(pydantic.BaseModel):
    city: str
    legacy: str


class Person(pydantic.BaseModel):
    name: str
    place: Place


class PersonWithLegacy(pydantic.BaseModel):
    name: str
    place: PlaceWithLegacy


class Cat:
    def __init__(self, name: str) -> None:
        self.name = name


class Dog:
    def __init__(self, name: str) -> None:
        self.name = name


class Spot:
    def __init__(self, city: str) -> None:
        self.city = city


class Walker:
    def __init__(self, name: str, spot: Spot) -> None:
        self.name, self.spot = name, spot


class Slotted:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


@dataclasses.dataclass
class Ranked:
    name: str
    rank: int = 3
    Id: str | None = None


@dataclasses.dataclass(frozen=True)
class Frozen:
    name: str


class Dated(pydantic.BaseModel):
    name: str
    when: dt.datetime | None = None


class Strict(pydantic.BaseModel):
    name: str


@pytest.mark.parametrize("cls", [Walker, Slotted, Ranked, Frozen, Dated, Strict, Person, dict])
def test_a_document_loaded_alone_is_built_as_in_a_batch(store: DocumentStore, cls: type) -> None:
    # ``load(id)`` builds its entity with the class's one-document decoder, a batch with the
    # batch decoder: the same entity, the same unknown fields kept and written back.
    document = {
        "name": "n",
        "spot": {"city": "Oslo", "zone": 4},
        "place": {"city": "Lima"},
        "Id": "stale",
        "extra": [1, {"x": 2}],
    }
    with store.open_session() as session:
        for i in (1, 2):
            session.store(dict(document), f"things/{i}")
        session.save_changes()
    with store.open_session() as session:
        alone = session.load("things/1", cls)
        (batched,) = session.load(["things/2"], cls).values()
        assert type(alone) is type(batched)
        if cls is not dict:
            metadata = [
                {k: v for k, v in session.advanced.get_metadata_for(e).items() if k != "@id"}
                for e in (alone, batched)
            ]
            assert metadata[0].pop("@change-vector") != metadata[1].pop("@change-vector")
            assert metadata[0] == metadata[1]
        changes = [session.advanced.what_changed_for(e) for e in (alone, batched)]
        assert repr(changes[0]).replace("things/1", "things/2") == repr(changes[1])
        for entity in (alone, batched):
            if cls is dict:
                entity["name"] = "m"
            elif cls is not Frozen:
                object.__setattr__(entity, "name", "m")
        session.save_changes()
    with store.open_session() as session:
        raw = session.load(["things/1", "things/2"], dict)
    assert raw["things/1"] == raw["things/2"]


def test_unknown_nested_fields_stay_with_their_own_document(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Person(name="a", place=Place(city="Oslo")), "people/1")
        session.store(
            PersonWithLegacy(name="b", place=PlaceWithLegacy(city="Lima", legacy="x")), "people/2"
        )
        session.store(Person(name="c", place=Place(city="Lyon")), "people/3")
        session.save_changes()
    with store.open_session() as session:
        people = session.load(["people/1", "people/2", "people/3"], Person)
        assert not session.advanced.has_changes
        people["people/1"].name = "A"
        people["people/3"].name = "C"
        session.save_changes()
    with store.open_session() as session:
        raw: dict[str, Any] = session.load(["people/1", "people/2", "people/3"], dict)
    assert raw["people/1"]["place"] == {"city": "Oslo"}
    assert raw["people/2"]["place"] == {"city": "Lima", "legacy": "x"}
    assert raw["people/3"]["place"] == {"city": "Lyon"}
    assert [raw[f"people/{i}"]["name"] for i in (1, 2, 3)] == ["A", "b", "C"]


def test_a_batch_without_a_class_builds_each_document_of_its_own(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Cat("tom"), "pets/1")
        session.store(Dog("rex"), "pets/2")
        session.store(Cat("kit"), "pets/3")
        session.save_changes()
    with store.open_session() as session:
        pets = session.load(["pets/1", "pets/2", "pets/3"])
        assert [type(pets[f"pets/{i}"]) for i in (1, 2, 3)] == [Cat, Dog, Cat]
        assert [pets[f"pets/{i}"].name for i in (1, 2, 3)] == ["tom", "rex", "kit"]
        assert not session.advanced.has_changes


def test_a_load_of_many_ids_tracks_each_once_in_the_callers_spelling(
    store: DocumentStore,
) -> None:
    with store.open_session() as session:
        session.store(Cat("tom"), "pets/1")
        session.store(Cat("kit"), "pets/2")
        session.save_changes()
    with store.open_session() as session:
        first = session.load("PETS/2", Cat)
        found = session.load(["Pets/1", "pets/1", "pets/2", "pets/404"], Cat)
        assert list(found) == ["Pets/1", "pets/2", "pets/404"]
        assert found["pets/2"] is first
        assert found["pets/404"] is None
        assert session.load("pets/1", Cat) is found["Pets/1"]
        assert session.number_of_requests == 2


@pytest.mark.parametrize(
    "ids",
    [["a/1", "/b"], ["a/1", 7], ["a/1", "x" * 513], ["a/1", "é" * 300], ["a\x00"]],
)
def test_validate_ids_refuses_what_validate_id_refuses(ids: list[Any]) -> None:
    with pytest.raises(InvalidIdError):
        validate_ids(ids)


def test_validate_ids_accepts_ordinary_and_unusual_valid_ids() -> None:
    validate_ids([])
    validate_ids(["a/1", "", "x" * 512, "é/ü", "a/b/c"])


def test_a_nested_model_that_does_not_validate_names_its_document_and_field(
    store: DocumentStore,
) -> None:
    # Nested models are validated with their parent once the class is known: the error names
    # the same document and field as when the nested model is validated on its own.
    with store.open_session() as session:
        for i in (1, 2):
            session.store(Person(name=f"p{i}", place=Place(city="Oslo")), f"people/{i}")
        session.store(Cat("not a place"), "people/3")
        session.save_changes()
    with store.open_session() as session:
        session.advanced.patch("people/3", "place", {"city": 5})
        session.save_changes()
    with store.open_session() as session:
        with pytest.raises(DocumentValidationError) as caught:
            session.load(["people/1", "people/2", "people/3"], Person)
        assert caught.value.document_id == "people/3"
        assert "place.city" in [path for path, _ in caught.value.errors]
        assert not session.advanced.has_changes
        assert type(session.load("people/1", Person).place) is Place


@pytest.mark.parametrize("cls", [Cat, None])
def test_documents_with_equal_metadata_keep_each_its_own_writes(
    store: DocumentStore, cls: type | None
) -> None:
    """States of documents with equal metadata share one dict (``Materializer._decode``),
    by class or by the class each names, loaded one at a time or many: a metadata write to
    one, or a refresh, changes no other's, nor those of documents read later."""
    with store.open_session() as session:
        for number in range(5):
            session.store(Cat(f"c{number}"), f"cats/{number}")
        session.save_changes()

    def metadata(entity: Any) -> Any:
        return session.advanced.get_metadata_for(entity)

    with store.open_session() as session:
        cats = session.load(["cats/0", "cats/1"], cls)
        metadata(cats["cats/0"])["mark"] = "first"
        assert "mark" not in metadata(cats["cats/1"])
        second = session.load("cats/2", cls)
        assert "mark" not in metadata(second)
        session.advanced.refresh(cats["cats/1"])
        metadata(cats["cats/1"])["mark"] = "second"
        later = session.load(["cats/3", "cats/4"], cls)
        assert ["mark" in metadata(cat) for cat in later.values()] == [False, False]
        assert sorted(session.advanced.what_changed()) == ["cats/0", "cats/1"]

"""The documents every contender works on: ~10 fields, a nested object and a list (SPEC §10).

rookdb works on three kinds of entity holding the same document (``KINDS``): a plain class, a
dataclass and a pydantic v2 model, each with its nested ``address`` object of the same kind and
the ``tags`` list. The dataclass and the model declare an ``id`` field (their identity property,
as FastAPI users write them); the plain class gets RavenDB's ``Id`` attribute on load.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable
from typing import Any

import pydantic


class Address:
    def __init__(self, street: str, city: str, country: str, zip: str) -> None:
        self.street, self.city, self.country, self.zip = street, city, country, zip


class Employee:
    """A plain class with type hints: ``address`` comes back as an ``Address`` on load."""

    address: Address

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


@dataclasses.dataclass
class AddressData:
    street: str
    city: str
    country: str
    zip: str


@dataclasses.dataclass
class EmployeeData:
    """A dataclass: ``address`` comes back as an ``AddressData``."""

    first_name: str
    last_name: str
    title: str
    email: str
    age: int
    salary: float
    active: bool
    hired: str
    tags: list[str]
    address: AddressData
    level: int
    id: str | None = None


class AddressModel(pydantic.BaseModel):
    street: str
    city: str
    country: str
    zip: str


class EmployeeModel(pydantic.BaseModel):
    """A pydantic v2 model, validated on load (the store's default)."""

    first_name: str
    last_name: str
    title: str
    email: str
    age: int
    salary: float
    active: bool
    hired: str
    tags: list[str]
    address: AddressModel
    level: int
    id: str | None = None


CITIES = ["Oslo", "Seattle", "London", "Tacoma", "Lyon", "Kyoto", "Lima", "Perth"]


def document(i: int, rng: random.Random) -> dict[str, Any]:
    """Document ``i`` as plain JSON data (the floor stores exactly this)."""
    return {
        "first_name": f"First{i}",
        "last_name": f"Last{rng.randrange(10_000)}",
        "title": rng.choice(["Sales Representative", "Manager", "Engineer", "Intern"]),
        "email": f"user{i}@example.com",
        "age": rng.randrange(20, 65),
        "salary": round(rng.uniform(30_000, 150_000), 2),
        "active": rng.random() < 0.9,
        "hired": f"20{rng.randrange(10, 25)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 9)}",
        "tags": [rng.choice(["a", "b", "c", "d"]) for _ in range(3)],
        "address": {
            "street": f"{rng.randrange(1, 999)} Main St",
            "city": rng.choice(CITIES),
            "country": "X",
            "zip": f"{rng.randrange(10_000, 99_999)}",
        },
        # Exactly 1% of documents match the W5 query (level = 1000).
        "level": 1000 if i % 100 == 0 else i % 97,
    }


def documents(n: int, seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [document(i, rng) for i in range(n)]


def entity(doc: dict[str, Any]) -> Employee:
    fields = dict(doc)
    fields["address"] = Address(**doc["address"])
    fields["tags"] = list(doc["tags"])
    return Employee(**fields)


def entity_data(doc: dict[str, Any]) -> EmployeeData:
    fields = dict(doc)
    fields["address"] = AddressData(**doc["address"])
    fields["tags"] = list(doc["tags"])
    return EmployeeData(**fields)


def entity_model(doc: dict[str, Any]) -> EmployeeModel:
    fields = dict(doc)
    fields["address"] = AddressModel(**doc["address"])
    fields["tags"] = list(doc["tags"])
    return EmployeeModel(**fields)


#: Entity kind -> (its class, how a document becomes one before the clock starts).
KINDS: dict[str, tuple[type[Any], Callable[[dict[str, Any]], Any]]] = {
    "plain": (Employee, entity),
    "dataclass": (EmployeeData, entity_data),
    "pydantic": (EmployeeModel, entity_model),
}


def ids(n: int) -> list[str]:
    return [f"employees/{i}" for i in range(n)]


_RUNS = itertools.count(1)


def changed_title() -> str:
    """The title W3 gives its ten documents: one no earlier run wrote, so that every run writes
    them (a title a run had written already would leave the entities clean: rookdb and
    SQLAlchemy would then write nothing while the floor wrote its ten rows)."""
    return f"Changed {next(_RUNS)}"

"""Entity classes shared by the tests: every kind of class D2 names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

import pydantic


class Employee:
    """The seed's own class: a plain class with an ``Id`` in its constructor."""

    def __init__(self, first_name: Any = None, last_name: Any = None, Id: Any = None) -> None:
        self.first_name, self.last_name, self.Id = first_name, last_name, Id


class Product:
    def __init__(self, name: str = "", units_in_stock: int = 0, Id: str | None = None) -> None:
        self.name = name
        self.units_in_stock = units_in_stock
        self.Id = Id


@dataclasses.dataclass
class Address:
    city: str
    street: str = ""


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Ratio(float):
    """A float subclass (numpy's float64 is one): orjson hands it to the encoder's ``default``."""


@dataclasses.dataclass
class Line:
    product: str
    quantity: int


@dataclasses.dataclass
class Order:
    customer: str
    address: Address
    lines: list[Line]
    placed: dt.datetime
    color: Color = Color.RED
    tags: list[str] = dataclasses.field(default_factory=list)
    Id: str | None = None


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: int
    y: int


class Slotted:
    __slots__ = ("Id", "name", "size")

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size


class Company(pydantic.BaseModel):
    name: str
    address: Address | None = None
    Id: str | None = None


class Person:
    def __init__(self, name: str) -> None:
        self.name = name

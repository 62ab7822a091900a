"""The documents every contender works on: ~10 fields, a nested object and a list (SPEC §10)."""

from __future__ import annotations

import random
from typing import Any


class Address:
    def __init__(self, street: str, city: str, country: str, zip: str) -> None:
        self.street, self.city, self.country, self.zip = street, city, country, zip


class Employee:
    """A plain class with type hints: ``address`` comes back as an ``Address`` on load."""

    address: Address

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


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


def ids(n: int) -> list[str]:
    return [f"employees/{i}" for i in range(n)]

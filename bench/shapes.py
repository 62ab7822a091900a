"""What one more field of a common type costs W1 and W4 (issue 18).

    python -m bench.shapes --n 10000 --repeat 5

The bench's document (``bench.data``) holds strings, numbers, a bool, a list and a nested
object. An application's documents also hold None (an optional field left empty), datetimes,
Decimals, UUIDs and enums, each with its own path through a save and a load. This runs W1
(store N, one save) and W4 (load N in batches of 1,000, ``has_changes``, save) on a SQLite
file for a dataclass of the bench's fields plus one field of each kind, declared before the
``id`` (its value the same in every document), against the floor (raw ``sqlite3`` + orjson)
storing the same JSON. It prints microseconds per document and the ratio to the floor.
Best of ``--repeat``, each W1 on a fresh file; the collector runs as an application's would.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import decimal
import enum
import functools
import gc
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.data import AddressData, EmployeeData, documents
from bench.floor import Floor
from bench.places import Place
from bench.rook import Rook


class Status(enum.Enum):
    OPEN = "open"


#: Each shape: (the extra field's type, its value, the JSON the floor stores for it).
SHAPES: dict[str, tuple[Any, Any, Any]] = {
    "as it is": (None, None, None),
    "a None": (AddressData | None, None, None),
    "a datetime (UTC)": (
        dt.datetime,
        dt.datetime(2024, 5, 1, 12, 30, 5, 123456, tzinfo=dt.timezone.utc),
        "2024-05-01T12:30:05.1234560Z",
    ),
    "a Decimal 9.50": (decimal.Decimal, decimal.Decimal("9.50"), 9.5),
    "a Decimal 9.5": (decimal.Decimal, decimal.Decimal("9.5"), 9.5),
    "a UUID": (uuid.UUID, uuid.UUID(int=7), str(uuid.UUID(int=7))),
    "an enum": (Status, Status.OPEN, "open"),
}


def entity_class(shape: str) -> type:
    """The bench's dataclass (``EmployeeData``) with the shape's field (``extra``) before
    ``id``."""
    hint = SHAPES[shape][0]
    fields: list[Any] = [
        (f.name, f.type) for f in dataclasses.fields(EmployeeData) if f.name != "id"
    ]
    if hint is not None:
        fields.append(("extra", hint))
    fields.append(("id", str | None, dataclasses.field(default=None)))
    cls = dataclasses.make_dataclass(f"Shape{list(SHAPES).index(shape)}", fields)
    cls.__module__ = __name__
    globals()[cls.__name__] = cls  # found by its name, as a stored class is
    return cls


def _entities(cls: type, shape: str, docs: list[dict[str, Any]]) -> list[Any]:
    value = SHAPES[shape][1]
    extra = {} if SHAPES[shape][0] is None else {"extra": value}
    return [
        cls(**{**doc, "address": AddressData(**doc["address"]), "tags": list(doc["tags"])}, **extra)
        for doc in docs
    ]


def _timed(run: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def rookdb_times(shape: str, docs: list[dict[str, Any]], repeat: int) -> tuple[float, float]:
    """W1 and W4 of rookdb (``bench.rook``'s workloads, on the shape's class), best of
    ``repeat``."""
    cls, n = entity_class(shape), len(docs)
    w1 = w4 = float("inf")
    for _ in range(repeat):
        rook = Rook(Place.fresh("sqlite"), kind="dataclass")
        rook.cls = cls  # the class its loads ask for
        made = _entities(cls, shape, docs)
        w1 = min(w1, _timed(functools.partial(rook.w1_store, made)))
        del made
        w4 = min(w4, _timed(functools.partial(rook.w4_nothing_changed, n)))
        rook.close()
    return w1, w4


def floor_times(shape: str, docs: list[dict[str, Any]], repeat: int) -> tuple[float, float]:
    """W1 and W4 of the floor on the same JSON, best of ``repeat``."""
    if SHAPES[shape][0] is not None:
        docs = [{**doc, "extra": SHAPES[shape][2]} for doc in docs]
    n = len(docs)
    w1 = w4 = float("inf")
    for _ in range(repeat):
        floor = Floor(Place.fresh("sqlite"))
        w1 = min(w1, _timed(functools.partial(floor.w1_store, docs)))
        w4 = min(w4, _timed(functools.partial(floor.w4_nothing_changed, n)))
        floor.close()
    return w1, w4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    docs = documents(args.n)
    rookdb_times("as it is", documents(10), 1)  # the process's first collection name (inflect)
    print(f"SQLite file, N = {args.n}, dataclass: us per document (ratio to the floor)\n")
    print("| the document, plus | W1 floor | W1 rookdb | W4 floor | W4 rookdb |")
    print("|---|---:|---:|---:|---:|")
    for shape in SHAPES:
        floor_w1, floor_w4 = floor_times(shape, docs, args.repeat)
        w1, w4 = rookdb_times(shape, docs, args.repeat)
        us = 1e6 / args.n
        print(
            f"| {shape} | {floor_w1 * us:.2f} | {w1 * us:.2f} ({w1 / floor_w1:.2f}x) "
            f"| {floor_w4 * us:.2f} | {w4 * us:.2f} ({w4 / floor_w4:.2f}x) |"
        )


if __name__ == "__main__":
    main()

"""The least a change-tracking session written in Python can do on W3 and W4 (issue 18).

    python -m bench.bound --n 10000 --rounds 5

Issue 18 asks for W3 and W4 at 2.0x the floor. This measures how close *any* Python session
keeping SPEC S5 could come, so that the target can be judged against what is possible rather
than against rookdb alone. On the floor's own SQLite file (``bench.floor``: raw ``sqlite3`` +
orjson, the same rows), the bound does only what S5 leaves no way around, with nothing else
(no ids checked, no metadata, no identity map, no errors, no layers):

* load: the floor's statement and ``orjson.loads`` per row, then the user's objects
  (``bench.data.Employee`` and its ``Address``, the plain kind) built the cheapest way Python
  has (``__new__`` and the parsed dict adopted as ``__dict__``), each kept with the bytes it
  was read from (its snapshot);
* each question (W4 asks ``has_changes``, then saves: two): per entity, its fields copied,
  serialized by orjson with a ``default`` for the nested object, compared with the snapshot;
* W3 then writes the ten changed documents as the floor does;
* W1: per entity, its fields copied with the ``@metadata`` rookdb writes (collection and
  class), serialized as above, one row each, one ``executemany`` in one transaction: into the
  floor's table (id, data), and again into a table of rookdb's document format (the
  case-folded key, id, collection, etag, change vector, modification time and data, with the
  collection index: ``storage/sqlite/schema.py``), which tells the format's own cost.

``--rows`` measures that cost by column (issue 18's fourteenth round): the SQL side of W1 alone
(bodies encoded before the clock starts), into the floor's table, rookdb's format, and the
format without the change vector (derivable from the etag for documents this database wrote),
without the collection index, and without both.

rookdb's figures come from the same process on its own file (``bench.rook``), so the three
columns share the machine's load. Times are CPU seconds of this process (``process_time``),
best of ``--rounds``, the contenders alternating.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.data import Address, Employee, changed_title, documents, entity, ids
from bench.floor import Floor
from bench.places import Place
from bench.rook import Rook


def _load(floor: Floor, n: int) -> list[tuple[Any, bytes]]:
    """W4's load, the least way: entities with their snapshots."""
    new_employee, new_address = Employee.__new__, Address.__new__
    all_ids = ids(n)
    tracked: list[tuple[Any, bytes]] = []
    append = tracked.append
    for start in range(0, n, 1000):
        chunk = all_ids[start : start + 1000]
        marks = ",".join("?" * len(chunk))
        for _, data in floor.conn.execute(
            f"SELECT id, data FROM docs WHERE id IN ({marks})", chunk
        ):
            body = orjson.loads(data)
            address = new_address(Address)
            address.__dict__ = body["address"]
            body["address"] = address
            employee = new_employee(Employee)
            employee.__dict__ = body
            append((employee, data.encode()))
    return tracked


def _dirty(tracked: list[tuple[Any, bytes]]) -> list[tuple[Any, bytes]]:
    """One question (S5): one serialization and one comparison per entity."""
    dumps, fields = orjson.dumps, vars
    return [
        (entity, data)
        for entity, snapshot in tracked
        if (data := dumps(entity.__dict__.copy(), default=fields)) != snapshot
    ]


def bound_w4(floor: Floor, n: int) -> None:
    tracked = _load(floor, n)
    assert not _dirty(tracked)  # has_changes
    assert not _dirty(tracked)  # save_changes: nothing to write


def bound_w3(floor: Floor, n: int) -> None:
    title = changed_title()
    tracked = _load(floor, n)
    for at in range(0, n, n // 10):
        tracked[at][0].title = title
    changed = _dirty(tracked)
    floor.conn.execute("BEGIN IMMEDIATE")
    floor.conn.executemany(
        "UPDATE docs SET data = ? WHERE id = ?",
        [
            (data.decode(), f"employees/{at}")
            for at, (_, data) in zip(range(0, n, n // 10), changed, strict=True)
        ],
    )
    floor.conn.execute("COMMIT")


_FORMAT = """
CREATE TABLE documents (
    key TEXT PRIMARY KEY, id TEXT NOT NULL, collection TEXT NOT NULL, etag INTEGER NOT NULL,
    change_vector TEXT NOT NULL, last_modified TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX documents_by_collection ON documents (collection COLLATE NOCASE)
"""


def bound_w1(floor: Floor, entities: list[Any], rookdb_format: bool) -> None:
    """W1 the least way, into the floor's table or one of rookdb's format."""
    metadata = {"@collection": "Employees", "Raven-Python-Type": "bench.data.Employee"}
    dumps, fields = orjson.dumps, vars
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    if rookdb_format:
        now, suffix = "2026-12-01T00:00:00.0000000Z", "-FpEorKjHT--KJIplE0rzzQ"
        for etag, (document_id, obj) in enumerate(
            zip(ids(len(entities)), entities, strict=True), 1
        ):
            doc = obj.__dict__.copy()
            doc["@metadata"] = metadata
            data = dumps(doc, default=fields).decode()
            append(
                (
                    document_id.lower(),
                    document_id,
                    "Employees",
                    etag,
                    f"A:{etag}{suffix}",
                    now,
                    data,
                )
            )
        sql = "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)"
    else:
        for document_id, obj in zip(ids(len(entities)), entities, strict=True):
            doc = obj.__dict__.copy()
            doc["@metadata"] = metadata
            append((document_id, dumps(doc, default=fields).decode()))
        sql = "INSERT INTO docs VALUES (?, ?)"
    floor.conn.execute("BEGIN IMMEDIATE")
    floor.conn.executemany(sql, rows)
    floor.conn.execute("COMMIT")


def _w1(contender: str, docs: list[dict[str, Any]]) -> float:
    """CPU seconds of one W1 on a fresh file (the objects built before the clock starts)."""
    place = Place.fresh("sqlite")
    if contender == "rookdb":
        rook = Rook(place, kind="plain")
        entities = rook.prepare(docs)
        spent = _cpu(lambda: rook.w1_store(entities))
        rook.close()
        return spent
    floor = Floor(place)
    if contender == "format":
        floor.conn.executescript(_FORMAT)
    entities = [entity(d) for d in docs]
    work: dict[str, Callable[[], None]] = {
        "floor": lambda: floor.w1_store(docs),
        "bound": lambda: bound_w1(floor, entities, False),
        "format": lambda: bound_w1(floor, entities, True),
    }
    spent = _cpu(work[contender])
    floor.close()
    return spent


# The leaner rows ``--rows`` compares with rookdb's: each a variant of ``_FORMAT``.
_ROW_FORMATS: dict[str, tuple[str, str]] = {
    "rookdb's format": (_FORMAT, "(?, ?, ?, ?, ?, ?, ?)"),
    "without the change vector": (
        _FORMAT.replace("change_vector TEXT NOT NULL, ", ""),
        "(?, ?, ?, ?, ?, ?)",
    ),
    "without the collection index": (_FORMAT.split(";")[0], "(?, ?, ?, ?, ?, ?, ?)"),
    "without both": (
        _FORMAT.split(";")[0].replace("change_vector TEXT NOT NULL, ", ""),
        "(?, ?, ?, ?, ?, ?)",
    ),
}


def _rows(docs: list[dict[str, Any]], rounds: int) -> None:
    """W1's SQL side alone, by row format: CPU seconds, best of ``rounds``."""
    metadata = {"@collection": "Employees", "Raven-Python-Type": "bench.data.Employee"}
    now, suffix = "2026-12-01T00:00:00.0000000Z", "-FpEorKjHT--KJIplE0rzzQ"
    bodies = [
        (document_id, orjson.dumps({**doc, "@metadata": metadata}).decode())
        for document_id, doc in zip(ids(len(docs)), docs, strict=True)
    ]

    def insert(schema: str | None, marks: str) -> float:
        floor = Floor(Place.fresh("sqlite"))
        table = "docs"
        if schema is not None:
            floor.conn.executescript(schema)
            table = "documents"
        seven = marks.count("?") == 7

        def write() -> None:
            rows = [
                (document_id.lower(), document_id, "Employees", etag)
                + ((f"A:{etag}{suffix}",) if seven else ())
                + (now, data)
                for etag, (document_id, data) in enumerate(bodies, 1)
            ]
            floor.conn.execute("BEGIN IMMEDIATE")
            floor.conn.executemany(f"INSERT INTO {table} VALUES {marks}", rows)
            floor.conn.execute("COMMIT")

        def write_floor() -> None:
            floor.conn.execute("BEGIN IMMEDIATE")
            floor.conn.executemany("INSERT INTO docs VALUES (?, ?)", bodies)
            floor.conn.execute("COMMIT")

        spent = _cpu(write if schema is not None else write_floor)
        floor.close()
        return spent

    best = dict.fromkeys(["the floor's table", *_ROW_FORMATS], float("inf"))
    for _ in range(rounds):
        best["the floor's table"] = min(best["the floor's table"], insert(None, ""))
        for name, (schema, marks) in _ROW_FORMATS.items():
            best[name] = min(best[name], insert(schema, marks))
    base = best["the floor's table"]
    print(f"W1's SQL side alone (N = {len(docs):,}, bodies encoded before the clock)\n")
    print("| rows into | CPU (s) | ratio to the floor's table |")
    print("|---|---:|---:|")
    for name, spent in best.items():
        print(f"| {name} | {spent:.4f} | {spent / base:.2f}x |")


def _cpu(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", action="store_true", help="W1's SQL side by row format only")
    args = parser.parse_args()
    n = args.n
    docs = documents(n)
    if args.rows:
        _rows(docs, args.rounds)
        return
    floor = Floor(Place.fresh("sqlite"))
    floor.w1_store(docs)
    rook = Rook(Place.fresh("sqlite"), kind="plain")
    rook.w1_store(rook.prepare(docs))
    runs: dict[str, dict[str, Callable[[], Any]]] = {
        "W3 N tracked, 10 changed, save": {
            "floor": lambda: floor.w3_change_ten(n),
            "bound": lambda: bound_w3(floor, n),
            "rookdb": lambda: rook.w3_change_ten(n),
        },
        "W4 N tracked, nothing changed, has_changes + save": {
            "floor": lambda: floor.w4_nothing_changed(n),
            "bound": lambda: bound_w4(floor, n),
            "rookdb": lambda: rook.w4_nothing_changed(n),
        },
    }
    print(f"N = {n:,}, SQLite file, plain entities, CPU seconds, best of {args.rounds}\n")
    print("| workload | floor (s) | Python bound (s) | rookdb (s) |")
    print("|---|---:|---:|---:|")
    w1 = dict.fromkeys(("floor", "bound", "format", "rookdb"), float("inf"))
    for _ in range(args.rounds):
        for name in w1:
            w1[name] = min(w1[name], _w1(name, docs))
    base = w1["floor"]
    print(
        f"| W1 store N + one save | {base:.4f} | {w1['bound']:.4f} ({w1['bound'] / base:.2f}x); "
        f"rookdb's format {w1['format']:.4f} ({w1['format'] / base:.2f}x) "
        f"| {w1['rookdb']:.4f} ({w1['rookdb'] / base:.2f}x) |"
    )
    for label, contenders in runs.items():
        best = dict.fromkeys(contenders, float("inf"))
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                best[name] = min(best[name], _cpu(fn))
        base = best["floor"]
        print(
            f"| {label} | {base:.4f} | {best['bound']:.4f} ({best['bound'] / base:.2f}x) "
            f"| {best['rookdb']:.4f} ({best['rookdb'] / base:.2f}x) |"
        )
    floor.close()
    rook.close()


if __name__ == "__main__":
    main()

"""The floor: raw ``sqlite3`` + orjson doing the same work, with the same journal (WAL) and
``synchronous=FULL`` as rookdb's file backend. No tracking, no objects: dicts in, dicts out."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from bench.data import changed_title, ids
from bench.places import Place


class Floor:
    name = "sqlite3+orjson"

    def __init__(self, place: Place) -> None:
        self.conn = sqlite3.connect(place.directory / "floor.db", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, data TEXT)")

    def close(self) -> None:
        self.conn.close()

    def prepare(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return docs

    def w1_store(self, docs: list[dict[str, Any]]) -> None:
        rows = [(i, orjson.dumps(d).decode()) for i, d in zip(ids(len(docs)), docs, strict=True)]
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO docs VALUES (?, ?)", rows)
        self.conn.execute("COMMIT")

    def w2_one_by_one(self, n: int) -> list[dict[str, Any]]:
        execute, out = self.conn.execute, []
        for i in ids(n):
            out.append(
                orjson.loads(execute("SELECT data FROM docs WHERE id = ?", (i,)).fetchone()[0])
            )
        return out  # held to the end, as every contender holds what it loaded

    def load_batches(self, n: int, size: int) -> dict[str, dict[str, Any]]:
        all_ids = ids(n)
        out = {}
        for start in range(0, n, size):
            chunk = all_ids[start : start + size]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT id, data FROM docs WHERE id IN ({marks})", chunk)
            out.update((row[0], orjson.loads(row[1])) for row in rows)
        return out

    def w2_batches(self, n: int) -> None:
        self.load_batches(n, 100)

    def w3_change_ten(self, n: int) -> None:
        title = changed_title()
        docs = self.load_batches(n, 1000)
        changed = [(i, docs[i]) for i in ids(n)[:: n // 10]]
        for _, doc in changed:
            doc["title"] = title
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(
            "UPDATE docs SET data = ? WHERE id = ?",
            [(orjson.dumps(d).decode(), i) for i, d in changed],
        )
        self.conn.execute("COMMIT")

    def w4_nothing_changed(self, n: int) -> None:
        self.load_batches(n, 1000)  # nothing else to do: the floor tracks nothing

    def w5_index(self) -> None:
        """The hand-made expression index a raw sqlite3 user would create (not timed)."""
        self.conn.execute(
            "CREATE INDEX IF NOT EXISTS docs_level ON docs (json_extract(data, '$.level'))"
        )

    def w5_query(self, n: int) -> int:
        rows = self.conn.execute(
            "SELECT data FROM docs WHERE json_extract(data, '$.level') = ?", (1000,)
        )
        return len([orjson.loads(row[0]) for row in rows])

    def w5_scan(self, n: int) -> int:
        """The same query without an index (the index hidden from the planner)."""
        rows = self.conn.execute(
            "SELECT data FROM docs NOT INDEXED WHERE json_extract(data, '$.level') = ?", (1000,)
        )
        return len([orjson.loads(row[0]) for row in rows])

"""The PostgreSQL floor: raw psycopg 3 + orjson + a JSONB column doing the same work, as a
competent psycopg user would write it (``executemany`` in one transaction, which psycopg
pipelines; ``= ANY(%s)`` for batches; jsonb read as text and parsed by orjson)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg

from bench.data import changed_title, ids
from bench.places import POSTGRES_URL, Place


class FloorPg:
    name = "psycopg+jsonb"

    def __init__(self, place: Place) -> None:
        self.place = place
        self.conn = psycopg.connect(POSTGRES_URL, autocommit=True)
        schema = f'"{place.schema}floor"'
        self.conn.execute(f"CREATE SCHEMA {schema}")
        self.conn.execute(f"SET search_path = {schema}")
        self.conn.execute("CREATE TABLE docs (id text PRIMARY KEY, data jsonb NOT NULL)")

    def close(self) -> None:
        self.conn.close()
        self.place.drop_schemas()

    def prepare(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return docs

    def w1_store(self, docs: list[dict[str, Any]]) -> None:
        rows = [(i, orjson.dumps(d).decode()) for i, d in zip(ids(len(docs)), docs, strict=True)]
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany("INSERT INTO docs VALUES (%s, %s::jsonb)", rows)

    def w2_one_by_one(self, n: int) -> list[dict[str, Any]]:
        execute, out = self.conn.execute, []
        for i in ids(n):
            row = execute("SELECT data::text FROM docs WHERE id = %s", (i,)).fetchone()
            assert row is not None
            out.append(orjson.loads(row[0]))
        return out  # held to the end, as every contender holds what it loaded

    def load_batches(self, n: int, size: int) -> dict[str, dict[str, Any]]:
        all_ids = ids(n)
        out = {}
        for start in range(0, n, size):
            chunk = all_ids[start : start + size]
            rows = self.conn.execute("SELECT id, data::text FROM docs WHERE id = ANY(%s)", (chunk,))
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
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE docs SET data = %s::jsonb WHERE id = %s",
                [(orjson.dumps(d).decode(), i) for i, d in changed],
            )

    def w4_nothing_changed(self, n: int) -> None:
        self.load_batches(n, 1000)  # nothing else to do: the floor tracks nothing

    def w5_index(self) -> None:
        """The hand-made expression index a raw psycopg user would create (not timed)."""
        self.conn.execute("CREATE INDEX docs_level ON docs ((data -> 'level'))")
        self.conn.execute("ANALYZE docs")

    def w5_query(self, n: int) -> int:
        rows = self.conn.execute(
            "SELECT data::text FROM docs WHERE data -> 'level' = %s::jsonb", ("1000",)
        )
        return len([orjson.loads(row[0]) for row in rows])

    def w5_scan(self, n: int) -> int:
        """The same query before the index exists."""
        return self.w5_query(n)

"""The per-city count and salary sum of ``bench.indexes``, computed by rookdb's peers at query
time (issue 16 asks for both in the same run):

- the **floor**: a raw SQL ``GROUP BY`` over the JSON column with a hand-made expression index
  on the city (SQLite: ``json_extract``; PostgreSQL: ``data -> 'address' ->> 'city'`` on jsonb);
- **SQLAlchemy** 2 ORM: the same ``GROUP BY`` written with its expression language over the
  mapped table of ``bench.sqla`` (the nested object a JSON column), with the same index.

Each stores the N documents first (not timed) and times the query alone.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson
import psycopg
from sqlalchemy import Index, func, select
from sqlalchemy.orm import Session

from bench.data import documents, ids
from bench.places import POSTGRES_URL, Place
from bench.sqla import EmployeeRow, Sqla

__all__ = ["floor_group_by", "sqla_group_by"]


def _best(query: Any, repeat: int) -> tuple[float, list[Any]]:
    best, rows = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = query()
        best = min(best, time.perf_counter() - started)
    return best, rows


def floor_group_by(backend: str, n: int, repeat: int = 3) -> float:
    """Best seconds of the floor's ``GROUP BY`` over N documents."""
    place = Place.fresh(backend)
    rows = [(k, orjson.dumps(d).decode()) for k, d in zip(ids(n), documents(n), strict=True)]
    if backend == "sqlite":
        conn = sqlite3.connect(place.directory / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        conn.execute("CREATE INDEX by_city ON docs (json_extract(data, '$.address.city'))")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO docs VALUES (?, ?)", rows)
        conn.execute("COMMIT")
        sql = (
            "SELECT json_extract(data, '$.address.city') AS city, count(*), "
            "sum(json_extract(data, '$.salary')) FROM docs GROUP BY city"
        )
        try:
            took, found = _best(lambda: conn.execute(sql).fetchall(), repeat)
        finally:
            conn.close()
    else:
        schema = f"{place.schema}floor"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as pg:
            pg.execute(f"CREATE SCHEMA {schema}")
            pg.execute(f"SET search_path = {schema}")
            pg.execute("CREATE TABLE docs (id text PRIMARY KEY, data jsonb NOT NULL)")
            pg.execute("CREATE INDEX by_city ON docs ((data -> 'address' ->> 'city'))")
            with pg.cursor() as cursor:
                cursor.executemany("INSERT INTO docs VALUES (%s, %s::jsonb)", rows)
            pg.execute("ANALYZE docs")
            sql = (
                "SELECT data -> 'address' ->> 'city' AS city, count(*), "
                "sum((data ->> 'salary')::float8) FROM docs GROUP BY city"
            )
            took, found = _best(lambda: pg.execute(sql).fetchall(), repeat)
        place.drop_schemas()
    assert sum(r[1] for r in found) == n
    return took


def sqla_group_by(backend: str, n: int, repeat: int = 3) -> float:
    """Best seconds of SQLAlchemy's ORM ``GROUP BY`` over N mapped rows."""
    sqla = Sqla(Place.fresh(backend))
    city = (
        func.json_extract(EmployeeRow.address, "$.city")
        if backend == "sqlite"
        else EmployeeRow.address["city"].as_string()
    )
    index = Index("employees_by_city", city)
    try:
        index.create(sqla.engine)
        sqla.w1_store(documents(n))
        query = select(city, func.count(), func.sum(EmployeeRow.salary)).group_by(city)

        def run() -> list[Any]:
            with Session(sqla.engine) as session:
                return list(session.execute(query).all())

        took, found = _best(run, repeat)
        assert sum(r[1] for r in found) == n
        return took
    finally:
        # The index joined the table's metadata: the next N's create_all would make it.
        EmployeeRow.__table__.indexes.discard(index)  # type: ignore[attr-defined]
        sqla.close()

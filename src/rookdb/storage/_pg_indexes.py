"""The automatic indexes of one PostgreSQL schema (SPEC Q4), for ``postgres.py``: the registry,
building, and keeping full-text tables in step with writes.

Plain paths get two B-tree expression indexes on ``documents`` (``_pg_sql`` queries them), array
paths share one GIN containment index on ``body``, and each ``search`` field has a table of its
documents' lexemes (``tsvector``) with a GIN index. Index creation holds the schema's index lock
exclusively and batches hold it shared, so no batch misses a full-text table made meanwhile.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import psycopg

from rookdb.evaluate import search_text
from rookdb.fulltext import tokenize
from rookdb.storage import _pg_sql
from rookdb.storage._auto_indexes import Registry, RegistryCache

__all__ = ["SchemaIndexes"]


def _search_lexemes(document: Any, path: str) -> list[str]:
    return _pg_sql.lexemes(tokenize(search_text(document, path)))


class SchemaIndexes(RegistryCache):
    """The automatic indexes of one schema."""

    def __init__(self, s: str) -> None:
        super().__init__()
        self._s = s

    def registry(self, conn: psycopg.Connection[Any]) -> Registry:
        """The registry, re-read if another connection or process changed it."""
        row = conn.execute(
            f"SELECT value FROM {self._s}.meta WHERE name = 'index_version'"
        ).fetchone()
        assert row is not None
        return self.as_of(
            int(row[0]),
            lambda: conn.execute(
                f"SELECT id, collection_key, path, kind FROM {self._s}.auto_indexes"
            ).fetchall(),
        )

    def search_table(self, index_id: int) -> str:
        return f'{self._s}."auto_search_{index_id}"'

    @staticmethod
    def _index_name(path: str, suffix: str = "") -> str:
        name = f"auto/{path}{suffix}"
        if len(name.encode()) > 63:
            name = f"auto/{hashlib.sha256(path.encode()).hexdigest()[:24]}{suffix}"
        return name

    def create(
        self, conn: psycopg.Connection[Any], collection: str, paths: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        """Inside the caller's transaction, which holds the schema's index lock: register and
        build the indexes ``paths`` (``(path, kind)``), up to ``cap`` for the collection;
        those this call made."""
        made: list[tuple[str, str]] = []
        s = self._s
        key = collection.lower()
        row = conn.execute(
            f"SELECT count(*) FROM {s}.auto_indexes WHERE collection_key = %s", (key,)
        ).fetchone()
        count = row[0] if row else 0
        for path, kind in paths:
            if count >= cap:
                break
            row = conn.execute(
                f"INSERT INTO {s}.auto_indexes (collection, collection_key, path, kind) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                (collection, key, path, kind),
            ).fetchone()
            if row is None:
                continue  # another process made it first
            count += 1
            made.append((path, kind))
            index_id = row[0]
            if kind == "expression":
                # A validated path (letters, digits, _ - @ and dots): safe in quoted names.
                v, t = _pg_sql.chain(path)
                conn.execute(
                    f'CREATE INDEX IF NOT EXISTS "{self._index_name(path)}" '
                    f"ON {s}.documents (collection_key, ({v}))"
                )
                conn.execute(
                    f'CREATE INDEX IF NOT EXISTS "{self._index_name(path, "/text")}" '
                    f'ON {s}.documents (collection_key, ({t}) COLLATE "C")'
                )
            elif kind == "values":
                conn.execute(
                    f'CREATE INDEX IF NOT EXISTS "auto/containment" '
                    f"ON {s}.documents USING gin (body jsonb_path_ops)"
                )
            else:
                table = self.search_table(index_id)
                conn.execute(
                    f'CREATE TABLE {table} (key text COLLATE "C" PRIMARY KEY, '
                    "tokens tsvector NOT NULL)"
                )
                conn.execute(f"CREATE INDEX ON {table} USING gin (tokens)")
                rows = conn.execute(
                    f"SELECT key, data FROM {s}.documents WHERE collection_key = %s", (key,)
                ).fetchall()
                with conn.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {table} VALUES (%s, array_to_tsvector(%s::text[]))",
                        [(k, _search_lexemes(orjson.loads(d), path)) for k, d in rows],
                    )
        # Expression indexes have statistics of their own: without them the planner guesses.
        conn.execute(f"ANALYZE {s}.documents")
        conn.execute(
            f"UPDATE {s}.meta SET value = (value::bigint + 1)::text WHERE name = 'index_version'"
        )
        return made

    def maintain(
        self,
        conn: psycopg.Connection[Any],
        registry: Registry,
        final: dict[str, tuple[str, bytes] | None],
    ) -> None:
        """Keep full-text tables in step with a batch, in its transaction: ``final`` maps each
        key the batch touched to its new (collection, data), or None if deleted."""
        touched = list(final)
        for collection_key, indexes in registry.items():
            for (path, kind), index_id in indexes.items():
                if kind != "search":
                    continue
                table = self.search_table(index_id)
                # A document may have changed collection: clear every key from every table.
                conn.execute(f"DELETE FROM {table} WHERE key = ANY(%s)", (touched,))
                rows = [
                    (key, _search_lexemes(orjson.loads(value[1]), path))
                    for key, value in final.items()
                    if value is not None and value[0].lower() == collection_key
                ]
                if rows:
                    with conn.cursor() as cursor:
                        cursor.executemany(
                            f"INSERT INTO {table} VALUES (%s, array_to_tsvector(%s::text[]))",
                            rows,
                        )

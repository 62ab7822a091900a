"""Automatic indexes of a SQLite database (SPEC Q4): building and upkeep.

The first query on a field creates the index it needs: an expression index on
``(collection, json_type, json_extract)`` for a path without arrays, a value table of
candidates for an array path, an FTS5 table for ``search``. At most ``cap`` per collection;
past it, queries scan (still correct). Value tables and FTS5 tables are kept in step with the
documents inside each write batch's transaction, so queries always see the last committed
write. The registry (``relational.auto_indexes``) carries a version in the database, so every
process re-reads it before writing and maintains indexes other processes created.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import orjson

from rookdb.evaluate import candidates, cut, search_text
from rookdb.fulltext import FTS5_TOKENIZER
from rookdb.storage.relational import entry_indexes
from rookdb.storage.relational.auto_indexes import Registry, RegistryCache, sql_index_name
from rookdb.storage.sqlite import compiler as sql

__all__ = ["AutoIndexes", "entry_index", "expression_index", "value_rows"]


log = logging.getLogger("rookdb.storage.sqlite")

_JSON_TYPES = {type(None): "null", int: "integer", float: "real", str: "text"}


def value_rows(document: Any, path: str) -> list[tuple[str, Any]]:
    """The (json type, value) rows of ``path``'s candidates in ``document``: what the value
    table holds, computed by the reference definition itself. Strings are cut at NUL as
    queries compare them; arrays and objects never equal a query value."""
    rows: list[tuple[str, Any]] = []
    for value in candidates(document, path):
        if value is True or value is False:
            rows.append(("true" if value else "false", None))
        elif type(value) is str:
            rows.append(("text", cut(value)))
        elif type(value) in _JSON_TYPES:
            rows.append((_JSON_TYPES[type(value)], value))
    return rows


def entry_index(index_id: int, path: str) -> str:
    """The statement that makes the expression index of ``path`` over index ``index_id``'s
    entries (``relational.entry_indexes``): the expressions ``compiler.Compiler`` seeks for
    a path, on the entries' JSON, partial to the index's entries (its id a literal)."""
    # A validated path (letters, digits, _ - @ and dots): safe in a quoted name.
    json = sql.json_path(path)
    return (
        f'CREATE INDEX IF NOT EXISTS "{entry_indexes.name(index_id, path)}" ON index_entries '
        f"(json_type(entry, {json}), json_extract(entry, {json})) WHERE idx = {int(index_id)}"
    )


def expression_index(path: str) -> str:
    """The statement that makes the expression index of ``path`` on the documents (every
    collection's: the collection is its first column), named ``auto/<path>~<digest>``: one
    per path (``auto_indexes.sql_index_name``; SQLite compares names without case)."""
    # A validated path (letters, digits, _ - @ and dots): safe in a quoted name.
    json = sql.json_path(path)
    return (
        f'CREATE INDEX IF NOT EXISTS "{sql_index_name("auto/", path)}" ON documents '
        f"(collection COLLATE NOCASE, json_type(data, {json}), json_extract(data, {json}))"
    )


def _earlier(conn: sqlite3.Connection, path: str) -> bool:
    """Whether the documents have the expression index of ``path`` under the name of before
    (``AutoIndexes.repair``): a second, of the name now, would be the same index, kept up to
    date by every write."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' "
        "AND name = ? COLLATE BINARY",
        (f"auto/{path}",),
    ).fetchone()
    return row is not None


class AutoIndexes(RegistryCache):
    """The automatic indexes of one SQLite database."""

    @staticmethod
    def repair(conn: sqlite3.Connection, database: str) -> list[str]:
        """Inside the caller's write transaction (a store opening ``database``): make the
        expression index of every path registered without one; the paths. Before their
        names had a digest of the path (``expression_index``), an index was ``auto/<path>``,
        and SQLite compares names without case: of ``email`` and ``Email``, the second had
        none (its ``CREATE INDEX IF NOT EXISTS`` did nothing), and queries on it scanned.
        An index of the old name is the path's that has that very name (``auto/Email`` is
        ``Email``'s): kept, as it is (SQLite cannot rename an index; ``create`` makes no
        second), but where one of the name now is beside it: then dropped."""
        names = {
            str(name)
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents'"
            )
        }
        made = []
        for (path,) in conn.execute(
            "SELECT DISTINCT path FROM auto_indexes WHERE kind = 'expression' ORDER BY path"
        ).fetchall():
            new = sql_index_name("auto/", path)
            if f"auto/{path}" in names and new in names:
                conn.execute(f'DROP INDEX "auto/{path}"')
                log.info(
                    "dropped the automatic index %r of field %r in database %r, a copy of %r",
                    f"auto/{path}",
                    path,
                    database,
                    new,
                )
            elif f"auto/{path}" not in names and new not in names:
                conn.execute(expression_index(path))
                made.append(str(path))
                log.info(
                    "made the missing automatic index (expression) of field %r in database %r",
                    path,
                    database,
                )
        return made

    def registry(self, conn: sqlite3.Connection) -> Registry:
        """The registry (collection → (path, kind) → id), re-read if another connection or
        process changed it."""
        version = int(
            conn.execute("SELECT value FROM meta WHERE name = 'index_version'").fetchone()[0]
        )
        return self.as_of(
            version, lambda: conn.execute("SELECT id, collection, path, kind FROM auto_indexes")
        )

    def create(
        self, conn: sqlite3.Connection, collection: str, paths: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        """Inside the caller's write transaction: register and build the indexes ``paths``
        (``(path, kind)``), up to ``cap`` for the collection; those this call made."""
        made: list[tuple[str, str]] = []
        count = conn.execute(
            "SELECT count(*) FROM auto_indexes WHERE collection = ?", (collection,)
        ).fetchone()[0]
        for path, kind in paths:
            if count >= cap:
                break
            cursor = conn.execute(
                "INSERT OR IGNORE INTO auto_indexes (collection, path, kind) VALUES (?, ?, ?)",
                (collection, path, kind),
            )
            if cursor.rowcount == 0:
                continue  # another process made it first
            count += 1
            made.append((path, kind))
            index_id = cursor.lastrowid
            assert index_id is not None
            if kind == "expression":
                if not _earlier(conn, path):
                    conn.execute(expression_index(path))
                continue
            if kind == "search":
                conn.execute(
                    f'CREATE VIRTUAL TABLE "{sql.fts_table(index_id)}" USING fts5'
                    f"(text, tokenize = '{FTS5_TOKENIZER}')"
                )
            documents = conn.execute(
                "SELECT rowid, key, data FROM documents WHERE collection = ? COLLATE NOCASE",
                (collection,),
            ).fetchall()
            self._add_documents(
                conn, [(index_id, path, kind)], [(r, k, orjson.loads(d)) for r, k, d in documents]
            )
        conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'index_version'"
        )
        return made

    @staticmethod
    def _add_documents(
        conn: sqlite3.Connection,
        indexes: list[tuple[int, str, str]],
        documents: list[tuple[int, str, Any]],
    ) -> None:
        """Add ``documents`` (rowid, key, decoded body) to value-table and full-text indexes."""
        values: list[tuple[int, str, str, Any]] = []
        for index_id, path, kind in indexes:
            if kind == "values":
                for _, key, document in documents:
                    values.extend((index_id, key, t, v) for t, v in value_rows(document, path))
            elif kind == "search":
                conn.executemany(
                    f'INSERT INTO "{sql.fts_table(index_id)}" (rowid, text) VALUES (?, ?)',
                    [(rowid, search_text(document, path)) for rowid, _, document in documents],
                )
        if values:
            conn.executemany("INSERT INTO auto_values VALUES (?, ?, ?, ?)", values)

    def maintain(
        self,
        conn: sqlite3.Connection,
        registry: Registry,
        final: dict[str, tuple[str, bytes] | None],
        deleted_rowids: dict[str, int],
    ) -> None:
        """Keep value tables and full-text indexes in step with a batch, in its transaction:
        ``final`` maps each key the batch touched to its new (collection, data), or None."""
        written = [key for key, value in final.items() if value is not None]
        rowids = dict(deleted_rowids)
        if written:
            rowids.update(
                conn.execute(
                    "SELECT key, rowid FROM documents "
                    "WHERE key IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(written).decode(),),
                ).fetchall()
            )
        conn.executemany("DELETE FROM auto_values WHERE key = ?", [(key,) for key in final])
        searches = [
            i for indexes in registry.values() for (_, k), i in indexes.items() if k == "search"
        ]
        for index_id in searches:  # a document may have changed collection: clear it from all
            conn.executemany(
                f'DELETE FROM "{sql.fts_table(index_id)}" WHERE rowid = ?',
                [(rowids[key],) for key in final if key in rowids],
            )
        by_collection: dict[str, list[tuple[int, str, Any]]] = {}
        for key in written:
            collection, data = final[key]  # type: ignore[misc]
            if registry.get(collection.lower()):
                by_collection.setdefault(collection.lower(), []).append(
                    (rowids[key], key, orjson.loads(data))
                )
        for collection, documents in by_collection.items():
            indexes = [
                (index_id, path, kind)
                for (path, kind), index_id in registry[collection].items()
                if kind != "expression"
            ]
            if indexes:
                self._add_documents(conn, indexes, documents)

"""One rookdb database in one SQLite database (a file, or memory): the SQLite dialect of the
relational core (``relational.storage``), on the write path of ``writes``.

Opening a database checks its format and brings an older file up to date in the opening
transaction (``_initialize``). A query's condition is compiled by ``compiler``, and that of a
query shape seen lately is taken from a cache (``_where``, ``_arms``). The file's format, its
tables and the SQL text run on them are ``sqlite.schema``'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson

from rookdb.ids import hilo_document_id
from rookdb.query import OrderBy, Query
from rookdb.storage.records import document_key, last_modified_now
from rookdb.storage.relational import entry_indexes, hilo
from rookdb.storage.relational.index_maintenance import IndexMaintenance
from rookdb.storage.relational.storage import (
    StreamReading,
    check_format_version,
    new_database_id,
)
from rookdb.storage.sqlite import compiler
from rookdb.storage.sqlite.connections import Connections, transaction
from rookdb.storage.sqlite.errors import SqliteErrors, SqliteOpenErrors, SqliteQueryErrors
from rookdb.storage.sqlite.indexes import AutoIndexes, entry_index
from rookdb.storage.sqlite.schema import (
    ATTACHMENT_STATEMENTS,
    ATTACHMENTS_SCHEMA,
    COUNTER_STATEMENTS,
    COUNTERS_SCHEMA,
    FORMAT_VERSION,
    INDEX_STATEMENTS,
    INDEXES_SCHEMA,
    REVISION_STATEMENTS,
    REVISIONS_SCHEMA,
    SCHEMA,
    STATEMENTS,
    UPSERT,
)
from rookdb.storage.sqlite.writes import SqliteWrites
from rookdb.storage.statistics import Capabilities

__all__ = ["SqliteStorage"]

# The package's name: what users configure (the "rookdb" logger and its children).
log = logging.getLogger("rookdb.storage.sqlite")


#: The compiled WHERE conditions of the query shapes seen lately (``SqliteStorage._where``),
#: with their parameters, by (collection, predicate's repr, automatic indexes); emptied when
#: full. Shapes with a longer repr than ``_WHERE_CACHE_SHAPE`` are not kept.
_WHERE_CACHE: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
_WHERE_CACHE_SIZE = 512
_WHERE_CACHE_SHAPE = 2000
#: ``SqliteStorage._arms`` of the query shapes seen lately, as ``_WHERE_CACHE`` (None: the
#: shape has no arms).
_ARMS_CACHE: dict[tuple[Any, ...], tuple[list[str], tuple[Any, ...]] | None] = {}


def _remember(
    cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], shape: str, found: Any
) -> None:
    """Keep ``found`` for a query shape in one of the compiled-shape caches, bounded: a shape
    with a long repr costs its compile anyway, and a full cache starts again."""
    if len(shape) <= _WHERE_CACHE_SHAPE:
        if len(cache) >= _WHERE_CACHE_SIZE:
            cache.clear()
        cache[key] = found


class SqliteStorage(SqliteWrites):
    """One rookdb database in one SQLite database (a file, or memory)."""

    _errors = SqliteErrors
    _query_errors = SqliteQueryErrors
    _log = log
    _no_limit = -1
    _key_order_in_python = True  # the key column compares BINARY
    # A union under an ORDER BY is read through a co-routine first: ~20% slower to sort.
    _arms_sorted_in_sql = False
    _stream_start = 0
    _sql = STATEMENTS
    _revision_sql = REVISION_STATEMENTS
    _counter_sql = COUNTER_STATEMENTS
    _attachment_sql = ATTACHMENT_STATEMENTS
    _index_sql = INDEX_STATEMENTS

    def __init__(self, name: str, path: str | None, capabilities: Capabilities) -> None:
        super().__init__(name, capabilities)
        self._indexes: AutoIndexes = AutoIndexes()
        self._user_indexes = IndexMaintenance(INDEX_STATEMENTS, STATEMENTS.get_meta, self._key_list)
        self._path = path
        self._connections = Connections(path)
        try:
            with SqliteOpenErrors(path or "memory"), self._connections as conn, transaction(conn):
                self._initialize(conn)
        except BaseException:
            self._connections.close()
            raise

    def _initialize(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        check_format_version(version, FORMAT_VERSION, "this database")
        if version == 0:
            # Statement by statement: executescript() would COMMIT the open transaction.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        row = conn.execute("SELECT value FROM meta WHERE name = 'database_id'").fetchone()
        if row is None:
            database_id = new_database_id()
            conn.execute("INSERT INTO meta VALUES ('database_id', ?)", (database_id,))
            conn.execute("INSERT INTO meta VALUES ('last_etag', '0')")
            conn.execute("INSERT INTO meta VALUES ('index_version', '0')")
        else:
            database_id = row[0]
        self._database_id = database_id
        if version == 1:
            self._upgrade_hilo(conn)
        if version in (1, 2):
            for statement in REVISIONS_SCHEMA.split(";"):
                conn.execute(statement)
        if version in (1, 2, 3):
            conn.execute(COUNTERS_SCHEMA)
            for statement in ATTACHMENTS_SCHEMA.split(";"):
                conn.execute(statement)
        if version in (1, 2, 3, 4):
            for statement in INDEXES_SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        # The name as first written, for listings (the file's name is lower-cased).
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('name', ?)", (self.name,))
        self.name = conn.execute("SELECT value FROM meta WHERE name = 'name'").fetchone()[0]
        self._indexes.repair(conn, self.name)  # those an older rookdb failed to make

    def _upgrade_hilo(self, conn: sqlite3.Connection) -> None:
        """Format 1 to 2: each ``hilo`` row raises its tag's ``Raven/Hilo/<tag>`` document
        to at least its high, then the table goes, in the opening transaction (which holds
        the write lock: no process reserves from the table meanwhile; a crash leaves it all
        as it was)."""
        etag = int(conn.execute("SELECT value FROM meta WHERE name = 'last_etag'").fetchone()[0])
        now = last_modified_now()
        for tag, high in conn.execute("SELECT prefix, high FROM hilo").fetchall():
            key = document_key(hilo_document_id(tag))
            row = conn.execute(
                "SELECT id, collection, CAST(data AS BLOB) FROM documents WHERE key = ?", (key,)
            ).fetchone()
            document_id, collection, data = hilo.raised(row and tuple(row), tag, high)
            etag += 1
            change_vector = f"A:{etag}-{self._database_id}"
            conn.execute(
                UPSERT,
                (key, document_id, collection, etag, change_vector, now, data.decode()),
            )
        conn.execute("UPDATE meta SET value = ? WHERE name = 'last_etag'", (str(etag),))
        conn.execute("DROP TABLE hilo")
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")

    # -- the dialect -------------------------------------------------------------------------

    def _connection(self) -> Connections:
        return self._connections

    def _snapshot(self, conn: sqlite3.Connection) -> contextlib.AbstractContextManager[None]:
        return transaction(conn, "DEFERRED")

    @contextlib.contextmanager
    def _revision_transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connections as conn, transaction(conn):
            yield conn

    def _next_etag(self, conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'last_etag' "
            "RETURNING value"
        ).fetchone()
        return int(row[0])

    @contextlib.contextmanager
    def _stream_reading(self) -> Iterator[StreamReading]:
        with self._connections.streaming() as (conn, guard):
            yield StreamReading(conn, guard, conn.cursor)

    def _key_list(self, keys: list[str]) -> str:
        return orjson.dumps(keys).decode()

    def _collection_key(self, collection: str) -> str:
        return collection  # compared COLLATE NOCASE

    def _where(
        self,
        conn: sqlite3.Connection,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
        entries: str | None = None,
    ) -> str:
        # The compiled condition is a function of the collection (or an index's entries),
        # the predicate and the automatic indexes alone: a query of a shape seen lately
        # costs a dict lookup (issue 18). The predicate enters the key by its repr, which
        # tells 1, 1.0 and True apart (equal, and hashed alike, as Python values, but not
        # as JSON).
        shape = repr(query.where)
        key = (query.collection, shape, tuple(indexes.items()), entries)
        found = _WHERE_CACHE.get(key)
        if found is None:
            mine: list[Any] = []
            found = (self._compile_where(query, indexes, mine, entries), tuple(mine))
            _remember(_WHERE_CACHE, key, shape, found)
        params.extend(found[1])
        return found[0]

    def _arms(
        self,
        conn: sqlite3.Connection,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
    ) -> list[str] | None:
        if query.collection is None or not isinstance(query.where, compiler.SEEK_PREDICATES):
            return None  # without the cache's repr
        # Cached as ``_where`` is; None (no arms) too.
        shape = repr(query.where)
        key = (query.collection, shape, tuple(indexes.items()))
        if key in _ARMS_CACHE:
            found = _ARMS_CACHE[key]
        else:
            mine: list[Any] = []
            arms = compiler.Compiler(query.collection, indexes).arms(query.where, mine)
            found = None if arms is None else (arms, tuple(mine))
            _remember(_ARMS_CACHE, key, shape, found)
        if found is None:
            return None
        params.extend(found[1])
        return found[0]

    def _compile_where(
        self,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
        entries: str | None = None,
    ) -> str:
        sql = compiler.Compiler(query.collection, indexes, entries)
        conditions = []
        if query.collection is not None:
            # When row-id sets from indexes find the matches, the collection test must not
            # make SQLite walk the collection instead: the unary + keeps it off indexes.
            row_sets = query.where is not None and sql.uses_row_sets(query.where)
            conditions.append(f"{'+' if row_sets else ''}collection = ? COLLATE NOCASE")
            params.append(query.collection)
        if query.where is not None:
            conditions.append(sql.where(query.where, params))
        return " AND ".join(conditions) or "1"

    def _order_clause(self, order_by: tuple[OrderBy, ...]) -> str:
        return compiler.order_clause(order_by)

    def _create_indexes(
        self, conn: sqlite3.Connection, collection: str, missing: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        with transaction(conn):
            return self._indexes.create(conn, collection, missing, self.max_auto_indexes)

    def _entry_index_transaction(self, conn: sqlite3.Connection) -> Any:
        return transaction(conn)

    def _entry_index_names(self, conn: sqlite3.Connection, index_id: int) -> set[str]:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'index_entries' "
            "AND substr(name, 1, length(?)) = ?",
            (entry_indexes.prefix(index_id),) * 2,
        )
        return {str(name) for (name,) in rows}

    def _create_entry_index(self, conn: sqlite3.Connection, index_id: int, path: str) -> None:
        conn.execute(entry_index(index_id, path))

    def _drop_index_sql(self, name: str) -> str:
        return f'DROP INDEX IF EXISTS "{name}"'

    def _last_etag(self, conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT value FROM meta WHERE name = 'last_etag'").fetchone()[0])

    def _size_on_disk(self, conn: sqlite3.Connection) -> int:
        if self._path is None:  # in memory: the pages the database holds
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])
        # What is on disk: the file, its write-ahead log (committed writes not yet
        # checkpointed into the file) and the log's index.
        size = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                size += os.path.getsize(self._path + suffix)
        return size

    def close(self) -> None:
        self._connections.close()

"""The embedded backends on stdlib ``sqlite3`` (SPEC B2): ``sqlite:///DIR`` and ``memory://``.

Files (one per database, ``DIR/<name>.rookdb``, the name lower-cased: database names are
case-insensitive, as in RavenDB, and a file made by an earlier rookdb in another case is found
too; the name as first written is kept in the file's ``meta`` table for listings): WAL journal,
``synchronous=FULL``, a busy timeout, one connection per thread, a new connection after ``fork``
(a SQLite connection must never cross a fork), and writes in ``BEGIN IMMEDIATE`` transactions so
a batch takes the write lock before it reads the change vectors it checks. Many processes can
share one directory.

Memory: one in-memory SQLite database per rookdb database, on a single connection guarded by a
lock, shared by the store's sessions and threads. Same SQL, same code path as files.

Every batch runs inside an explicit transaction that is rolled back on any error: SQLite commits
what was done so far if a transaction is simply abandoned in some error paths, and a batch must be
all or nothing.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from rookdb.errors import (
    ConcurrencyError,
    ConfigurationError,
    DatabaseDoesNotExistError,
    QueryError,
    StorageError,
    StorageUnavailableError,
)
from rookdb.evaluate import project
from rookdb.ids import validate_database_name, validate_hilo_tag
from rookdb.query import Query
from rookdb.storage import _sql
from rookdb.storage._auto_indexes import AutoIndexes, log_made, statistics_name, wanted
from rookdb.storage._results import distinct_page, included_keys, query_result, total_from_page
from rookdb.storage.base import Backend, Storage
from rookdb.storage.records import (
    BatchResult,
    Capabilities,
    Command,
    DatabaseStatistics,
    DeleteCommand,
    DocumentRecord,
    GetResult,
    PutCommand,
    QueryResult,
    ReadCheck,
    WriteResult,
    check_expected,
    document_key,
    last_modified_now,
)

__all__ = ["FORMAT_VERSION", "SqliteBackend", "SqliteStorage"]

log = logging.getLogger(__name__)

#: The on-disk format this code writes and reads (``PRAGMA user_version``; SPEC D6).
FORMAT_VERSION = 1
FILE_SUFFIX = ".rookdb"
BUSY_TIMEOUT_MS = 30_000
_STREAM_PAGE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    key TEXT PRIMARY KEY,          -- the id lower-cased: ids are case-insensitive (S2)
    id TEXT NOT NULL,              -- the id as first written
    collection TEXT NOT NULL,
    etag INTEGER NOT NULL,
    change_vector TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    data TEXT NOT NULL             -- canonical JSON (D5), TEXT so the JSON1 functions read it
);
CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (collection COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS hilo (prefix TEXT PRIMARY KEY, high INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS identities (prefix TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Automatic indexes (Q4): one row per (collection, field path) a query needed.
CREATE TABLE IF NOT EXISTS auto_indexes (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL COLLATE NOCASE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,            -- 'expression' (no arrays in the path), 'values', 'search'
    UNIQUE (collection, path, kind)
);
-- The candidates of array paths (rookdb.evaluate.candidates), kept with the documents.
CREATE TABLE IF NOT EXISTS auto_values (
    idx INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, value
);
CREATE INDEX IF NOT EXISTS auto_values_lookup ON auto_values (idx, type, value);
CREATE INDEX IF NOT EXISTS auto_values_by_key ON auto_values (key);
"""

_COLUMNS = "id, CAST(data AS BLOB), change_vector, last_modified, collection"
_UPSERT = (
    "INSERT INTO documents (key, id, collection, etag, change_vector, last_modified, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
    "collection = excluded.collection, etag = excluded.etag, "
    "change_vector = excluded.change_vector, last_modified = excluded.last_modified, "
    "data = excluded.data"
)


_record = DocumentRecord._make
_GET_ONE = f"SELECT {_COLUMNS} FROM documents WHERE key = ?"


# What SQLite says of a statement past its compile-time limits: the query's fault, not storage's.
# (Queries within the limits of ``rookdb.query`` stay far from these; tens of thousands of
# clauses may not.)
_SQLITE_QUERY_LIMITS = (
    "parser stack overflow",
    "Expression tree is too large",
    "too many SQL variables",
    "too many terms in compound SELECT",
    "string or blob too big",
)


def _translate(exc: sqlite3.Error, action: str) -> StorageError:
    message = f"SQLite failed to {action}: {exc}"
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return StorageUnavailableError(message, original=exc)
    return StorageError(message, original=exc)


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a file to WAL. SQLite answers "database is locked" at once, without its busy
    handler, while another process holds the lock this needs (as processes opening a new
    database together do): wait for it as a busy timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class _Connections:
    """One connection per thread and process (files), or one shared connection (memory)."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._closed = False
        if path is None:
            self._shared: sqlite3.Connection | None = self._open()
            self._shared_lock: threading.RLock | None = threading.RLock()
        else:
            self._shared = None
            self._shared_lock = None

    def _open(self) -> sqlite3.Connection:
        target = self._path if self._path is not None else ":memory:"
        conn = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.create_function(_sql.REGEXP_FUNCTION, 2, _sql.regexp, deterministic=True)
        conn.create_function(_sql.SEARCH_FUNCTION, 4, _sql.search_row, deterministic=True)
        if self._path is not None:
            _use_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
        with self._registry_lock:
            self._all.append(conn)
        return conn

    # A class-based context manager: a generator-based one costs about a microsecond per use,
    # and every storage call takes one.
    def __enter__(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError("the storage is closed")
        shared = self._shared
        if shared is not None:
            assert self._shared_lock is not None
            self._shared_lock.acquire()
            return shared
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            # After fork the parent's connection is abandoned, never used nor closed here.
            conn = local.conn = self._open()
            local.pid = os.getpid()
        return conn

    def __exit__(self, *exc: object) -> None:
        if self._shared_lock is not None:
            self._shared_lock.release()

    def close(self) -> None:
        self._closed = True
        with self._registry_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SqliteStorage(Storage):
    """One rookdb database in one SQLite database (a file, or memory)."""

    #: Automatic indexes per collection; past it, queries on new fields scan (SPEC Q4).
    max_auto_indexes = 64

    def __init__(self, name: str, path: str | None, capabilities: Capabilities) -> None:
        self.name = name
        self.capabilities = capabilities
        self._indexes = AutoIndexes()
        self._connections = _Connections(path)
        try:
            with self._connections as conn, _transaction(conn):
                self._initialize(conn)
        except sqlite3.Error as exc:
            self._connections.close()
            raise StorageUnavailableError(
                f"cannot open {path or 'memory'}: {exc}", original=exc
            ) from exc
        except BaseException:
            self._connections.close()
            raise

    def _initialize(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > FORMAT_VERSION:
            raise ConfigurationError(
                f"this database has format version {version}; this rookdb reads up to "
                f"{FORMAT_VERSION}: upgrade rookdb"
            )
        if version == 0:
            # Statement by statement: executescript() would COMMIT the open transaction.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        row = conn.execute("SELECT value FROM meta WHERE name = 'database_id'").fetchone()
        if row is None:
            database_id = base64.b64encode(uuid.uuid4().bytes, b"-_").decode()[:22]
            conn.execute("INSERT INTO meta VALUES ('database_id', ?)", (database_id,))
            conn.execute("INSERT INTO meta VALUES ('last_etag', '0')")
            conn.execute("INSERT INTO meta VALUES ('index_version', '0')")
        else:
            database_id = row[0]
        self._database_id: str = database_id
        # The name as first written, for listings (the file's name is lower-cased).
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('name', ?)", (self.name,))
        self.name = conn.execute("SELECT value FROM meta WHERE name = 'name'").fetchone()[0]

    # -- reads -------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        if len(ids) == 1 and not includes:  # one id: the most common read, kept short
            try:
                with self._connections as conn:
                    key = ids[0].lower()
                    row = conn.execute(_GET_ONE, (key,)).fetchone()
            except sqlite3.Error as exc:
                raise _translate(exc, "read documents") from exc
            return GetResult({key: _record(row)} if row is not None else {}, {})
        keys = list(dict.fromkeys(document_key(i) for i in ids))
        try:
            with self._connections as conn:
                if not includes:
                    return GetResult(self._fetch(conn, keys), {})
                with _transaction(conn, "DEFERRED"):  # one snapshot for documents + includes
                    documents = self._fetch(conn, keys)
                    included = self._includes(conn, documents.values(), includes)
                    return GetResult(documents, included)
        except sqlite3.Error as exc:
            raise _translate(exc, "read documents") from exc

    @staticmethod
    def _fetch(conn: sqlite3.Connection, keys: list[str]) -> dict[str, DocumentRecord]:
        if not keys:
            return {}
        if len(keys) == 1:
            rows = conn.execute(
                f"SELECT key, {_COLUMNS} FROM documents WHERE key = ?", (keys[0],)
            ).fetchall()
        else:  # one statement, one snapshot, any number of ids
            rows = conn.execute(
                f"SELECT key, {_COLUMNS} FROM documents "
                "WHERE key IN (SELECT value FROM json_each(?))",
                (orjson.dumps(keys).decode(),),
            ).fetchall()
        return {row[0]: _record(row[1:]) for row in rows}

    def _includes(
        self,
        conn: sqlite3.Connection,
        records: Any,
        paths: Sequence[str],
    ) -> dict[str, DocumentRecord | None]:
        wanted = included_keys(records, paths)
        found = self._fetch(conn, wanted)
        return {key: found.get(key) for key in wanted}

    def get_prefix(self, prefix: str, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        low = document_key(prefix)
        try:
            with self._connections as conn:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM documents WHERE key >= ? AND key < ? "
                    "ORDER BY key LIMIT ? OFFSET ?",
                    (low, low + "\U0010ffff", page_size, start),
                ).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, "read documents") from exc
        return [_record(row) for row in rows]

    def query(self, query: Query) -> QueryResult:
        started = time.perf_counter()
        indexes = self._prepare_indexes(query)
        compiler = _sql.Compiler(query.collection, indexes)
        params: list[Any] = []
        conditions = []
        if query.collection is not None:
            # When row-id sets from indexes find the matches, the collection test must not
            # make SQLite walk the collection instead: the unary + keeps it off indexes.
            row_sets = query.where is not None and compiler.uses_row_sets(query.where)
            conditions.append(f"{'+' if row_sets else ''}collection = ? COLLATE NOCASE")
            params.append(query.collection)
        if query.where is not None:
            conditions.append(compiler.where(query.where, params))
        where = " AND ".join(conditions) or "1"
        select = f"SELECT {_COLUMNS} FROM documents WHERE {where} "
        select += f"ORDER BY {_sql.order_clause(query.order_by)}"
        projections: list[dict[str, Any]] | None = None
        try:
            with self._connections as conn, _transaction(conn, "DEFERRED"):
                if query.select and query.distinct:
                    every = [_record(row) for row in conn.execute(select, params)]
                    records, projections, total = distinct_page(every, query)
                else:
                    records, total = self._page(conn, query, select, where, params)
                    if query.select:
                        projections = [project(orjson.loads(r.data), query.select) for r in records]
                included = self._includes(conn, records, query.includes) if query.includes else {}
        except sqlite3.Error as exc:
            if any(limit in str(exc) for limit in _SQLITE_QUERY_LIMITS):
                raise QueryError(f"the query is too large for SQLite ({exc})") from exc
            raise _translate(exc, "run a query") from exc
        return query_result(query, started, indexes, records, projections, included, total)

    @staticmethod
    def _page(
        conn: sqlite3.Connection, query: Query, select: str, where: str, params: list[Any]
    ) -> tuple[list[DocumentRecord], int]:
        """One page of matching documents, and how many match in all."""
        limit = -1 if query.take is None else query.take
        rows = conn.execute(f"{select} LIMIT ? OFFSET ?", (*params, limit, query.skip)).fetchall()
        total = total_from_page(query, len(rows))
        if total is None:
            total = conn.execute(
                f"SELECT count(*) FROM documents WHERE {where}", params
            ).fetchone()[0]
        return [_record(row) for row in rows], total

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        # Pages by rowid (insertion order; an upsert keeps a row's rowid), so memory stays
        # constant and no connection is held between pages. No index on etag needed.
        after = 0
        condition = "" if collection is None else "AND collection = ? COLLATE NOCASE"
        extra: tuple[Any, ...] = () if collection is None else (collection,)
        while True:
            try:
                with self._connections as conn:
                    rows = conn.execute(
                        f"SELECT rowid, {_COLUMNS} FROM documents WHERE rowid > ? {condition} "
                        "ORDER BY rowid LIMIT ?",
                        (after, *extra, _STREAM_PAGE),
                    ).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, "stream documents") from exc
            for row in rows:
                yield _record(row[1:])
            if len(rows) < _STREAM_PAGE:
                return
            after = rows[-1][0]

    def _prepare_indexes(self, query: Query) -> dict[tuple[str, str], int]:
        """Create the indexes ``query`` needs (SPEC Q4); the ids of its collection's indexes."""
        if query.collection is None or query.where is None:
            return {}
        collection = query.collection.lower()
        try:
            with self._connections as conn:
                known = self._indexes.registry(conn).get(collection, {})
                missing = [w for w in wanted(query.where) if w not in known]
                if missing and len(known) < self.max_auto_indexes:
                    with _transaction(conn):
                        made = self._indexes.create(
                            conn, query.collection, missing, self.max_auto_indexes
                        )
                    log_made(log, self.name, query.collection, made)
                    known = self._indexes.registry(conn).get(collection, {})
        except sqlite3.Error as exc:
            raise _translate(exc, "create an automatic index") from exc
        return known

    # -- writes ------------------------------------------------------------------------------

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        commands = list(batch)  # the whole batch before the write lock: it may be a generator
        try:
            with self._connections as conn, _transaction(conn):
                return self._apply(conn, commands)
        except sqlite3.Error as exc:
            raise _translate(exc, "write a batch") from exc

    def _apply(self, conn: sqlite3.Connection, batch: Sequence[Command]) -> BatchResult:
        checked = [
            document_key(c.id)
            for c in batch
            if isinstance(c, ReadCheck) or c.expected_change_vector is not None
        ]
        current = (
            dict(
                conn.execute(
                    "SELECT key, change_vector FROM documents "
                    "WHERE key IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(checked).decode(),),
                ).fetchall()
            )
            if checked
            else {}
        )
        meta = dict(
            conn.execute("SELECT name, value FROM meta WHERE name IN ('last_etag', 'deleted')")
        )
        if "deleted" in meta:
            # delete_database marked this file before removing it, while this store had it
            # open: a write now would be acknowledged into a file no one will read again.
            raise DatabaseDoesNotExistError(
                f"database {self.name!r} was deleted (by another store or process) while this "
                "store had it open; nothing was written: open a new store to create it again"
            )
        etag = int(meta["last_etag"])
        now = last_modified_now()
        suffix = f"-{self._database_id}"
        rows: list[tuple[Any, ...]] = []
        results: list[WriteResult] = []
        # With value or full-text indexes, the final state of every key the batch touches.
        registry = self._indexes.registry(conn)
        maintained = any(k != "expression" for i in registry.values() for (_, k) in i)
        final: dict[str, tuple[str, bytes] | None] | None = {} if maintained else None
        deleted_rowids: dict[str, int] = {}
        for command in batch:
            if type(command) is PutCommand:
                etag += 1
                document_id = command.id
                if not document_id or document_id[-1] in "/|":
                    document_id = self._complete_id(conn, document_id, etag)
                key = document_id.lower()
                if command.expected_change_vector is not None:
                    check_expected(document_id, command.expected_change_vector, current.get(key))
                change_vector = f"A:{etag}{suffix}"
                rows.append(
                    (
                        key,
                        document_id,
                        command.collection,
                        etag,
                        change_vector,
                        now,
                        command.data.decode("utf-8"),
                    )
                )
                if checked:
                    current[key] = change_vector
                if final is not None:
                    final[key] = (command.collection, command.data)
                results.append(WriteResult(document_id, change_vector, now))
            elif type(command) is DeleteCommand:
                key = document_key(command.id)
                check_expected(command.id, command.expected_change_vector, current.get(key))
                if rows:  # keep batch order: earlier puts land before this delete
                    conn.executemany(_UPSERT, rows)
                    rows = []
                if final is not None:
                    row = conn.execute(
                        "SELECT rowid FROM documents WHERE key = ?", (key,)
                    ).fetchone()
                    if row is not None:
                        deleted_rowids[key] = row[0]
                conn.execute("DELETE FROM documents WHERE key = ?", (key,))
                current.pop(key, None)
                if final is not None:
                    final[key] = None
            else:
                assert isinstance(command, ReadCheck)
                actual = current.get(document_key(command.id))
                if actual != command.change_vector:
                    raise ConcurrencyError(
                        f"document {command.id!r} changed since this session read it",
                        document_id=command.id,
                        expected=command.change_vector,
                        actual=actual,
                    )
        if rows:
            conn.executemany(_UPSERT, rows)
        if final:
            self._indexes.maintain(conn, registry, final, deleted_rowids)
        conn.execute("UPDATE meta SET value = ? WHERE name = 'last_etag'", (str(etag),))
        return BatchResult(results)

    @staticmethod
    def _complete_id(conn: sqlite3.Connection, document_id: str, etag: int) -> str:
        """Ids storage completes (SPEC S14): ``x/`` by etag, ``x|`` by identity, ``""`` GUID."""
        if document_id == "":
            return str(uuid.uuid4())
        last = document_id[-1]
        if last == "/":
            return f"{document_id}{etag:019d}-A"
        if last == "|":
            prefix = document_id[:-1]
            value = conn.execute(
                "INSERT INTO identities VALUES (?, 1) ON CONFLICT (prefix) "
                "DO UPDATE SET value = value + 1 RETURNING value",
                (prefix.lower(),),
            ).fetchone()[0]
            return f"{prefix}/{value}"
        return document_id

    def reserve_ids(self, prefix: str, capacity: int) -> tuple[int, int]:
        tag = validate_hilo_tag(prefix).lower()
        try:
            with self._connections as conn, _transaction(conn):
                high = conn.execute(
                    "INSERT INTO hilo VALUES (?, ?) ON CONFLICT (prefix) "
                    "DO UPDATE SET high = high + ? RETURNING high",
                    (tag, capacity, capacity),
                ).fetchone()[0]
        except sqlite3.Error as exc:
            raise _translate(exc, "reserve ids") from exc
        return high - capacity + 1, high

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        tag = validate_hilo_tag(prefix).lower()
        try:
            with self._connections as conn:
                conn.execute(
                    "UPDATE hilo SET high = ? WHERE prefix = ? AND high = ?",
                    (last_used, tag, high),
                )
        except sqlite3.Error as exc:
            raise _translate(exc, "return ids") from exc

    # -- admin -------------------------------------------------------------------------------

    def statistics(self) -> DatabaseStatistics:
        try:
            with self._connections as conn:
                counts = dict(
                    conn.execute(
                        "SELECT collection, count(*) FROM documents GROUP BY collection "
                        "ORDER BY collection"
                    ).fetchall()
                )
                indexes = [
                    statistics_name(collection, path, kind)
                    for collection, path, kind in conn.execute(
                        "SELECT collection, path, kind FROM auto_indexes "
                        "ORDER BY collection, path, kind"
                    )
                ]
        except sqlite3.Error as exc:
            raise _translate(exc, "read statistics") from exc
        return DatabaseStatistics(self.name, sum(counts.values()), counts, indexes)

    def close(self) -> None:
        self._connections.close()


class SqliteBackend(Backend):
    """Databases in a directory (``sqlite:///DIR``), or in memory (``directory=None``)."""

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self.capabilities = Capabilities(
            name="sqlite" if directory is not None else "memory",
            persistent=directory is not None,
            multi_process=directory is not None,
            shared_in_process=directory is not None,
        )
        self._lock = threading.Lock()
        self._open: dict[str, SqliteStorage] = {}

    def _make_directory(self) -> None:
        # With the first database, not before: reading (a CLI typo, list_databases) must
        # leave no empty directory behind.
        if self._directory is not None:
            try:
                self._directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageUnavailableError(
                    f"cannot create the data directory {self._directory}: {exc}", original=exc
                ) from exc

    def _files(self, name: str) -> list[Path]:
        """The files of database ``name`` whatever the case of their names (earlier versions
        named files in the case a database was first written)."""
        assert self._directory is not None
        if not self._directory.is_dir():  # made with the first database
            return []
        key = name.lower()
        try:
            return sorted(
                path
                for path in self._directory.iterdir()
                if path.name.endswith(FILE_SUFFIX) and path.name[: -len(FILE_SUFFIX)].lower() == key
            )
        except OSError as exc:
            raise StorageUnavailableError(
                f"cannot read the data directory {self._directory}: {exc}", original=exc
            ) from exc

    def _path(self, name: str) -> str | None:
        """The file of ``name``: the one there is, whatever its case, or a new lower-cased one
        (one spelling for every process, so two cannot create two files)."""
        if self._directory is None:
            return None
        files = self._files(validate_database_name(name))
        if len(files) > 1:
            raise ConfigurationError(
                f"database {name!r} is in {len(files)} files whose names differ only in case "
                f"({', '.join(p.name for p in files)}); database names are case-insensitive: "
                "export one (rookdb export), import it into the other, then remove its file"
            )
        if files:
            return str(files[0])
        return str(self._directory / f"{name.lower()}{FILE_SUFFIX}")

    def database(self, name: str) -> SqliteStorage:
        validate_database_name(name)
        with self._lock:
            storage = self._open.get(name.lower())
            if storage is None:
                self._make_directory()
                path = self._path(name)
                if path is not None and Path(path).exists():
                    name = Path(path).name[: -len(FILE_SUFFIX)]  # a legacy file's own name
                storage = self._open[name.lower()] = SqliteStorage(name, path, self.capabilities)
            return storage

    def create_database(self, name: str) -> None:
        self.database(name)

    def delete_database(self, name: str) -> None:
        """Remove ``name`` (any case) and its files; ``DatabaseDoesNotExistError`` if there is
        no such database, ``StorageError`` if a file cannot be removed."""
        validate_database_name(name)
        with self._lock:
            storage = self._open.pop(name.lower(), None)
            if storage is not None:
                storage.close()
            if self._directory is None:
                if storage is None:
                    raise DatabaseDoesNotExistError(f"no database named {name!r}")
                return
            files = self._files(name)
            if not files and storage is None:
                raise DatabaseDoesNotExistError(f"no database named {name!r}")
            for path in files:
                _mark_deleted(path)
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.remove(f"{path}{suffix}")
                    except FileNotFoundError:
                        pass
                    except OSError as exc:
                        raise StorageError(
                            f"cannot delete database {name!r}: {exc}", original=exc
                        ) from exc

    def list_databases(self) -> list[str]:
        """Every database, named in the case it was first written."""
        if self._directory is None:
            with self._lock:
                return sorted(storage.name for storage in self._open.values())
        if not self._directory.is_dir():  # made with the first database
            return []
        try:
            files = sorted(self._directory.glob(f"*{FILE_SUFFIX}"))
        except OSError as exc:
            raise StorageUnavailableError(
                f"cannot read the data directory {self._directory}: {exc}", original=exc
            ) from exc
        return sorted(_stored_name(path) for path in files)

    def statistics(self, name: str) -> DatabaseStatistics:
        return self.database(name).statistics()

    def close(self) -> None:
        with self._lock:
            storages, self._open = list(self._open.values()), {}
        for storage in storages:
            storage.close()


def _mark_deleted(path: Path) -> None:
    """Mark a database file deleted before it is removed, under the write lock: a store of
    another process (or this one) that still has the file open then refuses its next batch
    rather than acknowledge a write into a removed file (``SqliteStorage._apply``)."""
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('deleted', '1')")
        conn.execute("COMMIT")
    except sqlite3.Error:  # not a rookdb file (no meta table): nothing can be writing to it
        pass
    finally:
        conn.close()


def _stored_name(path: Path) -> str:
    """The name a database file records (``meta``), or its file name where it records none."""
    fallback = path.name[: -len(FILE_SUFFIX)]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return fallback
    try:
        row = conn.execute("SELECT value FROM meta WHERE name = 'name'").fetchone()
    except sqlite3.Error:  # not initialized yet, or not a rookdb file
        return fallback
    finally:
        conn.close()
    return str(row[0]) if row is not None else fallback

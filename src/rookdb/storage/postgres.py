"""The PostgreSQL backend (SPEC B3): ``postgresql://USER@HOST:PORT/DBNAME``.

One schema per rookdb database (``rookdb_<name>``, created on first use), on a pool of
connections shared by the store's sessions and threads (``_pg_pool``: a server that cannot be
reached is ``StorageUnavailableError`` within ``connect_timeout``, naming it and the reason). A
document is a row holding its canonical JSON (``data``, bytea: exactly what the session wrote,
SPEC D5) and a JSONB copy for queries (``body``; jsonb reorders keys and cannot hold a NUL
character, so its strings are cut at the first NUL, as every backend compares them).

Writes: one transaction per batch, the conditional writes done by the statements themselves
(``UPDATE ... WHERE change_vector = expected``, ``INSERT ... ON CONFLICT DO NOTHING`` for "must
not exist"), so two batches racing on a document cannot both pass their checks. A big batch goes
in pipelined statements of 2,000 commands, read from the session's generator as it encodes them,
so that PostgreSQL writes one while the session encodes the next; their results are read before
COMMIT. Batches with
``WRITES_AND_READS`` read checks run ``SERIALIZABLE``. Serialization failures and deadlocks
(SQLSTATE 40001, 40P01) are retried a bounded number of times; a lost connection during COMMIT
is ``OutcomeUnknownError``. Reads of several statements (includes, a query's page and count) run
in one ``REPEATABLE READ`` snapshot.

The URL may carry ``schema_prefix=...`` (default ``rookdb_``) and ``connect_timeout=SECONDS``
(libpq's parameter; default 5); every other query parameter goes to libpq. The test suite
gives each test its own prefix and drops its schemas afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg import errors as pg_errors

from rookdb.errors import (
    ConcurrencyError,
    ConfigurationError,
    DatabaseDoesNotExistError,
    OutcomeUnknownError,
    QueryError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
)
from rookdb.evaluate import matches, project
from rookdb.ids import validate_database_name, validate_hilo_tag
from rookdb.query import And, Not, Or, Predicate, Query, Regex, Search
from rookdb.storage import _pg_sql
from rookdb.storage._auto_indexes import log_made, statistics_name, wanted
from rookdb.storage._pg_indexes import SchemaIndexes
from rookdb.storage._pg_pool import ConnectionPool, connect_timeout
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

__all__ = ["FORMAT_VERSION", "PostgresBackend", "PostgresStorage"]

log = logging.getLogger(__name__)

#: The schema layout this code writes and reads (meta ``format_version``; SPEC D6).
FORMAT_VERSION = 1
DEFAULT_SCHEMA_PREFIX = "rookdb_"
#: How many times a batch is retried after a serialization failure or a deadlock.
RETRIES = 8
_STREAM_PAGE = 1000
#: Commands per statement when a batch is big enough to pipeline (see PostgresStorage._apply).
_CHUNK = 2000
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,30}")

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE {s}.documents (
    key text COLLATE "C" PRIMARY KEY,  -- the id lower-cased: ids are case-insensitive (S2)
    id text NOT NULL,                  -- the id as first written
    collection text NOT NULL,
    collection_key text NOT NULL,      -- the collection lower-cased
    etag bigint NOT NULL,
    change_vector text NOT NULL,
    last_modified text NOT NULL,
    data bytea NOT NULL,               -- canonical JSON (D5), byte for byte
    body jsonb NOT NULL                -- the same document for queries, strings cut at NUL
);
CREATE INDEX documents_by_collection ON {s}.documents (collection_key, key);
CREATE SEQUENCE {s}.etags;
CREATE TABLE {s}.hilo (prefix text PRIMARY KEY, high bigint NOT NULL);
CREATE TABLE {s}.identities (prefix text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE {s}.meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE {s}.auto_indexes (
    id serial PRIMARY KEY,
    collection text NOT NULL,
    collection_key text NOT NULL,
    path text NOT NULL,
    kind text NOT NULL,                -- 'expression', 'values' (GIN), 'search'
    UNIQUE (collection_key, path, kind)
)
"""

_COLUMNS = "id, data, change_vector, last_modified, collection"
_record = DocumentRecord._make
_RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def _translate(exc: Exception, action: str) -> StorageError:
    message = f"PostgreSQL failed to {action}: {exc}"
    if isinstance(exc, psycopg.OperationalError):
        return StorageUnavailableError(message, original=exc)
    return StorageError(message, original=exc)


def _lock_key(text: str) -> int:
    """A signed 64-bit advisory-lock key for ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def schema_name(prefix: str, database: str) -> str:
    """The schema of rookdb database ``database``: the prefix and the lower-cased name, or a
    digest-shortened name where that would pass PostgreSQL's 63-byte identifier limit."""
    name = prefix + database.lower()
    if len(name) > 63:
        digest = hashlib.sha256(database.lower().encode()).hexdigest()[:12]
        name = f"{name[:50]}_{digest}"
    return name


def _body(data: bytes) -> str | None:
    """The jsonb text of a document when it differs from ``data``: strings and keys holding a
    NUL character (jsonb cannot store one) cut there, or dropped for keys (no field path can
    name them). None means ``data`` itself."""
    if b"\\u0000" not in data:
        return None

    def clean(value: Any) -> Any:
        if type(value) is str:
            nul = value.find("\x00")
            return value if nul == -1 else value[:nul]
        if type(value) is list:
            return [clean(v) for v in value]
        if type(value) is dict:
            return {k: clean(v) for k, v in value.items() if "\x00" not in k}
        return value

    return orjson.dumps(clean(orjson.loads(data))).decode()


@contextlib.contextmanager
def _transaction(conn: psycopg.Connection[Any], begin: str) -> Iterator[None]:
    """An explicit transaction: rolled back on any error; a connection lost during COMMIT is
    ``OutcomeUnknownError`` (the server may have committed)."""
    conn.execute(begin)
    try:
        yield
    except BaseException:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")
        raise
    _commit(conn)


def _commit(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.execute("COMMIT")
    except _RETRYABLE:
        raise  # the transaction did not commit: the caller may retry it
    except psycopg.OperationalError as exc:
        raise OutcomeUnknownError(
            f"the connection failed during COMMIT; the batch may or may not be written: {exc}",
            original=exc,
        ) from exc


_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def _python_predicates(predicate: Predicate, indexed: set[tuple[str, str]]) -> list[Predicate]:
    """Predicates evaluated in Python: regular expressions, and searches without an index."""
    if isinstance(predicate, (And, Or)):
        return [p for item in predicate.items for p in _python_predicates(item, indexed)]
    if isinstance(predicate, Not):
        return _python_predicates(predicate.item, indexed)
    if isinstance(predicate, Regex):
        return [predicate]
    if isinstance(predicate, Search) and (predicate.field, "search") not in indexed:
        return [predicate]
    return []


class PostgresStorage(Storage):
    """One rookdb database in one PostgreSQL schema."""

    #: Automatic indexes per collection; past it, queries scan (SPEC Q4).
    max_auto_indexes = 64

    def __init__(
        self, name: str, schema: str, pool: ConnectionPool, capabilities: Capabilities
    ) -> None:
        self.name = name
        self.schema = schema
        self.capabilities = capabilities
        self._pool = pool
        self._closed = False
        s = self._s = f'"{schema}"'
        self._indexes = SchemaIndexes(schema)
        self._index_lock = _lock_key(f"rookdb indexes {schema}")
        self._sql_get_one = f"SELECT {_COLUMNS} FROM {s}.documents WHERE key = %s"
        self._sql_get_many = f"SELECT key, {_COLUMNS} FROM {s}.documents WHERE key = ANY(%s)"
        new_rows = _new_rows(s, "id")
        insert = (
            f"INSERT INTO {s}.documents AS d (key, id, collection, collection_key, etag, "
            "change_vector, last_modified, data, body) "
            "SELECT key, id, collection, collection_key, etag, 'A:' || etag || %s, %s, data, "
            f"COALESCE(body, convert_from(data, 'UTF8'))::jsonb FROM ({new_rows}) AS n "
        )
        self._sql_upsert = _as_arrays(
            insert + "ON CONFLICT (key) DO UPDATE SET collection = excluded.collection, "
            "collection_key = excluded.collection_key, etag = excluded.etag, "
            "change_vector = excluded.change_vector, last_modified = excluded.last_modified, "
            "data = excluded.data, body = excluded.body RETURNING key, change_vector"
        )
        self._sql_create = _as_arrays(
            insert + "ON CONFLICT (key) DO NOTHING RETURNING key, change_vector"
        )
        self._sql_update = _as_arrays(
            f"UPDATE {s}.documents AS d SET collection = n.collection, "
            "collection_key = n.collection_key, etag = n.etag, "
            "change_vector = 'A:' || n.etag || %s, last_modified = %s, data = n.data, "
            "body = COALESCE(n.body, convert_from(n.data, 'UTF8'))::jsonb "
            f"FROM ({_new_rows(s, 'expected')}) AS n "
            "WHERE d.key = n.key AND d.change_vector = n.expected "
            "RETURNING d.key, d.change_vector"
        )
        self._sql_delete = (
            f"DELETE FROM {s}.documents AS d USING unnest(%b::text[], %b::text[]) "
            "AS u(key, expected) WHERE d.key = u.key "
            "AND (u.expected IS NULL OR d.change_vector = u.expected) RETURNING d.key"
        )
        self._sql_current = f"SELECT key, change_vector FROM {s}.documents WHERE key = ANY(%s)"
        try:
            with self._pool.connection() as conn:
                self._database_id = self._initialize(conn)
        except psycopg.Error as exc:
            raise _translate(exc, f"open the schema {schema}") from exc

    def _initialize(self, conn: psycopg.Connection[Any]) -> str:
        s = self._s
        # pg_tables, not to_regclass: a catalog read with the statement's snapshot, where
        # to_regclass may answer from a cache that has not yet seen another creator's commit.
        exists = "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'meta'"
        if conn.execute(exists, (self.schema,)).fetchone() is None:
            with _transaction(conn, "BEGIN"):
                # One creator at a time: CREATE ... IF NOT EXISTS races in the catalogs.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(f"rookdb {s}"),))
                if conn.execute(exists, (self.schema,)).fetchone() is None:
                    for statement in _SCHEMA.format(s=s).split(";"):
                        conn.execute(statement)
                    database_id = base64.b64encode(uuid.uuid4().bytes, b"-_").decode()[:22]
                    conn.execute(
                        f"INSERT INTO {s}.meta VALUES ('format_version', %s), "
                        "('database_id', %s), ('name', %s), ('index_version', '0')",
                        (str(FORMAT_VERSION), database_id, self.name),
                    )
        meta = dict(conn.execute(f"SELECT name, value FROM {s}.meta").fetchall())
        version = int(meta["format_version"])
        if version > FORMAT_VERSION:
            raise ConfigurationError(
                f"the schema {self.schema} has format version {version}; this rookdb reads up "
                f"to {FORMAT_VERSION}: upgrade rookdb"
            )
        if self._indexes.outdated(conn):
            with _transaction(conn, "BEGIN"):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._index_lock,))
                replaced = self._indexes.upgrade(conn)  # none if another process did it
            for name in replaced:
                log.info(
                    "database %r: rebuilt the automatic index %r in its new form", self.name, name
                )
        return str(meta["database_id"])

    def _connection(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        if self._closed:
            raise StorageError("the storage is closed")
        return self._pool.connection()

    # -- reads -------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        try:
            with self._connection() as conn:
                if len(ids) == 1 and not includes:  # the most common read, kept short
                    key = ids[0].lower()
                    row = conn.execute(self._sql_get_one, (key,)).fetchone()
                    return GetResult({key: _record(row)} if row is not None else {}, {})
                keys = list(dict.fromkeys(document_key(i) for i in ids))
                if not includes:  # one statement: one snapshot
                    return GetResult(self._fetch(conn, keys), {})
                with _transaction(conn, _SNAPSHOT):
                    documents = self._fetch(conn, keys)
                    return GetResult(documents, self._includes(conn, documents.values(), includes))
        except psycopg.Error as exc:
            raise _translate(exc, "read documents") from exc

    def _fetch(self, conn: psycopg.Connection[Any], keys: list[str]) -> dict[str, DocumentRecord]:
        if not keys:
            return {}
        rows = conn.execute(self._sql_get_many, (keys,)).fetchall()
        return {row[0]: _record(row[1:]) for row in rows}

    def _includes(
        self, conn: psycopg.Connection[Any], records: Any, paths: Sequence[str]
    ) -> dict[str, DocumentRecord | None]:
        wanted_keys = included_keys(records, paths)
        found = self._fetch(conn, wanted_keys)
        return {key: found.get(key) for key in wanted_keys}

    def get_prefix(self, prefix: str, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        low = document_key(prefix)
        try:
            with self._connection() as conn:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM {self._s}.documents WHERE key >= %s AND key < %s "
                    "ORDER BY key LIMIT %s OFFSET %s",
                    (low, low + "\U0010ffff", page_size, start),
                ).fetchall()
        except psycopg.Error as exc:
            raise _translate(exc, "read documents") from exc
        return [_record(row) for row in rows]

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        # Pages by key, so memory stays constant and no connection is held between pages.
        after = ""
        condition = "" if collection is None else "AND collection_key = %s"
        extra: tuple[Any, ...] = () if collection is None else (collection.lower(),)
        while True:
            try:
                with self._connection() as conn:
                    rows = conn.execute(
                        f"SELECT key, {_COLUMNS} FROM {self._s}.documents WHERE key > %s "
                        f"{condition} ORDER BY key LIMIT %s",
                        (after, *extra, _STREAM_PAGE),
                    ).fetchall()
            except psycopg.Error as exc:
                raise _translate(exc, "stream documents") from exc
            for row in rows:
                yield _record(row[1:])
            if len(rows) < _STREAM_PAGE:
                return
            after = rows[-1][0]

    def query(self, query: Query) -> QueryResult:
        started = time.perf_counter()
        try:
            indexes = self._prepare_indexes(query)
            with self._connection() as conn, _transaction(conn, _SNAPSHOT):
                records, projections, total = self._run(conn, query, indexes)
                included = self._includes(conn, records, query.includes) if query.includes else {}
        except psycopg.Error as exc:
            # Past PostgreSQL's limits on a statement (SQLSTATE class 54: too complex, too many
            # arguments) or libpq's 65,535 parameters: the query's fault, not storage's.
            if (exc.sqlstate or "").startswith("54") or "number of parameters" in str(exc):
                raise QueryError(f"the query is too large for PostgreSQL ({exc})") from exc
            raise _translate(exc, "run a query") from exc
        return query_result(query, started, indexes, records, projections, included, total)

    def _run(
        self, conn: psycopg.Connection[Any], query: Query, indexes: dict[tuple[str, str], int]
    ) -> tuple[list[DocumentRecord], list[dict[str, Any]] | None, int]:
        s = self._s
        params: list[Any] = []
        conditions = []
        if query.collection is not None:
            conditions.append("collection_key = %s")
            params.append(query.collection.lower())
        if query.where is not None:
            usable = indexes if query.collection is not None else {}
            python_keys = self._python_matches(conn, query, set(usable))
            compiler = _pg_sql.Compiler(usable, python_keys, self._indexes.search_table)
            conditions.append(compiler.where(query.where, params))
        where = " AND ".join(conditions) or "true"
        select = f"SELECT {_COLUMNS} FROM {s}.documents WHERE {where} "
        select += f"ORDER BY {_pg_sql.order_clause(query.order_by)}"
        if query.select and query.distinct:
            return distinct_page([_record(row) for row in conn.execute(select, params)], query)
        rows = conn.execute(
            f"{select} LIMIT %s OFFSET %s", (*params, query.take, query.skip)
        ).fetchall()
        records = [_record(row) for row in rows]
        total = total_from_page(query, len(rows))
        if total is None:
            found = conn.execute(
                f"SELECT count(*) FROM {s}.documents WHERE {where}", params
            ).fetchone()
            total = found[0] if found else 0
        projections: list[dict[str, Any]] | None = None
        if query.select:
            projections = [project(orjson.loads(r.data), query.select) for r in records]
        return records, projections, total

    def _python_matches(
        self, conn: psycopg.Connection[Any], query: Query, indexed: set[tuple[str, str]]
    ) -> dict[int, list[str]]:
        """Keys matching each predicate evaluated in Python, read in the query's snapshot."""
        assert query.where is not None
        predicates = _python_predicates(query.where, indexed)
        if not predicates:
            return {}
        if query.collection is None:
            rows = conn.execute(f"SELECT key, data FROM {self._s}.documents")
        else:
            rows = conn.execute(
                f"SELECT key, data FROM {self._s}.documents WHERE collection_key = %s",
                (query.collection.lower(),),
            )
        keys: dict[int, list[str]] = {id(p): [] for p in predicates}
        for key, data in rows:
            document = orjson.loads(data)
            for predicate in predicates:
                if matches(document, predicate):
                    keys[id(predicate)].append(key)
        return keys

    def _prepare_indexes(self, query: Query) -> dict[tuple[str, str], int]:
        """Create the indexes ``query`` needs (SPEC Q4); the ids of its collection's indexes.
        Indexes are never dropped, so a cached registry that has them all is enough."""
        if query.collection is None or query.where is None:
            return {}
        collection = query.collection.lower()
        needed = wanted(query.where)
        known = self._indexes.cached().get(collection, {})
        if all(w in known for w in needed):
            return known
        with self._connection() as conn:
            known = self._indexes.registry(conn).get(collection, {})
            missing = [w for w in needed if w not in known]
            if missing and len(known) < self.max_auto_indexes:
                with _transaction(conn, "BEGIN"):
                    # Exclusive: no batch is between reading the registry and committing.
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._index_lock,))
                    made = self._indexes.create(
                        conn, query.collection, missing, self.max_auto_indexes
                    )
                log_made(log, self.name, query.collection, made)
                known = self._indexes.registry(conn).get(collection, {})
        return known

    # -- writes ------------------------------------------------------------------------------

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        # A retried transaction writes the same batch again: keep what a generator gave.
        commands = batch if isinstance(batch, Sequence) else _Replay(batch)
        # Read checks of WRITES_AND_READS guard documents the batch does not write: only
        # SERIALIZABLE sees another batch create one of them meanwhile.
        serializable = isinstance(batch, Sequence) and any(type(c) is ReadCheck for c in batch)
        attempt = 0
        while True:
            try:
                with self._connection() as conn:
                    return self._apply(conn, commands, serializable)
            except _ReadCheckLate:
                serializable = True  # a generator's read check: the batch again, SERIALIZABLE
                log.debug("a read check came late in the batch: writing it again SERIALIZABLE")
            except _RETRYABLE as exc:
                if attempt == RETRIES:
                    raise StorageError(
                        f"PostgreSQL kept failing the batch after {RETRIES} retries: {exc}",
                        original=exc,
                    ) from exc
                log.info(
                    "database %r: batch retried (%d of %d) after %s: %s",
                    self.name,
                    attempt + 1,
                    RETRIES,
                    type(exc).__name__,
                    " ".join(str(exc).split()),
                )
                # Jitter, so that the retries of two colliding batches do not collide again.
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
                attempt += 1
            except psycopg.Error as exc:
                if (exc.sqlstate or "").startswith("54"):
                    # Past a limit of PostgreSQL (SQLSTATE class 54: an index entry, a jsonb
                    # of 256 MB): retrying cannot help, and nothing of the batch was written.
                    raise SerializationError(
                        f"a document of the batch is past a limit of PostgreSQL ({exc}); "
                        "nothing was written",
                    ) from exc
                raise _translate(exc, "write a batch") from exc

    def _apply(
        self, conn: psycopg.Connection[Any], batch: Iterable[Command], serializable: bool
    ) -> BatchResult:
        begin = "BEGIN ISOLATION LEVEL SERIALIZABLE" if serializable else "BEGIN"
        with _transaction(conn, begin):
            # Shared: index creation (exclusive) waits for batches and batches for it, so no
            # batch misses a full-text index created while it ran.
            conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (self._index_lock,))
            registry = self._indexes.registry(conn)
            searched = any(kind == "search" for i in registry.values() for (_, kind) in i)
            final: dict[str, tuple[str, bytes] | None] | None = {} if searched else None
            now = last_modified_now()
            pending: list[_PendingPuts] = []
            with contextlib.ExitStack() as pipeline:
                pipelined = False
                for chunk in _chunks(batch, _CHUNK):
                    if len(chunk) == _CHUNK and not pipelined:
                        pipelined = True
                        # A big batch: each statement goes as soon as it is made, and
                        # PostgreSQL runs it while this process reads the next commands of
                        # the batch (the session encodes them meanwhile); results are read
                        # at the end. One statement for 100,000 puts took ~0.6 s longer.
                        pipeline.enter_context(conn.pipeline())
                    if not serializable and any(type(c) is ReadCheck for c in chunk):
                        raise _ReadCheckLate
                    ids = self._complete_ids(conn, chunk)
                    for span in _spans(chunk, ids):
                        puts = self._apply_segment(conn, span, now, final)
                        if puts is not None:
                            pending.append(puts)
            results: list[WriteResult] = []
            for puts in pending:
                self._written(conn, puts, now, results)
            if final:
                self._indexes.maintain(conn, registry, final)
        return BatchResult(results)

    def _complete_ids(self, conn: psycopg.Connection[Any], batch: Sequence[Command]) -> list[str]:
        """The final id of every command (SPEC S14): ``x/`` by etag, ``x|`` by identity,
        ``""`` a GUID; other ids as given."""
        out = []
        for command in batch:
            document_id = command.id
            if type(command) is PutCommand and (not document_id or document_id[-1] in "/|"):
                if document_id == "":
                    document_id = str(uuid.uuid4())
                elif document_id[-1] == "/":
                    row = conn.execute(f"SELECT nextval('{self._s}.etags')").fetchone()
                    assert row is not None
                    document_id = f"{document_id}{row[0]:019d}-A"
                else:
                    prefix = document_id[:-1]
                    row = conn.execute(
                        f"INSERT INTO {self._s}.identities VALUES (%s, 1) ON CONFLICT (prefix) "
                        "DO UPDATE SET value = identities.value + 1 RETURNING value",
                        (prefix.lower(),),
                    ).fetchone()
                    assert row is not None
                    document_id = f"{prefix}/{row[0]}"
            out.append(document_id)
        return out

    def _apply_segment(
        self,
        conn: psycopg.Connection[Any],
        span: _Span,
        now: str,
        final: dict[str, tuple[str, bytes] | None] | None,
    ) -> _PendingPuts | None:
        """Commands on distinct keys: read checks, deletes, then puts, each kind in statements
        whose WHERE is the concurrency check. The puts' results are read later (``_written``)."""
        batch, keys = span.batch, span.keys
        reads: list[tuple[str, ReadCheck]] = []
        deletes: list[tuple[str, DeleteCommand]] = []
        # Puts by position in the chunk, not as tuples: the pending statements of a batch of
        # 100,000 puts are kept until COMMIT, and 100,000 tuples would be that many more
        # objects for the garbage collector to walk meanwhile.
        puts: list[int] = []
        put_commands: list[PutCommand] = []
        for j in range(span.start, span.stop):
            command = batch[j]
            if type(command) is PutCommand:
                puts.append(j)
                put_commands.append(command)
            elif type(command) is DeleteCommand:
                deletes.append((keys[j], command))
            else:
                assert type(command) is ReadCheck
                reads.append((keys[j], command))
        if reads:
            read = [key for key, _ in reads]
            current = dict(conn.execute(self._sql_current + " FOR SHARE", (read,)).fetchall())
            for key, check in reads:
                if current.get(key) != check.change_vector:
                    raise ConcurrencyError(
                        f"document {check.id!r} changed since this session read it",
                        document_id=check.id,
                        expected=check.change_vector,
                        actual=current.get(key),
                    )
        if deletes:
            deleted = [key for key, _ in deletes]
            # "" (must not exist) never deletes: the change vector is never empty.
            expected = [c.expected_change_vector for _, c in deletes]
            gone = {row[0] for row in conn.execute(self._sql_delete, (deleted, expected))}
            self._verify(
                conn,
                [
                    (c.id, c.expected_change_vector, key)
                    for key, c in deletes
                    if c.expected_change_vector is not None and key not in gone
                ],
            )
            if final is not None:
                final.update(dict.fromkeys(deleted))
        if not puts:
            return None
        pending = _PendingPuts(span, puts, [])
        for kind, statement in (
            (None, self._sql_upsert),
            ("", self._sql_create),
            ("cv", self._sql_update),
        ):
            chosen = [i for i, c in enumerate(put_commands) if _expects(c) == kind]
            if chosen:
                positions = [puts[i] for i in chosen]
                commands = [put_commands[i] for i in chosen]
                self._put(conn, statement, kind, pending, positions, commands, now)
        if final is not None:
            for j, command in zip(puts, put_commands, strict=True):
                final[keys[j]] = (command.collection, command.data)
        return pending

    def _put(
        self,
        conn: psycopg.Connection[Any],
        statement: str,
        kind: str | None,
        pending: _PendingPuts,
        positions: list[int],
        commands: list[PutCommand],
        now: str,
    ) -> None:
        """Send the statement writing ``commands`` (at ``positions`` in the span's batch; one
        kind of expectation) and add it to ``pending``."""
        keys, ids = pending.span.keys, pending.span.ids
        second = (
            [c.expected_change_vector for c in commands]
            if kind == "cv"
            else [ids[j] for j in positions]
        )
        parameters = (
            f"-{self._database_id}",
            now,
            [keys[j] for j in positions],
            second,
            [c.collection for c in commands],
            [c.collection.lower() for c in commands],
            [c.data for c in commands],
            [_body(c.data) for c in commands],
        )
        cursor = conn.execute(statement, parameters)
        pending.statements.append((cursor, positions, commands))

    def _written(
        self,
        conn: psycopg.Connection[Any],
        pending: _PendingPuts,
        now: str,
        results: list[WriteResult],
    ) -> None:
        """Read the results of a span's put statements into ``results``, in batch order; a put
        whose check failed is a ``ConcurrencyError``."""
        keys, ids = pending.span.keys, pending.span.ids
        written: dict[str, str] = {}
        for cursor, positions, commands in pending.statements:
            count = len(written)
            row = cursor.fetchone()
            if row is not None and row[0] is not None:  # array_agg of no rows is NULL
                written.update(zip(row[0], row[1], strict=True))
            if len(written) - count == len(commands):
                continue
            self._verify(
                conn,
                [
                    (c.id, c.expected_change_vector, keys[j])
                    for j, c in zip(positions, commands, strict=True)
                    if keys[j] not in written
                ],
            )
            first = commands[0]
            raise ConcurrencyError(  # the check failed, then the document changed back
                f"optimistic concurrency violation on {first.id!r}",
                document_id=first.id,
                expected=first.expected_change_vector,
                actual=None,
            )
        results.extend(WriteResult(ids[j], written[keys[j]], now) for j in pending.puts)

    def _verify(
        self, conn: psycopg.Connection[Any], expectations: list[tuple[str, str | None, str]]
    ) -> None:
        """Raise ``ConcurrencyError`` for the first (id, expected, key) the stored change
        vector does not satisfy."""
        if not expectations:
            return
        current = dict(
            conn.execute(self._sql_current, ([key for _, _, key in expectations],)).fetchall()
        )
        for document_id, expected, key in expectations:
            check_expected(document_id, expected, current.get(key))

    def reserve_ids(self, prefix: str, capacity: int) -> tuple[int, int]:
        tag = validate_hilo_tag(prefix).lower()
        try:
            with self._connection() as conn:
                row = conn.execute(
                    f"INSERT INTO {self._s}.hilo VALUES (%s, %s) ON CONFLICT (prefix) "
                    "DO UPDATE SET high = hilo.high + %s RETURNING high",
                    (tag, capacity, capacity),
                ).fetchone()
        except psycopg.Error as exc:
            raise _translate(exc, "reserve ids") from exc
        assert row is not None
        high: int = row[0]
        return high - capacity + 1, high

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        tag = validate_hilo_tag(prefix).lower()
        try:
            with self._connection() as conn:
                conn.execute(
                    f"UPDATE {self._s}.hilo SET high = %s WHERE prefix = %s AND high = %s",
                    (last_used, tag, high),
                )
        except psycopg.Error as exc:
            raise _translate(exc, "return ids") from exc

    # -- admin -------------------------------------------------------------------------------

    def statistics(self) -> DatabaseStatistics:
        s = self._s
        try:
            with self._connection() as conn:
                counts = dict(
                    conn.execute(
                        f"SELECT collection, count(*) FROM {s}.documents GROUP BY collection "
                        "ORDER BY collection"
                    ).fetchall()
                )
                indexes = [
                    statistics_name(collection, path, kind)
                    for collection, path, kind in conn.execute(
                        f"SELECT collection, path, kind FROM {s}.auto_indexes "
                        "ORDER BY collection, path, kind"
                    )
                ]
        except psycopg.Error as exc:
            raise _translate(exc, "read statistics") from exc
        return DatabaseStatistics(self.name, sum(counts.values()), counts, indexes)

    def close(self) -> None:
        self._closed = True  # the pool belongs to the backend


def _new_rows(s: str, second: str) -> str:
    """The rows a put statement writes, from arrays of parameters, each with a new etag."""
    # %b: arrays in binary format; in text format every bytea is hex-escaped, which costs the
    # client and the server about 10 µs per document (measured, 10,000 documents).
    return (
        f"SELECT u.*, nextval('{s}.etags') AS etag FROM unnest(%b::text[], %b::text[], "
        "%b::text[], %b::text[], %b::bytea[], %b::text[]) "
        f"AS u(key, {second}, collection, collection_key, data, body)"
    )


def _as_arrays(statement: str) -> str:
    """``statement`` (a put RETURNING key and change vector) answering one row of two arrays
    instead of a row per document: fewer objects to build and to collect."""
    return f"WITH w AS ({statement}) SELECT array_agg(key), array_agg(change_vector) FROM w"


def _expects(command: PutCommand) -> str | None:
    """What a put requires: nothing (None), absence (``""``) or a change vector (``"cv"``)."""
    expected = command.expected_change_vector
    return expected if expected is None or expected == "" else "cv"


class _ReadCheckLate(Exception):
    """A read check came after the transaction began without SERIALIZABLE: begin again."""


class _Replay:
    """The commands of a batch read from a generator, kept as they are read, so that a
    retried transaction reads the same batch again."""

    def __init__(self, source: Iterable[Command]) -> None:
        self._source = iter(source)
        self._read: list[Command] = []

    def __iter__(self) -> Iterator[Command]:
        yield from self._read
        for command in self._source:
            self._read.append(command)
            yield command


def _chunks(batch: Iterable[Command], size: int) -> Iterator[list[Command]]:
    commands = iter(batch)
    while chunk := list(itertools.islice(commands, size)):
        yield chunk


class _Span(NamedTuple):
    """Commands ``start:stop`` of ``batch`` (a chunk of a batch), on distinct keys; ``ids``
    are the completed ids (SPEC S14) and ``keys`` their lower-cased keys, one per command."""

    batch: Sequence[Command]
    ids: list[str]
    keys: list[str]
    start: int
    stop: int


def _spans(batch: Sequence[Command], ids: list[str]) -> Iterator[_Span]:
    """Runs of consecutive commands on distinct keys: inside a run the order of commands does
    not matter, so each kind of command is one statement; a key seen again starts a new run."""
    keys = [document_key(i) for i in ids]
    start = 0
    seen: set[str] = set()
    for position, key in enumerate(keys):
        if key in seen:
            yield _Span(batch, ids, keys, start, position)
            start, seen = position, set()
        seen.add(key)
    if start < len(keys):
        yield _Span(batch, ids, keys, start, len(keys))


class _PendingPuts(NamedTuple):
    """The put statements of one span, sent and not yet read: each statement's cursor with
    the positions and commands it writes; ``puts`` every put of the span, in batch order."""

    span: _Span
    puts: list[int]
    statements: list[tuple[psycopg.Cursor[Any], list[int], list[PutCommand]]]


class PostgresBackend(Backend):
    """The rookdb databases of one PostgreSQL database: one schema each."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = parse_qsl(parts.query, keep_blank_values=True)
        prefix = DEFAULT_SCHEMA_PREFIX
        timeout = None
        passed = []
        for name, value in options:
            if name == "schema_prefix":
                prefix = value
            elif name == "connect_timeout":
                timeout = value
            else:
                passed.append((name, value))
        if _PREFIX.fullmatch(prefix) is None:
            raise ConfigurationError(
                f"invalid schema_prefix {prefix!r}: use up to 31 lower-case letters, digits and _"
            )
        self.schema_prefix = prefix
        conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(passed)))
        self.capabilities = Capabilities(
            name="postgres", persistent=True, multi_process=True, shared_in_process=True
        )
        self._lock = threading.Lock()
        self._open: dict[str, PostgresStorage] = {}
        self._pool = ConnectionPool(conninfo, connect_timeout(timeout))

    def database(self, name: str) -> PostgresStorage:
        validate_database_name(name)
        with self._lock:
            storage = self._open.get(name.lower())
            if storage is None:
                storage = self._open[name.lower()] = PostgresStorage(
                    name, schema_name(self.schema_prefix, name), self._pool, self.capabilities
                )
            return storage

    def create_database(self, name: str) -> None:
        self.database(name)

    def delete_database(self, name: str) -> None:
        validate_database_name(name)
        schema = schema_name(self.schema_prefix, name)
        with self._lock:
            storage = self._open.pop(name.lower(), None)
        if storage is not None:
            storage.close()
        try:
            with self._pool.connection() as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
                ).fetchone()
                if exists is None:
                    raise DatabaseDoesNotExistError(f"no database named {name!r}")
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        except psycopg.Error as exc:
            raise _translate(exc, "delete a database") from exc

    def list_databases(self) -> list[str]:
        try:
            with self._pool.connection() as conn:
                schemas = [
                    row[0]
                    for row in conn.execute(
                        "SELECT schemaname FROM pg_tables WHERE starts_with(schemaname, %s) "
                        "AND tablename = 'meta'",
                        (self.schema_prefix,),
                    )
                ]
                names = []
                for schema in schemas:
                    row = conn.execute(
                        f"SELECT value FROM \"{schema}\".meta WHERE name = 'name'"
                    ).fetchone()
                    if row is not None:
                        names.append(row[0])
        except psycopg.Error as exc:
            raise _translate(exc, "list databases") from exc
        return sorted(names)

    def drop_all(self) -> None:
        """Drop every schema with this backend's prefix (the test suite's clean-up)."""
        with self._pool.connection() as conn:
            for (schema,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                (self.schema_prefix,),
            ).fetchall():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def statistics(self, name: str) -> DatabaseStatistics:
        return self.database(name).statistics()

    def close(self) -> None:
        with self._lock:
            storages, self._open = list(self._open.values()), {}
        for storage in storages:
            storage.close()
        self._pool.close()

"""The storage interface on a relational database, written once for every dialect.

``RelationalStorage`` holds the rules the SQL backends share: reads by id (the one-id fast path,
includes in one snapshot), prefix loads, streaming in pages, the skeleton of a query (automatic
indexes first, then one snapshot for the page, its count and its includes), HiLo reserve and
return, identities and the other ids storage completes (SPEC S14), statistics, the
format-version check and the database id. A dialect (``sqlite.storage``, ``postgres.storage``)
supplies its SQL text (``Statements``), its connections and transactions, its query compiler,
its index DDL and its error translation (``DriverErrors``), and writes batches its own way.

The hot paths stay as short as they were in each backend: the one-id read is one statement on a
borrowed connection, its driver error caught by a plain ``except`` (free when nothing fails) and
translated by the dialect's boundary.
"""

from __future__ import annotations

import abc
import base64
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, NamedTuple

from rookdb.errors import ConcurrencyError, ConfigurationError
from rookdb.ids import validate_hilo_tag
from rookdb.query import OrderBy, Query
from rookdb.storage.base import Storage
from rookdb.storage.records import (
    Capabilities,
    DatabaseStatistics,
    DocumentRecord,
    GetResult,
    QueryResult,
    ReadCheck,
    document_key,
)
from rookdb.storage.relational.auto_indexes import (
    RegistryCache,
    log_made,
    statistics_name,
    wanted,
)
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.results import (
    distinct_page,
    included_keys,
    projection,
    query_result,
    total_from_page,
)

__all__ = [
    "STREAM_PAGE",
    "RelationalStorage",
    "Statements",
    "check_format_version",
    "new_database_id",
    "read_check_failed",
]

#: Documents per page when streaming: constant memory, no connection held between pages.
STREAM_PAGE = 1000

_record = DocumentRecord._make


class Statements(NamedTuple):
    """The SQL text of the shared rules in one dialect, for one database (its tables)."""

    #: The record columns of the document whose key is the one parameter.
    get_one: str
    #: The key and record columns of the document whose key is the one parameter.
    get_keyed: str
    #: The key and record columns of the documents whose keys are the one parameter
    #: (``RelationalStorage._key_list``).
    get_many: str
    #: Record columns of keys in ``[low, high)`` in key order, then LIMIT and OFFSET.
    prefix: str
    #: A cursor column and the record columns after a cursor, in its order, then LIMIT.
    stream: str
    #: As ``stream``, of one collection (``_collection_key``) after the cursor.
    stream_collection: str
    #: ``SELECT`` of the record columns ``FROM`` the documents ``WHERE``, to be completed.
    select: str
    #: The clause after a query's ORDER BY: LIMIT and OFFSET parameters.
    page: str
    #: ``SELECT count(*) FROM`` the documents ``WHERE``, to be completed.
    total: str
    #: Add the capacity to a HiLo tag's high (tag, capacity, capacity), returning it.
    reserve: str
    #: Give a range back (last used, tag, high) if no one reserved past it.
    give_back: str
    #: The next value of an identity (its lower-cased prefix).
    identity: str
    #: Documents per collection.
    counts: str
    #: The automatic indexes (collection, path, kind), in order.
    indexes: str

    @classmethod
    def of(
        cls, schema: str, mark: str, columns: str, cursor: str, collection: str, keys: str
    ) -> Statements:
        """The statements of tables in ``schema`` (``""`` or ``'"name".'``), with parameter
        ``mark`` (``?``, ``%s``), record ``columns``, the stream's ``cursor`` column, the test
        of one collection (``collection``, with a mark) and of a set of keys (``keys``)."""
        documents = f"{schema}documents"
        return cls(
            get_one=f"SELECT {columns} FROM {documents} WHERE key = {mark}",
            get_keyed=f"SELECT key, {columns} FROM {documents} WHERE key = {mark}",
            get_many=f"SELECT key, {columns} FROM {documents} WHERE {keys}",
            prefix=(
                f"SELECT {columns} FROM {documents} WHERE key >= {mark} AND key < {mark} "
                f"ORDER BY key LIMIT {mark} OFFSET {mark}"
            ),
            stream=(
                f"SELECT {cursor}, {columns} FROM {documents} WHERE {cursor} > {mark} "
                f"ORDER BY {cursor} LIMIT {mark}"
            ),
            stream_collection=(
                f"SELECT {cursor}, {columns} FROM {documents} WHERE {cursor} > {mark} "
                f"AND {collection} ORDER BY {cursor} LIMIT {mark}"
            ),
            select=f"SELECT {columns} FROM {documents} WHERE ",
            page=f" LIMIT {mark} OFFSET {mark}",
            total=f"SELECT count(*) FROM {documents} WHERE ",
            reserve=(
                f"INSERT INTO {schema}hilo VALUES ({mark}, {mark}) ON CONFLICT (prefix) "
                f"DO UPDATE SET high = hilo.high + {mark} RETURNING high"
            ),
            give_back=(
                f"UPDATE {schema}hilo SET high = {mark} WHERE prefix = {mark} AND high = {mark}"
            ),
            identity=(
                f"INSERT INTO {schema}identities VALUES ({mark}, 1) ON CONFLICT (prefix) "
                "DO UPDATE SET value = identities.value + 1 RETURNING value"
            ),
            counts=(
                f"SELECT collection, count(*) FROM {documents} GROUP BY collection "
                "ORDER BY collection"
            ),
            indexes=(
                f"SELECT collection, path, kind FROM {schema}auto_indexes "
                "ORDER BY collection, path, kind"
            ),
        )


def new_database_id() -> str:
    """A new database's id, the tag of its change vectors (``A:<etag>-<id>``): 22 characters
    of base64url, as RavenDB's."""
    return base64.b64encode(uuid.uuid4().bytes, b"-_").decode()[:22]


def check_format_version(version: int, readable: int, holder: str) -> None:
    """Refuse a database (``holder``, e.g. "this database") written in a newer format than
    ``readable``, the newest this rookdb reads (SPEC D6)."""
    if version > readable:
        raise ConfigurationError(
            f"{holder} has format version {version}; this rookdb reads up to {readable}: "
            "upgrade rookdb"
        )


def read_check_failed(check: ReadCheck, actual: str | None) -> ConcurrencyError:
    """The error of a read check (``WRITES_AND_READS``) whose document changed: ``actual``
    is its change vector now, None if it is gone."""
    return ConcurrencyError(
        f"document {check.id!r} changed since this session read it",
        document_id=check.id,
        expected=check.change_vector,
        actual=actual,
    )


class RelationalStorage(Storage):
    """One rookdb database in a relational database; a dialect subclasses it."""

    #: Automatic indexes per collection; past it, queries on new fields scan (SPEC Q4).
    max_auto_indexes = 64

    #: The dialect's error boundary, and the one of queries (``DriverErrors``).
    _errors: ClassVar[type[DriverErrors]]
    _query_errors: ClassVar[type[DriverErrors]]
    #: The logger users configure for the dialect (``rookdb.storage.sqlite``...).
    _log: ClassVar[logging.Logger]
    #: The LIMIT parameter that means none, and the first cursor of ``stream``.
    _no_limit: ClassVar[int | None]
    _stream_start: ClassVar[int | str]

    _sql: Statements
    _indexes: RegistryCache
    _database_id: str

    def __init__(self, name: str, capabilities: Capabilities) -> None:
        self.name = name
        self.capabilities = capabilities

    # -- the dialect -------------------------------------------------------------------------

    @abc.abstractmethod
    def _connection(self) -> AbstractContextManager[Any]:
        """A connection for the ``with`` block (``StorageError`` once the storage is closed)."""

    @abc.abstractmethod
    def _snapshot(self, conn: Any) -> AbstractContextManager[None]:
        """A read-only transaction: the statements of the block see one snapshot."""

    @abc.abstractmethod
    def _key_list(self, keys: list[str]) -> Any:
        """``keys`` as the parameter of ``Statements.get_many``."""

    @abc.abstractmethod
    def _collection_key(self, collection: str) -> str:
        """``collection`` as the parameter of ``Statements.stream_collection``."""

    @abc.abstractmethod
    def _where(
        self, conn: Any, query: Query, indexes: dict[tuple[str, str], int], params: list[Any]
    ) -> str:
        """The WHERE condition of ``query`` (its collection and predicate), compiled with its
        collection's automatic ``indexes``, in the query's snapshot; values go to ``params``."""

    @abc.abstractmethod
    def _order_clause(self, order_by: tuple[OrderBy, ...]) -> str:
        """The ORDER BY terms of a query, ties broken on the key."""

    @abc.abstractmethod
    def _create_indexes(
        self, conn: Any, collection: str, missing: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """Make the automatic indexes ``missing`` of ``collection`` in a transaction of their
        own, up to ``max_auto_indexes``; those this call made."""

    def _next_etag(self, conn: Any) -> int:
        """A new etag, where the dialect's database draws them (``_completed_id``)."""
        raise NotImplementedError

    # -- reads -------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        if len(ids) == 1 and not includes:  # one id: the most common read, kept short
            key = ids[0].lower()
            try:
                with self._connection() as conn:
                    row = conn.execute(self._sql.get_one, (key,)).fetchone()
            except self._errors.driver as exc:
                raise self._errors("read documents").translate(exc) from exc
            return GetResult({key: _record(row)} if row is not None else {}, {})
        keys = list(dict.fromkeys(document_key(i) for i in ids))
        with self._errors("read documents"), self._connection() as conn:
            if not includes:  # one statement: one snapshot
                return GetResult(self._fetch(conn, keys), {})
            with self._snapshot(conn):  # one snapshot for documents and includes
                documents = self._fetch(conn, keys)
                return GetResult(documents, self._includes(conn, documents.values(), includes))

    def _fetch(self, conn: Any, keys: list[str]) -> dict[str, DocumentRecord]:
        if not keys:
            return {}
        if len(keys) == 1:
            rows = conn.execute(self._sql.get_keyed, (keys[0],)).fetchall()
        else:  # one statement, one snapshot, any number of ids
            rows = conn.execute(self._sql.get_many, (self._key_list(keys),)).fetchall()
        return {row[0]: _record(row[1:]) for row in rows}

    def _includes(
        self, conn: Any, records: Any, paths: Sequence[str]
    ) -> dict[str, DocumentRecord | None]:
        keys = included_keys(records, paths)
        found = self._fetch(conn, keys)
        return {key: found.get(key) for key in keys}

    def get_prefix(self, prefix: str, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        low = document_key(prefix)
        with self._errors("read documents"), self._connection() as conn:
            rows = conn.execute(
                self._sql.prefix, (low, low + "\U0010ffff", page_size, start)
            ).fetchall()
        return [_record(row) for row in rows]

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        # Pages after a cursor (SQLite's rowid, PostgreSQL's key), so memory stays constant
        # and no connection is held between pages.
        after = self._stream_start
        statement = self._sql.stream if collection is None else self._sql.stream_collection
        extra = () if collection is None else (self._collection_key(collection),)
        while True:
            with self._errors("stream documents"), self._connection() as conn:
                rows = conn.execute(statement, (after, *extra, STREAM_PAGE)).fetchall()
            for row in rows:
                yield _record(row[1:])
            if len(rows) < STREAM_PAGE:
                return
            after = rows[-1][0]

    def query(self, query: Query) -> QueryResult:
        started = time.perf_counter()
        indexes = self._prepare_indexes(query)
        sql = self._sql
        projections: list[dict[str, Any]] | None = None
        with self._query_errors("run a query"), self._connection() as conn, self._snapshot(conn):
            params: list[Any] = []
            where = self._where(conn, query, indexes, params)
            select = f"{sql.select}{where} ORDER BY {self._order_clause(query.order_by)}"
            if query.select and query.distinct:  # counted and paged after projecting
                every = [_record(row) for row in conn.execute(select, params)]
                records, projections, total = distinct_page(every, query)
            else:
                limit = self._no_limit if query.take is None else query.take
                rows = conn.execute(select + sql.page, (*params, limit, query.skip)).fetchall()
                records = [_record(row) for row in rows]
                found = total_from_page(query, len(rows))
                if found is None:
                    found = conn.execute(sql.total + where, params).fetchone()[0]
                total = found
                if query.select:
                    projections = [projection(r, query) for r in records]
            included = self._includes(conn, records, query.includes) if query.includes else {}
        return query_result(query, started, indexes, records, projections, included, total)

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
        with self._errors("create an automatic index"), self._connection() as conn:
            known = self._indexes.registry(conn).get(collection, {})
            missing = [w for w in needed if w not in known]
            if missing and len(known) < self.max_auto_indexes:
                made = self._create_indexes(conn, query.collection, missing)
                log_made(self._log, self.name, query.collection, made)
                known = self._indexes.registry(conn).get(collection, {})
        return known

    # -- ids ---------------------------------------------------------------------------------

    def _completed_id(self, conn: Any, document_id: str, etag: int | None = None) -> str:
        """Ids storage completes (SPEC S14): ``x/`` by etag (the batch's, or a new one where
        ``etag`` is None), ``x|`` by identity, ``""`` a GUID; other ids as given."""
        if document_id == "":
            return str(uuid.uuid4())
        last = document_id[-1]
        if last == "/":
            if etag is None:
                etag = self._next_etag(conn)
            return f"{document_id}{etag:019d}-A"
        if last == "|":
            prefix = document_id[:-1]
            value = conn.execute(self._sql.identity, (prefix.lower(),)).fetchone()[0]
            return f"{prefix}/{value}"
        return document_id

    def reserve_ids(self, prefix: str, capacity: int) -> tuple[int, int]:
        tag = validate_hilo_tag(prefix).lower()
        with self._errors("reserve ids"), self._connection() as conn:
            # fetchall: the statement runs to its end, so that it commits (autocommit).
            high: int = conn.execute(self._sql.reserve, (tag, capacity, capacity)).fetchall()[0][0]
        return high - capacity + 1, high

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        tag = validate_hilo_tag(prefix).lower()
        with self._errors("return ids"), self._connection() as conn:
            conn.execute(self._sql.give_back, (last_used, tag, high))

    # -- admin -------------------------------------------------------------------------------

    def statistics(self) -> DatabaseStatistics:
        with self._errors("read statistics"), self._connection() as conn:
            counts = dict(conn.execute(self._sql.counts).fetchall())
            indexes = [
                statistics_name(collection, path, kind)
                for collection, path, kind in conn.execute(self._sql.indexes).fetchall()
            ]
        return DatabaseStatistics(self.name, sum(counts.values()), counts, indexes)

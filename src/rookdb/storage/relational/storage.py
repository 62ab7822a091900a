"""The storage interface on a relational database, written once for every dialect.

``RelationalStorage`` holds the rules the SQL backends share: reads by id (the one-id fast path,
includes in one snapshot), prefix loads, streaming in pages, several reads in one snapshot
(``read_many``), the path each query takes (a collection's, ``relational.collection_query``:
automatic indexes first, then one snapshot for the page, its count and its includes; an
index's; a group-by's), statistics, the format-version check and the database id. Its bases
hold the other concepts, a module each: identities, the client configuration and the ids
storage completes or reserves (``relational.identities``), indexes, attachments, revisions and
counters. A dialect (``sqlite.storage``, ``postgres.storage``) supplies its SQL text
(``Statements``), its connections and transactions, its query compiler, its index DDL and its
error translation (``DriverErrors``), and writes batches its own way.

The hot paths stay as short as they were in each backend: the one-id read is one statement on a
borrowed connection, its driver error caught by a plain ``except`` (free when nothing fails) and
translated by the dialect's boundary.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from rookdb import facet_compute
from rookdb._types import assert_never
from rookdb.errors import ConcurrencyError, ConfigurationError
from rookdb.ids import shown_id
from rookdb.query import OrderBy, Query
from rookdb.storage.base import STREAM_PAGE
from rookdb.storage.commands import ReadCheck
from rookdb.storage.records import (
    DocumentRecord,
    GetResult,
    IdsRead,
    PrefixRead,
    QueryRead,
    QueryResult,
    Read,
    ReadResult,
    RecentRead,
    document_key,
)
from rookdb.storage.relational import query_stream
from rookdb.storage.relational.aggregation_indexes import AggregationIndexes
from rookdb.storage.relational.entry_indexes import EntryIndexes
from rookdb.storage.statistics import Capabilities, DatabaseStatistics

if TYPE_CHECKING:
    from rookdb.facet_compute import FacetAnswer
    from rookdb.facet_rql import FacetSpec
from rookdb.storage.relational.attachments import AttachmentsStorage
from rookdb.storage.relational.auto_indexes import RegistryCache, statistics_name
from rookdb.storage.relational.collection_query import CollectionQueries
from rookdb.storage.relational.counters import CountersStorage
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.identities import IdentitiesStorage
from rookdb.storage.relational.index_management import IndexesStorage
from rookdb.storage.relational.index_query import IndexQueries
from rookdb.storage.relational.query_stream import StreamReading
from rookdb.storage.relational.results import as_record, included_keys
from rookdb.storage.relational.revisions import RevisionsStorage
from rookdb.storage.relational.statements import Statements
from rookdb.storage.starting_with import id_filter, range_start, select_page
from rookdb.storage.streams import QueryStream, check_streamable

__all__ = [
    "STREAM_PAGE",
    "RelationalStorage",
    "StreamReading",
    "check_format_version",
    "new_database_id",
    "read_check_failed",
]

# ``GetResult((documents, includes, counters))`` as ``results.as_record`` makes a record: with
# ``tuple.__new__``, without ``_make``'s Python frame (one per ``load(id)``).
_get_result: Callable[[Any], GetResult] = functools.partial(tuple.__new__, GetResult)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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
        f"document {shown_id(check.id)} changed since this session read it",
        document_id=check.id,
        expected=check.change_vector,
        actual=actual,
    )


class RelationalStorage(
    CollectionQueries,
    IndexesStorage,
    IndexQueries,
    AggregationIndexes,
    AttachmentsStorage,
    IdentitiesStorage,
    RevisionsStorage,
    CountersStorage,
):
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
        self._found_entry_indexes = EntryIndexes()

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
        self,
        conn: Any,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
        entries: str | None = None,
    ) -> str:
        """The WHERE condition of ``query`` (its collection and predicate), compiled with its
        collection's automatic ``indexes``, in the query's snapshot; values go to ``params``.
        ``entries``: the query reads a map index's entries, these (``IndexStatements.
        entry_rows``), and ``indexes`` are the expression indexes over them
        (``relational.entry_indexes``)."""

    def _arms(
        self, conn: Any, query: Query, indexes: dict[tuple[str, str], int], params: list[Any]
    ) -> list[str] | None:
        """Conditions, each an index seek, whose matches are disjoint and together are
        ``query``'s (its collection tested in each), when the dialect has them for its
        predicate; values go to ``params``. None: ``_where``'s one condition."""
        return None

    @abc.abstractmethod
    def _order_clause(self, order_by: tuple[OrderBy, ...]) -> str:
        """The ORDER BY terms of a query, ties broken on the key."""

    @abc.abstractmethod
    def _create_indexes(
        self, conn: Any, collection: str, missing: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """Make the automatic indexes ``missing`` of ``collection`` in a transaction of their
        own, up to ``max_auto_indexes``; those this call made."""

    @abc.abstractmethod
    def _stream_reading(self) -> AbstractContextManager[StreamReading]:
        """A connection for the whole of one query stream (``stream_query``), reading one
        snapshot where the dialect can give one that never blocks the stream's reader's own
        writes, and how to use it (``StreamReading``)."""

    def _next_etag(self, conn: Any) -> int:
        """A new etag, where the dialect's database draws them (``_completed_id``)."""
        raise NotImplementedError

    def _select_records(self, conn: Any, statement: str, params: Sequence[Any]) -> Any:
        """``conn.execute(statement, params)`` for a statement whose rows are records (the
        record columns of ``Statements``): a backend may ask for them in another format
        (PostgreSQL: binary, ``data`` as it is stored rather than escaped as text)."""
        return conn.execute(statement, params)

    # -- reads -------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        if len(ids) == 1 and not includes:  # one id: the most common read, kept short
            key = ids[0].lower()
            try:
                with self._connection() as conn:
                    row = self._select_records(conn, self._sql.get_one, (key,)).fetchone()
            except self._errors.driver as exc:
                raise self._errors("read documents").translate(exc) from exc
            return _get_result(({key: as_record(row)} if row is not None else {}, {}, None))
        with self._errors("read documents"), self._connection() as conn:
            if not includes:  # one statement: one snapshot
                return self._get_in(conn, ids, includes)
            with self._snapshot(conn):  # one snapshot for documents and includes
                return self._get_in(conn, ids, includes)

    def _get_in(
        self,
        conn: Any,
        ids: Sequence[str],
        includes: Sequence[str],
        counters: Sequence[str] = (),
    ) -> GetResult:
        documents = self._fetch(conn, list(dict.fromkeys(map(document_key, ids))))
        counted = self._counters_asked(conn, list(documents), counters) if counters else None
        if not includes:
            return GetResult(documents, {}, counted)
        return GetResult(documents, self._includes(conn, documents.values(), includes), counted)

    def _fetch(self, conn: Any, keys: list[str]) -> dict[str, DocumentRecord]:
        if not keys:
            return {}
        if len(keys) == 1:
            rows = self._select_records(conn, self._sql.get_keyed, (keys[0],)).fetchall()
        else:  # one statement, one snapshot, any number of ids
            rows = self._select_records(
                conn, self._sql.get_many, (self._key_list(keys),)
            ).fetchall()
        # (Fetched whole: psycopg's cursor steps through a Python call per row; sqlite3's
        # would step in C, but the saving there is under 1% of a load.)
        return {row[0]: as_record(row[1:]) for row in rows}

    def _includes(
        self, conn: Any, records: Any, paths: Sequence[str]
    ) -> dict[str, DocumentRecord | None]:
        keys = included_keys(records, paths)
        found = self._fetch(conn, keys)
        return {key: found.get(key) for key in keys}

    def get_prefix(
        self,
        prefix: str,
        start: int = 0,
        page_size: int = 25,
        matches: str = "",
        exclude: str = "",
        start_after: str = "",
    ) -> list[DocumentRecord]:
        read = PrefixRead(prefix, start, page_size, matches, exclude, start_after)
        with self._errors("read documents"), self._connection() as conn:
            if not (matches or exclude or start_after):  # one statement: one snapshot
                return self._prefix_in(conn, read)
            with self._snapshot(conn):  # the walk may take several statements
                return self._prefix_in(conn, read)

    def _prefix_in(self, conn: Any, read: PrefixRead) -> list[DocumentRecord]:
        low = range_start(read.prefix, read.start_after)
        high = document_key(read.prefix) + "\U0010ffff"
        if not read.start_after and id_filter(read.prefix, read.matches, read.exclude) is None:
            # SQL pages by itself
            rows = self._select_records(
                conn, self._sql.prefix, (low, high, read.page_size, read.start)
            )
            return [as_record(row) for row in rows.fetchall()]
        return select_page(self._prefix_walk(conn, low, high), read)

    def _prefix_walk(self, conn: Any, low: str, high: str) -> Iterator[DocumentRecord]:
        """Every document in ``[low, high)`` in key order, a page at a time (in the caller's
        snapshot), for patterns that SQL does not test."""
        offset = 0
        while True:
            rows = self._select_records(
                conn, self._sql.prefix, (low, high, STREAM_PAGE, offset)
            ).fetchall()
            for row in rows:
                yield as_record(row)
            if len(rows) < STREAM_PAGE:
                return
            offset += STREAM_PAGE

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        # Pages after a cursor (SQLite's rowid, PostgreSQL's key), so memory stays constant
        # and no connection is held between pages.
        after = self._stream_start
        statement = self._sql.stream if collection is None else self._sql.stream_collection
        extra = () if collection is None else (self._collection_key(collection),)
        while True:
            with self._errors("stream documents"), self._connection() as conn:
                rows = self._select_records(
                    conn, statement, (after, *extra, STREAM_PAGE)
                ).fetchall()
            for row in rows:
                yield as_record(row[1:])
            if len(rows) < STREAM_PAGE:
                return
            after = rows[-1][0]

    def stream_prefix(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[DocumentRecord]:
        # Pages after the last key: no connection is held between pages, and a page costs
        # the same however far the stream has gone.
        low = document_key(prefix)
        high = low + "\U0010ffff"
        after = None if start_after is None else document_key(start_after)
        while True:
            with self._errors("stream documents"), self._connection() as conn:
                if after is None or after < low:
                    rows = self._select_records(
                        conn, self._sql.prefix, (low, high, STREAM_PAGE, 0)
                    ).fetchall()
                else:
                    rows = self._select_records(
                        conn, self._sql.prefix_after, (after, high, STREAM_PAGE)
                    ).fetchall()
            records = [as_record(row) for row in rows]
            yield from records
            if len(records) < STREAM_PAGE:
                return
            after = document_key(records[-1].id)

    def stream_query(self, query: Query) -> QueryStream:
        if query.group_by:  # an automatic map-reduce index (``relational.aggregation_indexes``)
            query = self._aggregated(query)
        if query.index_name is not None:  # read whole (``relational.index_query``)
            return self._index_stream(check_streamable(query))
        indexes = self._prepare_indexes(check_streamable(query))
        return QueryStream(query_stream.rows(self, query, indexes))

    def facets(self, query: Query, facets: Sequence[FacetSpec]) -> FacetAnswer:
        if query.index_name is None:  # the documents, streamed
            return super().facets(query, facets)
        return facet_compute.run(self, query, facets, self._index_rows)

    def query(self, query: Query) -> QueryResult:
        if query.group_by:  # an automatic map-reduce index (``relational.aggregation_indexes``)
            query = self._aggregated(query)
        if query.index_name is not None:  # user-defined indexes (``relational.index_query``)
            return self._index_query(query)
        # A collection's, or every document's (``relational.collection_query``).
        started = time.perf_counter()
        indexes = self._prepare_indexes(query)
        as_of = _utc_now()
        with self._query_errors("run a query"), self._connection() as conn:
            if self._one_statement(query, indexes):
                # One statement sees one snapshot by itself: no transaction around it (on
                # PostgreSQL, two round trips fewer: issue 18, W5).
                return self._query_in(conn, query, indexes, started, as_of)
            with self._snapshot(conn):
                return self._query_in(conn, query, indexes, started, as_of)

    def read_many(self, reads: Sequence[Read]) -> list[ReadResult]:
        reads = [
            QueryRead(self._aggregated(r.query))
            if isinstance(r, QueryRead) and r.query.group_by
            else r
            for r in reads
        ]
        # Automatic indexes are made first, each in a transaction of its own, as for a query.
        indexes = {
            i: self._prepare_entry_indexes(read.query)
            if read.query.index_name is not None
            else self._prepare_indexes(read.query)
            for i, read in enumerate(reads)
            if isinstance(read, QueryRead)
        }
        errors = self._query_errors if indexes else self._errors
        results: list[ReadResult] = []
        as_of = _utc_now()
        with errors("run reads"), self._connection() as conn, self._snapshot(conn):
            for i, read in enumerate(reads):
                if isinstance(read, IdsRead):
                    results.append(self._get_in(conn, read.ids, read.includes, read.counters))
                elif isinstance(read, PrefixRead):
                    results.append(self._prefix_in(conn, read))
                elif isinstance(read, RecentRead):
                    rows = self._select_records(
                        conn, self._sql.recent, (read.page_size, read.start)
                    )
                    results.append([as_record(row) for row in rows.fetchall()])
                elif isinstance(read, QueryRead) and read.query.index_name is not None:
                    results.append(self._index_query_in(conn, read.query, indexes[i]))
                elif isinstance(read, QueryRead):
                    started = time.perf_counter()
                    query_in = self._query_in(conn, read.query, indexes[i], started, as_of)
                    results.append(query_in)
                else:
                    assert_never(read)
        return results

    # -- admin -------------------------------------------------------------------------------

    def statistics(self) -> DatabaseStatistics:
        with self._errors("read statistics"), self._connection() as conn:
            counts = dict(conn.execute(self._sql.counts).fetchall())
            indexes = [
                statistics_name(collection, path, kind)
                for collection, path, kind in conn.execute(self._sql.indexes).fetchall()
            ]
            index_types = self._index_types(conn)
            last_etag = self._last_etag(conn)
            size = self._size_on_disk(conn)
            attachments, unique = self._attachment_counts(conn)
        return DatabaseStatistics(
            self.name,
            sum(counts.values()),
            counts,
            indexes + list(index_types),
            size_on_disk=size,
            last_doc_etag=last_etag,
            # RavenDB's form, as each document's: one node, this database's id.
            database_change_vector=f"A:{last_etag}-{self._database_id}" if last_etag else "",
            database_id=self._database_id,
            count_of_attachments=attachments,
            count_of_unique_attachments=unique,
            index_types=index_types,
        )

    @abc.abstractmethod
    def _last_etag(self, conn: Any) -> int:
        """The last etag this database gave out (0 before the first write)."""

    @abc.abstractmethod
    def _size_on_disk(self, conn: Any) -> int:
        """The bytes this database occupies in its storage."""

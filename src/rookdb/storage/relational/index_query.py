"""Queries of user-defined indexes, on every SQL dialect.

The one path from a ``Query`` with ``index_name`` to the index tables
(``relational.index_maintenance``): the dialect's query compiler compiles the predicate and
the order against a derived table that presents the index's rows as its document column
(``IndexStatements.entry_source``, ``result_source``), so everything a collection query can
say works on index fields.

- A map index answers the documents its entries come from, each once, in the order of its
  first matching entry; with ``select``, stored fields are projected from that entry, others
  from the document.
- A map-reduce index answers its reduce results as documents without ids (projections,
  never tracked), as RavenDB does.

A map index's fields are sought as a collection's are: a query first makes the expression
indexes over the index's entries that its predicate can use (``relational.entry_indexes``),
then compiles it with them, so that a predicate on such a field reads the entries it finds
rather than every entry.

``IndexQueries`` adds this path to ``RelationalStorage`` (on ``relational.index_catalog``,
which finds and compiles the index): a query, its stream, and the rows its facets count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import orjson

from rookdb import facet_compute
from rookdb.errors import QueryError
from rookdb.evaluate import project
from rookdb.query import Query, QueryStatistics
from rookdb.serialization.exact_numbers import Notes
from rookdb.storage.records import DocumentRecord, ProjectionRow, QueryResult
from rookdb.storage.relational import entry_indexes
from rookdb.storage.relational.entry_indexes import EntryIndexes
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.index_catalog import IndexCatalog, definition_of, text_of
from rookdb.storage.relational.index_registry import BUILDING, UserIndex
from rookdb.storage.relational.results import projection, total_from_page
from rookdb.storage.streams import QueryStream

__all__ = ["IndexQueries", "python_rows"]

log = logging.getLogger("rookdb.storage.indexes")

_T = TypeVar("_T")
#: The registry of user-defined indexes (``IndexMaintenance.registry``).
_Registry = tuple[UserIndex, ...]


# The index query this thread is compiling: its rows' query and parameters (``python_rows``).
_compiling = threading.local()


def python_rows() -> tuple[str, tuple[Any, ...]] | None:
    """While this thread compiles an index query: the query (and its parameters) of the
    index's rows as (key, JSON text), which a dialect's predicates evaluated in Python read
    in place of the documents. None otherwise."""
    rows: tuple[str, tuple[Any, ...]] | None = getattr(_compiling, "rows", None)
    return rows


class IndexQueries(IndexCatalog):
    """The queries of user-defined indexes, for ``RelationalStorage``."""

    #: The LIMIT parameter that means none (``RelationalStorage``).
    _no_limit: ClassVar[int | None]
    _query_errors: ClassVar[type[DriverErrors]]
    #: The database's name (``RelationalStorage``).
    name: str
    #: Expression indexes over the entries of an index, at most this many paths per index
    #: (``RelationalStorage``'s cap of automatic indexes per collection).
    max_auto_indexes: int
    _found_entry_indexes: EntryIndexes

    def _where(
        self, conn: Any, query: Query, indexes: Any, params: list[Any], entries: str | None = None
    ) -> str:
        raise NotImplementedError

    def _entry_index_transaction(self, conn: Any) -> Any:
        """The transaction that makes expression indexes over entries (a context manager)."""
        raise NotImplementedError

    def _create_entry_index(self, conn: Any, index_id: int, path: str) -> None:
        """Make the expression indexes (every form the dialect's compiler seeks) of ``path``
        over index ``index_id``'s entries, if missing."""
        raise NotImplementedError

    def _prepare_entry_indexes(self, query: Query) -> dict[tuple[str, str], int]:
        """Make the expression indexes over the entries of the map index ``query`` reads
        that its predicate can use (``relational.entry_indexes``), up to ``max_auto_indexes``
        per index; those it has, as the compiler takes them (``(path, "expression") → id``).
        Without I/O when this process found them all already."""
        return self._entry_indexes_as_of(query)[0]

    def _entry_indexes_as_of(
        self, query: Query
    ) -> tuple[dict[tuple[str, str], int], _Registry | None]:
        """``_prepare_entry_indexes``, and the registry of indexes they are known as of
        (None: they do not depend on it)."""
        if query.where is None or query.index_name is None:
            return {}, None
        paths = entry_indexes.paths_of(query.where)
        if not paths:
            return {}, None
        name = query.index_name.lower()
        registry = self._user_indexes.cached()
        index = next((i for i in registry if i.name.lower() == name), None)
        if index is not None and index.compiled.is_map_reduce:
            return {}, None  # its results are read as they are
        asked, indexed = (
            (frozenset(), frozenset())
            if index is None
            else self._found_entry_indexes.known(registry, index.id)
        )
        if index is None or not all(p in asked for p in paths):
            with self._errors("make an index of an index's entries"), self._connection() as conn:
                registry = self._user_indexes.registry(conn)
                index = next((i for i in registry if i.name.lower() == name), None)
                if index is None or index.compiled.is_map_reduce:
                    return {}, None  # a missing index: the query says so
                asked, indexed = self._found_entry_indexes.known(registry, index.id)
                missing = [p for p in paths if p not in asked]
                if missing:
                    made = self._make_entry_indexes(conn, index.id, missing, registry)
                    indexed = self._found_entry_indexes.add(registry, index.id, missing, made)
        return {(p, "expression"): index.id for p in paths if p in indexed}, registry

    def _in_index_snapshot(
        self, query: Query, read: Callable[[Any, dict[tuple[str, str], int], _Registry], _T]
    ) -> _T:
        """``read(conn, indexes, registry)`` in one snapshot: ``indexes`` the expression
        indexes over entries ``query`` may seek (``_prepare_entry_indexes``), ``registry``
        the registry of indexes as of the snapshot. Those indexes are known as of the
        registry this process read last, which does not see another process's put, delete or
        reset of an index until a snapshot reads it: if the snapshot's is another, they are
        made again and the query run in a new snapshot (a replaced index's were dropped with
        it, and the new one's are not made yet: without this, the first query after read
        every entry)."""
        indexes, as_of = self._entry_indexes_as_of(query)
        for again in (False, True):
            with (
                self._query_errors("query an index"),
                self._connection() as conn,
                self._snapshot(conn),
            ):
                registry = self._user_indexes.registry(conn)
                if again or as_of is None or registry is as_of:
                    return read(conn, indexes, registry)
            indexes, as_of = self._entry_indexes_as_of(query)
        raise AssertionError("unreachable")

    def _make_entry_indexes(
        self, conn: Any, index_id: int, paths: list[str], registry: _Registry
    ) -> list[str]:
        """In a transaction of their own: make the expression indexes of ``paths`` over
        index ``index_id``'s entries that are missing, while the index has fewer than
        ``max_auto_indexes``; the paths that have them now. None if an index was put,
        deleted or reset since ``registry`` (where the index was found) was read: index
        ``index_id`` may be gone, and nothing would drop what is made for it until an index
        has its id again (the next query makes them, as of the registry it finds). A delete
        that comes after this check waits for the transaction (``_lock_entry_indexes``),
        then drops what it made. Those of an earlier form (``entry_indexes.current``: not
        known to be any path's) are dropped after, in a short transaction of their own: a
        drop holds off every reader of the entries until it commits (PostgreSQL)."""
        with self._entry_index_transaction(conn):
            if self._user_indexes.registry(conn) is not registry:
                return []
            names = self._entry_index_names(conn, index_id)
            earlier = sorted(n for n in names if not entry_indexes.current(n))
            names = {n for n in names if entry_indexes.current(n)}
            count = entry_indexes.counted(names)
            indexed = []
            for path in paths:
                if entry_indexes.name(index_id, path) not in names:
                    if count >= self.max_auto_indexes:
                        continue
                    self._create_entry_index(conn, index_id, path)
                    count += 1
                    log.info(
                        "made the index of field %r of the entries of index %d in database %r",
                        path,
                        index_id,
                        self.name,
                    )
                indexed.append(path)
        if earlier:
            with self._entry_index_transaction(conn):
                for old in earlier:
                    conn.execute(self._drop_index_sql(old))
        return indexed

    def _order_clause(self, order_by: Any) -> str:
        raise NotImplementedError

    def _fetch(self, conn: Any, keys: list[str]) -> dict[str, DocumentRecord]:
        raise NotImplementedError

    def _includes(self, conn: Any, records: Any, paths: Sequence[str]) -> Any:
        raise NotImplementedError

    def _index_stream(self, query: Query) -> QueryStream:
        """``stream_query`` of an index query: its results read whole, then handed out (not
        flat in memory). A map-reduce index's results are no documents: refused."""
        result = self._index_query(query)
        if result.projections is None:
            return QueryStream.of(result.statistics, iter(result.records))
        if len(result.records) != len(result.projections):
            raise QueryError("streaming a map-reduce index's results is not supported: query it")
        rows = zip(result.projections, result.records, strict=True)
        notes = result.notes
        return QueryStream.of(
            result.statistics, iter(ProjectionRow.of(p, r, notes) for p, r in rows)
        )

    def _index_query(self, query: Query) -> QueryResult:
        """Run ``query`` on the index it names, in one snapshot."""
        return self._in_index_snapshot(
            query,
            lambda conn, indexes, registry: self._index_query_in(conn, query, indexes, registry),
        )

    def _index_where(
        self,
        conn: Any,
        map_reduce: bool,
        index_id: int,
        query: Query,
        indexes: dict[tuple[str, str], int] | None = None,
    ) -> tuple[str, str, list[Any]]:
        """The rows an index query reads (a map index's entries, a map-reduce index's
        results: ``FROM`` what), its ``WHERE`` and the parameters after the index's id;
        ``indexes``: the expression indexes over a map index's entries it may seek
        (``_prepare_entry_indexes``)."""
        plain = dataclasses.replace(query, index_name=None, collection=None)
        params: list[Any] = []
        sql = self._index_sql
        source = sql.result_source if map_reduce else sql.entry_source
        # A map index's entries as row sets: the index id a literal, for its partial indexes
        # (an int read from the index's row).
        entries = None if map_reduce else sql.entry_rows.format(index=int(index_id))
        # What the compiler leaves to Python (PostgreSQL: search, regex) reads the
        # index's rows too, not the documents.
        _compiling.rows = (f"SELECT key, raw FROM {source}", (index_id,))
        try:
            if query.where is None:
                where = "1=1"
            else:
                where = self._where(conn, plain, indexes or {}, params, entries)
        finally:
            _compiling.rows = None
        return source, where, params

    def _index_rows(self, query: Query) -> tuple[QueryStatistics, list[Any]]:
        """The rows facets of an index query count (``rookdb.facet_compute``), those its
        where clause matches: a map index's entries (RavenDB counts index entries, and makes
        none of a map output whose fields are all null), a map-reduce index's results; read
        in one snapshot."""

        def read(
            conn: Any, indexes: dict[tuple[str, str], int], registry: _Registry
        ) -> tuple[QueryStatistics, list[Any]]:
            assert query.index_name is not None
            row = self._index_row(conn, query.index_name)
            index_id, state = int(row[0]), str(row[3])
            index = self._compiled(conn, index_id, definition_of(row[2]), registry)
            source, where, params = self._index_where(
                conn, index.is_map_reduce, index_id, query, indexes
            )
            found = conn.execute(f"SELECT raw FROM {source} WHERE {where}", (index_id, *params))
            decoded = (orjson.loads(text_of(raw)) for (raw,) in found.fetchall())
            rows = [row for row in decoded if not facet_compute.all_null(row)]
            stats = QueryStatistics(
                index_name=index.name, is_stale=state == BUILDING, index_timestamp=_utc_now()
            )
            return stats, rows

        return self._in_index_snapshot(query, read)

    def _index_query_in(
        self,
        conn: Any,
        query: Query,
        indexes: dict[tuple[str, str], int],
        registry: _Registry | None = None,
    ) -> QueryResult:
        """``query`` on the index it names, in ``conn``'s snapshot: the index's row, its rows
        and the documents read together; ``indexes`` as for ``_index_where``; ``registry``:
        the registry of indexes, if the caller read it in this snapshot already."""
        started = time.perf_counter()
        assert query.index_name is not None
        row = self._index_row(conn, query.index_name)
        index_id, state = int(row[0]), str(row[3])
        index = self._compiled(conn, index_id, definition_of(row[2]), registry)
        source, where, params = self._index_where(
            conn, index.is_map_reduce, index_id, query, indexes
        )
        order = self._order_clause(query.order_by)
        if not index.is_map_reduce:
            # A document's first matching entry is its first by sequence, however the
            # entries were found (a seek's row set comes in no particular order).
            order += ", seq ASC"
        select = f"SELECT key, raw FROM {source} WHERE {where} ORDER BY {order}"
        end = None if query.take is None else query.skip + query.take
        projections: list[dict[str, Any]] | None
        notes: Notes = {}  # of the documents projected, as a collection query's
        if index.is_map_reduce:
            # Results are no documents: projections without records, paged by SQL (one
            # result per row) unless distinct ones are asked for.
            records: list[DocumentRecord] = []
            included: Any = {}
            if query.distinct and query.select:
                every = [
                    orjson.loads(text_of(d)) for _, d in conn.execute(select, (index_id, *params))
                ]
                seen: dict[bytes, dict[str, Any]] = {}
                for result in every:
                    projected = project(result, query.select, query.select_as)
                    seen.setdefault(orjson.dumps(projected), projected)
                distinct = list(seen.values())
                total, projections = len(distinct), distinct[query.skip : end]
            else:
                limit = self._no_limit if query.take is None else query.take
                rows = conn.execute(
                    select + self._sql.page, (index_id, *params, limit, query.skip)
                ).fetchall()
                results = [orjson.loads(text_of(data)) for _, data in rows]
                if query.select:
                    results = [project(r, query.select, query.select_as) for r in results]
                projections = results
                counted = total_from_page(query, len(rows))
                if counted is None:
                    counted = conn.execute(
                        f"SELECT count(*) FROM {source} WHERE {where}", (index_id, *params)
                    ).fetchone()[0]
                total = int(counted)
        else:
            rows = conn.execute(select, (index_id, *params)).fetchall()
            first: dict[str, Any] = {}
            for key, data in rows:
                if key not in first:
                    first[key] = data
            keys = list(first)
            total = len(keys)
            page = keys[query.skip : end]
            found = self._fetch(conn, page)
            page = [k for k in page if k in found]
            records = [found[k] for k in page]
            projections = None
            if query.select:
                stored = index.stored_fields
                projections = [
                    project(
                        orjson.loads(text_of(first[k])),
                        query.select,
                        query.select_as,
                        found[k].id,
                    )
                    if all(f in stored for f in query.select)
                    else projection(found[k], query, None, notes)
                    for k in page
                ]
            included = self._includes(conn, records, query.includes) if query.includes else {}
        stats = QueryStatistics(
            total_results=total,
            skipped_results=query.skip,
            duration_in_ms=(time.perf_counter() - started) * 1000,
            index_name=index.name,
            is_stale=state == BUILDING,
            index_timestamp=_utc_now(),
        )
        return QueryResult(records, included, stats, projections, notes=notes or None)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)

"""Queries of a collection, or of every document, on every SQL dialect.

The path of a ``Query`` without ``index_name`` or ``group_by`` (``RelationalStorage.query``
hands those to ``relational.index_query`` and ``relational.aggregation_indexes``):

- The automatic indexes its predicate wants are made first, up to ``max_auto_indexes`` per
  collection, each in a transaction of its own (``_prepare_indexes``, SPEC Q4); a query of a
  shape seen before finds them in the cached registry without I/O.
- Its page, its count and its includes are then read in one snapshot (``_query_in``), or in
  one statement, which sees one snapshot by itself, when that is all the query asks
  (``_one_statement``).
- The dialect's compiler writes the condition (``_where``), or, for a predicate that is a few
  disjoint index seeks, a condition per seek read as a ``UNION ALL`` (``_arms``), and the
  order (``_order_clause``). Every match in key order is sorted in Python where the key column
  compares as Python's ``str`` does (SQLite); projections, distinct or not, are made in Python
  (``relational.results``).

``CollectionQueries`` adds this path to ``RelationalStorage``, which holds the calls that take
it (``query``, ``read_many``; ``stream_query`` through ``relational.query_stream``).
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from rookdb.query import OrderBy, Query
from rookdb.query_ast import selected_counters
from rookdb.serialization.exact_numbers import Notes
from rookdb.storage.records import DocumentRecord, QueryResult, document_key
from rookdb.storage.relational.auto_indexes import RegistryCache, log_made, wanted
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.results import (
    as_record,
    distinct_page,
    projection,
    query_result,
    total_from_page,
)
from rookdb.storage.relational.statements import Statements

__all__ = ["CollectionQueries"]

#: The id of a row of ``Statements.select`` (its first column), in C.
_ID: Callable[[Any], str] = operator.itemgetter(0)


class CollectionQueries:
    """The queries of a collection or of every document, for ``RelationalStorage``."""

    #: Whether the order of the key column is that of Python's ``str`` (code points: SQLite's
    #: BINARY collation of UTF-8), so a query's key order may be sorted in Python.
    _key_order_in_python: ClassVar[bool] = False
    #: Whether the database sorts the rows of a query's arms (``_arms``) as cheaply as those
    #: of its one condition; if not, arms serve only queries sorted in Python.
    _arms_sorted_in_sql: ClassVar[bool] = True

    if TYPE_CHECKING:  # what they use of RelationalStorage and its dialect, which define it
        name: str
        max_auto_indexes: int
        _errors: ClassVar[type[DriverErrors]]
        _log: ClassVar[logging.Logger]
        _no_limit: ClassVar[int | None]
        _sql: Statements
        _indexes: RegistryCache

        def _connection(self) -> AbstractContextManager[Any]: ...
        def _where(
            self,
            conn: Any,
            query: Query,
            indexes: dict[tuple[str, str], int],
            params: list[Any],
            entries: str | None = None,
        ) -> str: ...
        def _arms(
            self, conn: Any, query: Query, indexes: dict[tuple[str, str], int], params: list[Any]
        ) -> list[str] | None: ...
        def _order_clause(self, order_by: tuple[OrderBy, ...]) -> str: ...
        def _create_indexes(
            self, conn: Any, collection: str, missing: list[tuple[str, str]]
        ) -> list[tuple[str, str]]: ...
        def _select_records(self, conn: Any, statement: str, params: Sequence[Any]) -> Any: ...
        def _includes(
            self, conn: Any, records: Any, paths: Sequence[str]
        ) -> dict[str, DocumentRecord | None]: ...
        def _counters_asked(
            self, conn: Any, keys: list[str], names: Sequence[str]
        ) -> dict[str, dict[str, int]]: ...

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

    def _one_statement(self, query: Query, indexes: dict[tuple[str, str], int]) -> bool:
        """Whether ``_query_in`` reads ``query`` (of a collection or every document, with
        ``indexes``) in one statement: its page is all of it (the total is its length, no
        count), and no includes, counters or projections to read after it."""
        return (
            query.take is None
            and query.skip == 0
            and not query.includes
            and not query.counters
            and not query.select
        )

    def _query_in(
        self,
        conn: Any,
        query: Query,
        indexes: dict[tuple[str, str], int],
        started: float,
        as_of: dt.datetime,
    ) -> QueryResult:
        """``query`` in ``conn``'s snapshot, read at ``as_of`` or later."""
        sql = self._sql
        projections: list[dict[str, Any]] | None = None
        params: list[Any] = []
        limit = self._no_limit if query.take is None else query.take
        # Every match, in key order, sorted in Python (see below) rather than in SQL.
        in_python = self._key_order_in_python and not query.order_by and limit == self._no_limit
        # A query whose matches are a few disjoint index seeks reads them as a UNION ALL:
        # one seek after another, where a condition over their row set had the database
        # gather that set first (issue 18, W5). Projections keep the one condition.
        arms = None
        if not query.select and (in_python or self._arms_sorted_in_sql):
            arms = self._arms(conn, query, indexes, params)
        if arms is None:
            where = self._where(conn, query, indexes, params)
            source = f"{sql.select}{where}"
        else:
            union = " UNION ALL ".join(sql.arm + arm for arm in arms)
            source = f"{sql.select_from}({union}) AS documents"
        # select counter('name')
        counted = selected_counters(query.select) if query.select else ()
        notes: Notes = {}  # the projections' numbers a float does not give back as written
        if query.select and query.distinct:  # counted and paged after projecting
            select = f"{source} ORDER BY {self._order_clause(query.order_by)}"
            every = [
                as_record(row) for row in self._select_records(conn, select, params).fetchall()
            ]
            values = self._projected_counters(conn, every, counted)
            records, projections, total = distinct_page(every, query, values, notes)
        else:
            if in_python:
                # Every match, in key order: sorted here rather than in SQL, whose sorter
                # would carry each row's document (a third of a 100-row query's statement).
                every = self._select_records(
                    conn, f"{source}{sql.page}", (*params, limit, 0)
                ).fetchall()
                # By key, with no Python call per row: the keys made in C, and the rows'
                # places sorted by them (string keys: the sort's fast comparison).
                keys = list(map(document_key, map(_ID, every)))
                places = sorted(range(len(keys)), key=keys.__getitem__)
                rows = [every[place] for place in places][query.skip :]
            else:
                select = f"{source} ORDER BY {self._order_clause(query.order_by)}"
                rows = self._select_records(
                    conn, select + sql.page, (*params, limit, query.skip)
                ).fetchall()
            records = [as_record(row) for row in rows]
            found = total_from_page(query, len(rows))
            if found is None:
                if arms is not None:  # the count's own condition
                    params = []
                    where = self._where(conn, query, indexes, params)
                found = conn.execute(sql.total + where, params).fetchone()[0]
            total = found
            if query.select:
                values = self._projected_counters(conn, records, counted)
                projections = [projection(r, query, values, notes) for r in records]
        included = self._includes(conn, records, query.includes) if query.includes else {}
        result = query_result(
            query, started, indexes, records, projections, included, total, as_of, notes
        )
        if not query.counters:
            return result
        keys = list(dict.fromkeys(document_key(r.id) for r in records))
        return result._replace(counters=self._counters_asked(conn, keys, query.counters))

    def _projected_counters(
        self, conn: Any, records: list[DocumentRecord], names: tuple[str, ...]
    ) -> dict[str, dict[str, int]] | None:
        """The counters of ``names`` of ``records``, by key, for a projection (none asked:
        None)."""
        if not names:
            return None
        keys = list(dict.fromkeys(document_key(r.id) for r in records))
        return self._counters_asked(conn, keys, names)

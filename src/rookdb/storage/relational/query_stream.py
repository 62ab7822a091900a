"""A query's results streamed from a relational database (``Storage.stream_query``): one
statement read a page at a time from a cursor, in one snapshot, held for the whole stream.

The dialect gives the connection, its guard and the cursor (``StreamReading``, from
``RelationalStorage._stream_reading``): SQLite a connection of the stream's own in one read
transaction, PostgreSQL a pooled connection in a read-only repeatable-read transaction with a
server-side cursor (a client-side one would fetch every row before the first is read). The
count comes first, as RavenDB sends it; a projection (``select``) is made of each document as
it is read, so memory stays flat either way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple

from rookdb.query import Query, QueryStatistics
from rookdb.query_ast import selected_counters
from rookdb.serialization.exact_numbers import Notes
from rookdb.storage.base import STREAM_PAGE
from rookdb.storage.records import DocumentRecord, ProjectionRow
from rookdb.storage.relational.auto_indexes import index_name, index_timestamp
from rookdb.storage.relational.results import projection

if TYPE_CHECKING:
    from rookdb.storage.relational.storage import RelationalStorage

__all__ = ["StreamReading", "rows"]

_record = DocumentRecord._make


class StreamReading(NamedTuple):
    """What a dialect gives a query stream: its connection, a context manager to hold around
    each use of it (a lock where the connection is shared, else a no-op; reusable), and a new
    cursor for the stream's statement (a server-side one where results would be fetched whole)."""

    conn: Any
    guard: AbstractContextManager[Any]
    cursor: Callable[[], Any]


def rows(
    storage: RelationalStorage, query: Query, indexes: dict[tuple[str, str], int]
) -> Iterator[QueryStatistics | DocumentRecord | ProjectionRow]:
    """The statistics, then the records of ``query`` (with ``select``, each one's
    projection), with its collection's automatic ``indexes`` made already."""
    started = time.perf_counter()
    as_of = dt.datetime.now(dt.timezone.utc)  # before the snapshot: every write before it is in it
    sql = storage._sql
    counted = selected_counters(query.select)  # select counter('name')
    with storage._query_errors("stream a query"), storage._stream_reading() as reading:
        conn, guard = reading.conn, reading.guard
        cursor = None
        try:
            with guard:
                params: list[Any] = []
                where = storage._where(conn, query, indexes, params)
                total = conn.execute(sql.total + where, params).fetchone()[0]
                order = storage._order_clause(query.order_by)
                limit = storage._no_limit if query.take is None else query.take
                cursor = reading.cursor()
                cursor.execute(
                    f"{sql.select}{where} ORDER BY {order}{sql.page}",
                    (*params, limit, query.skip),
                )
            name = index_name(query, indexes)
            yield QueryStatistics(
                total_results=total,
                skipped_results=query.skip,
                duration_in_ms=(time.perf_counter() - started) * 1000,
                index_name=name,
                index_timestamp=index_timestamp(name, as_of),
            )
            while True:
                with guard:
                    page = cursor.fetchmany(STREAM_PAGE)
                if not page:
                    return
                if query.select:
                    records = [_record(row) for row in page]
                    with guard:  # select counter('name'): the page's, in the same snapshot
                        values = storage._projected_counters(conn, records, counted)
                    for record in records:
                        notes: Notes = {}
                        projected = projection(record, query, values, notes)
                        yield ProjectionRow.of(projected, record, notes)
                else:
                    for row in page:
                        yield _record(row)
        finally:
            if cursor is not None:  # before the snapshot ends (a server-side cursor)
                with contextlib.suppress(Exception), guard:
                    cursor.close()

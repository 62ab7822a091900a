"""A query's results as storage produces them (``Storage.stream_query``), and what a stream
can hold.

A ``QueryStream`` has its statistics before its first document (the count is read when the
stream starts, as RavenDB sends it first), then yields ``DocumentRecord`` one at a time in
the query's order; for a query with ``select``, a ``ProjectionRow`` per document instead (the
projection, made as the document is read, and the document's id, change vector...). It
holds what the backend needs to go on reading (a connection, a cursor, an HTTP response) until
it is exhausted or closed: use it in a ``with`` block or read it to its end. Memory stays
flat in the number of results: backends fetch a page at a time.

``distinct`` and ``include`` are refused with a ``QueryError``: a distinct stream would hold
every projection it has seen (memory no longer flat), and a stream hands out results, not the
documents they reference (load them as you go).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from rookdb.errors import QueryError
from rookdb.query import Query, QueryStatistics
from rookdb.storage.records import DocumentRecord, ProjectionRow

__all__ = ["QueryStream", "StreamedRow", "check_streamable"]

#: What a query stream yields: a document, or with ``select`` a projection of one.
StreamedRow = DocumentRecord | ProjectionRow


def check_streamable(query: Query) -> Query:
    """``query`` if it can be streamed, else a ``QueryError`` saying why (nothing was read)."""
    if query.distinct:
        raise QueryError(
            "a distinct query cannot be streamed: each projection once would mean keeping "
            "every one seen; run it as a query (paged) instead"
        )
    if query.includes:
        raise QueryError("a streamed query cannot include documents: load them as you go")
    return query


class QueryStream(Iterator[StreamedRow]):
    """The results of one query, read as they are iterated; ``statistics`` first.

    Built from a generator that yields the ``QueryStatistics`` first and then the records:
    the constructor runs it to its statistics, so a bad query or an unreachable storage fails
    here, before anything is handed out.
    """

    __slots__ = ("_source", "statistics")

    def __init__(self, source: Iterator[QueryStatistics | StreamedRow]) -> None:
        self._source = source
        first = next(source)
        if not isinstance(first, QueryStatistics):  # a backend's bug, not the caller's
            raise TypeError("a QueryStream's source yields its QueryStatistics first")
        self.statistics: QueryStatistics = first

    @classmethod
    def of(cls, statistics: QueryStatistics, records: Iterator[StreamedRow]) -> QueryStream:
        """A stream of ``records`` with ``statistics`` known already."""

        def source() -> Iterator[QueryStatistics | StreamedRow]:
            yield statistics
            yield from records

        return cls(source())

    def __iter__(self) -> QueryStream:
        return self

    def __next__(self) -> StreamedRow:
        record = next(self._source)
        assert not isinstance(record, QueryStatistics)
        return record

    def close(self) -> None:
        """Stop reading: release what the backend held for the rest of the stream."""
        close = getattr(self._source, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> QueryStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

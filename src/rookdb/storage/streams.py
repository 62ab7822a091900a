"""A query's results as storage produces them (``Storage.stream_query``), and what a stream
can hold.

A ``QueryStream`` has its statistics before its first document (the count is read when the
stream starts, as RavenDB sends it first), then yields ``DocumentRecord`` one at a time in
the query's order. It holds what the backend needs to go on reading (a connection, a cursor,
an HTTP response) until it is exhausted or closed: use it in a ``with`` block or read it to its
end. Memory stays flat in the number of results: backends fetch a page at a time.

A streamed query is a plain document query: ``select`` (projections), ``distinct`` and
``include`` are refused with a ``QueryError`` (stream the documents and pick their fields;
load what they reference), where RavenDB's clients would build entities of projections.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from rookdb.errors import QueryError
from rookdb.query import Query, QueryStatistics
from rookdb.storage.records import DocumentRecord

__all__ = ["QueryStream", "check_streamable"]


def check_streamable(query: Query) -> Query:
    """``query`` if it can be streamed, else a ``QueryError`` saying why (nothing was read)."""
    if query.select or query.distinct:
        raise QueryError(
            "a streamed query returns whole documents: select (projections) and distinct "
            "cannot be streamed; stream the documents and pick their fields"
        )
    if query.includes:
        raise QueryError("a streamed query cannot include documents: load them as you go")
    return query


class QueryStream(Iterator[DocumentRecord]):
    """The documents of one query, read as they are iterated; ``statistics`` first.

    Built from a generator that yields the ``QueryStatistics`` first and then the records:
    the constructor runs it to its statistics, so a bad query or an unreachable storage fails
    here, before anything is handed out.
    """

    __slots__ = ("_source", "statistics")

    def __init__(self, source: Iterator[QueryStatistics | DocumentRecord]) -> None:
        self._source = source
        first = next(source)
        if not isinstance(first, QueryStatistics):  # a backend's bug, not the caller's
            raise TypeError("a QueryStream's source yields its QueryStatistics first")
        self.statistics: QueryStatistics = first

    @classmethod
    def of(cls, statistics: QueryStatistics, records: Iterator[DocumentRecord]) -> QueryStream:
        """A stream of ``records`` with ``statistics`` known already."""

        def source() -> Iterator[QueryStatistics | DocumentRecord]:
            yield statistics
            yield from records

        return cls(source())

    def __iter__(self) -> QueryStream:
        return self

    def __next__(self) -> DocumentRecord:
        record = next(self._source)
        assert isinstance(record, DocumentRecord)
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

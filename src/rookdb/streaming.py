"""Streaming, as RavenDB's ``session.advanced.stream``: results as storage produces them.

``session.advanced.stream(query)`` and ``stream_starting_with(prefix, ...)`` hand out a
``StreamResult`` per document (its id, change vector, metadata and entity; for a query with
``select``, the projection as the query builds it, its metadata saying ``@projection`` and
naming the document it came from), built one at a time
while the storage reads a page at a time, so memory stays flat however many documents there
are. As in RavenDB, streamed entities are **not tracked**: the session does not see edits to
them and ``save_changes()`` does not write them (load or store them to change them), and
streaming costs one request of the session's budget.

A stream holds what its storage needs to go on reading (a connection and a snapshot on
SQLite and PostgreSQL, an HTTP response over the protocol) until it is read to its end or
closed: read it to its end, or use it in a ``with`` block::

    with session.advanced.stream(session.query(object_type=Order)) as results:
        for result in results:
            print(result.key, result.document.total)

``matches`` and ``exclude`` of ``stream_starting_with`` are RavenDB's id patterns on the part of
an id after the prefix: ``?`` is any one character, ``*`` any run of them, ``|`` separates
alternatives; case-insensitive.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rookdb.query import QueryStatistics
from rookdb.serialization.exact_numbers import reading
from rookdb.storage.records import DocumentRecord, ProjectionRow

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = [
    "StreamIterator",
    "StreamQueryStatistics",
    "StreamResult",
    "id_pattern",
    "starting_with",
    "stream_result",
]

T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class StreamResult(Generic[T]):
    """One streamed document: ``key`` (its id), ``change_vector``, ``metadata`` (with ``@id``,
    ``@change-vector``, ``@last-modified`` and ``@collection``, as RavenDB sends them) and
    ``document``, the entity (not tracked by the session)."""

    key: str
    change_vector: str
    metadata: dict[str, Any]
    document: T


@dataclasses.dataclass(slots=True)
class StreamQueryStatistics:
    """A streamed query's statistics (RavenDB's ``StreamQueryStatistics``), known before its
    first result: ``total_results`` counts every match, before ``skip`` and ``take``;
    ``index_timestamp`` as ``QueryStatistics.index_timestamp`` (when the automatic index was
    known complete: as the stream began; None for a collection scan)."""

    index_name: str = ""
    is_stale: bool = False
    total_results: int = 0
    result_etag: int = 0
    index_timestamp: dt.datetime | None = None

    @classmethod
    def of(cls, statistics: QueryStatistics) -> StreamQueryStatistics:
        return cls(
            index_name=statistics.index_name,
            is_stale=statistics.is_stale,
            total_results=statistics.total_results,
            index_timestamp=statistics.index_timestamp,
        )


def stream_result(
    session: DocumentSession,
    record: DocumentRecord | ProjectionRow,
    object_type: type[Any] | None,
) -> StreamResult[Any]:
    """A streamed document as RavenDB's ``StreamResult``: an entity ``session`` does not
    track, and the metadata with the properties storage assigned. A projection is built as
    the same query builds it, with RavenDB's ``@projection`` metadata naming the document it
    came from."""
    if isinstance(record, ProjectionRow):
        cls = object_type if object_type is not dict else None
        projected = reading(record.notes, session._codec.build, record.projection, cls)
        projection_metadata = {
            "@projection": True,
            "@id": record.id,
            "@change-vector": record.change_vector,
            "@last-modified": record.last_modified,
            "@collection": record.collection,
        }
        return StreamResult(record.id, record.change_vector, projection_metadata, projected)
    entity, metadata, _ = session._decode(record, object_type)
    metadata = {
        **metadata,
        "@id": record.id,
        "@change-vector": record.change_vector,
        "@last-modified": record.last_modified,
        "@collection": metadata.get("@collection", record.collection),
    }
    return StreamResult(record.id, record.change_vector, metadata, entity)


class StreamIterator(Iterator[StreamResult[T]]):
    """The results of a stream, built as they are read; ``close()`` (or the end of a ``with``
    block) releases what storage holds for the rest."""

    __slots__ = ("_build", "_records")

    def __init__(
        self,
        records: Iterator[DocumentRecord | ProjectionRow],
        build: Callable[[DocumentRecord | ProjectionRow], StreamResult[T]],
    ) -> None:
        self._records = records
        self._build = build

    def __iter__(self) -> StreamIterator[T]:
        return self

    def __next__(self) -> StreamResult[T]:
        return self._build(next(self._records))

    def close(self) -> None:
        close = getattr(self._records, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> StreamIterator[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def id_pattern(patterns: str | None) -> re.Pattern[str] | None:
    """RavenDB's ``matches``/``exclude`` patterns (``?``, ``*``, ``|``) as one case-insensitive
    regular expression matching a whole id remainder; None for no pattern."""
    if not patterns:
        return None
    alternatives = []
    for pattern in patterns.split("|"):
        parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
        alternatives.append("".join(parts))
    return re.compile("(?:" + "|".join(alternatives) + r")\Z", re.IGNORECASE | re.DOTALL)


def starting_with(
    records: Iterator[DocumentRecord],
    prefix: str,
    matches: str | None = None,
    exclude: str | None = None,
    start: int = 0,
    page_size: int | None = None,
) -> Iterator[DocumentRecord]:
    """``records`` (ids starting with ``prefix``, in id order) whose remainder after the prefix
    ``matches`` and does not match ``exclude``, skipping ``start`` of them and handing out at
    most ``page_size``; stops reading ``records`` once the page is full."""
    wanted, unwanted = id_pattern(matches), id_pattern(exclude)
    cut = len(prefix)
    skipped = handed = 0
    try:
        if page_size == 0:
            return
        for record in records:
            rest = record.id[cut:]
            if wanted is not None and wanted.match(rest) is None:
                continue
            if unwanted is not None and unwanted.match(rest) is not None:
                continue
            if skipped < start:
                skipped += 1
                continue
            yield record
            handed += 1
            if page_size is not None and handed >= page_size:
                return
    finally:  # a full page, or a reader that stopped: the storage's stream ends here too
        close = getattr(records, "close", None)
        if close is not None:
            close()

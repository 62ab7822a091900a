"""The streams of the http backend (``HttpStorage``), read line by line as they arrive:
``stream`` (a collection, or every document: ``GET /streams/queries``, where the server writes
one document per line), ``stream_query`` (``POST /streams/queries?format=jsonl``: the
query's statistics first, then a document or a projection per line) and ``stream_prefix``
(``GET /streams/docs?format=jsonl``). ``http_transport.Client.stream_lines`` splits the
response at line feeds only; each line is decoded as it is read. A reader of ``stream_query`` or
``stream_prefix`` that stops closes the response; ``stream``'s is closed when its generator is
collected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from rookdb import protocol
from rookdb.errors import ProtocolError, SerializationError
from rookdb.protocol_statistics import decode_statistics
from rookdb.query import Query, QueryStatistics
from rookdb.rql_printer import print_query
from rookdb.serialization.exact_numbers import Notes, loads_noting
from rookdb.storage.base import Storage
from rookdb.storage.http_transport import Client
from rookdb.storage.records import DocumentRecord, ProjectionRow
from rookdb.storage.streams import QueryStream, StreamedRow, check_streamable

__all__ = ["HttpStreams"]


class HttpStreams(Storage):
    """The streaming calls of ``Storage`` over a rookdb server (or RavenDB)."""

    _client: Client
    _path: str

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        text, _ = print_query(Query(collection=collection))
        # The server writes one document per line between '{"Results":[' and ']}'.
        for line in self._client.stream_lines(f"{self._path}/streams/queries", {"query": text}):
            line = line.strip().rstrip(",")
            if line.startswith("{") and line != '{"Results":[':
                yield protocol.decode_document(orjson.loads(line))

    def stream_query(self, query: Query) -> QueryStream:
        text, parameters = print_query(check_streamable(query))
        body: dict[str, Any] = {"Query": text, "QueryParameters": parameters}
        lines = self._client.stream_lines(
            f"{self._path}/streams/queries",
            {"format": "jsonl"},
            method="POST",
            content=orjson.dumps(body),
        )
        return QueryStream(_streamed_items(lines, with_stats=True, projected=bool(query.select)))

    def stream_prefix(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[DocumentRecord]:
        params = {"startsWith": prefix, "format": "jsonl"}
        if start_after is not None:
            params["startAfter"] = start_after
        lines = self._client.stream_lines(f"{self._path}/streams/docs", params)
        for item in _streamed_items(lines, with_stats=False, projected=False):
            assert isinstance(item, DocumentRecord)
            yield item


def _streamed_items(
    lines: Iterator[str], with_stats: bool, projected: bool
) -> Iterator[QueryStatistics | StreamedRow]:
    """A JSON-lines stream's ``{"Stats": ...}`` (first, ``with_stats``) and its
    ``{"Item": document}`` lines (projections where ``projected``), decoded one at a time."""
    expect_stats = with_stats
    try:
        yield from _decoded_items(lines, expect_stats, projected)
    finally:  # a reader that stopped: the response is closed now, not when collected
        close = getattr(lines, "close", None)
        if close is not None:
            close()


def _decoded_items(
    lines: Iterator[str], expect_stats: bool, projected: bool
) -> Iterator[QueryStatistics | StreamedRow]:
    record: StreamedRow
    for line in lines:
        if not line.strip():
            continue
        try:
            notes: Notes = {}  # a projection's digits (9.50)
            value = loads_noting(line.encode(), notes) if projected else orjson.loads(line)
            if expect_stats:
                yield decode_statistics(value["Stats"])
                expect_stats = False
                continue
            if projected:
                record = _projection_row(value["Item"], notes)
            else:
                record = protocol.decode_document(value["Item"])
        except (
            orjson.JSONDecodeError,
            SerializationError,
            KeyError,
            TypeError,
            AttributeError,
        ) as exc:
            raise ProtocolError(f"the server's stream is malformed: {exc}") from exc
        yield record
    if expect_stats:
        raise ProtocolError("the server's stream ended before its statistics")


def _projection_row(item: dict[str, Any], notes: Notes) -> ProjectionRow:
    """A streamed projection as the server sends it (``protocol.encode_projection``): its
    fields, and ``@metadata`` naming the document it came from, which is not a field."""
    projection = dict(item)
    metadata = projection.pop("@metadata")
    return ProjectionRow(
        projection,
        metadata["@id"],
        metadata["@change-vector"],
        metadata["@last-modified"],
        metadata["@collection"],
        notes or None,
    )

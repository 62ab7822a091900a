"""The stream routes of ``rookdb serve``: ``/streams/queries`` and ``/streams/docs``.

Documents are written as storage produces them (``Storage.stream_query``, ``stream_prefix``),
a few dozen kilobytes at a time, never the whole answer in memory. Two shapes, as RavenDB:

- ``format=jsonl`` (what RavenDB's 7.x clients ask for): one JSON value per line, first
  ``{"Stats": {...}}`` for a query, then ``{"Item": <document>}`` per document (for a query
  with ``select``, per projection, with ``@metadata`` as ``/queries`` sends it);
- otherwise a JSON object: ``{"Results":[`` on its own line, one document per line, then
  ``],`` and the query's statistics (``TotalResults``, ``IndexName``...).

A query is checked and started before the answer begins, so a bad query or a storage that
cannot be reached is an ordinary error answer (4xx, 503). A failure after the first byte can
only cut the answer short: the connection is closed without the end of the body, which
clients see as a broken stream, never as a complete one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from rookdb import protocol, rql
from rookdb.errors import QueryError
from rookdb.facet_rql import FacetQuery
from rookdb.ids import validate_id
from rookdb.protocol_statistics import encode_statistics
from rookdb.query import QueryStatistics
from rookdb.serialization.exact_numbers import written_back
from rookdb.server.limits import parse_count
from rookdb.server.multi_get import query_read
from rookdb.storage.records import DocumentRecord, ProjectionRow
from rookdb.storage.streams import StreamedRow, check_streamable
from rookdb.streaming import starting_with

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["stream_docs", "stream_query"]

#: Bytes gathered before they are handed to the connection: few writes, prompt delivery.
_FLUSH_BYTES = 64 * 1024
_MEDIA = "application/json; charset=utf-8"


async def stream_query(server: _Server, request: Request) -> Response:
    """``GET ?query=<RQL>`` or ``POST {"Query", "QueryParameters", "Start", "PageSize"}``."""
    storage = server.storage(request, write=False)
    if request.method == "POST":  # read as /queries reads its body: one rule, paging included
        read = query_read(await server.body(request))
        if isinstance(read, FacetQuery):
            raise QueryError("a facet query counts results: run it as a query, not a stream")
        query = read.query
    else:
        query = rql.parse(request.query_params.get("query", ""), {})
    check_streamable(query)
    stream = await run_in_threadpool(storage.stream_query, query)
    jsonl = request.query_params.get("format") == "jsonl"
    return _respond(_lines(stream, _encoder(server, request), jsonl, stream.statistics))


async def stream_docs(server: _Server, request: Request) -> Response:
    """``GET ?startsWith=&matches=&exclude=&startAfter=&start=&pageSize=``: documents by id
    prefix, in id order (RavenDB's ``stream_starting_with``)."""
    storage = server.storage(request, write=False)
    params = request.query_params
    prefix = params.get("startsWith", "")
    if prefix:
        validate_id(prefix)
    start_after = params.get("startAfter") or None
    if start_after is not None:
        validate_id(start_after)
    start = parse_count(params.get("start", "0"), "start")
    page_size = parse_count(params["pageSize"], "pageSize") if "pageSize" in params else None
    matches, exclude = params.get("matches") or None, params.get("exclude") or None
    records = starting_with(
        storage.stream_prefix(prefix, start_after), prefix, matches, exclude, start, page_size
    )
    # The first page is read here, so that a storage failure is an error answer.
    first = await run_in_threadpool(_first, records)
    jsonl = params.get("format") == "jsonl"
    return _respond(_lines(_chain(first, records), _encoder(server, request), jsonl, None))


def _encoder(server: _Server, request: Request) -> Callable[[StreamedRow], dict[str, Any]]:
    """How each result goes out: a document as the request's ``/docs`` would send it; a
    projection as ``/queries`` sends it to RavenDB's clients (fields and ``@metadata``)."""
    encode = server.encoder(request)

    def encoded(row: StreamedRow) -> dict[str, Any]:
        if isinstance(row, ProjectionRow):  # its numbers as stored (9.50)
            projection = written_back(row.projection, row.notes)
            return protocol.encode_projection(projection, row, distinct=False)
        return encode(row)

    return encoded


def _first(records: Iterator[DocumentRecord]) -> DocumentRecord | None:
    return next(records, None)


def _chain(
    first: DocumentRecord | None, rest: Iterator[DocumentRecord]
) -> Iterator[DocumentRecord]:
    try:
        if first is None:
            return
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


def _lines(
    records: Iterator[StreamedRow],
    encode: Callable[[StreamedRow], dict[str, Any]],
    jsonl: bool,
    stats: QueryStatistics | None,
) -> Iterator[bytes]:
    """The answer's bytes, in pieces of about ``_FLUSH_BYTES``; the stream is closed at the
    end, or when the client goes away (the generator is closed)."""
    try:
        parts: list[bytes] = []
        size = 0
        if jsonl:
            if stats is not None:
                parts.append(orjson.dumps({"Stats": encode_statistics(stats)}) + b"\n")
            for record in records:
                line = b'{"Item":' + orjson.dumps(encode(record)) + b"}\n"
                parts.append(line)
                size += len(line)
                if size >= _FLUSH_BYTES:
                    yield b"".join(parts)
                    parts, size = [], 0
            yield b"".join(parts)
            return
        parts.append(b'{"Results":[\n')
        first = True
        for record in records:
            line = (b"" if first else b",\n") + orjson.dumps(encode(record))
            first = False
            parts.append(line)
            size += len(line)
            if size >= _FLUSH_BYTES:
                yield b"".join(parts)
                parts, size = [], 0
        tail = b"" if stats is None else b"," + orjson.dumps(encode_statistics(stats))[1:-1]
        parts.append(b"\n]" + tail + b"}")
        yield b"".join(parts)
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()


def _respond(body: Iterator[bytes]) -> StreamingResponse:
    return StreamingResponse(iterate_in_threadpool(body), media_type=_MEDIA)

"""``POST /databases/{db}/multi_get``: several reads in one request and one snapshot.

RavenDB's clients send their lazy operations this way (``MultiGetCommand``): a body
``{"Requests": [{"Url", "Query", "Method", "Headers", "Content"}, ...]}`` whose items are the
requests each read would have made on its own (``/docs`` by id or by prefix, ``/queries``), and
an answer ``{"Results": [{"Result", "StatusCode", "Headers"}, ...]}`` with what each route
would have answered. rookdb runs them with one ``Storage.read_many`` call: one snapshot.

As ``GET /docs`` does, a read of documents answers with its ``ETag`` and, when the item's own
``If-None-Match`` names it, with a ``304`` and no body: the client answers that item from its
HTTP cache (a lazy load of a document it holds does not travel again). An item that fails
(bad input, a query storage refuses) fails alone, with its status and RavenDB error body:
when the one ``read_many`` call fails, each read is run again on its own, so the others still
answer (then each in a snapshot of its own); a lone item that fails is that item's answer
too, never the multi_get's. A query of an index that does not exist is a ``404`` item with
no body, as RavenDB's query route answers it: its clients raise ``IndexDoesNotExistException``
for the null result (a 404 item is no error to them, and an error body would be read as a
query result).

The reading of a ``/docs`` or ``/queries`` request into a storage read lives here too: the
routes themselves (``app``) and the items of a multi_get share it, so both accept and refuse
exactly the same input.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request

from rookdb import protocol
from rookdb.errors import ConfigurationError, IndexDoesNotExistError, RookError, shown
from rookdb.facet_compute import encode_answer
from rookdb.facet_rql import FacetQuery, parse_facet_query
from rookdb.ids import validate_id
from rookdb.query import Query, check_count
from rookdb.server import revisions as revision_routes
from rookdb.server.limits import parse_count
from rookdb.storage.base import Storage
from rookdb.storage.commands import validate_counter_name
from rookdb.storage.records import (
    ALL_COUNTERS,
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
from rookdb.storage.starting_with import check_prefix_read

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["docs_read", "multi_get", "query_read"]


def docs_read(method: str, params: QueryParams, body: Any) -> IdsRead | PrefixRead | RecentRead:
    """The read a ``/docs`` request asks for: by ids (``id=``, or ``{"Ids": [...]}`` posted)
    with ``include=`` paths, by prefix (``startsWith=`` and RavenDB's paging and patterns), or
    else a page of every document, the most recently written first."""
    if method == "POST":
        if type(body) is not dict or type(body.get("Ids")) is not list:
            raise ConfigurationError('POST docs takes {"Ids": [...]}')
        ids = body["Ids"]
    else:
        ids = params.getlist("id")
    for document_id in ids:
        validate_id(document_id)
    if ids:
        counters = tuple(params.getlist("counter"))
        for name in counters:
            if name != ALL_COUNTERS:
                validate_counter_name(name)
        return IdsRead(tuple(ids), tuple(params.getlist("include")), counters)
    if "startsWith" not in params:
        # Neither ids nor a prefix: every document, the most recently written first, as
        # RavenDB pages them (its GetDocumentsCommand.from_paging).
        return RecentRead(
            parse_count(params.get("start", "0"), "start"),
            parse_count(params.get("pageSize", "25"), "pageSize"),
        )
    return check_prefix_read(
        PrefixRead(
            params["startsWith"],
            parse_count(params.get("start", "0"), "start"),
            parse_count(params.get("pageSize", "25"), "pageSize"),
            params.get("matches") or "",
            params.get("exclude") or "",
            params.get("startAfter") or "",
        )
    )


def query_read(body: Any) -> QueryRead | FacetQuery:
    """The read a ``/queries`` body (RavenDB's ``IndexQuery``) asks for: a query, or one
    that selects facets (``rookdb.facet_rql``), which storage answers with ``facets``."""
    if type(body) is not dict or type(body.get("Query")) is not str:
        raise ConfigurationError('a query is {"Query": "<RQL>", "QueryParameters": {...}}')
    parameters = body.get("QueryParameters") or {}
    if type(parameters) is not dict:
        raise ConfigurationError("QueryParameters is an object")
    found = parse_facet_query(body["Query"], parameters)
    if found.facets:  # its paging plays no part
        return found
    query = found.query
    start, page_size = body.get("Start"), body.get("PageSize")
    if start is not None or page_size is not None:
        query = apply_body_paging(query, start, page_size)
    return QueryRead(query)


def apply_body_paging(query: Query, start: Any, page_size: Any) -> Query:
    """The page RavenDB's server reads from a query's RQL and its body, which the official
    client 7.2 both fills (``limit $p0, $p1`` and ``Start``/``PageSize``, the same numbers):
    the offset is the larger of the RQL's and ``Start`` (not their sum, which would skip
    twice), the count the smaller of the RQL's and ``PageSize``; a null or missing one is
    no bound."""
    skip, take = query.skip, query.take
    if start is not None:
        skip = max(skip, check_count(start, "Start"))
    if page_size is not None:
        check_count(page_size, "PageSize")
        take = page_size if take is None else min(take, page_size)
    if (skip, take) == (query.skip, query.take):
        return query
    return dataclasses.replace(query, skip=skip, take=take)


def _item_read(item: Any, database: str) -> tuple[Read | FacetQuery | None, str, QueryParams]:
    """One item of a multi_get as a storage read (None: a ``GET /revisions``), its HTTP
    method and its query parameters."""
    if type(item) is not dict or type(item.get("Url")) is not str:
        raise ConfigurationError('a multi_get request is {"Url": ..., "Query": ..., ...}')
    url = item["Url"]
    if url.startswith("/databases/"):  # RavenDB's clients name the database in each item
        _, _, name, *rest = url.split("/", 3)
        if unquote(name).lower() != database.lower():
            raise ConfigurationError("a multi_get reads the database it is sent to, no other")
        url = "/" + "".join(rest)
    method = item.get("Method") or "GET"
    if type(method) is not str:
        raise ConfigurationError("a multi_get request's Method is a str")
    method = method.upper()
    query = item.get("Query") or ""
    if type(query) is not str:
        raise ConfigurationError("a multi_get request's Query is a str")
    params = QueryParams(query.removeprefix("?"))
    content = item.get("Content")
    if url == "/docs" and method in ("GET", "POST"):
        return docs_read(method, params, content), method, params
    if url == "/queries" and method == "POST":
        return query_read(content), method, params
    if url == "/revisions" and method == "GET":
        return None, method, params
    raise ConfigurationError(
        "multi_get serves GET/POST /docs, POST /queries and GET /revisions, "
        f"not {shown(f'{method} {url}')}"
    )


async def multi_get(server: _Server, request: Request) -> tuple[Any, list[object]]:
    """The route: every item read in one ``read_many`` call, answered as its route would; with
    the notes of its query results (``protocol.digits_header``)."""
    database = server.database(request, write=False)
    storage = server.backend.database(database)
    body = await server.body(request)
    items = body.get("Requests") if type(body) is dict else None
    if type(items) is not list:
        raise ConfigurationError('multi_get takes {"Requests": [...]}')
    answers: list[dict[str, Any] | None] = [None] * len(items)
    reads: list[Read] = []
    methods: list[str] = []
    item_params: list[QueryParams] = []
    positions: list[int] = []
    revisions: list[tuple[int, QueryParams]] = []
    facets: list[tuple[int, FacetQuery]] = []  # each answered on its own, after the reads
    for position, item in enumerate(items):
        try:
            read, method, params = _item_read(item, database)
        except RookError as exc:  # this item fails as its route would; the others go on
            answers[position] = _answer(protocol.error_body(exc), protocol.error_status(exc))
            continue
        if read is None:
            revisions.append((position, params))
            continue
        if isinstance(read, FacetQuery):
            facets.append((position, read))
            continue
        reads.append(read)
        methods.append(method)
        item_params.append(params)
        positions.append(position)
    results = await run_in_threadpool(_read_each, storage, reads) if reads else []
    for read, method, params, position, result in zip(
        reads, methods, item_params, positions, results, strict=True
    ):
        if isinstance(result, RookError):
            answers[position] = _failed(result)
            continue
        held = protocol.unquote_etag(_header(items[position], "If-None-Match"))
        answers[position] = _encode(server, request, read, method, params, result, held)
    for position, params in revisions:
        try:
            answer = await run_in_threadpool(
                revision_routes.answer, server, request, storage, params
            )
        except RookError as exc:
            answers[position] = _answer(protocol.error_body(exc), protocol.error_status(exc))
            continue
        answers[position] = _answer(None, 404) if answer is None else _answer(answer)
    for position, facet_query in facets:
        try:
            found = await run_in_threadpool(storage.facets, *facet_query)
        except RookError as exc:
            answers[position] = _failed(exc)
            continue
        answer = {**encode_answer(found), "Includes": server.includes(request, found.includes)}
        answers[position] = _answer(answer)
    notes: list[object] = [r.notes for r in results if isinstance(r, QueryResult)]
    return {"Results": answers}, notes


def _read_each(storage: Storage, reads: list[Read]) -> list[ReadResult | RookError]:
    """Every read in one snapshot; if that fails, each on its own, a failure in its place."""
    try:
        return list(storage.read_many(reads))
    except RookError as exc:
        if len(reads) == 1:
            return [exc]
    answered: list[ReadResult | RookError] = []
    for read in reads:
        try:
            answered.extend(storage.read_many([read]))
        except RookError as exc:
            answered.append(exc)
    return answered


def _failed(error: RookError) -> dict[str, Any]:
    """The answer of a read (a query, facets, documents) that failed with ``error``."""
    if isinstance(error, IndexDoesNotExistError):  # only queries name an index
        return _answer(None, 404)
    return _answer(protocol.error_body(error), protocol.error_status(error))


def _header(item: Any, name: str) -> str | None:
    """An item's own request header (names are case-insensitive), if it is a str."""
    headers = item.get("Headers") if type(item) is dict else None
    if type(headers) is not dict:
        return None
    for key, value in headers.items():
        if type(key) is str and key.lower() == name.lower() and type(value) is str:
            return value
    return None


def _answer(result: Any, status: int = 200, etag: str | None = None) -> dict[str, Any]:
    headers = {} if etag is None else {"ETag": protocol.etag_header(etag)}
    return {"Result": result, "StatusCode": status, "Headers": headers}


def _encode(
    server: _Server,
    request: Request,
    read: Read,
    method: str,
    params: QueryParams,
    result: ReadResult,
    held: str | None,
) -> dict[str, Any]:
    """An item's answer, as its own route gives it (with the item's own parameters); ``held``:
    the tag of the item's ``If-None-Match``."""
    if isinstance(read, IdsRead):
        assert isinstance(result, GetResult)
        records = [result.documents.get(document_key(i)) for i in read.ids]
        etag = protocol.etag_of(records, result.includes, result.counters)
        status, answer = server.docs_answer(request, method, read.ids, result, params)
        if status == 404:  # a missing document by GET: no body, as RavenDB answers it
            return _answer(None, status)
        if held == etag:
            return _answer(None, 304, etag)
        return _answer(answer, status, etag)
    if isinstance(read, PrefixRead | RecentRead):
        assert isinstance(result, list)
        etag = protocol.etag_of(result, {})
        if held == etag:
            return _answer(None, 304, etag)
        return _answer({"Results": server.documents(request, list(result), params)}, 200, etag)
    assert isinstance(result, QueryResult)
    return _answer(server.query_answer(request, read.query, result, params))

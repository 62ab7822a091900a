"""The RavenDB-protocol routes of ``rookdb serve``, over any storage backend (SPEC §7 H2).

``create_app(backend)`` is an ASGI application. Each route reads and checks its input, calls
one method of the storage interface (``rookdb.storage.base``) in a worker thread (storage is
blocking I/O), and answers in RavenDB's JSON shapes (``rookdb.protocol``). The server never
imports the session: it stores the documents clients send, byte for byte.

A database that does not exist is answered as RavenDB answers it (``DatabaseDoesNotExistException``
in the client), except for rookdb's own client, which creates databases on first use as the
embedded backends do, and for everyone with ``--create-databases`` (``rookdb.server.databases``).
With API keys (``rookdb.server.security``), only databases a key names are reachable with it.

Errors are RavenDB-style JSON (``Type``, ``Message``, ``Error``), never a stack trace; bad
input is a 4xx, never a 500; a route that is not part of the subset is a 501.

``_Server`` holds the routes' shared state and serves the document and query routes; the table
of every route, what serves each and the guard around each are ``rookdb.server.routes``'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from itertools import zip_longest
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rookdb import protocol
from rookdb.errors import ConfigurationError
from rookdb.facet_compute import encode_answer
from rookdb.facet_rql import FacetQuery
from rookdb.ids import shown_id, validate_database_name
from rookdb.protocol_statistics import encode_statistics
from rookdb.query import Query, StaleWait
from rookdb.serialization.exact_numbers import keep_digits, written_back
from rookdb.server import (
    bulk_insert,
    counters,
    documents,
    indexes,
    json_patch,
    patches,
    studio,
)
from rookdb.server.answers import error_response, json_response
from rookdb.server.background import Background
from rookdb.server.databases import Databases, MissingDatabases, creates
from rookdb.server.limits import (
    Limits,
    parse_document,
    parse_json,
    read_body,
)
from rookdb.server.logs import AccessLog
from rookdb.server.multi_get import docs_read, multi_get, query_read
from rookdb.server.routes import ROUTES, endpoint_of, guarded, not_supported
from rookdb.server.security import Access, OpenAccess
from rookdb.storage.base import Backend, Storage
from rookdb.storage.records import (
    DocumentRecord,
    GetResult,
    PrefixRead,
    QueryResult,
    RecentRead,
    document_key,
    last_modified_now,
)

__all__ = ["create_app"]


class _Server:
    """The routes' shared state: the backend, the limits and who may do what."""

    def __init__(
        self,
        backend: Backend,
        limits: Limits,
        access: Access,
        missing: MissingDatabases,
        background: Background,
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.access = access
        self.operations = bulk_insert.Operations()
        self.background = background
        self.index_builds = indexes.IndexBuilds(background)
        self.databases = Databases(backend, missing)

    # -- plumbing ----------------------------------------------------------------------------

    def allow(
        self, request: Request, database: str | None, *, write: bool = False, admin: bool = False
    ) -> None:
        """Raise unless this request's credentials allow the operation (``security``)."""
        self.access.check(request.headers.get("authorization"), database, write=write, admin=admin)

    def database(self, request: Request, write: bool) -> str:
        """The checked, allowed database name of a ``/databases/{database}/...`` route."""
        name = validate_database_name(request.path_params["database"])
        self.allow(request, name, write=write)
        # Once per database name (then remembered): a look at the backend, or its creation.
        self.databases.require(name, create=creates(request))
        return name

    def storage(self, request: Request, write: bool) -> Storage:
        return self.backend.database(self.database(request, write))

    async def body(self, request: Request) -> Any:
        return parse_json(await read_body(request, self.limits))

    @staticmethod
    def encoder(request: Request) -> Callable[[DocumentRecord], dict[str, Any]]:
        """Documents in RavenDB's shape, or as records for clients that ask (``protocol``)."""
        if protocol.RECORDS in request.headers.get("accept", ""):
            return protocol.encode_record
        return protocol.encode_document

    def documents(
        self,
        request: Request,
        records: list[DocumentRecord | None],
        params: QueryParams | None = None,
    ) -> list[orjson.Fragment | None]:
        """``params``: the query parameters of the route answered (a multi_get item's own),
        the request's by default."""
        encode = self.encoder(request)
        params = request.query_params if params is None else params
        if params.get("metadataOnly", "").lower() == "true":
            encode = documents.metadata_only(encode)
        return [None if r is None else _fragment(encode(r)) for r in records]

    def includes(
        self, request: Request, included: dict[str, DocumentRecord | None]
    ) -> dict[str, orjson.Fragment | None]:
        encode = self.encoder(request)
        return {
            (key if r is None else r.id): None if r is None else _fragment(encode(r))
            for key, r in included.items()
        }

    # -- documents ---------------------------------------------------------------------------

    async def docs(self, request: Request) -> Response:
        storage = self.storage(request, write=False)
        body = await self.body(request) if request.method == "POST" else None
        read = docs_read(request.method, request.query_params, body)
        if isinstance(read, PrefixRead | RecentRead):
            if isinstance(read, PrefixRead):
                found = await run_in_threadpool(storage.get_prefix, *read)
            else:
                (recent,) = await run_in_threadpool(storage.read_many, [read])
                assert isinstance(recent, list)
                found = recent
            etag = protocol.etag_of(found, {})
            unchanged = documents.not_modified(request, etag)
            if unchanged is not None:
                return unchanged
            return json_response(
                {"Results": self.documents(request, list(found))},
                headers={"ETag": protocol.etag_header(etag)},
            )
        ids = read.ids
        if request.method == "HEAD" and len(ids) != 1:
            raise ConfigurationError("HEAD docs takes one id=...")
        if read.counters:  # read with the documents, in their snapshot
            (read_result,) = await run_in_threadpool(storage.read_many, [read])
            assert isinstance(read_result, GetResult)
            result = read_result
        else:
            result = await run_in_threadpool(storage.get, ids, read.includes)
        if request.method == "HEAD":
            record = result.documents.get(document_key(ids[0]))
            if record is not None:
                tag = record.change_vector
                current = documents.not_modified(request, tag)
                return current or Response(headers={"ETag": protocol.etag_header(tag)})
        # As RavenDB: the client's copy is current (conditional_load, its HTTP cache): a 304,
        # known before anything is encoded. (One missing id is a 404, whatever it sent.)
        records = [result.documents.get(document_key(i)) for i in ids]
        etag = protocol.etag_of(records, result.includes, result.counters)
        if request.method == "GET" and not (len(ids) == 1 and records[0] is None):
            unchanged = documents.not_modified(request, etag)
            if unchanged is not None:
                return unchanged
        status, answer = self.docs_answer(request, request.method, ids, result)
        if status != 200:
            return json_response(answer, status)
        return json_response(answer, status, headers={"ETag": protocol.etag_header(etag)})

    def docs_answer(
        self,
        request: Request,
        method: str,
        ids: Sequence[str],
        result: GetResult,
        params: QueryParams | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """The status and body of a ``/docs`` read by ids (also inside a multi_get)."""
        records = [result.documents.get(document_key(i)) for i in ids]
        if len(ids) == 1 and method in ("GET", "HEAD") and records[0] is None:
            # RavenDB's clients read a 404 as "no such document"
            return 404, protocol.raven_error(
                "Documents.DocumentDoesNotExistException",
                f"no document {shown_id(ids[0])}",
            )
        answer = {
            "Results": self.documents(request, records, params),
            "Includes": self.includes(request, result.includes),
        }
        if result.counters is not None:
            names = (request.query_params if params is None else params).getlist("counter")
            answer["CounterIncludes"] = counters.included(result.documents, result.counters, names)
        return 200, answer

    async def write_document(self, request: Request) -> Response:
        """``PUT`` / ``DELETE /docs?id=`` (``rookdb.server.documents``), ``PATCH``."""
        storage = self.storage(request, write=True)
        if request.method == "PUT":
            body = parse_document(await read_body(request, self.limits))
            return await documents.put(storage, request, body)
        if request.method == "PATCH":  # PatchOperation (rookdb.server.patches)
            data = await read_body(request, self.limits)
            body = parse_json(data)
            # Typed operations' values as written (``9.50``): ``patches.patch_document``.
            return await patches.patch_document(storage, request, body, keep_digits(data, body))
        return await documents.delete(storage, request)

    async def json_patch(self, request: Request) -> Response:
        status, answer = await json_patch.json_patch(self, request)
        return json_response(answer, status)

    # -- queries -----------------------------------------------------------------------------

    async def queries(self, request: Request) -> Response:
        storage = self.storage(request, write=False)
        body = await self.body(request)
        read = query_read(body)
        debug = request.query_params.get("debug")
        if debug == "explain" and not isinstance(read, FacetQuery):
            return json_response(await run_in_threadpool(_explain, storage, read.query))
        if debug is not None:  # never the documents, as if it had not been asked
            return error_response(
                501,
                "NotSupportedException",
                f"POST /queries?debug={debug[:40]} is not part of the RavenDB protocol subset "
                "rookdb serves (debug=explain is)",
            )
        if isinstance(read, FacetQuery):  # select facet(...): counted, no documents
            found = await run_in_threadpool(storage.facets, *read)
            answer = {**encode_answer(found), "LastQueryTime": last_modified_now()}
            answer["Includes"] = self.includes(request, found.includes)
            return json_response({**answer, "NodeTag": protocol.SERVER_TAG})
        query = read.query
        result = await run_in_threadpool(storage.query, query)
        if result.statistics.is_stale and body.get("WaitForNonStaleResults") is True:
            # An index still being built after a put (``server.indexes``): RavenDB's server
            # waits for it up to the query's timeout, then answers it stale (its client
            # raises its TimeoutException then).
            wait = StaleWait(indexes.time_span(body.get("WaitForNonStaleResultsTimeout")))
            while result.statistics.is_stale and time.monotonic() < wait.deadline:
                await asyncio.sleep(wait.pause)
                wait.pause = min(wait.pause * 2, 0.5)
                result = await run_in_threadpool(storage.query, query)
        answer = self.query_answer(request, query, result)
        return json_response(answer, headers=protocol.digits_header(result.notes))

    async def queries_by_query(self, request: Request) -> Response:
        """``PATCH`` / ``DELETE /queries`` (``rookdb.server.patches.by_query``)."""
        storage = self.storage(request, write=True)
        body = await self.body(request)
        answer = await patches.by_query(storage, self.operations, self.background, request, body)
        return json_response(answer)

    def query_answer(
        self,
        request: Request,
        query: Query,
        result: QueryResult,
        params: QueryParams | None = None,
    ) -> dict[str, Any]:
        """The body of a ``/queries`` answer (also inside a multi_get)."""
        stats = result.statistics
        results: list[Any]
        if result.projections is None:
            results = self.documents(request, list(result.records), params)
        elif protocol.RECORDS in request.headers.get("accept", ""):  # rookdb's own client
            notes = result.notes  # numbers written as stored (9.50), for Decimal fields
            results = [_fragment(written_back(p, notes)) for p in result.projections]
        else:
            # A map-reduce index's results: projections of no document, read with no select.
            reduced = query.index_name is not None and not query.select
            results = [
                _fragment(
                    protocol.encode_projection(
                        written_back(projection, result.notes),
                        record,
                        query.distinct,
                        reduce_result=reduced and record is None,
                    )
                )
                for projection, record in zip_longest(result.projections, result.records)
                if projection is not None
            ]
        included = {}
        if query.counters:
            records = {r.id.lower(): r for r in result.records}
            found = result.counters or {}
            included = {
                "CounterIncludes": counters.included(records, found, query.counters),
                "IncludedCounterNames": counters.names_included(records, found, query.counters),
            }
        return {
            "Results": results,
            "Includes": self.includes(request, result.includes),
            **included,
            **encode_statistics(stats),
            "LastQueryTime": last_modified_now(),
            "NodeTag": protocol.SERVER_TAG,
        }

    async def multi_get(self, request: Request) -> Response:
        body, notes = await multi_get(self, request)
        return json_response(body, headers=protocol.digits_header(*notes))


def _explain(storage: Storage, query: Query) -> dict[str, Any]:
    """``POST /queries?debug=explain`` (the client's ``ExplainQueryCommand``): the index the
    query reads and why, in RavenDB's shape (``IndexName``, ``Results`` of ``Index`` and
    ``Reason``). RavenDB explains its choice among automatic indexes; rookdb has one answer:
    the name its query statistics give, read from a query of no rows."""
    name = storage.query(dataclasses.replace(query, skip=0, take=0)).statistics.index_name
    if query.index_name is not None:
        reason = "the query names this index"
    elif name.startswith("Auto/"):
        reason = (
            "rookdb's automatic indexes of the fields the query filters by "
            "(written with the documents, so never stale)"
        )
    else:
        reason = "no automatic index serves the query's filters: its documents are read in turn"
    return {"IndexName": name, "Results": [{"Index": name, "Reason": reason}]}


def _fragment(value: Any) -> orjson.Fragment:
    """``value`` (a document, a projection) as JSON to put into an answer as it is: a document
    may nest as deep as orjson writes, which the levels of the answer around it would pass."""
    return orjson.Fragment(orjson.dumps(value))


class _ConcurrencyLimit:
    """At most ``limit`` requests in the application at once; past it a 503 at once, in
    RavenDB's error shape (clients retry a 503)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit, self.active = app, limit, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            response = error_response(503, "RavenException", "the server is busy: try again")
            await response(scope, receive, send)
            return
        self.active += 1  # one event loop: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def create_app(
    backend: Backend,
    *,
    limits: Limits | None = None,
    access: Access | None = None,
    access_log: bool = False,
    missing_databases: MissingDatabases = MissingDatabases.ERROR,
    background: Background | None = None,
) -> ASGIApp:
    """The ASGI application serving ``backend``'s databases over RavenDB's HTTP protocol;
    with ``access_log``, a line per request on the ``rookdb.server.access`` logger;
    ``missing_databases``: what a request to a database that does not exist gets
    (``rookdb.server.databases``); ``background``: where by-query operations run (its owner
    closes it before the backend: ``rookdb.server.run``)."""
    limits = limits or Limits()
    server = _Server(
        backend, limits, access or OpenAccess(), missing_databases, background or Background()
    )
    server.index_builds.resume(backend)  # what a server stopped mid-build left Building
    routes: list[BaseRoute] = [
        Route(path, guarded(endpoint_of(server, handler), server), methods=list(methods))
        for path, handler, methods in ROUTES
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: not_supported
    }
    # The Studio (rookdb.server.studio), through the same backend, access rules and limits.
    routes += studio.routes(backend, server.access, limits, server.databases)
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False  # "/databases/" is outside the subset, as in RavenDB
    limited = _ConcurrencyLimit(app, limits.max_concurrency)
    return AccessLog(limited) if access_log else limited  # outside: the 503s are logged too

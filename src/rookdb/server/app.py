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
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
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
from rookdb.errors import (
    ConfigurationError,
    DatabaseDoesNotExistError,
    RookError,
)
from rookdb.facet_compute import encode_answer
from rookdb.facet_rql import FacetQuery
from rookdb.ids import (
    validate_database_name,
)
from rookdb.protocol_statistics import encode_statistics
from rookdb.query import Query, StaleWait
from rookdb.serialization.exact_numbers import keep_digits
from rookdb.server import (
    attachments,
    bulk_insert,
    configuration,
    counters,
    databases,
    documents,
    hilo,
    identities,
    indexes,
    json_patch,
    patches,
    revisions,
    streams,
    studio,
)
from rookdb.server.answers import error_response, json_response
from rookdb.server.background import Background
from rookdb.server.databases import MISSING_HEADER, Databases, MissingDatabases, creates
from rookdb.server.limits import (
    BodyTimeout,
    BodyTooLarge,
    Limits,
    nested_too_deep,
    parse_document,
    parse_json,
    read_body,
)
from rookdb.server.logs import AccessLog
from rookdb.server.multi_get import docs_read, multi_get, query_read
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

__all__ = ["ROUTES", "create_app"]

log = logging.getLogger("rookdb.server")


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
                "Documents.DocumentDoesNotExistException", f"no document {ids[0]!r}"
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
        return json_response(self.query_answer(request, query, result))

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
            results = [_fragment(projection) for projection in result.projections]
        else:
            # A map-reduce index's results: projections of no document, read with no select.
            reduced = query.index_name is not None and not query.select
            results = [
                _fragment(
                    protocol.encode_projection(
                        projection,
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
        return json_response(await multi_get(self, request))


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


_DB = "/databases/{database}"

RouteFunction = Callable[["_Server", Request], Awaitable[Response]]

#: The routes served by functions of route modules, by name; the others are ``_Server``
#: methods of their name.
_FUNCTIONS: dict[str, RouteFunction] = {
    "bulk_docs": attachments.bulk_docs,
    "attachment": attachments.attachment,
    "stream_query": streams.stream_query,
    "stream_docs": streams.stream_docs,
    "bulk_insert": bulk_insert.bulk_insert,
    "next_operation_id": bulk_insert.next_operation_id,
    "operation_state": bulk_insert.operation_state,
    "kill_operation": bulk_insert.kill_operation,
    "hilo_next": hilo.next_range,
    "hilo_return": hilo.return_range,
    "stats": databases.stats,
    "detailed_stats": databases.detailed_stats,
    "collection_stats": databases.collection_stats,
    "client_configuration": configuration.client_configuration,
    "put_client_configuration": configuration.put_client_configuration,
    "server_client_configuration": configuration.server_client_configuration,
    "put_server_client_configuration": configuration.put_server_client_configuration,
    "identity_next": identities.identity_next,
    "identity_seed": identities.identity_seed,
    "identities": identities.identities,
    "put_indexes": indexes.put_indexes,
    "indexes": indexes.indexes,
    "index_statistics": indexes.index_statistics,
    "index_errors": indexes.index_errors,
    "set_index_lock": indexes.set_index_lock,
    "index_has_changed": indexes.index_has_changed,
    "indexing_status": indexes.indexing_status,
    "index_terms": indexes.index_terms,
    "stop_indexing": indexes.stop_indexing,
    "start_indexing": indexes.start_indexing,
    "disable_index": indexes.disable_index,
    "enable_index": indexes.enable_index,
    "set_index_priority": indexes.set_index_priority,
    "configure_revisions": revisions.configure,
    "revisions": revisions.revisions,
    "revisions_count": revisions.count,
    "revisions_bin": revisions.bin_entries,
    "revisions_config": revisions.configuration,
    "import_revisions": revisions.import_revisions,
    "counters": counters.counters,
    "counter_batch": counters.counter_batch,
    "topology": databases.topology,
    "cluster_topology": databases.cluster_topology,
    "list_databases": databases.list_databases,
    "admin_databases": databases.admin_databases,
}

#: Every route the server implements: (path, route name, HTTP methods). Anything else is a
#: 501 (or a 405 for another method on one of these paths).
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (f"{_DB}/docs", "docs", ("GET", "HEAD", "POST")),
    (f"{_DB}/docs", "write_document", ("PUT", "DELETE", "PATCH")),
    (f"{_DB}/bulk_docs", "bulk_docs", ("POST",)),
    (f"{_DB}/attachments", "attachment", ("GET", "HEAD", "PUT", "DELETE")),
    (f"{_DB}/json-patch", "json_patch", ("PATCH",)),
    (f"{_DB}/queries", "queries", ("POST",)),
    (f"{_DB}/queries", "queries_by_query", ("PATCH", "DELETE")),
    (f"{_DB}/multi_get", "multi_get", ("POST",)),
    (f"{_DB}/streams/queries", "stream_query", ("GET", "POST")),
    (f"{_DB}/streams/docs", "stream_docs", ("GET",)),
    (f"{_DB}/bulk_insert", "bulk_insert", ("POST",)),
    (f"{_DB}/operations/next-operation-id", "next_operation_id", ("GET",)),
    (f"{_DB}/operations/state", "operation_state", ("GET",)),
    (f"{_DB}/operations/kill", "kill_operation", ("POST",)),
    (f"{_DB}/hilo/next", "hilo_next", ("GET",)),
    (f"{_DB}/hilo/return", "hilo_return", ("PUT",)),
    (f"{_DB}/stats", "stats", ("GET",)),
    (f"{_DB}/stats/detailed", "detailed_stats", ("GET",)),
    (f"{_DB}/collections/stats", "collection_stats", ("GET",)),
    (f"{_DB}/configuration/client", "client_configuration", ("GET", "HEAD")),
    (f"{_DB}/admin/configuration/client", "put_client_configuration", ("PUT",)),
    (f"{_DB}/identity/next", "identity_next", ("POST",)),
    (f"{_DB}/identity/seed", "identity_seed", ("POST",)),
    (f"{_DB}/debug/identities", "identities", ("GET",)),
    (f"{_DB}/admin/indexes", "put_indexes", ("PUT",)),
    # RESET reaches the application as PURGE (``server.connection``).
    (f"{_DB}/indexes", "indexes", ("GET", "DELETE", "RESET", "PURGE")),
    (f"{_DB}/indexes/stats", "index_statistics", ("GET",)),
    (f"{_DB}/indexes/errors", "index_errors", ("GET", "DELETE")),
    (f"{_DB}/indexes/set-lock", "set_index_lock", ("POST",)),
    (f"{_DB}/indexes/has-changed", "index_has_changed", ("POST",)),
    (f"{_DB}/indexes/status", "indexing_status", ("GET",)),
    (f"{_DB}/indexes/terms", "index_terms", ("GET",)),
    (f"{_DB}/admin/indexes/stop", "stop_indexing", ("POST",)),
    (f"{_DB}/admin/indexes/start", "start_indexing", ("POST",)),
    (f"{_DB}/admin/indexes/disable", "disable_index", ("POST",)),
    (f"{_DB}/admin/indexes/enable", "enable_index", ("POST",)),
    (f"{_DB}/indexes/set-priority", "set_index_priority", ("POST",)),
    (f"{_DB}/admin/revisions/config", "configure_revisions", ("POST",)),
    (f"{_DB}/revisions", "revisions", ("GET",)),
    (f"{_DB}/revisions/count", "revisions_count", ("GET",)),
    (f"{_DB}/revisions/bin", "revisions_bin", ("GET",)),
    (f"{_DB}/revisions/config", "revisions_config", ("GET",)),
    (f"{_DB}/admin/revisions/import", "import_revisions", ("POST",)),
    (f"{_DB}/counters", "counters", ("GET",)),
    (f"{_DB}/counters", "counter_batch", ("POST",)),
    ("/configuration/client", "server_client_configuration", ("GET",)),
    ("/admin/configuration/client", "put_server_client_configuration", ("PUT",)),
    ("/topology", "topology", ("GET",)),
    ("/cluster/topology", "cluster_topology", ("GET",)),
    ("/databases", "list_databases", ("GET",)),
    ("/admin/databases", "admin_databases", ("GET", "PUT", "DELETE")),
)

Endpoint = Callable[[Request], Awaitable[Response]]


def _endpoint(server: _Server, name: str) -> Endpoint:
    function = _FUNCTIONS.get(name)
    if function is not None:
        return functools.partial(function, server)
    endpoint: Endpoint = getattr(server, name)
    return endpoint


def _guarded(endpoint: Endpoint, server: _Server) -> Endpoint:
    """Turn every failure into a RavenDB-style answer; never a stack trace to the client."""

    async def run(request: Request) -> Response:
        try:
            response = await endpoint(request)
            await configuration.refresh(server, request, response)
            return response
        except BodyTooLarge:
            return error_response(
                413, "BadRequestException", "the request body is over the server's limit"
            )
        except BodyTimeout:
            return error_response(408, "BadRequestException", "the client stopped sending the body")
        except DatabaseDoesNotExistError as exc:  # as RavenDB: 503 and Database-Missing
            name = request.path_params.get("database") or request.query_params.get("name", "")
            body = protocol.error_body(exc)
            return json_response(body, protocol.error_status(exc), headers={MISSING_HEADER: name})
        except RookError as exc:
            return json_response(protocol.error_body(exc), protocol.error_status(exc))
        except RecursionError:
            too_deep = nested_too_deep(request)
            if too_deep is None:  # a bug, as below
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return error_response(
                    500, "RavenException", "internal error (see the server's log)"
                )
            log.warning("%s %s: %s", request.method, request.url.path, too_deep, exc_info=True)
            return error_response(400, "BadRequestException", too_deep)
        except Exception:  # a bug: log it here, tell the client no more than that
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            return error_response(500, "RavenException", "internal error (see the server's log)")

    return run


async def _not_supported(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_response(
            501,
            "NotSupportedException",
            f"{request.method} {request.url.path} is not part of the RavenDB protocol subset "
            "rookdb serves",
        )
    if status == 405:
        return error_response(405, "BadRequestException", f"{request.method} is not allowed here")
    return error_response(status, "BadRequestException", str(getattr(exc, "detail", "bad request")))


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
        Route(path, _guarded(_endpoint(server, handler), server), methods=list(methods))
        for path, handler, methods in ROUTES
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_supported
    }
    # The Studio (rookdb.server.studio), through the same backend, access rules and limits.
    routes += studio.routes(backend, server.access, limits, server.databases)
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False  # "/databases/" is outside the subset, as in RavenDB
    limited = _ConcurrencyLimit(app, limits.max_concurrency)
    return AccessLog(limited) if access_log else limited  # outside: the 503s are logged too

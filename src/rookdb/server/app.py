"""The RavenDB-protocol routes of ``rookdb serve``, over any storage backend (SPEC §7 H2).

``create_app(backend)`` is an ASGI application. Each route reads and checks its input, calls
one method of the storage interface (``rookdb.storage.base``) in a worker thread (storage is
blocking I/O), and answers in RavenDB's JSON shapes (``rookdb.protocol``). The server never
imports the session: it stores the documents clients send, byte for byte.

Databases are created on first use, as on the embedded backends, so the same code runs against
either (RavenDB itself answers "database does not exist" until one is created). With API keys
(``rookdb.server.security``), only databases a key names are reachable with it.

Errors are RavenDB-style JSON (``Type``, ``Message``, ``Error``), never a stack trace; bad
input is a 4xx, never a 500; a route that is not part of the subset is a 501.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterator
from itertools import zip_longest
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rookdb import protocol, rql
from rookdb.errors import AuthorizationError, ConfigurationError, RookError
from rookdb.ids import validate_database_name, validate_hilo_tag, validate_id
from rookdb.query import Query, check_count
from rookdb.server.limits import (
    BodyTimeout,
    BodyTooLarge,
    Limits,
    parse_count,
    parse_json,
    read_body,
)
from rookdb.server.logs import AccessLog
from rookdb.server.security import Access, OpenAccess
from rookdb.storage.base import Backend, Storage
from rookdb.storage.records import DocumentRecord, document_key, last_modified_now

__all__ = ["ROUTES", "create_app"]

log = logging.getLogger("rookdb.server")

#: HiLo range sizes when a client (RavenDB's) lets the server choose, as RavenDB does.
_HILO_MIN, _HILO_MAX = 32, 1024 * 1024


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(value), status, headers=headers, media_type="application/json; charset=utf-8"
    )


def _error(status: int, type_name: str, message: str) -> Response:
    return _json(protocol.raven_error(type_name, message), status)


class _Server:
    """The routes' shared state: the backend, the limits and who may do what."""

    def __init__(self, backend: Backend, limits: Limits, access: Access) -> None:
        self.backend = backend
        self.limits = limits
        self.access = access

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
        self, request: Request, records: list[DocumentRecord | None]
    ) -> list[orjson.Fragment | None]:
        encode = self.encoder(request)
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
        params = request.query_params
        if request.method == "POST":
            body = await self.body(request)
            if type(body) is not dict or type(body.get("Ids")) is not list:
                raise ConfigurationError('POST docs takes {"Ids": [...]}')
            ids = body["Ids"]
        else:
            ids = params.getlist("id")
        for document_id in ids:
            validate_id(document_id)
        if not ids:
            if "startsWith" not in params:
                raise ConfigurationError("docs needs id=..., Ids or startsWith=...")
            prefix = params["startsWith"]
            if prefix:
                validate_id(prefix)  # a prefix no id can start with is a mistake
            start = parse_count(params.get("start", "0"), "start")
            page_size = parse_count(params.get("pageSize", "25"), "pageSize")
            found = await run_in_threadpool(storage.get_prefix, prefix, start, page_size)
            return _json({"Results": self.documents(request, list(found))})
        if request.method == "HEAD" and len(ids) != 1:
            raise ConfigurationError("HEAD docs takes one id=...")
        includes = params.getlist("include")
        result = await run_in_threadpool(storage.get, ids, includes)
        records = [result.documents.get(document_key(i)) for i in ids]
        if len(ids) == 1 and request.method in ("GET", "HEAD"):
            record = records[0]
            if record is None:  # RavenDB's clients read a 404 as "no such document"
                return _error(
                    404, "Documents.DocumentDoesNotExistException", f"no document {ids[0]!r}"
                )
            if request.method == "HEAD":
                return Response(headers={"ETag": f'"{record.change_vector}"'})
        return _json(
            {
                "Results": self.documents(request, records),
                "Includes": self.includes(request, result.includes),
            }
        )

    async def bulk_docs(self, request: Request) -> Response:
        storage = self.storage(request, write=True)
        batch = protocol.decode_commands(await self.body(request))
        result = await run_in_threadpool(storage.apply, batch)
        return _json(protocol.encode_batch_result(batch, result), 201)

    # -- queries -----------------------------------------------------------------------------

    async def queries(self, request: Request) -> Response:
        storage = self.storage(request, write=False)
        body = await self.body(request)
        if type(body) is not dict or type(body.get("Query")) is not str:
            raise ConfigurationError('a query is {"Query": "<RQL>", "QueryParameters": {...}}')
        parameters = body.get("QueryParameters") or {}
        if type(parameters) is not dict:
            raise ConfigurationError("QueryParameters is an object")
        query = _page(rql.parse(body["Query"], parameters), body.get("Start"), body.get("PageSize"))
        result = await run_in_threadpool(storage.query, query)
        stats = result.statistics
        results: list[Any]
        if result.projections is None:
            results = self.documents(request, list(result.records))
        elif protocol.RECORDS in request.headers.get("accept", ""):  # rookdb's own client
            results = [_fragment(projection) for projection in result.projections]
        else:
            results = [
                _fragment(protocol.encode_projection(projection, record, query.distinct))
                for projection, record in zip_longest(result.projections, result.records)
                if projection is not None
            ]
        now = last_modified_now()
        return _json(
            {
                "Results": results,
                "Includes": self.includes(request, result.includes),
                "TotalResults": stats.total_results,
                "LongTotalResults": stats.total_results,
                "SkippedResults": stats.skipped_results,
                "DurationInMs": int(stats.duration_in_ms),
                "IndexName": stats.index_name,
                "IsStale": False,
                "IndexTimestamp": now,
                "LastQueryTime": now,
                "ResultEtag": 0,
                "NodeTag": protocol.SERVER_TAG,
            }
        )

    async def stream_query(self, request: Request) -> Response:
        """``streams/queries``: every document of ``from <collection>``, one per line inside
        the ``Results`` array, in constant memory."""
        storage = self.storage(request, write=False)
        query = rql.parse(request.query_params.get("query", ""), {})
        if query != Query(collection=query.collection):
            raise ConfigurationError("rookdb streams plain 'from <collection>' queries only")
        records = storage.stream(query.collection)
        encode = self.encoder(request)

        def lines() -> Iterator[bytes]:
            yield b'{"Results":[\n'
            first = True
            for record in records:
                yield (b"" if first else b",\n") + orjson.dumps(encode(record))
                first = False
            yield b"\n]}"

        return StreamingResponse(
            iterate_in_threadpool(lines()), media_type="application/json; charset=utf-8"
        )

    # -- HiLo --------------------------------------------------------------------------------

    async def hilo_next(self, request: Request) -> Response:
        storage = self.storage(request, write=True)
        params = request.query_params
        tag = validate_hilo_tag(params.get("tag"))
        if "capacity" in params:  # rookdb's client chooses its range size
            capacity = parse_count(params["capacity"], "capacity")
        else:  # RavenDB's clients let the server choose: double while ranges run out
            last = parse_count(params.get("lastBatchSize", "0"), "lastBatchSize")
            capacity = last * 2 if last else _HILO_MIN
        capacity = min(max(capacity, 1), _HILO_MAX)
        low, high = await run_in_threadpool(storage.reserve_ids, tag, capacity)
        separator = params.get("identityPartsSeparator") or "/"
        return _json(
            {
                "Prefix": tag + separator,
                "Low": low,
                "High": high,
                "LastSize": high - low + 1,
                "ServerTag": protocol.SERVER_TAG,
                "LastRangeAt": last_modified_now(),
            }
        )

    async def hilo_return(self, request: Request) -> Response:
        storage = self.storage(request, write=True)
        params = request.query_params
        tag = validate_hilo_tag(params.get("tag"))
        last = parse_count(params.get("last", ""), "last")
        end = parse_count(params.get("end", ""), "end")
        await run_in_threadpool(storage.return_ids, tag, last, end)
        return Response(status_code=204)

    # -- databases, topology, statistics -------------------------------------------------------

    def _node(self, request: Request, database: str | None) -> dict[str, Any]:
        url = f"{request.url.scheme}://{request.url.netloc}"
        node = {"Url": url, "ClusterTag": protocol.SERVER_TAG, "ServerRole": "Member"}
        if database is not None:
            node["Database"] = database
        return node

    async def topology(self, request: Request) -> Response:
        name = request.query_params.get("name")
        # Without a database this describes the server, as /cluster/topology does, and needs
        # the same access: a key for every database ("*"), when there are keys.
        self.allow(request, None if name is None else validate_database_name(name))
        return _json({"Nodes": [self._node(request, name)], "Etag": 1})

    async def cluster_topology(self, request: Request) -> Response:
        self.allow(request, None)
        url = self._node(request, None)["Url"]
        nodes = {protocol.SERVER_TAG: url}
        return _json(
            {
                "Topology": {
                    "TopologyId": "rookdb",
                    "AllNodes": nodes,
                    "Members": nodes,
                    "Promotables": {},
                    "Watchers": {},
                    "LastNodeId": protocol.SERVER_TAG,
                    "Etag": 1,
                },
                "Leader": protocol.SERVER_TAG,
                "CurrentState": "Leader",
                "NodeTag": protocol.SERVER_TAG,
                "CurrentTerm": 1,
                "Status": {},
            }
        )

    async def client_configuration(self, request: Request) -> Response:
        self.database(request, write=False)
        return _json({"Etag": 0, "Configuration": None})

    async def list_databases(self, request: Request) -> Response:
        # As RavenDB lists the databases a certificate may use: every one for an admin, and
        # for any other key those it may read (so a tool can see that its database exists).
        try:
            self.allow(request, None)  # a key that may read every database, or no keys
            every = True
        except AuthorizationError:  # a valid key, for some databases only
            every = False
        names = await run_in_threadpool(self.backend.list_databases)
        if not every:
            names = [name for name in names if self._readable(request, name)]
        start = parse_count(request.query_params.get("start", "0"), "start")
        page_size = parse_count(request.query_params.get("pageSize", str(2**31)), "pageSize")
        return _json({"Databases": names[start : start + page_size]})

    def _readable(self, request: Request, database: str) -> bool:
        try:
            self.allow(request, database)
        except AuthorizationError:
            return False
        return True

    async def admin_databases(self, request: Request) -> Response:
        self.allow(request, None, write=True, admin=True)
        if request.method == "PUT":
            name = request.query_params.get("name")
            if name is None:
                body = await self.body(request)
                name = body.get("DatabaseName") if type(body) is dict else None
            name = validate_database_name(name)
            await run_in_threadpool(self.backend.create_database, name)
            return _json(
                {
                    "RaftCommandIndex": 1,
                    "Name": name,
                    "Topology": {"Members": [protocol.SERVER_TAG], "ReplicationFactor": 1},
                    "NodesAddedTo": [self._node(request, None)["Url"]],
                }
            )
        body = await self.body(request)
        names = body.get("DatabaseNames") if type(body) is dict else None
        if type(names) is not list:
            raise ConfigurationError('deleting databases takes {"DatabaseNames": [...]}')
        for name in names:
            validate_database_name(name)
        for name in names:
            await run_in_threadpool(self.backend.delete_database, name)
        return _json({"RaftCommandIndex": 1, "PendingDeletes": []})

    async def stats(self, request: Request) -> Response:
        stats = await run_in_threadpool(self.backend.statistics, self.database(request, False))
        return _json(protocol.encode_statistics(stats))

    async def collection_stats(self, request: Request) -> Response:
        stats = await run_in_threadpool(self.backend.statistics, self.database(request, False))
        return _json(
            {"CountOfDocuments": stats.count_of_documents, "Collections": stats.collections}
        )


def _fragment(value: Any) -> orjson.Fragment:
    """``value`` (a document, a projection) as JSON to put into an answer as it is: a document
    may nest as deep as orjson writes, which the levels of the answer around it would pass."""
    return orjson.Fragment(orjson.dumps(value))


def _page(query: Query, start: Any, page_size: Any) -> Query:
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


_DB = "/databases/{database}"

#: Every route the server implements: (path, ``_Server`` method, HTTP methods). Anything else
#: is a 501 (or a 405 for another method on one of these paths).
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (f"{_DB}/docs", "docs", ("GET", "HEAD", "POST")),
    (f"{_DB}/bulk_docs", "bulk_docs", ("POST",)),
    (f"{_DB}/queries", "queries", ("POST",)),
    (f"{_DB}/streams/queries", "stream_query", ("GET",)),
    (f"{_DB}/hilo/next", "hilo_next", ("GET",)),
    (f"{_DB}/hilo/return", "hilo_return", ("PUT",)),
    (f"{_DB}/stats", "stats", ("GET",)),
    (f"{_DB}/collections/stats", "collection_stats", ("GET",)),
    (f"{_DB}/configuration/client", "client_configuration", ("GET", "HEAD")),
    ("/topology", "topology", ("GET",)),
    ("/cluster/topology", "cluster_topology", ("GET",)),
    ("/databases", "list_databases", ("GET",)),
    ("/admin/databases", "admin_databases", ("PUT", "DELETE")),
)

Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Turn every failure into a RavenDB-style answer; never a stack trace to the client."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BodyTooLarge:
            return _error(413, "BadRequestException", "the request body is over the server's limit")
        except BodyTimeout:
            return _error(408, "BadRequestException", "the client stopped sending the body")
        except RookError as exc:
            return _json(protocol.error_body(exc), protocol.error_status(exc))
        except Exception:  # a bug: log it here, tell the client no more than that
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            return _error(500, "RavenException", "internal error (see the server's log)")

    return run


async def _not_supported(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _error(
            501,
            "NotSupportedException",
            f"{request.method} {request.url.path} is not part of the RavenDB protocol subset "
            "rookdb serves",
        )
    if status == 405:
        return _error(405, "BadRequestException", f"{request.method} is not allowed here")
    return _error(status, "BadRequestException", str(getattr(exc, "detail", "bad request")))


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
            response = _error(503, "RavenException", "the server is busy: try again")
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
) -> ASGIApp:
    """The ASGI application serving ``backend``'s databases over RavenDB's HTTP protocol;
    with ``access_log``, a line per request on the ``rookdb.server.access`` logger."""
    limits = limits or Limits()
    server = _Server(backend, limits, access or OpenAccess())
    routes = [
        Route(path, _guarded(getattr(server, handler)), methods=list(methods))
        for path, handler, methods in ROUTES
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_supported
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False  # "/databases/" is outside the subset, as in RavenDB
    limited = _ConcurrencyLimit(app, limits.max_concurrency)
    return AccessLog(limited) if access_log else limited  # outside: the 503s are logged too

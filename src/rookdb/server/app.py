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

import datetime as dt
import logging
import re
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
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rookdb import protocol
from rookdb.errors import (
    AuthorizationError,
    ConfigurationError,
    DatabaseDoesNotExistError,
    RookError,
)
from rookdb.ids import (
    HILO_MAX_CAPACITY,
    hilo_capacity,
    validate_database_name,
    validate_hilo_tag,
)
from rookdb.query import Query
from rookdb.server import bulk_insert, documents, operations, patches, streams
from rookdb.server.batches import apply_batch
from rookdb.server.databases import CREATE_HEADER, MISSING_HEADER, Databases, MissingDatabases
from rookdb.server.limits import (
    BodyTimeout,
    BodyTooLarge,
    Limits,
    parse_count,
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
    document_key,
    last_modified_now,
)

__all__ = ["ROUTES", "create_app"]

log = logging.getLogger("rookdb.server")


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(value), status, headers=headers, media_type="application/json; charset=utf-8"
    )


def _error(status: int, type_name: str, message: str) -> Response:
    return _json(protocol.raven_error(type_name, message), status)


class _Server:
    """The routes' shared state: the backend, the limits and who may do what."""

    def __init__(
        self, backend: Backend, limits: Limits, access: Access, missing: MissingDatabases
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.access = access
        self.operations = bulk_insert.Operations()
        self.databases = Databases(backend, missing)
        self.client_etags = operations.ClientEtags()

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
        self.databases.require(name, create=_creates(request))
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
        if isinstance(read, PrefixRead):
            found = await run_in_threadpool(storage.get_prefix, *read)
            etag = protocol.etag_of(found, {})
            unchanged = documents.not_modified(request, etag)
            if unchanged is not None:
                return unchanged
            return _json(
                {"Results": self.documents(request, list(found))},
                headers={"ETag": protocol.etag_header(etag)},
            )
        ids = read.ids
        if request.method == "HEAD" and len(ids) != 1:
            raise ConfigurationError("HEAD docs takes one id=...")
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
        etag = protocol.etag_of(records, result.includes)
        if request.method == "GET" and not (len(ids) == 1 and records[0] is None):
            unchanged = documents.not_modified(request, etag)
            if unchanged is not None:
                return unchanged
        status, answer = self.docs_answer(request, request.method, ids, result)
        if status != 200:
            return _json(answer, status)
        return _json(answer, status, headers={"ETag": protocol.etag_header(etag)})

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
        return 200, {
            "Results": self.documents(request, records, params),
            "Includes": self.includes(request, result.includes),
        }

    async def write_document(self, request: Request) -> Response:
        """``PUT`` / ``DELETE /docs?id=`` (``rookdb.server.documents``), ``PATCH``."""
        storage = self.storage(request, write=True)
        if request.method == "PUT":
            return await documents.put(storage, request, await self.body(request))
        if request.method == "PATCH":  # PatchOperation (rookdb.server.patches)
            return await patches.patch_document(storage, request, await self.body(request))
        return await documents.delete(storage, request)

    async def bulk_docs(self, request: Request) -> Response:
        storage = self.storage(request, write=True)
        batch = protocol.decode_batch(await self.body(request))
        applied = await run_in_threadpool(apply_batch, storage, batch)
        return _json(protocol.encode_batch_result(batch, applied.result, applied.patched), 201)

    # -- queries -----------------------------------------------------------------------------

    async def queries(self, request: Request) -> Response:
        storage = self.storage(request, write=False)
        query = query_read(await self.body(request)).query
        result = await run_in_threadpool(storage.query, query)
        return _json(self.query_answer(request, query, result))

    async def queries_by_query(self, request: Request) -> Response:
        """``PATCH`` / ``DELETE /queries`` (``rookdb.server.patches.by_query``)."""
        storage = self.storage(request, write=True)
        body = await self.body(request)
        return _json(await patches.by_query(storage, self.operations, request, body))

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
            results = [
                _fragment(protocol.encode_projection(projection, record, query.distinct))
                for projection, record in zip_longest(result.projections, result.records)
                if projection is not None
            ]
        now = last_modified_now()
        return {
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

    async def multi_get(self, request: Request) -> Response:
        return _json(await multi_get(self, request))

    # -- streams and bulk insert (``streams``, ``bulk_insert``) -------------------------------

    async def stream_query(self, request: Request) -> Response:
        return await streams.stream_query(self, request)

    async def stream_docs(self, request: Request) -> Response:
        return await streams.stream_docs(self, request)

    async def bulk_insert(self, request: Request) -> Response:
        return await bulk_insert.bulk_insert(self, request)

    async def next_operation_id(self, request: Request) -> Response:
        return await bulk_insert.next_operation_id(self, request)

    async def operation_state(self, request: Request) -> Response:
        return await bulk_insert.operation_state(self, request)

    async def kill_operation(self, request: Request) -> Response:
        return await bulk_insert.kill_operation(self, request)

    # -- HiLo --------------------------------------------------------------------------------

    async def hilo_next(self, request: Request) -> Response:
        """A HiLo range: ``Raven/Hilo/<tag>``'s ``Max`` raised (``storage.relational.hilo``).
        RavenDB's clients send the size and time of their last range and let the server size
        the next one by RavenDB's rule (``ids.hilo_capacity``); rookdb's client, which keeps
        the same rule, sends ``capacity``. ``lastMax``: the top of the client's last range."""
        storage = self.storage(request, write=True)
        params = request.query_params
        tag = validate_hilo_tag(params.get("tag"))
        if "capacity" in params:  # rookdb's client chooses its range size
            capacity = parse_count(params["capacity"], "capacity")
        else:
            last = parse_count(params.get("lastBatchSize", "0"), "lastBatchSize")
            capacity = hilo_capacity(last, _parse_time(params.get("lastRangeAt") or ""))
        capacity = min(max(capacity, 1), HILO_MAX_CAPACITY)
        last_max = parse_count(params.get("lastMax", "0"), "lastMax")
        low, high = await run_in_threadpool(storage.reserve_ids, tag, capacity, last_max)
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
        if name is not None and not self.databases.exists(name):
            # RavenDB's clients ask first of all for the topology: this is where a RavenDB
            # user learns that the database does not exist (unless it may be created).
            self.databases.require(name, create=_creates(request))
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
                "Etag": 1,
            }
        )

    # -- identities and the client configuration (``rookdb.server.operations``) -------------

    async def identity_next(self, request: Request) -> Response:
        return _json(await operations.identity_next(self, request))

    async def identity_seed(self, request: Request) -> Response:
        return _json(await operations.identity_seed(self, request))

    async def identities(self, request: Request) -> Response:
        return _json(await operations.identities(self, request))

    async def client_configuration(self, request: Request) -> Response:
        return _json(await operations.client_configuration(self, request))

    async def put_client_configuration(self, request: Request) -> Response:
        await operations.put_client_configuration(self, request)
        return Response(status_code=204)

    async def refresh_client_configuration(self, request: Request, response: Response) -> None:
        """Ask a RavenDB client to read the client configuration again when the one it holds
        (its ``Client-Configuration-Etag``) is not the database's (``operations``)."""
        held = request.headers.get("client-configuration-etag")
        database = request.path_params.get("database")
        if held is None or database is None or response.status_code >= 400:
            return
        storage = self.backend.database(database)
        etags = self.client_etags
        if etags.known(database) is None:
            needed = await run_in_threadpool(etags.refresh_needed, storage, database, held)
        else:
            needed = etags.refresh_needed(storage, database, held)
        if needed:
            response.headers["Refresh-Client-Configuration"] = "true"

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
        if request.method == "GET":  # the database record (GetDatabaseRecordOperation)
            wanted = validate_database_name(request.query_params.get("name"))
            if not await run_in_threadpool(self.databases.exists, wanted):
                # RavenDB's clients read a 404 as "no such database" (a None record)
                return _error(404, "Database.DatabaseDoesNotExistException", f"no {wanted!r}")
            return _json(protocol.database_record(wanted))
        if request.method == "PUT":
            name = request.query_params.get("name")
            if name is None:
                body = await self.body(request)
                name = body.get("DatabaseName") if type(body) is dict else None
            name = validate_database_name(name)
            await run_in_threadpool(self.backend.create_database, name)
            self.databases.created(name)
            return _json(
                {
                    "RaftCommandIndex": 1,
                    "Name": name,
                    "Topology": protocol.database_topology(),
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
            try:
                await run_in_threadpool(self.backend.delete_database, name)
            finally:
                self.databases.deleted(name)
        return _json({"RaftCommandIndex": 1, "PendingDeletes": []})

    async def stats(self, request: Request) -> Response:
        stats = await run_in_threadpool(self.backend.statistics, self.database(request, False))
        return _json(protocol.encode_statistics(stats))

    async def collection_stats(self, request: Request) -> Response:
        stats = await run_in_threadpool(self.backend.statistics, self.database(request, False))
        return _json(protocol.encode_collection_statistics(stats))


def _creates(request: Request) -> bool:
    """Whether the client asks for its database to be created on first use (rookdb's does)."""
    return request.headers.get(CREATE_HEADER, "").lower() == "true"


def _fragment(value: Any) -> orjson.Fragment:
    """``value`` (a document, a projection) as JSON to put into an answer as it is: a document
    may nest as deep as orjson writes, which the levels of the answer around it would pass."""
    return orjson.Fragment(orjson.dumps(value))


def _parse_time(text: str) -> dt.datetime | None:
    """A client's ``lastRangeAt`` (ISO 8601, up to 7 fractional digits, maybe ``Z``), or None
    when there is none or it does not parse: the first range's size then."""
    match = re.fullmatch(
        r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?", text
    )
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        moment = dt.datetime.fromisoformat(whole + "." + (fraction or "0")[:6].ljust(6, "0"))
    except ValueError:
        return None
    if zone and zone != "Z":
        return moment.replace(tzinfo=dt.datetime.fromisoformat(whole + zone).tzinfo)
    return moment.replace(tzinfo=dt.timezone.utc)


_DB = "/databases/{database}"

#: Every route the server implements: (path, ``_Server`` method, HTTP methods). Anything else
#: is a 501 (or a 405 for another method on one of these paths).
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (f"{_DB}/docs", "docs", ("GET", "HEAD", "POST")),
    (f"{_DB}/docs", "write_document", ("PUT", "DELETE", "PATCH")),
    (f"{_DB}/bulk_docs", "bulk_docs", ("POST",)),
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
    (f"{_DB}/collections/stats", "collection_stats", ("GET",)),
    (f"{_DB}/configuration/client", "client_configuration", ("GET", "HEAD")),
    (f"{_DB}/admin/configuration/client", "put_client_configuration", ("PUT",)),
    (f"{_DB}/identity/next", "identity_next", ("POST",)),
    (f"{_DB}/identity/seed", "identity_seed", ("POST",)),
    (f"{_DB}/debug/identities", "identities", ("GET",)),
    ("/topology", "topology", ("GET",)),
    ("/cluster/topology", "cluster_topology", ("GET",)),
    ("/databases", "list_databases", ("GET",)),
    ("/admin/databases", "admin_databases", ("GET", "PUT", "DELETE")),
)

Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(endpoint: Endpoint, server: _Server) -> Endpoint:
    """Turn every failure into a RavenDB-style answer; never a stack trace to the client."""

    async def run(request: Request) -> Response:
        try:
            response = await endpoint(request)
            await server.refresh_client_configuration(request, response)
            return response
        except BodyTooLarge:
            return _error(413, "BadRequestException", "the request body is over the server's limit")
        except BodyTimeout:
            return _error(408, "BadRequestException", "the client stopped sending the body")
        except DatabaseDoesNotExistError as exc:  # as RavenDB: 503 and Database-Missing
            name = request.path_params.get("database") or request.query_params.get("name", "")
            body = protocol.error_body(exc)
            return _json(body, protocol.error_status(exc), headers={MISSING_HEADER: name})
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
    missing_databases: MissingDatabases = MissingDatabases.ERROR,
) -> ASGIApp:
    """The ASGI application serving ``backend``'s databases over RavenDB's HTTP protocol;
    with ``access_log``, a line per request on the ``rookdb.server.access`` logger;
    ``missing_databases``: what a request to a database that does not exist gets
    (``rookdb.server.databases``)."""
    limits = limits or Limits()
    server = _Server(backend, limits, access or OpenAccess(), missing_databases)
    routes = [
        Route(path, _guarded(getattr(server, handler), server), methods=list(methods))
        for path, handler, methods in ROUTES
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_supported
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False  # "/databases/" is outside the subset, as in RavenDB
    limited = _ConcurrencyLimit(app, limits.max_concurrency)
    return AccessLog(limited) if access_log else limited  # outside: the 503s are logged too

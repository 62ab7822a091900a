"""Which databases a ``rookdb serve`` request may use: the ones that exist, or any, by policy.

RavenDB answers a request to a database that does not exist with ``503`` and a
``Database-Missing`` header, which its clients raise as ``DatabaseDoesNotExistException``; a
database is made with ``CreateDatabaseOperation`` (``PUT /admin/databases``). rookdb's
embedded backends create a database on first use instead, and so does rookdb's own http
client, which says so on each request (``CREATE_HEADER``), so that the same code runs
embedded and served. ``rookdb serve`` answers every other client as RavenDB does, unless it
was started with ``--create-databases`` (``MissingDatabases.CREATE``): then it creates a
database on first use for every client.

The routes of database administration live here too: the topology RavenDB's clients ask for
first, ``/databases``, ``/admin/databases`` (create, read the record of, delete) and the
statistics.

Existence is asked of the backend once per name (``list_databases``) and remembered; the
server forgets a name when it deletes that database. (A database deleted behind the server's
back, by another process on the same storage, is created again on its next use.)
"""

from __future__ import annotations

import contextlib
import enum
import threading
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb import protocol
from rookdb.errors import (
    AuthorizationError,
    ConfigurationError,
    DatabaseAlreadyExistsError,
    DatabaseDoesNotExistError,
    shown,
)
from rookdb.ids import MAX_DATABASE_NAME_LENGTH, validate_database_name
from rookdb.server.answers import error_response, json_response
from rookdb.server.limits import parse_count
from rookdb.storage.base import Backend

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = [
    "CREATE_HEADER",
    "MISSING_HEADER",
    "Databases",
    "MissingDatabases",
    "admin_databases",
    "cluster_topology",
    "collection_stats",
    "creates",
    "list_databases",
    "stats",
    "topology",
]

#: The request header with which rookdb's client asks for its database to be created on first
#: use (as on every embedded backend), whatever the server's policy.
CREATE_HEADER = protocol.CREATE_DATABASE_HEADER
#: RavenDB's answer header naming a database that does not exist.
MISSING_HEADER = protocol.DATABASE_MISSING_HEADER


class MissingDatabases(enum.Enum):
    """What ``rookdb serve`` does with a request to a database that does not exist."""

    #: RavenDB's behaviour (the default): ``DatabaseDoesNotExistException`` in the client.
    ERROR = "error"
    #: Create it, as the embedded backends do (``rookdb serve --create-databases``).
    CREATE = "create"


class Databases:
    """The server's view of which databases exist (``Backend.list_databases``), remembered."""

    def __init__(self, backend: Backend, missing: MissingDatabases) -> None:
        self.backend = backend
        self.missing = missing
        self._lock = threading.Lock()
        self._known: set[str] = set()  # lower-cased: names are case-insensitive

    def exists(self, name: str) -> bool:
        """Whether database ``name`` exists (any case). Asks the backend the first time only."""
        key = name.lower()
        if key in self._known:  # every request asks: no lock (a set lookup is atomic)
            return True
        found = {listed.lower() for listed in self.backend.list_databases()}
        with self._lock:
            self._known |= found
            return key in self._known

    def require(self, name: str, create: bool) -> None:
        """Raise ``DatabaseDoesNotExistError`` unless ``name`` exists or may be created on
        first use here (``create``: the client asked to, or the server's policy says so)."""
        if self.exists(name):
            return
        if create or self.missing is MissingDatabases.CREATE:
            # Created meanwhile (by another request, another process): there it is.
            with contextlib.suppress(DatabaseAlreadyExistsError):
                self.backend.create_database(name)
            self.created(name)
            return
        raise DatabaseDoesNotExistError(
            f"Database '{name}' does not exist (create it with CreateDatabaseOperation, or "
            "start rookdb serve with --create-databases)"
        )

    def created(self, name: str) -> None:
        with self._lock:
            self._known.add(name.lower())

    def deleted(self, name: str) -> None:
        with self._lock:
            self._known.discard(name.lower())


def creates(request: Request) -> bool:
    """Whether the client asks for its database to be created on first use (rookdb's does)."""
    return request.headers.get(CREATE_HEADER, "").lower() == "true"


def _node(request: Request, database: str | None) -> dict[str, Any]:
    url = f"{request.url.scheme}://{request.url.netloc}"
    node = {"Url": url, "ClusterTag": protocol.SERVER_TAG, "ServerRole": "Member"}
    if database is not None:
        node["Database"] = database
    return node


async def topology(server: _Server, request: Request) -> Response:
    name = request.query_params.get("name")
    # Without a database this describes the server, as /cluster/topology does, and needs
    # the same access: a key for every database ("*"), when there are keys.
    server.allow(request, None if name is None else validate_database_name(name))
    if name is not None and not server.databases.exists(name):
        # RavenDB's clients ask first of all for the topology: this is where a RavenDB
        # user learns that the database does not exist (unless it may be created).
        server.databases.require(name, create=creates(request))
    return json_response({"Nodes": [_node(request, name)], "Etag": 1})


async def cluster_topology(server: _Server, request: Request) -> Response:
    server.allow(request, None)
    url = _node(request, None)["Url"]
    nodes = {protocol.SERVER_TAG: url}
    return json_response(
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


async def list_databases(server: _Server, request: Request) -> Response:
    # As RavenDB lists the databases a certificate may use: every one for an admin, and
    # for any other key those it may read (so a tool can see that its database exists).
    try:
        server.allow(request, None)  # a key that may read every database, or no keys
        every = True
    except AuthorizationError:  # a valid key, for some databases only
        every = False
    # Paged in RavenDB's order, by name without case (its records' keys are lower case).
    names = sorted(await run_in_threadpool(server.backend.list_databases), key=str.lower)
    if not every:
        names = [name for name in names if _readable(server, request, name)]
    start = parse_count(request.query_params.get("start", "0"), "start")
    page_size = parse_count(request.query_params.get("pageSize", str(2**31)), "pageSize")
    return json_response({"Databases": names[start : start + page_size]})


def _readable(server: _Server, request: Request, database: str) -> bool:
    try:
        server.allow(request, database)
    except AuthorizationError:
        return False
    return True


async def admin_databases(server: _Server, request: Request) -> Response:
    server.allow(request, None, write=True, admin=True)
    # HEAD too: Starlette routes it with GET; it must never reach the delete below.
    if request.method in ("GET", "HEAD"):  # the record (GetDatabaseRecordOperation)
        wanted = validate_database_name(request.query_params.get("name"))
        if not await run_in_threadpool(server.databases.exists, wanted):
            # RavenDB's clients read a 404 as "no such database" (a None record)
            return error_response(
                404,
                "Database.DatabaseDoesNotExistException",
                f"no {shown(wanted, limit=MAX_DATABASE_NAME_LENGTH)}",
            )
        return json_response(protocol.database_record(wanted))
    if request.method == "PUT":
        name = request.query_params.get("name")
        if name is None:
            body = await server.body(request)
            name = body.get("DatabaseName") if type(body) is dict else None
        name = validate_database_name(name)
        await run_in_threadpool(server.backend.create_database, name)
        server.databases.created(name)
        return json_response(
            {
                "RaftCommandIndex": 1,
                "Name": name,
                "Topology": protocol.database_topology(),
                "NodesAddedTo": [_node(request, None)["Url"]],
            }
        )
    body = await server.body(request)
    names = body.get("DatabaseNames") if type(body) is dict else None
    if type(names) is not list:
        raise ConfigurationError('deleting databases takes {"DatabaseNames": [...]}')
    for name in names:
        validate_database_name(name)
    for name in names:
        try:
            await run_in_threadpool(server.backend.delete_database, name)
        finally:
            server.databases.deleted(name)
    return json_response({"RaftCommandIndex": 1, "PendingDeletes": []})


async def stats(server: _Server, request: Request) -> Response:
    database = server.database(request, False)
    stats = await run_in_threadpool(server.backend.statistics, database)
    stale = await run_in_threadpool(_stale_indexes, server, request)
    return json_response(protocol.encode_statistics(stats, stale=stale))


def _stale_indexes(server: _Server, request: Request) -> set[str]:
    """The indexes the server is still building over the documents already there (blocking:
    run it in a worker thread)."""
    storage = server.storage(request, False)
    if not storage.capabilities.indexes:  # a backend that keeps no user-defined indexes
        return set()
    return {s.name for s in storage.index_statistics(None) if s.is_stale}


async def detailed_stats(server: _Server, request: Request) -> Response:
    """RavenDB's ``GetDetailedStatisticsOperation``: the statistics, with the count of
    identities (rookdb has no compare-exchange values: 0)."""
    database = server.database(request, False)
    stats = await run_in_threadpool(server.backend.statistics, database)
    identities = await run_in_threadpool(server.storage(request, False).get_identities)
    stale = await run_in_threadpool(_stale_indexes, server, request)
    return json_response(
        {
            **protocol.encode_statistics(stats, stale=stale),
            "CountOfIdentities": len(identities),
            "CountOfCompareExchange": 0,
            "CountOfCompareExchangeTombstones": 0,
            "CountOfTimeSeriesDeletedRanges": 0,
        }
    )


async def collection_stats(server: _Server, request: Request) -> Response:
    stats = await run_in_threadpool(server.backend.statistics, server.database(request, False))
    return json_response(protocol.encode_collection_statistics(stats))

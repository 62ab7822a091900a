"""The routes of ``rookdb serve``'s RavenDB protocol: every path and method the server
implements (``ROUTES``), what serves each, and the guard around each.

A route is served by a function of its route module (``attachments``, ``indexes``,
``revisions``...), given the server's shared state (``app._Server``) and the request, or else by
the ``_Server`` method of its name (the document and query routes). The guard makes every
failure a RavenDB-style answer, never a stack trace: a body over the limit is a 413, one that
stops arriving a 408, a database that does not exist a 503 with the ``Database-Missing``
header (as RavenDB), rookdb's errors their own status, and a bug a 500 that says no more
(logged on ``rookdb.server``). A path outside the table is a 501, another method on one of its
paths a 405 (``not_supported``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from rookdb import protocol
from rookdb.errors import DatabaseDoesNotExistError, RookError
from rookdb.server import (
    attachments,
    bulk_insert,
    configuration,
    counters,
    databases,
    hilo,
    identities,
    indexes,
    revisions,
    streams,
)
from rookdb.server.answers import error_response, json_response
from rookdb.server.databases import MISSING_HEADER
from rookdb.server.limits import BodyTimeout, BodyTooLarge, nested_too_deep

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["ROUTES", "Endpoint", "endpoint_of", "guarded", "not_supported"]

log = logging.getLogger("rookdb.server")

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


def endpoint_of(server: _Server, name: str) -> Endpoint:
    """What serves the route ``name`` (``ROUTES``): its route module's function, given
    ``server``, or else the ``_Server`` method of that name."""
    function = _FUNCTIONS.get(name)
    if function is not None:
        return functools.partial(function, server)
    endpoint: Endpoint = getattr(server, name)
    return endpoint


def guarded(endpoint: Endpoint, server: _Server) -> Endpoint:
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


async def not_supported(request: Request, exc: Exception) -> Response:
    """The answer to an HTTP error of the router (Starlette's ``HTTPException``): a path no
    route has is a 501, another method on a route's path a 405."""
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

"""The routes of RavenDB's client configuration.

- ``GET /databases/{db}/configuration/client`` (``GetClientConfigurationOperation``):
  ``{"Etag": n, "Configuration": {...} | null}``;
- ``PUT /databases/{db}/admin/configuration/client`` (``PutClientConfigurationOperation``):
  the body is the ``ClientConfiguration``;
- ``GET /configuration/client`` and ``PUT /admin/configuration/client``: the server-wide one
  (``Get/PutServerWideClientConfigurationOperation``), which a database's clients get where
  the database has none or its own is disabled
  (``rookdb.storage.identities.effective_client_configuration``).

RavenDB's clients send the etag of the configuration they hold (``Client-Configuration-Etag``)
with each request; an answer carries ``Refresh-Client-Configuration: true`` when the
database's differs, and the client then reads it (``refresh_needed``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import AuthorizationError, ConfigurationError
from rookdb.server.answers import json_response
from rookdb.storage.base import Backend, Storage
from rookdb.storage.identities import check_client_configuration, effective_client_configuration

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = [
    "client_configuration",
    "put_client_configuration",
    "put_server_client_configuration",
    "refresh",
    "refresh_needed",
    "server_client_configuration",
]


async def client_configuration(server: _Server, request: Request) -> Response:
    """The database's client configuration, or the server-wide one where it has none or its
    own is disabled (``inherit=false``: the database's own only), as RavenDB answers."""
    name = server.database(request, write=False)
    inherit = (request.query_params.get("inherit") or "true").lower()
    if inherit not in ("true", "false"):
        raise ConfigurationError("inherit is true or false")
    etag, configuration = await run_in_threadpool(
        _client_configuration, server.backend, name, inherit == "true"
    )
    return json_response({"Etag": etag, "Configuration": configuration})


async def put_client_configuration(server: _Server, request: Request) -> Response:
    name = server.database(request, write=True)
    server.allow(request, name, write=True, admin=True)
    configuration = check_client_configuration(await server.body(request))
    storage: Storage = server.backend.database(name)
    await run_in_threadpool(storage.put_client_configuration, configuration)
    return Response(status_code=204)


async def server_client_configuration(server: _Server, request: Request) -> Response:
    """``GET /configuration/client`` (``GetServerWideClientConfigurationOperation``): the
    server-wide configuration with its ``Etag``, or null."""
    with contextlib.suppress(AuthorizationError):  # any valid credentials, as RavenDB's
        server.allow(request, None)
    etag, configuration = await run_in_threadpool(server.backend.get_server_client_configuration)
    return json_response(None if configuration is None else {**configuration, "Etag": etag})


async def put_server_client_configuration(server: _Server, request: Request) -> Response:
    """``PUT /admin/configuration/client`` (``PutServerWideClientConfigurationOperation``)."""
    server.allow(request, None, write=True, admin=True)
    configuration = check_client_configuration(await server.body(request))
    await run_in_threadpool(server.backend.put_server_client_configuration, configuration)
    return Response(status_code=204)


async def refresh(server: _Server, request: Request, response: Response) -> None:
    """Ask a RavenDB client to read the client configuration again when the one it holds
    (its ``Client-Configuration-Etag``) is not the database's."""
    held = request.headers.get("client-configuration-etag")
    database = request.path_params.get("database")
    # Any answer of a database that exists (a missing document's 404 too, the most common
    # first read), not one to a request that was refused or failed.
    status = response.status_code
    if held is None or database is None or status >= 500 or status in (401, 403):
        return
    if await run_in_threadpool(refresh_needed, server.backend, database, held):
        response.headers["Refresh-Client-Configuration"] = "true"


def refresh_needed(backend: Backend, database: str, client_etag: str) -> bool:
    """True when a RavenDB client holding ``client_etag`` (its ``Client-Configuration-Etag``)
    should read the configuration again: the database's effective one has another etag.
    Read from storage on every request, never remembered: another server on the same storage
    may have changed it."""
    etag, _ = _client_configuration(backend, database, inherit=True)
    return etag != 0 and client_etag.strip('"') != str(etag)


def _client_configuration(
    backend: Backend, database: str, inherit: bool
) -> tuple[int, dict[str, Any] | None]:
    own = backend.database(database).get_client_configuration()
    if not inherit:
        return own
    return effective_client_configuration(own, backend.get_server_client_configuration())

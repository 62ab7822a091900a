"""The routes of RavenDB's identity and client-configuration operations.

- ``POST /databases/{db}/identity/next?name=users`` (``NextIdentityForOperation``):
  ``{"NewIdentityValue": n}``;
- ``POST /databases/{db}/identity/seed?name=users&value=n[&force=true]``
  (``SeedIdentityForOperation``): ``{"NewSeedValue": n}``;
- ``GET /databases/{db}/debug/identities`` (``GetIdentitiesOperation``): ``{"users|": n}``;
- ``GET /databases/{db}/configuration/client`` (``GetClientConfigurationOperation``):
  ``{"Etag": n, "Configuration": {...} | null}``;
- ``PUT /databases/{db}/admin/configuration/client`` (``PutClientConfigurationOperation``):
  the body is the ``ClientConfiguration``.

RavenDB's clients send the etag of the configuration they hold (``Client-Configuration-Etag``)
with each request; an answer carries ``Refresh-Client-Configuration: true`` when the
database's differs, and the client then reads it (``ClientEtags``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from rookdb.errors import ConfigurationError
from rookdb.server.limits import parse_count
from rookdb.storage.base import Storage
from rookdb.storage.identities import check_client_configuration

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = [
    "ClientEtags",
    "client_configuration",
    "identities",
    "identity_next",
    "identity_seed",
    "put_client_configuration",
]


async def identity_next(server: _Server, request: Request) -> dict[str, Any]:
    storage = server.storage(request, write=True)
    name = request.query_params.get("name")
    value = await run_in_threadpool(storage.next_identity, name)  # type: ignore[arg-type]
    return {"NewIdentityValue": value}


async def identity_seed(server: _Server, request: Request) -> dict[str, Any]:
    storage = server.storage(request, write=True)
    params = request.query_params
    value = parse_count(params.get("value") or "", "value")
    force = (params.get("force") or "false").lower()
    if force not in ("true", "false"):
        raise ConfigurationError("force is true or false")
    seeded = await run_in_threadpool(
        storage.seed_identity,
        params.get("name"),  # type: ignore[arg-type]
        value,
        force == "true",
    )
    return {"NewSeedValue": seeded}


async def identities(server: _Server, request: Request) -> dict[str, int]:
    storage = server.storage(request, write=False)
    return await run_in_threadpool(storage.get_identities)


async def client_configuration(server: _Server, request: Request) -> dict[str, Any]:
    name = server.database(request, write=False)
    etag, configuration = await run_in_threadpool(
        server.backend.database(name).get_client_configuration
    )
    server.client_etags.seen(name, etag)
    return {"Etag": etag, "Configuration": configuration}


async def put_client_configuration(server: _Server, request: Request) -> None:
    name = server.database(request, write=True)
    server.allow(request, name, write=True, admin=True)
    configuration = check_client_configuration(await server.body(request))
    storage: Storage = server.backend.database(name)
    etag = await run_in_threadpool(storage.put_client_configuration, configuration)
    server.client_etags.seen(name, etag)


class ClientEtags:
    """The client-configuration etag of each database, as this server last saw it: read once
    per database (the first request that carries a client's etag), then kept up to date by
    the puts this server serves. (A put through another server sharing the database is seen
    after a restart.)"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._etags: dict[str, int] = {}

    def seen(self, database: str, etag: int) -> None:
        with self._lock:
            self._etags[database.lower()] = etag

    def known(self, database: str) -> int | None:
        return self._etags.get(database.lower())

    def refresh_needed(self, storage: Storage, database: str, client_etag: str) -> bool:
        """True when a client holding ``client_etag`` (the header's value) should read the
        configuration again: the database has one, under another etag."""
        etag = self.known(database)
        if etag is None:
            etag = storage.get_client_configuration()[0]
            self.seen(database, etag)
        return etag != 0 and client_etag.strip('"') != str(etag)

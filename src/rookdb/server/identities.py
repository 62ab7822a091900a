"""The routes of RavenDB's identity operations (the counters behind ids ending in ``|``):

- ``POST /databases/{db}/identity/next?name=users`` (``NextIdentityForOperation``):
  ``{"NewIdentityValue": n}``;
- ``POST /databases/{db}/identity/seed?name=users&value=n[&force=true]``
  (``SeedIdentityForOperation``): ``{"NewSeedValue": n}``;
- ``GET /databases/{db}/debug/identities`` (``GetIdentitiesOperation``): ``{"users|": n}``,
  names lower-cased as RavenDB reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import ConfigurationError
from rookdb.server.answers import json_response
from rookdb.server.limits import parse_count

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["identities", "identity_next", "identity_seed"]


async def identity_next(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=True)
    name = request.query_params.get("name")
    value = await run_in_threadpool(storage.next_identity, name)  # type: ignore[arg-type]
    return json_response({"NewIdentityValue": value})


async def identity_seed(server: _Server, request: Request) -> Response:
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
    return json_response({"NewSeedValue": seeded})


async def identities(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    return json_response(await run_in_threadpool(storage.get_identities))

"""The routes of RavenDB's revisions, as its client calls them.

- ``POST /databases/{db}/admin/revisions/config`` (``ConfigureRevisionsOperation``): the body
  is a ``RevisionsConfiguration``; ``{"RaftCommandIndex": n}``;
- ``GET /databases/{db}/revisions?id=..[&start=&pageSize=&metadataOnly=true]``: a document's
  revisions, the newest first, ``{"Results": [...], "TotalResults": n}``;
- ``GET /databases/{db}/revisions?changeVector=..[&changeVector=..]``: ``{"Results": [...]}``,
  one revision or null per change vector, in order;
- ``GET /databases/{db}/revisions/count?id=..``: ``{"RevisionsCount": n}``.

A ``GET /revisions`` item of a multi_get (RavenDB's lazy revisions) is answered by the same
``answer``, after the items storage reads in one snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import ConfigurationError
from rookdb.ids import validate_id
from rookdb.server.answers import json_response
from rookdb.server.limits import parse_count
from rookdb.storage.base import Storage
from rookdb.storage.revisions_config import check_configuration

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["answer", "configure", "count", "revisions"]


async def configure(server: _Server, request: Request) -> Response:
    name = server.database(request, write=True)
    server.allow(request, name, write=True, admin=True)
    configuration = check_configuration(await server.body(request))
    storage = server.backend.database(name)
    index = await run_in_threadpool(storage.configure_revisions, configuration)
    return json_response({"RaftCommandIndex": index})


def _id(params: QueryParams) -> str:
    document_id = params.get("id")
    if document_id is None:
        raise ConfigurationError("revisions are read by id or by changeVector")
    validate_id(document_id)
    return document_id


def answer(server: _Server, request: Request, storage: Storage, params: QueryParams) -> Any:
    """The answer of ``GET /revisions`` with ``params`` (the route's, or a multi_get item's);
    blocking: run it in a worker thread."""
    change_vectors = params.getlist("changeVector")
    if change_vectors:
        found = storage.get_revisions_by_change_vector(change_vectors)
        records = [found.get(cv) for cv in change_vectors]
        return {"Results": server.documents(request, records, params)}
    document_id = _id(params)
    start = parse_count(params.get("start") or "0", "start")
    page_size = parse_count(params.get("pageSize") or "25", "pageSize")
    page = storage.get_revisions(document_id, start, page_size)
    return {
        "Results": server.documents(request, list(page.records), params),
        "TotalResults": page.total,
    }


async def revisions(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    params = request.query_params
    return json_response(await run_in_threadpool(answer, server, request, storage, params))


async def count(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    page = await run_in_threadpool(storage.get_revisions, _id(request.query_params), 0, 0)
    return json_response({"RevisionsCount": page.total})

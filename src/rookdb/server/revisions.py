"""The routes of RavenDB's revisions, as its client calls them.

- ``POST /databases/{db}/admin/revisions/config`` (``ConfigureRevisionsOperation``): the body
  is a ``RevisionsConfiguration``; ``{"RaftCommandIndex": n}``;
- ``GET /databases/{db}/revisions/config``: the configuration kept, a 204 before any;
- ``POST /databases/{db}/admin/revisions/import`` (rookdb's, for ``rookdb import`` into a
  server; RavenDB imports through its smuggler): ``{"Revisions": [...]}`` as an export
  writes them, kept as they are (``Storage.import_revisions``); ``{"Imported": n}``;
- ``GET /databases/{db}/revisions?id=..[&start=&pageSize=&metadataOnly=true]``: a document's
  revisions, the newest first, ``{"Results": [...], "TotalResults": n}``;
- ``GET /databases/{db}/revisions?changeVector=..[&changeVector=..]``: ``{"Results": [...]}``,
  one revision or null per change vector, in order;
- ``GET /databases/{db}/revisions?id=..&before=..``: ``{"Results": [revision]}``, the newest
  revision at or before that time (UTC when it names no zone), a 404 when there is none
  (a multi_get item's 404 has a null ``Result``, as RavenDB's lazy reads expect);
  RavenDB's Python client sends ``&before<time>`` (no ``=``), read as the same;
- ``GET /databases/{db}/revisions/count?id=..``: ``{"RevisionsCount": n}``;
- ``GET /databases/{db}/revisions/bin?start=&pageSize=`` (the client's
  ``GetRevisionsBinEntryCommand``): ``{"Results": [...]}``, the delete revisions of deleted
  documents, the newest delete first (``start`` skips that many; ``pageSize`` 1,024 unless
  given, where RavenDB's is unbounded).

A ``GET /revisions`` item of a multi_get (RavenDB's lazy revisions) is answered by the same
``answer`` (None: a 404), after the items storage reads in one snapshot.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import ConfigurationError, shown
from rookdb.ids import validate_id
from rookdb.serialization.scalars import decode_datetime
from rookdb.server.answers import error_response, json_response
from rookdb.server.limits import parse_count, parse_document, read_body
from rookdb.storage.base import Storage
from rookdb.storage.revisions_config import check_configuration, check_revision

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = [
    "answer",
    "bin_entries",
    "configuration",
    "configure",
    "count",
    "import_revisions",
    "revisions",
]


async def configure(server: _Server, request: Request) -> Response:
    name = server.database(request, write=True)
    server.allow(request, name, write=True, admin=True)
    configuration = check_configuration(await server.body(request))
    storage = server.backend.database(name)
    index = await run_in_threadpool(storage.configure_revisions, configuration)
    return json_response({"RaftCommandIndex": index})


async def configuration(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    kept = await run_in_threadpool(storage.get_revisions_configuration)
    return Response(status_code=204) if kept is None else json_response(kept)


async def import_revisions(server: _Server, request: Request) -> Response:
    name = server.database(request, write=True)
    server.allow(request, name, write=True, admin=True)
    body = parse_document(await read_body(request, server.limits))  # numbers as written
    given = body.get("Revisions") if type(body) is dict else None
    if type(given) is not list:
        raise ConfigurationError('an import of revisions takes {"Revisions": [...]}')
    records = [check_revision(revision) for revision in given]
    storage = server.backend.database(name)
    return json_response({"Imported": await run_in_threadpool(storage.import_revisions, records)})


def _id(params: QueryParams) -> str:
    document_id = params.get("id")
    if document_id is None:
        raise ConfigurationError("revisions are read by id or by changeVector")
    validate_id(document_id)
    return document_id


_BEFORE = "before"


def _before(params: QueryParams) -> dt.datetime | None:
    """The ``before`` time of a by-date read, None for another read. RavenDB's Python client
    writes ``&before2024-01-02T03:04:05.0000000`` (its query string lacks the ``=``): a
    parameter named ``before`` and a time, with no value, is read as the same."""
    text = params.get(_BEFORE)
    if text is None:
        text = next(
            (k[len(_BEFORE) :] for k, v in params.multi_items() if k.startswith(_BEFORE) and not v),
            None,
        )
        if not text:
            return None
    try:
        moment = decode_datetime(text)
    except ValueError:
        moment = None
    if not isinstance(moment, dt.datetime):
        raise ConfigurationError(f"before is an ISO 8601 time, not {shown(text)}")
    return moment


def answer(server: _Server, request: Request, storage: Storage, params: QueryParams) -> Any:
    """The answer of ``GET /revisions`` with ``params`` (the route's, or a multi_get item's),
    None for a 404; blocking: run it in a worker thread."""
    change_vectors = params.getlist("changeVector")
    if change_vectors:
        found = storage.get_revisions_by_change_vector(change_vectors)
        records = [found.get(cv) for cv in change_vectors]
        return {"Results": server.documents(request, records, params)}
    document_id = _id(params)
    before = _before(params)
    if before is not None:
        revision = storage.get_revision_before(document_id, before)
        if revision is None:
            return None
        return {"Results": server.documents(request, [revision], params)}
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
    body = await run_in_threadpool(answer, server, request, storage, params)
    if body is None:  # RavenDB's client reads the 404 of a read as "none" (its body unread)
        wanted = f"no revision of {shown(params.get('id'))} that old"
        return error_response(404, "Documents.DocumentDoesNotExistException", wanted)
    return json_response(body)


async def count(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    page = await run_in_threadpool(storage.get_revisions, _id(request.query_params), 0, 0)
    return json_response({"RevisionsCount": page.total})


async def bin_entries(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    params = request.query_params
    start = parse_count(params.get("start") or "0", "start")
    page_size = parse_count(params.get("pageSize") or "1024", "pageSize")
    records = await run_in_threadpool(storage.get_revisions_bin, start, page_size)
    return json_response({"Results": server.documents(request, list(records), params)})

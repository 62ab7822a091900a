"""``PATCH /docs?id=``: RavenDB's ``PatchOperation``, one document patched in a batch of its
own (``rookdb.storage.patching`` runs it in the storage's transaction); ``PATCH`` and
``DELETE /queries``: ``PatchByQueryOperation`` and ``DeleteByQueryOperation`` (``by_query``).

The body is ``{"Patch": {...}, "PatchIfMissing": {...}}``; the expected change vector comes in
``If-Match``; ``skipPatchIfChangeVectorMismatch=true`` skips instead of failing. The answer is
RavenDB's: 404 when the document does not exist, 304 when the patch was skipped, otherwise
``{"Status", "ModifiedDocument", "ChangeVector", "LastModified", "Collection", "Debug"}`` with
201 for a created document and 200 otherwise. ``test=true`` runs the patch and writes
nothing (the answer adds ``OriginalDocument``); ``debug=true`` adds the original document too.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb import protocol
from rookdb.by_query import check_by_query, delete_by_query, patch_by_query
from rookdb.errors import ConfigurationError
from rookdb.ids import validate_id
from rookdb.patch_protocol import decode_patch_command
from rookdb.server.background import Background
from rookdb.server.bulk_insert import Operations
from rookdb.storage.base import Storage
from rookdb.storage.commands import PatchCommand, PutCommand
from rookdb.storage.patching import Patching
from rookdb.storage.records import PatchReply, WriteResult, document_key

__all__ = ["by_query", "patch_document"]


def _flag(request: Request, name: str) -> bool:
    value = (request.query_params.get(name) or "false").lower()
    if value not in ("true", "false"):
        raise ConfigurationError(f"{name} is true or false")
    return value == "true"


async def patch_document(
    storage: Storage, request: Request, body: Any, written: Any = None
) -> Response:
    """``PATCH /docs?id=``. ``written``: ``body`` read with its numbers kept as written
    (``exact_numbers.keep_digits``), whose typed operations' values are set so."""
    ids = request.query_params.getlist("id")
    if len(ids) != 1:
        raise ConfigurationError("PATCH docs takes one id=...")
    document_id = validate_id(ids[0])
    if type(body) is not dict:
        raise ConfigurationError('a patch is {"Patch": {"Script": ...}, "PatchIfMissing": ...}')
    raw = {
        "Patch": body.get("Patch"),
        "PatchIfMissing": body.get("PatchIfMissing"),
        "SkipPatchIfChangeVectorMismatch": _flag(request, "skipPatchIfChangeVectorMismatch"),
        "ReturnDocument": True,
    }
    kept = body if written is None else written  # the same JSON: the same shape
    as_written = {"Patch": kept.get("Patch"), "PatchIfMissing": kept.get("PatchIfMissing")}
    expected = protocol.unquote_etag(request.headers.get("if-match"))
    command = decode_patch_command(raw, document_id, expected, 0, as_written)
    test, debug = _flag(request, "test"), _flag(request, "debug")
    original = None
    if test or debug:
        found = await run_in_threadpool(storage.get, [document_id])
        record = found.documents.get(document_key(document_id))
        original = None if record is None else protocol.encode_document(record)
    if test:
        reply = await run_in_threadpool(_dry_run, storage, command)
    else:
        applied = (await run_in_threadpool(storage.apply, [command])).replies[0]
        assert isinstance(applied, PatchReply)  # the one command's
        reply = applied
    if reply.status == "DocumentDoesNotExist":
        return Response(status_code=404)
    if reply.status == "Skipped":
        return Response(status_code=304)
    answer: dict[str, Any] = {"Status": reply.status, "Debug": None}
    record = reply.document
    if record is not None:
        answer.update(
            ModifiedDocument=protocol.encode_document(record),
            ChangeVector=record.change_vector or None,
            LastModified=record.last_modified or None,
            Collection=record.collection,
        )
    if test or debug:
        answer["OriginalDocument"] = original
    return Response(
        orjson.dumps(answer),
        201 if reply.status == "Created" else 200,
        media_type="application/json; charset=utf-8",
    )


def _dry_run(storage: Storage, command: PatchCommand) -> PatchReply:
    """The patch's reply as if applied now, with nothing written (``test=true``)."""

    def read(keys: Any) -> dict[str, Any]:
        return storage.get(list(keys)).documents

    def read_counters(keys: Any) -> dict[str, dict[str, int]]:
        return {key: storage.get_counters(key) for key in keys}

    patching = Patching([command], read, None, read_counters)
    written = [WriteResult(c.id, "", "") for c in patching if type(c) is PutCommand]
    reply = patching.result(written).replies[0]
    assert isinstance(reply, PatchReply)
    return reply


async def by_query(
    storage: Storage,
    operations: Operations,
    background: Background,
    request: Request,
    body: Any,
) -> Any:
    """``PATCH /queries`` (``PatchByQueryOperation``: ``{"Query": {"Query": "<RQL> update
    {...}", "QueryParameters": {...}}}``) and ``DELETE /queries`` (``DeleteByQueryOperation``:
    the query itself). A query that cannot run is a 400 now; otherwise the answer is
    RavenDB's ``{"OperationId", "OperationNodeTag"}`` at once, and the operation runs in the
    background (``rookdb.server.background``): ``/operations/state`` tells ``InProgress``,
    then ``Completed`` with ``{"Total": n}`` or ``Faulted`` with the error."""
    patch = request.method == "PATCH"
    if patch:
        body = body.get("Query") if type(body) is dict else None
    if type(body) is not dict or type(body.get("Query")) is not str:
        raise ConfigurationError('a query is {"Query": "<RQL>", "QueryParameters": {...}}')
    parameters = body.get("QueryParameters") or {}
    if type(parameters) is not dict:
        raise ConfigurationError("QueryParameters is an object")
    text: str = body["Query"]
    check_by_query(text, parameters, patch=patch)
    run = patch_by_query if patch else delete_by_query
    operation_id = operations.next_id()
    state = operations.start(operation_id)
    background.start(state, lambda killed: run(storage, text, parameters, killed).total)
    return {"OperationId": operation_id, "OperationNodeTag": protocol.SERVER_TAG}

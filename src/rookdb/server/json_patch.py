"""``PATCH /databases/{db}/json-patch?id=``: RavenDB's ``JsonPatchOperation``, RFC 6902
operations applied on the server to one document.

It is the batch's ``JsonPatch`` command on its own (``rookdb.server.batches``): read, patched
and written under the change vector it was read with, retried when another writer got there
first. The answer is RavenDB's: ``{"Status": "Patched", "ModifiedDocument", "ChangeVector",
"LastModified", "Collection"}``, or ``{"Status": "NotModified"}`` for a patch of ``test``
operations only (checked, nothing written).

A patch that does not apply is a ``PatchError`` (400), nothing written. A document that does
not exist: RavenDB refuses the patch with an error its client raises; rookdb answers a 400 of
RavenDB's ``DocumentDoesNotExistException`` shape (not a 404, which RavenDB's client would
read as an empty result; its ``RookdbError`` names ``DocumentNotFoundError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from rookdb import protocol, protocol_batches
from rookdb.errors import ConfigurationError
from rookdb.ids import validate_id
from rookdb.protocol_batches import JsonPatch
from rookdb.server.batches import apply_batch, apply_json_patch
from rookdb.storage.base import Storage
from rookdb.storage.records import document_key

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["json_patch"]


async def json_patch(server: _Server, request: Request) -> tuple[int, dict[str, Any]]:
    """The status and body of the answer."""
    storage = server.storage(request, write=True)
    document_id = request.query_params.get("id")
    if not document_id:
        raise ConfigurationError("json-patch takes the id of the document: ?id=...")
    validate_id(document_id)
    patch = protocol_batches.decode_json_patch(await server.body(request), document_id)
    if all(operation.get("op") == "test" for operation in patch.operations):
        found = await run_in_threadpool(_check, storage, patch)
        return (200, {"Status": "NotModified"}) if found else _missing(document_id)
    applied = await run_in_threadpool(apply_batch, storage, [patch])
    record = applied.patched.get(0)
    if record is None:
        return _missing(document_id)
    written = applied.result.puts[0]
    document = protocol.encode_document(
        record._replace(change_vector=written.change_vector, last_modified=written.last_modified)
    )
    return 200, {
        "Status": "Patched",
        "ModifiedDocument": document,
        "ChangeVector": written.change_vector,
        "LastModified": written.last_modified,
        "Collection": record.collection,
    }


def _check(storage: Storage, patch: JsonPatch) -> bool:
    """Run a patch of ``test`` operations on the stored document (``PatchError`` if one
    fails); False when there is no such document."""
    record = storage.get((patch.id,)).documents.get(document_key(patch.id))
    if record is None:
        return False
    apply_json_patch(orjson.loads(record.data), patch.operations)
    return True


def _missing(document_id: str) -> tuple[int, dict[str, Any]]:
    body = protocol.raven_error(
        "Documents.DocumentDoesNotExistException",
        f"Cannot apply json patch because the document {document_id} does not exist",
    )
    body["RookdbError"] = "DocumentNotFoundError"
    return 400, body

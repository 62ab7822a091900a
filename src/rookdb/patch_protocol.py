"""RavenDB's wire shapes of patches: the ``PATCH`` batch command, its reply, and the body of
``PATCH /docs`` (``PatchOperation``).

A ``PatchRequest`` is ``{"Script": ..., "Values": {...}}``. rookdb's own client adds the typed
operations it was made from (``RookdbOperations``), so that rookdb's server applies them in
Python, exactly as an embedded store does; a RavenDB server ignores the field and runs the
script.
"""

from __future__ import annotations

from typing import Any

import orjson

from rookdb.errors import ConfigurationError, ProtocolError, shown
from rookdb.patches import PatchOperation, decode_operations, encode_operations
from rookdb.serialization.encoding import dumps
from rookdb.storage.commands import PatchCommand, PatchRequest
from rookdb.storage.records import DocumentRecord, PatchReply

__all__ = [
    "PATCH_STATUSES",
    "decode_patch_command",
    "decode_patch_reply",
    "decode_patch_request",
    "encode_patch_command",
    "encode_patch_reply",
    "encode_patch_request",
]

#: RavenDB's ``PatchStatus`` values.
PATCH_STATUSES = frozenset(("DocumentDoesNotExist", "Created", "Patched", "Skipped", "NotModified"))


def encode_patch_request(request: PatchRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"Script": request.script, "Values": request.values}
    if request.operations:
        body["RookdbOperations"] = encode_operations(request.operations)
    return body


def decode_patch_request(raw: Any, what: str, written: Any = None) -> PatchRequest:
    """A ``PatchRequest`` body; ``ConfigurationError`` (a 400) when malformed. ``written``: the
    same body read with its numbers kept as written (``exact_numbers.keep_digits``), whose
    typed operations' values are set (``patches.decode_operations``)."""
    if type(raw) is not dict:
        raise ConfigurationError(f'{what} is {{"Script": "...", "Values": {{...}}}}')
    script = raw.get("Script")
    values = raw.get("Values")
    if values is None:
        values = {}
    if type(values) is not dict:
        raise ConfigurationError(f"{what}: Values must be an object")
    operations: tuple[PatchOperation, ...] = ()
    if raw.get("RookdbOperations") is not None:
        kept = None if written is None else written["RookdbOperations"]  # the same shape
        operations = decode_operations(raw["RookdbOperations"], kept)
    if not operations and (type(script) is not str or not script.strip()):
        raise ConfigurationError(f"{what}: Script must be a non-empty string")
    return PatchRequest(script if type(script) is str else "", values, operations)


def encode_patch_command(command: PatchCommand, return_document: bool = False) -> dict[str, Any]:
    """The ``PATCH`` command of a ``bulk_docs`` body; ``return_document``: ask for the patched
    document whatever the command says (rookdb's client does: local backends give it)."""
    body: dict[str, Any] = {
        "Type": "PATCH",
        "Id": command.id,
        "ChangeVector": command.expected_change_vector,
        "Patch": encode_patch_request(command.patch),
    }
    if command.patch_if_missing is not None:
        body["PatchIfMissing"] = encode_patch_request(command.patch_if_missing)
    if command.create_if_missing is not None:
        body["CreateIfMissing"] = orjson.Fragment(command.create_if_missing)  # as it is
    if command.skip_patch_if_change_vector_mismatch:
        body["SkipPatchIfChangeVectorMismatch"] = True
    if command.return_document or return_document:
        body["ReturnDocument"] = True
    return body


def decode_patch_command(
    raw: dict[str, Any],
    document_id: str,
    expected: str | None,
    i: int,
    written: dict[str, Any] | None = None,
) -> PatchCommand:
    """A ``PATCH`` command of a ``bulk_docs`` body (``document_id`` and ``expected`` read).
    ``written``: the same command read with its numbers kept as written
    (``exact_numbers.keep_digits``), whose ``CreateIfMissing`` is stored as it came, and whose
    typed operations' values are set so; a script's values, an increment, are read from
    ``raw``, as numbers."""
    what = f"command {i}"
    if not document_id or document_id[-1] in "/|":
        raise ConfigurationError(f"{what}: a PATCH names the document it patches")
    kept = raw if written is None else written  # the same JSON: the same shape
    patch = decode_patch_request(raw.get("Patch"), f"{what}: Patch", kept.get("Patch"))
    if_missing = raw.get("PatchIfMissing")
    create = kept.get("CreateIfMissing")
    if create is not None and type(create) is not dict:
        raise ConfigurationError(f"{what}: CreateIfMissing must be a JSON object")
    return PatchCommand(
        document_id,
        patch,
        None
        if if_missing is None
        else decode_patch_request(
            if_missing, f"{what}: PatchIfMissing", kept.get("PatchIfMissing")
        ),
        None if create is None else dumps(create),
        expected,
        raw.get("SkipPatchIfChangeVectorMismatch") is True,
        raw.get("ReturnDocument") is True,
    )


def encode_patch_reply(
    reply: PatchReply, return_document: bool, encode: Any, kind: str = "PATCH"
) -> dict[str, Any]:
    """RavenDB's answer to a patch: ``Id``, ``PatchStatus``, the change vector and time of the
    document after it; ``ModifiedDocument`` when asked. ``encode``: ``encode_document``, or
    ``encode_record`` for rookdb's own client."""
    entry: dict[str, Any] = {"Type": kind, "Id": reply.id, "PatchStatus": reply.status}
    record = reply.document
    if record is not None:
        entry["Id"] = record.id
        entry["ChangeVector"] = record.change_vector or None
        entry["LastModified"] = record.last_modified or None
        entry["Collection"] = record.collection
        if return_document:
            entry["ModifiedDocument"] = encode(record)
    return entry


def decode_patch_reply(raw: Any, decode: Any) -> PatchReply:
    """A ``PATCH`` entry of a batch's answer. ``decode``: ``decode_document``."""
    try:
        status = raw["PatchStatus"]
        document_id = raw["Id"]
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"the server's patch answer is malformed: {exc}") from exc
    if status not in PATCH_STATUSES or type(document_id) is not str:
        raise ProtocolError(f"the server's patch answer is malformed: {shown(raw)}")
    record: DocumentRecord | None = None
    modified = raw.get("ModifiedDocument")
    if type(modified) is dict and "@metadata" not in modified and "Data" in modified:
        record = decode(modified)  # a record (``protocol.encode_record``): the stored bytes
    elif type(modified) is dict:
        metadata = modified.setdefault("@metadata", {})
        if type(metadata) is dict:
            metadata.setdefault("@id", document_id)
            metadata.setdefault("@change-vector", raw.get("ChangeVector") or "")
            metadata.setdefault("@last-modified", raw.get("LastModified") or "")
        record = decode(modified)
    return PatchReply(document_id, status, record)

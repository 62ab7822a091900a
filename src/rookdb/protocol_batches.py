"""RavenDB's batches (``POST /bulk_docs``) as rookdb speaks them, both ways (SPEC §7 H2).

A batch is RavenDB's ``{"Commands": [...]}``: ``PUT``, ``DELETE``, ``PATCH``,
``ForceRevisionCreation`` and ``BatchPATCH`` commands, ``JsonPatch`` and RavenDB 7.2's
``BatchTrackChanges`` (what rookdb calls ``ReadCheck``), and the answer's ``Results``, one per
command, in order. The server (``rookdb.server.batches``) decodes commands and encodes results;
the http backend (``rookdb.storage.http``) does the reverse, with the same functions here.
Documents inside them are shaped by ``rookdb.protocol``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

import orjson

from rookdb import attachment_protocol
from rookdb.counters_protocol import (
    decode_counters_command,
    decode_counters_reply,
    encode_counters_command,
    encode_counters_reply,
)
from rookdb.errors import (
    ConfigurationError,
    InvalidIdError,
    ProtocolError,
    SerializationError,
    shown,
)
from rookdb.ids import shown_id, validate_collection_name, validate_id
from rookdb.patch_protocol import (
    decode_patch_command,
    decode_patch_reply,
    encode_patch_command,
    encode_patch_reply,
)
from rookdb.protocol import ASSIGNED, decode_document, encode_document
from rookdb.serialization.encoding import dumps
from rookdb.storage.commands import (
    ATTACHMENT_COMMANDS,
    AttachmentCommand,
    Command,
    CountersCommand,
    DeleteCommand,
    ForceRevisionCommand,
    PatchCommand,
    PutCommand,
    ReadCheck,
)
from rookdb.storage.records import (
    AttachmentReply,
    BatchResult,
    CountersReply,
    DocumentRecord,
    PatchReply,
    RevisionReply,
    WriteResult,
)

__all__ = [
    "BatchEntry",
    "JsonPatch",
    "TrackChanges",
    "decode_batch",
    "decode_batch_result",
    "decode_commands",
    "decode_json_patch",
    "encode_batch_result",
    "encode_commands",
]


def encode_commands(batch: Iterable[Command]) -> bytes:
    """The ``bulk_docs`` body of a batch. Documents go as their canonical bytes, spliced in
    without being decoded. A ``ForceRevisionCommand`` before a put of its document is that
    PUT's ``ForceRevisionCreationStrategy``, as RavenDB's client sends it."""
    parts = []
    before: str | None = None  # the key of a forced revision the next PUT carries
    for command in batch:
        if type(command) is PutCommand:
            head: dict[str, Any] = {
                "Type": "PUT",
                "Id": command.id,
                "ChangeVector": command.expected_change_vector,
                "Collection": command.collection,
            }
            if before is not None and before == command.id.lower():
                head["ForceRevisionCreationStrategy"] = "Before"
            before = None
            parts.append(orjson.dumps(head)[:-1] + b',"Document":' + command.data + b"}")
            continue
        if before is not None:  # a forced revision with no PUT after it after all
            parts.append(orjson.dumps({"Type": "ForceRevisionCreation", "Id": before}))
            before = None
        if type(command) is DeleteCommand:
            parts.append(
                orjson.dumps(
                    {
                        "Type": "DELETE",
                        "Id": command.id,
                        "ChangeVector": command.expected_change_vector,
                    }
                )
            )
        elif type(command) is ForceRevisionCommand:
            if command.before_put:
                before = command.id.lower()
            else:
                parts.append(orjson.dumps({"Type": "ForceRevisionCreation", "Id": command.id}))
        elif type(command) is PatchCommand:
            parts.append(orjson.dumps(encode_patch_command(command, return_document=True)))
        elif type(command) is CountersCommand:
            parts.append(orjson.dumps(encode_counters_command(command)))
        elif isinstance(command, ATTACHMENT_COMMANDS):
            parts.append(orjson.dumps(attachment_protocol.encode_command(command)))
        else:
            assert type(command) is ReadCheck
            parts.append(
                orjson.dumps(
                    {"Type": "ReadCheck", "Id": command.id, "ChangeVector": command.change_vector}
                )
            )
    if before is not None:
        parts.append(orjson.dumps({"Type": "ForceRevisionCreation", "Id": before}))
    return b'{"Commands":[' + b",".join(parts) + b"]}"


def _text(value: Any, what: str) -> str:
    if type(value) is not str:
        raise ConfigurationError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _none() -> None:
    return None  # a batch without attachment parts


@dataclasses.dataclass(slots=True)
class TrackChanges:
    """RavenDB's ``BatchTrackChanges`` command (the 7.2 client's ``WRITES_AND_READS`` mode):
    the change vector of every document the session read and does not write, ``""`` for one
    it found missing. Storage checks them as ``ReadCheck`` commands; the answer holds one
    ``{"Type": "BatchTrackChanges"}`` entry in its place."""

    checks: list[ReadCheck]


@dataclasses.dataclass(slots=True)
class JsonPatch:
    """RavenDB's ``JsonPatch`` command: RFC 6902 ``operations`` the server applies to document
    ``id`` in the batch (``rookdb.server.batches``); ``return_document``: the answer carries
    the patched document (the client asks for it when the session tracks the document)."""

    id: str
    operations: list[dict[str, Any]]
    return_document: bool


#: One command of a ``bulk_docs`` body as the server reads it.
BatchEntry = (
    PutCommand
    | DeleteCommand
    | ReadCheck
    | TrackChanges
    | JsonPatch
    | PatchCommand
    | ForceRevisionCommand
    | CountersCommand
    | AttachmentCommand
)


def decode_batch(
    body: Any, streams: Callable[[], IO[bytes] | None] = _none, written: Any = None
) -> list[BatchEntry]:
    """The commands of a ``bulk_docs`` body; anything malformed is a ``ConfigurationError``
    (a 400), before anything is written. ``written``: the same body read with its numbers
    kept as written (``exact_numbers.keep_digits``), whose PUT documents and PATCH
    ``CreateIfMissing`` documents are stored (``9.50`` as ``9.50``); the other commands' values
    are read from ``body``, as numbers."""
    if type(body) is not dict or type(body.get("Commands")) is not list:
        raise ConfigurationError('a batch is {"Commands": [...]}')
    documents = body["Commands"] if written is None else written["Commands"]
    out: list[BatchEntry] = []
    for i, raw in enumerate(body["Commands"]):
        if type(raw) is not dict:
            raise ConfigurationError(f"command {i} is not an object")
        kind = raw.get("Type")
        if kind == "BatchTrackChanges":
            out.append(_track_changes(raw.get("TrackedEntities"), i))
            continue
        document_id = validate_id(_text(raw.get("Id", ""), f"command {i}: Id"))
        expected = _optional_text(raw.get("ChangeVector"), f"command {i}: ChangeVector")
        if kind == "PUT":
            document = documents[i].get("Document")
            if type(document) is not dict:
                raise ConfigurationError(f"command {i}: Document must be a JSON object")
            metadata = document.get("@metadata")
            collection = raw.get("Collection")
            if type(metadata) is dict:
                for key in ASSIGNED:  # storage assigns these; a client's copy is not kept
                    metadata.pop(key, None)
                if collection is None:
                    collection = metadata.get("@collection")
            if collection is None or collection == "":
                collection = "@empty"
            try:
                collection = validate_collection_name(collection)
                data = dumps(document)  # at most MAX_DEPTH levels deep, as embedded
            except (InvalidIdError, SerializationError) as exc:
                raise type(exc)(f"command {i}: {exc}") from None
            strategy = raw.get("ForceRevisionCreationStrategy") or "None"
            if strategy not in ("None", "Before"):
                raise ConfigurationError(
                    f"command {i}: ForceRevisionCreationStrategy is None or Before"
                )
            if strategy == "Before":
                out.append(ForceRevisionCommand(document_id, before_put=True))
            out.append(PutCommand(document_id, collection, data, expected))
        elif kind == "DELETE":
            out.append(DeleteCommand(document_id, expected))
        elif kind == "ReadCheck":
            out.append(ReadCheck(document_id, expected))
        elif kind == "JsonPatch":
            out.append(_json_patch(raw, document_id, i))
        elif kind == "PATCH":
            out.append(decode_patch_command(raw, document_id, expected, i, documents[i]))
        elif kind == "ForceRevisionCreation":
            out.append(ForceRevisionCommand(document_id))
        elif kind == "Counters":
            out.append(decode_counters_command(raw, document_id, i))
        elif kind in attachment_protocol.KINDS:
            out.append(attachment_protocol.decode_command(raw, document_id, expected, i, streams))
        else:
            raise ConfigurationError(
                f"command {i}: Type {shown(kind)} is not supported by rookdb "
                "(PUT, DELETE, PATCH, JsonPatch, BatchTrackChanges, ForceRevisionCreation, "
                "AttachmentPUT, AttachmentDELETE, AttachmentCOPY, AttachmentMOVE, Counters)"
            )
    return out


def decode_commands(body: Any) -> list[Command]:
    """The storage commands of a ``bulk_docs``-shaped body (``PUT``, ``DELETE``, ``ReadCheck``),
    for routes that write with ``Storage.apply`` alone (``PUT /docs``, bulk insert): the server's
    own batch commands (``BatchTrackChanges``, ``JsonPatch``) are a ``ConfigurationError`` there."""
    out: list[Command] = []
    for i, entry in enumerate(decode_batch(body)):
        if not isinstance(entry, (PutCommand, DeleteCommand, ReadCheck)):
            raise ConfigurationError(f"command {i}: {type(entry).__name__} is not accepted here")
        out.append(entry)
    return out


def _track_changes(tracked: Any, i: int) -> TrackChanges:
    if type(tracked) is not dict:
        raise ConfigurationError(f"command {i}: TrackedEntities is an object of change vectors")
    checks = []
    for document_id, change_vector in tracked.items():
        validate_id(document_id)
        if type(change_vector) is not str:  # the message made only when it is needed
            whole = shown_id(document_id)
            _text(change_vector, f"command {i}: the change vector of {whole}")
        # "" is the client's word for "read as missing": it must still be missing.
        checks.append(ReadCheck(document_id, change_vector or None))
    return TrackChanges(checks)


def decode_json_patch(body: Any, document_id: str) -> JsonPatch:
    """The body of ``PATCH /json-patch?id=`` (``{"Operations": [...]}``, the client's
    ``JsonPatchOperation``) as the ``JsonPatch`` command a batch would carry for it."""
    if type(body) is not dict:
        raise ConfigurationError('a JSON Patch is {"Operations": [{"op": ...}]}')
    return _json_patch({"JsonPatch": body, "ReturnDocument": True}, document_id, 0)


def _json_patch(raw: dict[str, Any], document_id: str, i: int) -> JsonPatch:
    patch = raw.get("JsonPatch")
    operations = patch.get("Operations") if type(patch) is dict else None
    if type(operations) is not list or any(type(op) is not dict for op in operations):
        raise ConfigurationError(f'command {i}: JsonPatch is {{"Operations": [{{"op": ...}}]}}')
    if not document_id or document_id[-1] in "/|":
        raise ConfigurationError(f"command {i}: a JsonPatch names the document it patches")
    return JsonPatch(document_id, operations, raw.get("ReturnDocument") is True)


def encode_batch_result(
    batch: Sequence[BatchEntry],
    result: BatchResult,
    patched: Mapping[int, DocumentRecord | None] | None = None,
    encode: Callable[[DocumentRecord], dict[str, Any]] = encode_document,
) -> dict[str, Any]:
    """RavenDB's ``bulk_docs`` answer: one entry per command, in batch order (none for
    rookdb's ``ReadCheck``). ``patched``: for the position of each ``JsonPatch`` in ``batch``,
    the document it wrote (its id, collection and data; storage's change vector and time
    come from ``result``), or None where the document does not exist. ``encode``: how a
    patched document is sent (``protocol.encode_record`` for rookdb's client: the stored bytes
    as they are, which RavenDB's shape, read into floats by a client, would not keep)."""
    puts = iter(result.puts)
    replies = iter(result.replies)
    out: list[dict[str, Any]] = []
    for i, command in enumerate(batch):
        if type(command) is ForceRevisionCommand:
            if not command.before_put:  # that one is its PUT's, which answers
                out.append(_revision_reply(next(replies)))
            continue
        if type(command) is PutCommand:
            written = next(puts)
            out.append(
                {
                    "Type": "PUT",
                    "@id": written.id,
                    "@collection": command.collection,
                    "@change-vector": written.change_vector,
                    "@last-modified": written.last_modified,
                }
            )
        elif type(command) is DeleteCommand:
            out.append({"Type": "DELETE", "Id": command.id, "Deleted": True})
        elif type(command) is TrackChanges:
            out.append({"Type": "BatchTrackChanges"})
        elif type(command) is CountersCommand:
            counters_reply = next(replies)
            assert isinstance(counters_reply, CountersReply)
            out.append(encode_counters_reply(counters_reply))
        elif isinstance(command, ATTACHMENT_COMMANDS):
            out.append(attachment_protocol.encode_reply(next(replies)))  # type: ignore[arg-type]
        elif type(command) is PatchCommand:
            reply = next(replies)
            assert isinstance(reply, PatchReply)
            out.append(encode_patch_reply(reply, command.return_document, encode))
        elif type(command) is JsonPatch:
            record = (patched or {}).get(i)
            if record is None:
                out.append(
                    {"Type": "JsonPatch", "Id": command.id, "PatchStatus": "DocumentDoesNotExist"}
                )
                continue
            written = next(puts)
            entry: dict[str, Any] = {
                "Type": "JsonPatch",
                "Id": written.id,
                "ChangeVector": written.change_vector,
                "LastModified": written.last_modified,
                "PatchStatus": "Patched",
            }
            if command.return_document:
                entry["ModifiedDocument"] = encode(
                    record._replace(
                        change_vector=written.change_vector, last_modified=written.last_modified
                    )
                )
            out.append(entry)
    return {"Results": out}


def _decode_reply(
    r: dict[str, Any],
) -> PatchReply | RevisionReply | AttachmentReply | CountersReply:
    """The reply of a batch command other than PUT and DELETE, from the server's answer."""
    if r["Type"] == "PATCH":
        return decode_patch_reply(r, decode_document)
    if r["Type"] == "Counters":
        return decode_counters_reply(r)
    if r["Type"] in attachment_protocol.KINDS:
        return attachment_protocol.decode_reply(r)
    return RevisionReply(
        r.get("@id", ""),
        r["RevisionCreated"] is True,
        r.get("@change-vector"),
        r.get("@last-modified"),
    )


def _revision_reply(
    reply: PatchReply | RevisionReply | AttachmentReply | CountersReply,
) -> dict[str, Any]:
    assert isinstance(reply, RevisionReply)
    if not reply.created:
        return {"Type": "ForceRevisionCreation", "RevisionCreated": False, "@id": reply.id}
    return {
        "Type": "ForceRevisionCreation",
        "RevisionCreated": True,
        "@id": reply.id,
        "@change-vector": reply.change_vector,
        "@last-modified": reply.last_modified,
    }


def decode_batch_result(body: Any) -> BatchResult:
    try:
        return BatchResult(
            [
                WriteResult(r["@id"], r["@change-vector"], r["@last-modified"])
                for r in body["Results"]
                if r.get("Type") == "PUT"
            ],
            [
                _decode_reply(r)
                for r in body["Results"]
                if r.get("Type")
                in ("PATCH", "ForceRevisionCreation", "Counters", *attachment_protocol.KINDS)
            ],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server's batch result is malformed: {exc}") from exc

"""Attachments on the wire, both ways: RavenDB's batch commands and replies, the details of
``PUT /attachments`` and the headers of ``GET /attachments``, written and read by the server
and rookdb's http backend.

In a ``bulk_docs`` batch, ``AttachmentPUT`` carries no content: the batch is then
``multipart/form-data``, its first part (``main``) the JSON commands, then one part per
``AttachmentPUT`` in their order, each the content (as RavenDB's client sends them, with a
``Command-Type: AttachmentStream`` header). ``AttachmentDELETE``, ``AttachmentCOPY`` and
``AttachmentMOVE`` need no part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

from rookdb.errors import ConfigurationError, ProtocolError
from rookdb.storage.commands import (
    AttachmentCommand,
    AttachmentCopyCommand,
    AttachmentDeleteCommand,
    AttachmentMoveCommand,
    AttachmentPutCommand,
)
from rookdb.storage.records import AttachmentDetails, AttachmentReply

__all__ = [
    "KINDS",
    "decode_command",
    "decode_details",
    "decode_reply",
    "details_headers",
    "details_json",
    "encode_command",
    "encode_reply",
    "from_headers",
]

#: The batch command types of attachments.
KINDS = ("AttachmentPUT", "AttachmentDELETE", "AttachmentCOPY", "AttachmentMOVE")


def encode_command(command: AttachmentCommand) -> dict[str, Any]:
    """A command as RavenDB's client serializes it (a put's content goes in a part)."""
    if type(command) is AttachmentPutCommand:
        return {
            "Type": "AttachmentPUT",
            "Id": command.id,
            "Name": command.name,
            "ContentType": command.content_type,
            "ChangeVector": command.expected_change_vector,
        }
    if type(command) is AttachmentDeleteCommand:
        return {
            "Type": "AttachmentDELETE",
            "Id": command.id,
            "Name": command.name,
            "ChangeVector": command.expected_change_vector,
        }
    assert isinstance(command, (AttachmentCopyCommand, AttachmentMoveCommand))
    return {
        "Type": "AttachmentCOPY" if type(command) is AttachmentCopyCommand else "AttachmentMOVE",
        "Id": command.id,
        "Name": command.name,
        "DestinationId": command.destination_id,
        "DestinationName": command.destination_name,
        "ChangeVector": command.expected_change_vector,
    }


def _text(raw: Mapping[str, Any], field: str, i: int, default: str | None = None) -> str:
    value = raw.get(field, default)
    if type(value) is not str:
        raise ConfigurationError(f"command {i}: {field} must be a string")
    return value


def decode_command(
    raw: Mapping[str, Any],
    document_id: str,
    expected: str | None,
    i: int,
    next_stream: Callable[[], IO[bytes] | None],
) -> AttachmentCommand:
    """The attachment command ``raw`` (its ``Type`` one of ``KINDS``); a put's content is
    ``next_stream()`` (the batch's next part; None: there is none, a 400)."""
    kind = raw.get("Type")
    name = _text(raw, "Name", i)
    try:
        if kind == "AttachmentPUT":
            stream = next_stream()
            if stream is None:
                raise ConfigurationError(
                    f"command {i}: AttachmentPUT without its stream (a multipart batch has "
                    "one part per AttachmentPUT, after the commands)"
                )
            content_type = raw.get("ContentType") or ""
            if type(content_type) is not str:
                raise ConfigurationError(f"command {i}: ContentType must be a string")
            return AttachmentPutCommand(document_id, name, stream, content_type, expected)
        if kind == "AttachmentDELETE":
            return AttachmentDeleteCommand(document_id, name, expected)
        destination_id = _text(raw, "DestinationId", i)
        destination_name = _text(raw, "DestinationName", i)
        if kind == "AttachmentCOPY":
            return AttachmentCopyCommand(
                document_id, name, destination_id, destination_name, expected
            )
        return AttachmentMoveCommand(document_id, name, destination_id, destination_name, expected)
    except ConfigurationError as exc:
        if str(exc).startswith(f"command {i}"):
            raise
        raise ConfigurationError(f"command {i}: {exc}") from None


def encode_reply(reply: AttachmentReply) -> dict[str, Any]:
    """A command's entry in the ``bulk_docs`` answer, with RavenDB's fields (its client reads
    ``Id`` for a put, copy and move, ``@id`` for a delete)."""
    if reply.details is None:
        return {
            "Type": reply.type,
            "@id": reply.id,
            "Name": reply.name,
            "DocumentChangeVector": reply.document_change_vector,
        }
    details = reply.details
    out: dict[str, Any] = {
        "Type": reply.type,
        "Id": reply.id,
        "Name": details.name,
        "ChangeVector": details.change_vector,
        "Hash": details.hash,
        "ContentType": details.content_type,
        "Size": details.size,
        "DocumentChangeVector": reply.document_change_vector,
    }
    if reply.type == "AttachmentMOVE":
        # The client reads the source as Id and Name, the destination as Destination*.
        out.update(
            Id=reply.source_id,
            Name=reply.source_name,
            DestinationId=reply.id,
            DestinationName=details.name,
            SourceDocumentChangeVector=reply.source_change_vector,
        )
    return out


def decode_reply(r: Mapping[str, Any]) -> AttachmentReply:
    """The reply ``encode_reply`` wrote."""
    kind = r["Type"]
    cv = r.get("DocumentChangeVector")
    if "Hash" not in r:
        return AttachmentReply(kind, r["@id"], r["Name"], cv)
    if kind == "AttachmentMOVE":
        target, name = r["DestinationId"], r["DestinationName"]
        source = (r["Id"], r["Name"], r.get("SourceDocumentChangeVector"))
    else:
        target, name, source = r["Id"], r["Name"], (None, None, None)
    details = AttachmentDetails(
        name, r["Hash"], r["ContentType"], int(r["Size"]), r["ChangeVector"], target
    )
    return AttachmentReply(kind, target, name, cv, details, *source)


def details_json(details: AttachmentDetails) -> dict[str, Any]:
    """RavenDB's ``AttachmentDetails`` JSON (the answer of ``PUT /attachments``)."""
    return {
        "Name": details.name,
        "Hash": details.hash,
        "ContentType": details.content_type,
        "Size": details.size,
        "ChangeVector": details.change_vector,
        "DocumentId": details.document_id,
    }


def decode_details(body: Any) -> AttachmentDetails:
    try:
        return AttachmentDetails(
            str(body["Name"]),
            str(body["Hash"]),
            str(body["ContentType"]),
            int(body["Size"]),
            str(body["ChangeVector"]),
            str(body["DocumentId"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"the server's attachment details are malformed: {exc}") from exc


def details_headers(details: AttachmentDetails) -> dict[str, str]:
    """The headers of ``GET`` / ``HEAD /attachments``, as RavenDB sends them (non-ASCII
    names travel percent-encoded in ``Attachment-Name``)."""
    from urllib.parse import quote

    return {
        "Content-Type": details.content_type or "application/octet-stream",
        "Attachment-Hash": details.hash,
        "Attachment-Size": str(details.size),
        # Unquoted: RavenDB's Python client takes the header as the change vector itself.
        "ETag": details.change_vector,
        "Attachment-Name": quote(details.name, safe=""),
        "Attachment-Document-Id": quote(details.document_id, safe=""),
        "Attachment-Content-Type": quote(details.content_type, safe=""),
    }


def from_headers(headers: Mapping[str, str]) -> AttachmentDetails:
    """The details ``details_headers`` wrote."""
    from urllib.parse import unquote

    try:
        return AttachmentDetails(
            unquote(headers["Attachment-Name"]),
            headers["Attachment-Hash"],
            unquote(headers["Attachment-Content-Type"]),
            int(headers["Attachment-Size"]),
            headers["ETag"].strip('"'),
            unquote(headers["Attachment-Document-Id"]),
        )
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"the server's attachment headers are malformed: {exc}") from exc

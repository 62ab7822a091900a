"""The routes of RavenDB's attachments, as its client calls them, and its multipart batches.

- ``GET /databases/{db}/attachments?id=&name=``: the content, streamed a chunk at a time as
  storage reads it, with ``Content-Type``, ``Attachment-Hash``, ``Attachment-Size`` and the
  attachment's change vector as ``ETag`` (``attachment_protocol.details_headers``); a 404
  when there is no such attachment;
- ``HEAD``: the same headers, no body (``If-None-Match`` its change vector: a 304);
- ``PUT ...&contentType=``: store the body (raw, or the one file of a ``multipart/form-data``
  body, as the client sends bytes), ``If-Match`` the expected change vector; a 201 with the
  details (``PutAttachmentOperation``);
- ``DELETE``: delete it (a no-op when absent), a 204 (``DeleteAttachmentOperation``);
- ``POST /bulk_docs`` as ``multipart/form-data`` (``bulk_docs``): the commands, then one part
  per ``AttachmentPUT``.

Bodies are spooled as they arrive (``server.multipart``): flat memory at any size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from rookdb import attachment_protocol, protocol, protocol_batches
from rookdb.errors import ConfigurationError, shown
from rookdb.ids import shown_id, validate_id
from rookdb.serialization.exact_numbers import keep_digits
from rookdb.server.answers import error_response, json_response
from rookdb.server.batches import apply_batch
from rookdb.server.limits import note_body, parse_json, read_body
from rookdb.server.multipart import Part, boundary_of, read_parts, spool_body
from rookdb.storage.commands import AttachmentDeleteCommand, AttachmentPutCommand
from rookdb.storage.records import AttachmentReply

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["attachment", "bulk_docs"]


def _target(request: Request) -> tuple[str, str]:
    params = request.query_params
    document_id, name = params.get("id"), params.get("name")
    if document_id is None or name is None:
        raise ConfigurationError("an attachment is named by id=...&name=...")
    validate_id(document_id)
    if not document_id or not name.strip():
        raise ConfigurationError("an attachment is named by a document id and a non-blank name")
    return document_id, name


def _missing(document_id: str, name: str) -> Response:
    return error_response(
        404,
        "Documents.DocumentDoesNotExistException",
        f"document {shown_id(document_id)} has no attachment {shown(name)}",
    )


async def attachment(server: _Server, request: Request) -> Response:
    """``GET`` / ``HEAD`` / ``PUT`` / ``DELETE /attachments?id=&name=``."""
    method = request.method
    storage = server.storage(request, write=method in ("PUT", "DELETE"))
    document_id, name = _target(request)
    expected = protocol.unquote_etag(request.headers.get("if-match"))
    if method == "PUT":
        content_type = request.query_params.get("contentType", "")
        with contextlib.ExitStack() as stack:
            file = await _put_body(server, request, stack)
            command = AttachmentPutCommand(document_id, name, file, content_type, expected)
            result = await run_in_threadpool(storage.apply, [command])
        (reply,) = result.replies
        assert isinstance(reply, AttachmentReply) and reply.details is not None
        return json_response(attachment_protocol.details_json(reply.details), 201)
    if method == "DELETE":
        command_ = AttachmentDeleteCommand(document_id, name, expected)
        await run_in_threadpool(storage.apply, [command_])
        return Response(status_code=204)
    if method == "HEAD":
        details = await run_in_threadpool(storage.get_attachment, document_id, name)
        if details is None:
            return Response(status_code=404)
        headers = attachment_protocol.details_headers(details)
        if protocol.unquote_etag(request.headers.get("if-none-match")) == details.change_vector:
            return Response(status_code=304, headers={"ETag": headers["ETag"]})
        return Response(headers=headers)
    found = await run_in_threadpool(storage.read_attachment, document_id, name)
    if found is None:
        return _missing(document_id, name)
    details, chunks = found
    headers = attachment_protocol.details_headers(details)
    return StreamingResponse(_closing(chunks), headers=headers, media_type=headers["Content-Type"])


def _closing(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def _put_body(server: _Server, request: Request, stack: contextlib.ExitStack) -> IO[bytes]:
    """The content of ``PUT /attachments``: the raw body, or the first part of a multipart one."""
    boundary = boundary_of(request.headers.get("content-type", ""))
    if boundary is None:
        file = await spool_body(request, server.limits)
        stack.callback(file.close)
        return file
    parts = await read_parts(request, server.limits, boundary)
    for part in parts:
        stack.callback(part.file.close)
    if len(parts) != 1:
        raise ConfigurationError("a multipart attachment has exactly one part")
    return parts[0].file


async def bulk_docs(server: _Server, request: Request) -> Response:
    """``POST /bulk_docs``: a JSON batch, or a multipart one with attachment streams."""
    storage = server.storage(request, write=True)
    boundary = boundary_of(request.headers.get("content-type", ""))
    with contextlib.ExitStack() as stack:
        streams: Iterator[Part] = iter(())
        if boundary is None:
            data = await read_body(request, server.limits)
        else:
            parts = await read_parts(request, server.limits, boundary)
            for part in parts:
                stack.callback(part.file.close)
            if not parts:
                raise ConfigurationError("a multipart batch has its commands as its first part")
            data = parts[0].file.read()
            note_body(request, data)
            streams = iter(parts[1:])
        body = parse_json(data)
        written = keep_digits(data, body)  # its documents' numbers as written
        batch = protocol_batches.decode_batch(
            body, lambda: next((p.file for p in streams), None), written
        )
        if next(streams, None) is not None:
            raise ConfigurationError("a multipart batch has more streams than AttachmentPUTs")
        applied = await run_in_threadpool(apply_batch, storage, batch)
    return json_response(
        protocol_batches.encode_batch_result(
            batch, applied.result, applied.patched, server.encoder(request)
        ),
        201,
    )

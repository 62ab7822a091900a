"""The attachment calls of the http backend (``HttpStorage``), on RavenDB's routes:
``HEAD`` / ``GET /attachments`` (the content streamed as it arrives), and batches with
attachment streams sent as RavenDB's client sends them, ``multipart/form-data`` (the JSON
commands, then one part per ``AttachmentPUT``), the body made as it is sent: a stream is read
a chunk at a time, never whole."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from rookdb import attachment_protocol, protocol_batches
from rookdb.errors import StorageError
from rookdb.ids import validate_id
from rookdb.storage.commands import AttachmentPutCommand, Command
from rookdb.storage.http_revisions import HttpRevisions
from rookdb.storage.http_transport import MAX_BATCH_BYTES, Client
from rookdb.storage.records import AttachmentDetails, BatchResult
from rookdb.storage.relational.attachments import CHUNK_SIZE

__all__ = ["HttpAttachments"]


def _parts(
    boundary: bytes, commands: bytes, streams: Sequence[AttachmentPutCommand]
) -> Iterator[bytes]:
    """The multipart body: ``main`` (the commands), then each put's content."""
    yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="main"\r\n\r\n'
    yield commands
    for command in streams:
        name = quote(command.name, safe="")
        yield (
            b"\r\n--"
            + boundary
            + b"\r\nContent-Disposition: form-data; "
            + f'name="{name}"; filename="{name}"\r\n'.encode()
            + b"Command-Type: AttachmentStream\r\n"
            + b"Content-Type: application/octet-stream\r\n\r\n"
        )
        stream = command.stream()
        while block := stream.read(CHUNK_SIZE):
            yield bytes(block)
    yield b"\r\n--" + boundary + b"--\r\n"


class HttpAttachments(HttpRevisions):
    """The attachment calls of ``Storage`` over a rookdb server."""

    _client: Client
    _path: str

    def _apply_with_streams(self, commands: list[Command]) -> BatchResult:
        """A batch with attachment puts: multipart, streamed."""
        content = protocol_batches.encode_commands(commands)
        if len(content) > MAX_BATCH_BYTES:
            raise StorageError(
                f"this batch's commands are {len(content):,} bytes; the server accepts at most "
                f"{MAX_BATCH_BYTES:,} (SPEC H4): save in smaller batches"
            )
        puts = [c for c in commands if type(c) is AttachmentPutCommand]
        boundary = uuid.uuid4().hex.encode()
        body = self._client.request(
            "POST",
            f"{self._path}/bulk_docs",
            content=_parts(boundary, content, puts),
            write=True,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
        )
        return protocol_batches.decode_batch_result(body)

    def get_attachment(self, document_id: str, name: str) -> AttachmentDetails | None:
        opened = self._open(document_id, name, "HEAD")
        if opened is None:
            return None
        headers, chunks = opened
        chunks.close()  # type: ignore[attr-defined]
        return attachment_protocol.from_headers(headers)

    def get_attachments(self, document_id: str) -> list[AttachmentDetails]:
        validate_id(document_id)
        record = self.get([document_id]).documents.get(document_id.lower())
        if record is None:
            return []
        metadata: Any = orjson.loads(record.data).get("@metadata") or {}
        listed = metadata.get("@attachments") if isinstance(metadata, dict) else None
        names = [a.get("Name") for a in listed or [] if isinstance(a, dict)]
        found = (self.get_attachment(document_id, n) for n in names if isinstance(n, str))
        return [d for d in found if d is not None]

    def read_attachment(
        self, document_id: str, name: str
    ) -> tuple[AttachmentDetails, Iterator[bytes]] | None:
        opened = self._open(document_id, name)
        if opened is None:
            return None
        headers, chunks = opened
        return attachment_protocol.from_headers(headers), chunks

    def _open(
        self, document_id: str, name: str, method: str = "GET"
    ) -> tuple[Mapping[str, str], Iterator[bytes]] | None:
        validate_id(document_id)
        params = {"id": document_id, "name": name}
        return self._client.open_stream(f"{self._path}/attachments", params, method)

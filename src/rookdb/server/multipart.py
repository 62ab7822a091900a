"""Request bodies that carry files, read as they arrive into spooled temporary files.

RavenDB's clients send attachments as ``multipart/form-data`` (a batch: its JSON commands, then
one part per attachment stream; ``PUT /attachments`` of bytes: one part), or as the raw body.
Each part is written to a ``SpooledTemporaryFile`` (in memory up to ``SPOOL_BYTES``, then on
disk) while the body is read from ``request.stream()``: the server holds at most a chunk of the
network and a spool's memory at a time, whatever the attachments' sizes, and storage reads
each file back as a seekable stream (a retried PostgreSQL transaction reads it again).

The parser is small and strict: a part is headers, a blank line and its bytes up to the next
``\\r\\n--boundary``; anything else is a ``ConfigurationError`` (a 400).
"""

from __future__ import annotations

import re
import tempfile
from typing import IO, NamedTuple

from starlette.requests import Request

from rookdb.errors import ConfigurationError
from rookdb.server.limits import Limits, body_chunks

__all__ = ["SPOOL_BYTES", "Part", "boundary_of", "read_parts", "spool_body"]

#: A part's bytes kept in memory before its spool goes to disk.
SPOOL_BYTES = 1 << 20
#: The longest a part's headers may be, and the most parts a body may have.
_MAX_HEADERS = 16 * 1024
_MAX_PARTS = 10_000
_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)


class Part(NamedTuple):
    """One part: its headers (names lower-cased) and its bytes, at the file's start."""

    headers: dict[str, str]
    file: IO[bytes]


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type (None: it is not one)."""
    if not content_type.lower().startswith("multipart/"):
        return None
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise ConfigurationError("a multipart body without a boundary")
    return found.group(1).encode()


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


async def spool_body(request: Request, limits: Limits) -> IO[bytes]:
    """The raw body in a spool, at its start."""
    file = _spool()
    try:
        async for chunk in body_chunks(request, limits):
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ConfigurationError("a multipart part has a malformed header line")
        headers[name.strip().lower()] = value.strip()
    return headers


async def read_parts(request: Request, limits: Limits, boundary: bytes) -> list[Part]:
    """Every part of the body, spooled, in order. The caller closes their files."""
    delimiter = b"\r\n--" + boundary
    parts: list[Part] = []
    buffer = bytearray(b"\r\n")  # so that the first boundary reads as every other
    state = "preamble"
    file: IO[bytes] | None = None
    try:
        async for chunk in body_chunks(request, limits):
            buffer += chunk
            while True:
                if state == "preamble" or state == "body":
                    at = buffer.find(delimiter)
                    if at < 0:
                        keep = len(delimiter) - 1
                        if state == "body" and len(buffer) > keep:
                            assert file is not None
                            file.write(buffer[:-keep])
                            del buffer[:-keep]
                        elif state == "preamble" and len(buffer) > _MAX_HEADERS:
                            raise ConfigurationError("a multipart body without its boundary")
                        break
                    if state == "body":
                        assert file is not None
                        file.write(buffer[:at])
                        file.seek(0)
                    del buffer[: at + len(delimiter)]
                    state = "delimiter"
                if state == "delimiter":
                    if len(buffer) < 2:
                        break
                    if buffer[:2] == b"--":
                        state = "end"
                        break
                    if buffer[:2] != b"\r\n":
                        raise ConfigurationError("a multipart boundary is not followed by CRLF")
                    del buffer[:2]
                    state = "headers"
                if state == "headers":
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        if len(buffer) > _MAX_HEADERS:
                            raise ConfigurationError("a multipart part's headers are too long")
                        break
                    headers = _headers(bytes(buffer[:end]))
                    del buffer[: end + 4]
                    if len(parts) == _MAX_PARTS:
                        raise ConfigurationError(f"a multipart body has over {_MAX_PARTS} parts")
                    file = _spool()
                    parts.append(Part(headers, file))
                    state = "body"
                    continue
                if state == "end":
                    break
        if state != "end":
            raise ConfigurationError("the multipart body ends before its closing boundary")
    except BaseException:
        for part in parts:
            part.file.close()
        raise
    return parts

"""The server's multipart reader (``rookdb.server.multipart``): parts come out whole however
the body is cut into network chunks, and a malformed body is a ``ConfigurationError``."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rookdb.errors import ConfigurationError
from rookdb.server.limits import BodyTooLarge, Limits
from rookdb.server.multipart import boundary_of, read_parts

BOUNDARY = b"b0undary"


def _body(*parts: bytes) -> bytes:
    out = b"preamble\r\n"
    for i, part in enumerate(parts):
        out += b"--" + BOUNDARY + b"\r\n"
        out += f'Content-Disposition: form-data; name="p{i}"\r\nX-Extra: {i}\r\n\r\n'.encode()
        out += part + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


def _read(
    body: bytes, size: int, limits: Limits | None = None
) -> list[tuple[dict[str, str], bytes]]:
    from starlette.requests import Request

    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0) if pieces else b""
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def run() -> list[tuple[dict[str, str], bytes]]:
        request = Request({"type": "http", "method": "POST", "headers": []}, receive)
        parts = await read_parts(request, limits or Limits(), BOUNDARY)
        try:
            return [(p.headers, p.file.read()) for p in parts]
        finally:
            for p in parts:
                p.file.close()

    return anyio.run(run)


@pytest.mark.parametrize("size", [1, 2, 7, 13, 64, 4096, 10**7])
def test_parts_whole_whatever_the_chunks(size: int) -> None:
    parts = [b'{"Commands":[]}', b"", b"\r\n--b0undar", bytes(range(256)) * 40]
    found = _read(_body(*parts), size)
    assert [data for _, data in found] == parts
    assert found[1][0]["content-disposition"] == 'form-data; name="p1"'
    assert found[3][0]["x-extra"] == "3"


@pytest.mark.parametrize(
    "body",
    [
        b"no boundary at all",
        b"--" + BOUNDARY + b"\r\nno blank line",
        b"--" + BOUNDARY + b"\r\n\r\nunterminated part",
        b"--" + BOUNDARY + b"xx",
        b"--" + BOUNDARY + b"\r\nbad header line\r\n\r\n\r\n--" + BOUNDARY + b"--",
    ],
)
def test_malformed_bodies_are_configuration_errors(body: bytes) -> None:
    with pytest.raises(ConfigurationError):
        _read(body, 5)


def test_the_body_limit_holds() -> None:
    with pytest.raises(BodyTooLarge):
        _read(_body(b"x" * 5000), 1000, Limits(max_body_bytes=4096))


def test_boundary_of() -> None:
    assert boundary_of("application/json") is None
    assert boundary_of('multipart/form-data; boundary="abc"') == b"abc"
    assert boundary_of("multipart/form-data; charset=x; boundary=abc") == b"abc"
    with pytest.raises(ConfigurationError):
        boundary_of("multipart/form-data")

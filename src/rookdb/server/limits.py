"""What the server accepts (SPEC H4): body size, JSON size and depth, numbers, timeouts.

A body larger than ``max_body_bytes`` is refused with 413 from its ``Content-Length`` before a
byte of it is read, or as soon as a chunked body passes the limit. JSON is parsed by orjson,
which refuses nesting deeper than 1,024 levels, NaN and infinities, and invalid UTF-8; an
integer outside 64 bits (which orjson would read as an inexact float) is refused too, as the
session refuses to write one (SPEC D2). Every refusal is a 4xx with a RavenDB-style body.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
from starlette.requests import Request

from rookdb.errors import ConfigurationError
from rookdb.serialization.encoding import INT64_MAX, INT64_MIN, may_hold_long_integers

__all__ = ["BodyTooLarge", "Limits", "parse_json", "read_body"]

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    """The server's limits. The defaults suit one machine serving a team."""

    #: Largest request body: the largest atomic batch through the server (SPEC H4).
    max_body_bytes: int = 256 * MB
    #: Requests handled at once; past it the server answers 503 at once (uvicorn's limit).
    max_concurrency: int = 256
    #: Seconds a kept-alive connection may stay idle.
    idle_timeout_s: float = 30.0
    #: Seconds to wait for in-flight requests at shutdown.
    shutdown_timeout_s: float = 10.0
    #: Largest request head (request line + headers), in bytes.
    max_header_bytes: int = 64 * 1024


class BodyTooLarge(Exception):
    """The request body is over ``Limits.max_body_bytes``."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, or ``BodyTooLarge`` without reading past ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ConfigurationError("Content-Length is not a number") from None
        if size > limit:
            raise BodyTooLarge(size)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(received)
        chunks.append(chunk)
    return b"".join(chunks)


def _checked_int(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"integer outside 64 bits: {text[:30]}...")
    return value


def parse_json(body: bytes) -> Any:
    """Parse a request body; malformed JSON is a ``ConfigurationError`` (400)."""
    if not body:
        raise ConfigurationError("the request needs a JSON body")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"invalid JSON in the request: {exc}") from None
    # Only long digit runs matter here: orjson already refuses NaN in its input. (A test for
    # "null" too would send nearly every batch, whose ChangeVector is often null, the slow way.)
    if may_hold_long_integers(body):
        # orjson reads a 65-bit integer as a float; find out with the exact (slower) parser.
        # Depth is already bounded by orjson's check above, so recursion cannot overflow.
        try:
            json.loads(body, parse_int=_checked_int)
        except ValueError as exc:  # includes Python's own limit on digits
            raise ConfigurationError(f"invalid number in the request: {exc}") from None
    return value

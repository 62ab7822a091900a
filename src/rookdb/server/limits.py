"""What the server accepts (SPEC H4): body size, JSON size and depth, numbers, timeouts.

A body larger than ``max_body_bytes`` is refused with 413 from its ``Content-Length`` before a
byte of it is read, or as soon as a chunked body passes the limit. JSON is parsed by orjson,
which refuses nesting deeper than 1,024 levels, NaN and infinities, and invalid UTF-8; an
integer outside 64 bits (which orjson would read as an inexact float) is refused too, as the
session refuses to write one (SPEC D2). A document in it may nest ``MAX_DEPTH`` (128) levels,
as embedded (``rookdb.serialization.encoding``). A count in a query string (``start``,
``pageSize``, ``capacity``, ...) is ASCII digits and fits in 64 bits. A body that stops
arriving for ``idle_timeout_s`` is a 408 (the limits on request heads are in ``connection``).
Every refusal is a 4xx with a RavenDB-style body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request

from rookdb.errors import ConfigurationError, SerializationError, shown
from rookdb.serialization.encoding import (
    INT64_MAX,
    MAX_MESSAGE_DEPTH,
    loads_strict,
    nesting_depth,
)
from rookdb.serialization.exact_numbers import keep_digits

__all__ = [
    "BodyTimeout",
    "BodyTooLarge",
    "Limits",
    "body_chunks",
    "nested_too_deep",
    "note_body",
    "parse_count",
    "parse_json",
    "read_body",
]

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    """The server's limits. The defaults suit one machine serving a team."""

    #: Largest request body: the largest atomic batch through the server (SPEC H4).
    max_body_bytes: int = 256 * MB
    #: Requests handled at once; past it the server answers 503 at once (in RavenDB's shape).
    max_concurrency: int = 256
    #: Seconds a kept-alive connection may stay idle between requests, and a request body
    #: between two reads.
    idle_timeout_s: float = 30.0
    #: Seconds from a request head's first byte (or the connection's start) to its end.
    header_timeout_s: float = 10.0
    #: Seconds to wait for in-flight requests at shutdown.
    shutdown_timeout_s: float = 10.0
    #: Largest request head (request line + headers), in bytes.
    max_header_bytes: int = 64 * 1024


class BodyTooLarge(Exception):
    """The request body is over ``Limits.max_body_bytes``."""


class BodyTimeout(Exception):
    """The client sent nothing of its request body for ``Limits.idle_timeout_s``."""


async def body_chunks(request: Request, limits: Limits) -> AsyncIterator[bytes]:
    """The request body's chunks as they arrive (the server holds one at a time):
    ``BodyTooLarge`` once past ``Limits.max_body_bytes``, ``BodyTimeout`` when the client
    stops sending for ``Limits.idle_timeout_s``."""
    limit = limits.max_body_bytes
    received = 0
    stream = request.stream()
    while True:
        try:
            with anyio.fail_after(limits.idle_timeout_s):
                chunk = await stream.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyTimeout from None
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(received)
        yield chunk


async def read_body(request: Request, limits: Limits) -> bytes:
    """The whole request body; ``BodyTooLarge`` without reading past the limit (nor at all
    when ``Content-Length`` says so), or ``BodyTimeout`` when the client stops sending it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ConfigurationError("Content-Length is not a number") from None
        if size > limits.max_body_bytes:
            raise BodyTooLarge(size)
    body = b"".join([chunk async for chunk in body_chunks(request, limits)])
    note_body(request, body)
    return body


def note_body(request: Request, body: bytes) -> None:
    """Keep ``body``, the request's JSON, for ``nested_too_deep`` (``read_body`` does)."""
    request.state.body = body


def nested_too_deep(request: Request) -> str | None:
    """Why a request that passed Python's recursion limit was bad input, when its body
    (``note_body``'s) nests deeper than any valid request (``MAX_MESSAGE_DEPTH``), else None.
    orjson reads 1,024 levels, and a walk of such a tree can recurse that deep where no test
    of a route looks (an error message's ``repr`` of a value 1,000 levels deep). Asked only
    after the failure: measuring a body's depth costs about half of parsing it."""
    body = getattr(request.state, "body", None)
    if type(body) is not bytes:
        return None
    depth = nesting_depth(body)
    if depth <= MAX_MESSAGE_DEPTH:
        return None
    return (
        f"the request's body nests {depth} levels of objects and arrays; rookdb reads at most "
        f"{MAX_MESSAGE_DEPTH}"
    )


def parse_json(body: bytes) -> Any:
    """Parse a request body; malformed JSON is a ``ConfigurationError`` (400)."""
    if not body:
        raise ConfigurationError("the request needs a JSON body")
    try:
        return loads_strict(body)
    except SerializationError as exc:
        raise ConfigurationError(f"the request's body: {exc}") from None


def parse_document(body: bytes) -> Any:
    """``parse_json`` of a body that is a document to store: its numbers kept as written
    (``9.50``, not ``9.5``: ``exact_numbers.keep_digits``)."""
    return keep_digits(body, parse_json(body))


def parse_count(text: str, what: str) -> int:
    """A count, offset or size from a query string: ASCII digits (``str.isdigit`` alone would
    pass ``²`` and other Unicode digits) of a number that fits in 64 bits; anything else is a
    ``ConfigurationError`` (400) naming the parameter."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > INT64_MAX:
        raise ConfigurationError(
            f"{what} must be a whole number from 0 to {INT64_MAX}, not {shown(text)}"
        )
    return int(text)

"""One HTTP connection: uvicorn's httptools protocol with the head limits of SPEC H4.

uvicorn closes a kept-alive connection that stays idle between requests, but it sets no limit
on the request *head* (request line and headers): a client may connect and send nothing, or
trickle a header a byte at a time, and hold a connection forever (slowloris); with httptools
it sets no size limit on the head either. Here every head must be complete within
``Limits.header_timeout_s`` of its first byte (of the connection, for the first request), and
a head still incomplete after ``Limits.max_header_bytes`` is refused; the answer is 408 or 431
in RavenDB's error shape and the connection is closed. Malformed HTTP gets that shape too (400).

RavenDB's ``RESET /indexes`` uses a method httptools' parser does not know (it refuses it as
malformed): a request that begins a read with ``RESET `` reaches the application as ``PURGE``
(one it knows, of the same length), which the index routes take for ``RESET``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from rookdb.protocol import raven_error
from rookdb.server.limits import Limits

__all__ = ["protocol_class"]

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _LimitedHttpProtocol(HttpToolsProtocol):
    limits: Limits  # set on the class made by ``protocol_class``

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._at_message_start = True

    # -- the head's deadline -----------------------------------------------------------------

    def _await_head(self) -> None:
        """Start the clock for a request head, unless it is already running."""
        if self._head_deadline is None:
            self._head_bytes = 0
            self._head_deadline = self.loop.call_later(
                self.limits.header_timeout_s, self._head_timed_out
            )

    def _head_done(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self._refuse(408, f"no complete request head in {self.limits.header_timeout_s:g} s")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()  # a connection that never sends anything is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_head()

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()

    # -- the head's size ---------------------------------------------------------------------

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._at_message_start = True

    def data_received(self, data: bytes) -> None:
        if self._at_message_start and data[:6] == b"RESET ":
            data = b"PURGE " + data[6:]  # see the module's docstring
        self._at_message_start = False
        super().data_received(data)
        if self._head_deadline is not None and not self.transport.is_closing():
            # Still in a head after this read. (httptools buffers a header until it is whole,
            # so the count must be of bytes received, not of headers parsed.)
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(431, f"the request head is over {self.limits.max_header_bytes} bytes")

    # -- answers without the application ----------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "malformed HTTP request")

    def _refuse(self, status: int, message: str) -> None:
        self._head_done()
        body = orjson.dumps(raven_error("BadRequestException", message))
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body)
        )
        self.transport.close()


def protocol_class(limits: Limits) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for these limits."""
    return type("LimitedHttpProtocol", (_LimitedHttpProtocol,), {"limits": limits})

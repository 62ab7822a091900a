"""The transport of the ``http(s)://`` backend (``rookdb.storage.http``): httpx clients for one
or several rookdb servers of the same data, failing over between them as RavenDB's clients do
over their topology, and what their answers mean (a rookdb error sent by the server is raised
as that error; a server that cannot be reached is ``StorageUnavailableError``; a request whose
answer was lost after it was sent is ``OutcomeUnknownError`` where it may have been applied).

Failovers are logged on ``rookdb.storage.http``, the backend's logger.

The async session's native calls (``rookdb.storage.bridge``) run these same rules; only the
send differs (``Client._send``): an httpx ``AsyncClient`` per event loop, awaited. Streams and
attachment bodies stay on the sync ``Client`` (those calls run in threads).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import orjson

from rookdb import protocol
from rookdb.errors import (
    ConfigurationError,
    OutcomeUnknownError,
    ProtocolError,
    SerializationError,
    StorageUnavailableError,
    shown,
)
from rookdb.serialization.exact_numbers import Notes, loads_noting
from rookdb.storage import bridge
from rookdb.storage.bridge import PerLoop

__all__ = [
    "API_KEY_VARIABLE",
    "MAX_BATCH_BYTES",
    "NOT_MODIFIED",
    "Client",
    "int_field",
    "results_of",
]

# The backend's logger: what users configure for it (README: Logging).
log = logging.getLogger("rookdb.storage.http")

API_KEY_VARIABLE = "ROOKDB_API_KEY"
#: The server's default body limit (SPEC H4): a bigger batch is refused before it is sent.
MAX_BATCH_BYTES = 256 * 1024 * 1024
TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10.0
#: The longest a failed server URL waits before it is preferred again.
MAX_RETRY_AFTER_S = 60.0
#: What ``Client.request`` returns for a ``304 Not Modified``.
NOT_MODIFIED = object()


class _Node:
    """One server URL and what the store remembers of its failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.failures = 0
        self.retry_at = 0.0  # time.monotonic(): before it, the other URLs are tried first


def _not_sent(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached a server: it never had a connection."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _unreachable(failures: list[tuple[str, httpx.TransportError]]) -> StorageUnavailableError:
    if len(failures) == 1:
        url, exc = failures[0]
        what = "cannot reach" if _not_sent(exc) else "no answer from"
        return StorageUnavailableError(f"{what} the rookdb server at {url}: {exc}", original=exc)
    reasons = "; ".join(f"{url}: {exc}" for url, exc in failures)
    return StorageUnavailableError(
        f"none of the {len(failures)} rookdb servers answered ({reasons})",
        original=failures[-1][1],
    )


class Client:
    """One httpx client for the store's server URLs, which URL to use, and the rules for
    turning failures into rookdb errors.

    Failover, as RavenDB's clients do over their topology: each request goes to the first URL
    that has not failed lately; a URL that fails is tried again after a back-off (1 s, doubling
    to a minute), before that only once the others have failed too. A request that never
    reached a server goes to the next URL, a batch included; a read whose answer was lost is
    asked of the next URL; a batch whose answer was lost is ``OutcomeUnknownError`` at once:
    it may have been written, and sending it elsewhere could write it twice.
    """

    def __init__(self, base_urls: Sequence[str]) -> None:
        headers = {
            "User-Agent": "rookdb",
            "Accept": f"{protocol.RECORDS}, application/json",
            # Databases are created on first use, as on every embedded backend.
            protocol.CREATE_DATABASE_HEADER: "true",
        }
        key = os.environ.get(API_KEY_VARIABLE)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._nodes = [_Node(url) for url in base_urls]
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        # TCP_NODELAY, as on the server's side: a small last segment of a request must not
        # wait for the server's delayed ACK (Nagle's algorithm), which costs 40 ms a time.
        transport = httpx.HTTPTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        timeout = httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

        def async_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                headers=headers,
                timeout=timeout,
                transport=httpx.AsyncHTTPTransport(
                    limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
                ),
            )

        # The event loops' clients, for the async session's native calls (``bridge``).
        self._async_http = PerLoop(async_client, _close_async)

    def _order(self) -> list[_Node]:
        """The URLs in the order to try them: those not failed lately first, as given."""
        now = time.monotonic()
        with self._lock:
            return sorted(self._nodes, key=lambda node: max(node.retry_at - now, 0.0))

    def _failed(self, node: _Node, exc: httpx.TransportError, next_url: str | None) -> None:
        with self._lock:
            node.failures += 1
            wait = min(2.0 ** min(node.failures - 1, 16), MAX_RETRY_AFTER_S)  # 1 s, 2 s, ...
            node.retry_at = time.monotonic() + wait
        if next_url is not None:
            log.warning(
                "the rookdb server at %s failed (%s); failing over to %s", node.url, exc, next_url
            )

    def _answered(self, node: _Node) -> None:
        if node.failures:
            with self._lock:
                node.failures, node.retry_at = 0, 0.0
            log.info("the rookdb server at %s answers again", node.url)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        content: bytes | Iterator[bytes] | None = None,
        write: bool = False,
        missing_ok: bool = False,
        headers: Mapping[str, str] | None = None,
        notes: Notes | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer (None for an empty one or, with
        ``missing_ok``, a 404; ``NOT_MODIFIED`` for a 304). ``notes``: where the answer's
        floats that do not give back the number's text go (``exact_numbers.loads_noting``)."""
        failures: list[tuple[str, httpx.TransportError]] = []
        nodes = self._order()
        for index, node in enumerate(nodes):
            try:
                response = self._send(method, node.url + path, params, content, headers, write)
            except httpx.InvalidURL as exc:
                raise _unsendable(method, path, exc) from None
            except httpx.TransportError as exc:
                if write and not _not_sent(exc):
                    raise OutcomeUnknownError(
                        f"the batch was sent to {node.url} but no answer came back ({exc}): "
                        "it may or may not have been written",
                        original=exc,
                    ) from exc
                failures.append((node.url, exc))
                self._failed(node, exc, nodes[index + 1].url if index + 1 < len(nodes) else None)
                continue
            self._answered(node)
            break
        else:
            raise _unreachable(failures)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 304:
            return NOT_MODIFIED
        body = _decode(response, notes)
        if response.status_code >= 400:
            raise protocol.error_from_body(
                response.status_code, body if isinstance(body, dict) else None
            )
        return body

    def _send(
        self,
        method: str,
        url: str,
        params: Any,
        content: bytes | Iterator[bytes] | None,
        headers: Mapping[str, str] | None,
        write: bool,
    ) -> httpx.Response:
        """One request on the httpx ``Client``, or under ``bridge.run`` on the loop's
        ``AsyncClient``: a write there is awaited to its answer through a cancel (its outcome
        is learned); a read is abandoned at once."""
        if not bridge.in_bridge():
            return self._http.request(method, url, params=params, content=content, headers=headers)
        assert content is None or isinstance(content, bytes)  # streamed bodies: in threads
        sent = self._async_http.get().request(
            method, url, params=params, content=content, headers=headers
        )
        if not write:
            return bridge.await_(sent)
        try:
            return bridge.await_(bridge.to_the_end(sent))
        except asyncio.CancelledError:
            # The request itself was cancelled (every task of the loop cancelled): it may
            # have reached the server.
            raise OutcomeUnknownError(
                f"the request to {url} was cancelled before its answer came: it may or may "
                "not have been applied"
            ) from None

    def stream_lines(
        self, path: str, params: Any, method: str = "GET", content: bytes | None = None
    ) -> Iterator[str]:
        """The lines of a streamed answer, read as they arrive (a read: a server that cannot
        be reached before the first line is left for the next)."""
        failures: list[tuple[str, httpx.TransportError]] = []
        nodes = self._order()
        for index, node in enumerate(nodes):
            started = False
            try:
                with self._http.stream(
                    method, node.url + path, params=params, content=content
                ) as response:
                    started = True
                    self._answered(node)
                    if response.status_code >= 400:
                        response.read()
                        body = _decode(response)
                        raise protocol.error_from_body(
                            response.status_code, body if isinstance(body, dict) else None
                        )
                    yield from decode_json_lines(response.iter_bytes())
                return
            except httpx.InvalidURL as exc:
                raise _unsendable(method, path, exc) from None
            except httpx.TransportError as exc:
                if started:  # lines were read already: another server cannot go on from there
                    raise StorageUnavailableError(
                        f"the stream from {node.url} broke: {exc}", original=exc
                    ) from exc
                failures.append((node.url, exc))
                self._failed(node, exc, nodes[index + 1].url if index + 1 < len(nodes) else None)
        raise _unreachable(failures)

    def open_stream(
        self, path: str, params: Any, method: str = "GET"
    ) -> tuple[Mapping[str, str], Iterator[bytes]] | None:
        """A binary answer's headers and its body, read as it arrives (the iterator closes
        the response at its end, or when closed); None for a 404. ``HEAD``: headers only."""
        failures: list[tuple[str, httpx.TransportError]] = []
        nodes = self._order()
        for index, node in enumerate(nodes):
            try:
                request = self._http.build_request(method, node.url + path, params=params)
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                failures.append((node.url, exc))
                self._failed(node, exc, nodes[index + 1].url if index + 1 < len(nodes) else None)
                continue
            self._answered(node)
            if response.status_code == 404:
                response.close()
                return None
            if response.status_code >= 400:
                response.read()
                body = _decode(response)
                response.close()
                raise protocol.error_from_body(
                    response.status_code, body if isinstance(body, dict) else None
                )
            return response.headers, _body(response, node.url)
        raise _unreachable(failures)

    def close(self) -> None:
        self._http.close()
        self._async_http.close()


def _close_async(client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
    bridge.close_on(loop, client.aclose)


class _Body:
    """A streamed answer's body, chunk by chunk; ``close()`` (or its end) closes the
    response, whether or not it was read."""

    def __init__(self, response: httpx.Response, url: str) -> None:
        self._response, self._url = response, url
        self._chunks = response.iter_bytes()

    def __iter__(self) -> _Body:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except httpx.TransportError as exc:
            self.close()
            raise StorageUnavailableError(
                f"the stream from {self._url} broke: {exc}", original=exc
            ) from exc

    def close(self) -> None:
        self._response.close()


def _body(response: httpx.Response, url: str) -> Iterator[bytes]:
    return _Body(response, url)


def decode_json_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """The lines of a JSON-lines body, split at ``\\n`` only. (httpx's ``iter_lines`` splits
    where ``str.splitlines`` does, at U+2028, U+0085 and others too, which a JSON string may
    hold unescaped: a document holding one came back cut in two.)"""
    pending = b""
    for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            yield line.decode()
    if pending:
        yield pending.decode()


def _unsendable(method: str, path: str, exc: httpx.InvalidURL) -> ConfigurationError:
    """What a request no URL can carry is (a value of the caller's in its path or query string
    past the 65,536 characters httpx takes): refused before it is sent, on any server."""
    return ConfigurationError(
        f"cannot send {method} {shown(path)}: {exc} (a value in the request is too long for a URL)"
    )


def _decode(response: httpx.Response, notes: Notes | None = None) -> Any:
    if not response.content:
        return None
    try:
        # Only an answer the server marks holds numbers a float does not give back as written.
        if notes is not None and protocol.DIGITS_HEADER in response.headers:
            return loads_noting(response.content, notes)
        return orjson.loads(response.content)
    except (orjson.JSONDecodeError, SerializationError) as exc:
        raise ProtocolError(
            f"the server answered HTTP {response.status_code} with something that is not "
            f"JSON: {shown(response.content, limit=200)}"  # its first 200 bytes, and its size
        ) from exc


def int_field(body: Any, field: str) -> int:
    """The int ``field`` of a server's JSON answer, or ``ProtocolError``."""
    value = body.get(field) if type(body) is dict else None
    if type(value) is not int:
        raise ProtocolError(f"the server's answer has no {field}")
    return value


def results_of(body: Any) -> list[Any]:
    """The ``Results`` list of a server's JSON answer, or ``ProtocolError``."""
    if type(body) is not dict or type(body.get("Results")) is not list:
        raise ProtocolError("the server's answer has no Results list")
    return body["Results"]  # type: ignore[no-any-return]

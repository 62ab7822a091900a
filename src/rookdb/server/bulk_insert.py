"""RavenDB's bulk insert over the protocol: ``POST /bulk_insert`` and the operation routes
its clients use around it (``/operations/next-operation-id``, ``/operations/state``,
``/operations/kill``).

RavenDB's 7.x clients send one long request whose body is a JSON array of commands, written
while the application stores (optionally gzip-compressed)::

    [{"Id":"users/1-A","Type":"PUT","Document":{...,"@metadata":{"@collection":"Users"}}},
     {"Id":"users/2-A","Type":"PUT","Document":{...}}, ...]

The server reads the body as it arrives, cuts it into commands (``ArraySplitter``) and writes
them in chunks of ``CHUNK_DOCUMENTS`` documents (or ``CHUNK_BYTES``), each chunk one
``Storage.bulk_write``: one transaction (PostgreSQL's ``COPY``). What is atomic: a chunk. A
failure (a bad command, a storage error, a kill) leaves nothing of its chunk written and
keeps the chunks before it;
the answer is then an error (a 4xx for bad input) and the operation's state is ``Faulted``.
A document with an id that exists is overwritten, as RavenDB's bulk insert does.

Besides ``PUT``, ``AttachmentPUT`` (``bulk_insert.attachments_for(id).store(...)``): the
command's ``ContentLength`` raw bytes follow it in the body; they are spooled as they arrive
(``server.multipart``), and written after the chunk before them (so that the document is
there), in a transaction of their own. Any other command type is refused.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb import protocol, protocol_batches
from rookdb.errors import ConfigurationError, InvalidOperationError, RookError
from rookdb.serialization.exact_numbers import keep_digits
from rookdb.server.limits import BodyTimeout, parse_count
from rookdb.server.multipart import SPOOL_BYTES
from rookdb.storage.commands import AttachmentPutCommand, Command, CountersCommand, PutCommand

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_DOCUMENTS",
    "ArraySplitter",
    "Operations",
    "bulk_insert",
    "kill_operation",
    "next_operation_id",
    "operation_state",
]

#: Documents per transaction: big enough that a commit's cost is spread, small enough that a
#: failure loses little and memory stays flat.
CHUNK_DOCUMENTS = 5000
#: Bytes of commands per transaction, whichever comes first.
CHUNK_BYTES = 8 * 1024 * 1024
_IN_STRING = re.compile(rb'["\\]')
_ATTACHMENT_PUT = b'"AttachmentPUT"'
_IN_ELEMENT = re.compile(rb'[][{}"]')


class ArraySplitter:
    """Cuts a JSON array arriving in pieces into the bytes of its elements (objects), without
    parsing them: a scanner of brackets and strings, so memory is one element at most."""

    def __init__(self, max_element: int) -> None:
        self._max = max_element
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer scanned so far
        self._depth = 0  # 0: outside the array; 1: between elements; >1: inside one
        self._start = -1  # where the element being scanned begins in _buffer
        self._in_string = False
        self._escaped = False
        self._ended = False
        #: An ``AttachmentPUT`` element was the last one out: its raw bytes come next, not
        #: JSON (``leftover`` hands back what was read after it).
        self.raw_next = False

    def feed(self, data: bytes) -> list[bytes]:
        """The elements completed by ``data``; ``ConfigurationError`` for what is not an
        array of objects."""
        if self._ended:
            if data.strip():
                raise ConfigurationError("the bulk insert body goes on after its array")
            return []
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        i, n = self._scanned, len(buffer)
        depth, start, in_string, escaped = self._depth, self._start, self._in_string, self._escaped
        while i < n:
            if escaped:  # the character after a backslash, in a string
                escaped = False
                i += 1
                continue
            if in_string:  # jump to the string's next quote or backslash
                found = _IN_STRING.search(buffer, i)
                if found is None:
                    i = n
                    break
                i = found.end()
                if buffer[found.start()] == 0x5C:
                    escaped = True
                else:
                    in_string = False
                continue
            if depth >= 2:  # inside an element: jump to its next bracket or string
                found = _IN_ELEMENT.search(buffer, i)
                if found is None:
                    i = n
                    break
                i = found.start()
            c = buffer[i]
            if c == 0x22:  # a string
                if depth < 2:
                    raise ConfigurationError("the bulk insert body is an array of command objects")
                in_string = True
            elif c == 0x5B or c == 0x7B:  # [ {
                if depth == 0 and c != 0x5B:
                    raise ConfigurationError("the bulk insert body is a JSON array")
                if depth == 1:
                    if c != 0x7B:
                        raise ConfigurationError("each bulk insert command is a JSON object")
                    start = i
                depth += 1
            elif c == 0x5D or c == 0x7D:  # ] }
                depth -= 1
                if depth == 1:
                    element = bytes(buffer[start : i + 1])
                    out.append(element)
                    start = -1
                    if element.find(_ATTACHMENT_PUT) >= 0:  # ``encoding``: bytes searches
                        # Its content follows, raw: stop here; the caller reads it.
                        self.raw_next = True
                        i += 1
                        break
                elif depth == 0:
                    if bytes(buffer[i + 1 :]).strip():
                        raise ConfigurationError("the bulk insert body goes on after its array")
                    self._ended = True
                    buffer.clear()
                    i = 0
                    break
                elif depth < 0:
                    raise ConfigurationError("the bulk insert body is not balanced JSON")
            elif depth < 2 and c not in b" \t\r\n,":
                raise ConfigurationError("the bulk insert body is an array of command objects")
            i += 1
        # Keep only the element being read: memory is one command at most.
        if self.raw_next:  # what follows the element is its content: kept for ``leftover``
            del buffer[:i]
            i = 0
        elif start > 0:
            del buffer[:start]
            i -= start
            start = 0
        elif start < 0:
            buffer.clear()
            i = 0
        if len(buffer) > self._max:
            raise ConfigurationError(
                f"a bulk insert command is over {self._max:,} bytes, the server's body limit"
            )
        self._scanned = i
        self._depth, self._start = depth, start
        self._in_string, self._escaped = in_string, escaped
        return out

    def leftover(self) -> bytes:
        """After an ``AttachmentPUT`` (``raw_next``): the bytes read after it, which begin
        its content; scanning goes on with the next ``feed``."""
        assert self.raw_next and self._start < 0
        self.raw_next = False
        rest = bytes(self._buffer[self._scanned :])
        self._buffer.clear()
        self._scanned = 0
        return rest

    def finish(self, closed: bool = True) -> None:
        """The body ended: ``ConfigurationError`` unless the array was closed (or, where
        ``closed`` is False, the body ended between two commands)."""
        if not closed and self._depth == 1 and not self._buffer.strip():
            return
        if not self._ended and (self._depth or self._buffer.strip()):
            raise ConfigurationError("the bulk insert body ended before its array was closed")


class _Operation:
    __slots__ = ("error", "killed", "status", "written")

    def __init__(self) -> None:
        self.status = "InProgress"
        self.error: dict[str, Any] | None = None
        self.killed = False
        self.written = 0


class Operations:
    """The server's operation ids (for RavenDB's clients: a bulk insert is an operation) and
    the state of the last ``KEEP`` of them, in memory, as RavenDB keeps its operations: a
    restart forgets them. Ids start at the server's start time in microseconds, so that an id
    a client still holds after a restart is unknown (404) rather than another operation's."""

    KEEP = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(time.time_ns() // 1000)
        self._states: OrderedDict[int, _Operation] = OrderedDict()

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def start(self, operation_id: int) -> _Operation:
        with self._lock:
            state = self._states[operation_id] = _Operation()
            while len(self._states) > self.KEEP:
                self._states.popitem(last=False)
            return state

    def get(self, operation_id: int) -> _Operation | None:
        with self._lock:
            return self._states.get(operation_id)


async def next_operation_id(server: _Server, request: Request) -> Response:
    server.database(request, write=False)
    operation_id = server.operations.next_id()
    return _json({"Id": operation_id, "NodeTag": protocol.SERVER_TAG})


async def operation_state(server: _Server, request: Request) -> Response:
    server.database(request, write=False)
    state = server.operations.get(parse_count(request.query_params.get("id", ""), "id"))
    if state is None:
        return _json(
            protocol.raven_error("RavenException", "no such operation (it is finished or unknown)"),
            404,
        )
    body: dict[str, Any] = {"Status": state.status}
    if state.status == "Faulted":
        body["Result"] = state.error
    elif state.status == "Completed":
        body["Result"] = {"Total": state.written}
    return _json(body)


async def kill_operation(server: _Server, request: Request) -> Response:
    server.database(request, write=True)
    state = server.operations.get(parse_count(request.query_params.get("id", ""), "id"))
    if state is None:
        raise InvalidOperationError("no such operation to kill")
    state.killed = True
    return Response(status_code=204)


async def bulk_insert(server: _Server, request: Request) -> Response:
    """Read the command array as it arrives; write it a chunk (one transaction) at a time."""
    storage = server.storage(request, write=True)
    params = request.query_params
    operation_id = (
        parse_count(params["id"], "id") if "id" in params else server.operations.next_id()
    )
    state = server.operations.start(operation_id)
    limits = server.limits
    splitter = ArraySplitter(limits.max_body_bytes)
    gzip = request.headers.get("content-encoding", "").lower() == "gzip"
    inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16) if gzip else None
    pending: list[Any] = []
    pending_bytes = 0
    raw: _Raw | None = None
    after_content = False  # the last bytes read were an attachment's content
    stream = request.stream()
    try:
        while True:
            try:
                with anyio.fail_after(limits.idle_timeout_s):
                    data = await stream.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise BodyTimeout from None
            if state.killed:
                raise InvalidOperationError(f"bulk insert {operation_id} was killed")
            if inflate is not None:
                try:
                    data = inflate.decompress(data)
                except zlib.error as exc:
                    raise ConfigurationError(f"the gzip body is corrupt: {exc}") from None
            while data:
                if raw is not None:  # an attachment's content
                    data = raw.take(data)
                    if raw.left == 0:
                        state.written += await _write(storage, pending)
                        pending, pending_bytes = [], 0
                        await raw.write(storage)
                        raw = None
                        after_content = not data
                    continue
                after_content = False
                for element in splitter.feed(data):
                    command = _command(element)
                    if type(command) is dict and command.get("Type") == "AttachmentPUT":
                        raw = _Raw(command, limits.max_body_bytes)
                        continue
                    pending.append(command)
                    pending_bytes += len(element)
                    if len(pending) >= CHUNK_DOCUMENTS or pending_bytes >= CHUNK_BYTES:
                        state.written += await _write(storage, pending)
                        pending, pending_bytes = [], 0
                data = splitter.leftover() if splitter.raw_next else b""
                if raw is not None and raw.left == 0:  # an empty content
                    state.written += await _write(storage, pending)
                    pending, pending_bytes = [], 0
                    await raw.write(storage)
                    raw = None
        if raw is not None:
            raise ConfigurationError("the bulk insert body ended inside an attachment's content")
        # RavenDB's Python client leaves out the closing "]" when an attachment's content
        # ended its last buffer: a body that ends right after one is whole.
        splitter.finish(closed=not after_content)
        if pending:
            state.written += await _write(storage, pending)
    except RookError as exc:
        state.status = "Faulted"
        state.error = {
            "$type": "Raven.Client.Documents.Operations.OperationExceptionResult, Raven.Client",
            "Type": type(exc).__name__,
            "Message": str(exc),
            "Error": f"{type(exc).__name__}: {exc}",
            "StatusCode": protocol.error_status(exc),
        }
        await _drain(stream)  # the client is still sending: let it finish, then answer
        raise
    except BaseException:
        state.status = "Faulted"
        state.error = {"$type": "Raven.Client.Documents.Operations.OperationExceptionResult"}
        raise
    state.status = "Completed"
    return Response(status_code=204)


class _Raw:
    """An ``AttachmentPUT`` of a bulk insert whose content is being read, into a spool."""

    def __init__(self, command: dict[str, Any], limit: int) -> None:
        length = command.get("ContentLength")
        if type(length) is not int or not 0 <= length <= limit:
            raise ConfigurationError(
                f"an AttachmentPUT of a bulk insert has its ContentLength (0 to {limit:,})"
            )
        content_type = command.get("ContentType") or ""
        document_id, name = command.get("Id"), command.get("Name")
        if type(document_id) is not str or type(name) is not str:
            raise ConfigurationError("an AttachmentPUT of a bulk insert has its Id and Name")
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        try:
            self.command = AttachmentPutCommand(document_id, name, self.file, content_type)
        except BaseException:
            self.file.close()
            raise
        self.left = length

    def take(self, data: bytes) -> bytes:
        """Keep what of ``data`` is the content; the rest."""
        taken = data[: self.left]
        self.file.write(taken)
        self.left -= len(taken)
        return data[len(taken) :]

    async def write(self, storage: Any) -> None:
        try:
            self.file.seek(0)  # where the command's stream began
            await run_in_threadpool(storage.apply, [self.command])
        finally:
            self.file.close()


def _command(element: bytes) -> Any:
    try:
        decoded = orjson.loads(element)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"a bulk insert command is not JSON: {exc}") from None
    if type(decoded) is dict and decoded.get("Type") == "PUT":
        return keep_digits(element, decoded)  # its document's numbers as written
    return decoded


async def _write(storage: Any, raw: list[Any]) -> int:
    """One chunk: checked whole (nothing written if one command is bad), then one
    ``bulk_write`` (none for an empty chunk); a chunk with counters (the client's
    ``counters_for``) is one batch instead, in order, all or nothing as well."""
    if not raw:
        return 0
    commands: list[Command] = []
    puts: list[PutCommand] = []
    for i, command in enumerate(protocol_batches.decode_batch({"Commands": raw})):
        if type(command) is CountersCommand:
            commands.append(command)
            continue
        if type(command) is not PutCommand or command.expected_change_vector is not None:
            raise ConfigurationError(f"command {i}: a bulk insert takes PUT and Counters commands")
        commands.append(command)
        puts.append(command)
    if len(puts) == len(commands):
        await run_in_threadpool(storage.bulk_write, puts)
    else:
        await run_in_threadpool(storage.apply, commands)
    return len(commands)


async def _drain(stream: Any) -> None:
    """Read (and drop) what the client still sends, for as long as it keeps sending."""
    try:
        while True:
            with anyio.fail_after(5):
                await stream.__anext__()
    except (StopAsyncIteration, TimeoutError, Exception):
        return


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type="application/json; charset=utf-8")

"""Documents in and out as JSON lines: ``rookdb export`` and ``rookdb import`` (SPEC §8).

One document per line, in RavenDB's shape: the document's JSON with ``@metadata`` carrying its
``@id`` and ``@collection`` (and whatever metadata the document has of its own, such as
``Raven-Python-Type``)::

    {"FirstName":"Robert","@metadata":{"@collection":"Employees","@id":"employees/1-A"}}

A document's attachments follow its line, each as a header line and the lines of its content,
base64 in pieces of at most 1 MiB (``CHUNK_SIZE``), as many as its ``Size`` takes (none for an
empty one); neither has ``@metadata``, which tells them from documents::

    {"@attachment":{"Id":"employees/1-A","Name":"photo.jpg","ContentType":"image/jpeg","Size":5,"Hash":"..."}}
    {"@content":"aGVsbG8="}

Change vectors and modification times are not exported: storage assigns them, so an import
would drop them anyway, and leaving them out makes two exports of the same data identical.

Both directions stream, so memory does not grow with the number of documents: an export pages
through ``Storage.stream``; an import reads one line at a time and writes a batch every
``batch_size`` documents. Each batch is atomic; the file as a whole is not (a batch the size
of the file could not stream). So that bad input writes nothing, ``import_file`` reads the
whole file once to check every line before it writes the first batch.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

import orjson

from rookdb.errors import ConfigurationError, InvalidIdError, SerializationError
from rookdb.ids import validate_collection_name, validate_id
from rookdb.protocol import ASSIGNED, encode_document
from rookdb.serialization.encoding import check_depth, dumps, loads_strict
from rookdb.storage.base import Storage
from rookdb.storage.records import AttachmentPutCommand, PutCommand, document_key
from rookdb.storage.relational.attachments import CHUNK_SIZE, content_hash

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ImportFileError",
    "check_file",
    "export_entries",
    "export_lines",
    "import_file",
]

#: Documents per atomic batch of an import.
DEFAULT_BATCH_SIZE = 1000

#: Told how many bytes of the file (import) or documents (export) were just handled.
Progress = Callable[[int], None]


class ImportFileError(ConfigurationError):
    """A line of an import file is not a document rookdb can store; nothing was written.
    ``line`` is its 1-based number."""

    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def export_lines(storage: Storage, collection: str | None = None) -> Iterator[bytes]:
    """Each document of ``storage`` (of one collection if given) as a line, newline included,
    each followed by the lines of its attachments."""
    for line, _ in export_entries(storage, collection):
        yield line


def export_entries(storage: Storage, collection: str | None = None) -> Iterator[tuple[bytes, bool]]:
    """``export_lines``, each line with whether it is a document's (not an attachment's)."""
    for record in storage.stream(collection):
        document = encode_document(record)
        metadata = document["@metadata"]
        del metadata["@change-vector"], metadata["@last-modified"]
        yield orjson.dumps(document) + b"\n", True
        listed = metadata.get("@attachments")
        if listed and storage.capabilities.attachments:
            for item in listed:
                yield from ((line, False) for line in _attachment_lines(storage, record.id, item))


def _attachment_lines(storage: Storage, document_id: str, item: Any) -> Iterator[bytes]:
    found = (
        storage.read_attachment(document_id, item.get("Name", "")) if type(item) is dict else None
    )
    if found is None:  # deleted since the document was read
        return
    details, chunks = found
    header = {
        "Id": details.document_id,
        "Name": details.name,
        "ContentType": details.content_type,
        "Size": details.size,
        "Hash": details.hash,
    }
    yield orjson.dumps({"@attachment": header}) + b"\n"
    pending = b""
    for chunk in chunks:  # re-cut to CHUNK_SIZE, whatever sizes storage reads in
        pending += chunk
        while len(pending) >= CHUNK_SIZE:
            piece, pending = pending[:CHUNK_SIZE], pending[CHUNK_SIZE:]
            yield b'{"@content":"' + base64.b64encode(piece) + b'"}\n'
    if pending:
        yield b'{"@content":"' + base64.b64encode(pending) + b'"}\n'


def _put(line: bytes, number: int) -> PutCommand:
    """The PUT a line of an import file stands for."""
    try:
        document = loads_strict(line)
    except SerializationError as exc:
        raise ImportFileError(str(exc), line=number) from None
    if type(document) is not dict:
        raise ImportFileError("a document is a JSON object", line=number)
    metadata = document.get("@metadata")
    if type(metadata) is not dict or type(metadata.get("@id")) is not str:
        raise ImportFileError('no "@metadata": {"@id": ...} naming the document', line=number)
    document_id = metadata["@id"]
    try:
        validate_id(document_id)
        check_depth(line, document_id)  # before orjson meets its own limit
    except (InvalidIdError, SerializationError) as exc:
        raise ImportFileError(str(exc), line=number) from None
    for key in ASSIGNED:
        metadata.pop(key, None)
    if not metadata:
        del document["@metadata"]
    collection = metadata.get("@collection", "@empty")
    try:
        validate_collection_name(collection)
    except InvalidIdError as exc:
        raise ImportFileError(f"@collection: {exc}", line=number) from None
    try:
        data = dumps(document)  # at most MAX_DEPTH levels deep, as every write
    except SerializationError as exc:
        raise ImportFileError(str(exc), line=number) from None
    return PutCommand(document_id, collection, data)


class _Content(io.RawIOBase):
    """An attachment's content, read from the ``@content`` lines after its header (as they
    are read: flat memory), checked against the header's ``Size`` and ``Hash``."""

    def __init__(self, lines: Iterator[tuple[int, bytes]], header: dict[str, Any], number: int):
        super().__init__()
        self._lines, self._header, self._number = lines, header, number
        self._left = int(header["Size"])
        self._block = memoryview(b"")
        self._hash = content_hash()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._block:
            if self._left == 0:
                self._verify()
                return 0
            self._block = memoryview(self._next())
        n = min(len(buffer), len(self._block))
        buffer[:n] = self._block[:n]
        self._block = self._block[n:]
        return n

    def _next(self) -> bytes:
        number, line = next(self._lines, (self._number, b""))
        self._number = number
        try:
            value = orjson.loads(line)
            data = base64.b64decode(value["@content"], validate=True)
        except (orjson.JSONDecodeError, TypeError, KeyError, binascii.Error):
            raise ImportFileError(
                f"attachment {self._header['Name']!r} needs {self._left:,} more bytes of "
                '{"@content": base64} lines',
                line=number,
            ) from None
        if not data or len(data) > self._left:
            raise ImportFileError("an @content line is empty or past the Size", line=number)
        self._left -= len(data)
        self._hash.update(data)
        return data

    def _verify(self) -> None:
        if base64.b64encode(self._hash.digest()).decode() != self._header["Hash"]:
            raise ImportFileError(
                f"attachment {self._header['Name']!r}: its content does not have its Hash",
                line=self._number,
            )

    def drain(self) -> None:
        """Read (and check) the rest of the content."""
        while self.read(CHUNK_SIZE):
            pass


def _attachment(value: Any, number: int) -> dict[str, Any] | None:
    """The header of an attachment line, checked; None when ``value`` is not one."""
    if type(value) is not dict or "@metadata" in value or "@attachment" not in value:
        return None
    header = value["@attachment"]
    fields = {"Id": str, "Name": str, "ContentType": str, "Size": int, "Hash": str}
    if type(header) is not dict or any(type(header.get(k)) is not t for k, t in fields.items()):
        raise ImportFileError(
            '"@attachment" has Id, Name, ContentType and Hash (strings) and Size (an int)',
            line=number,
        )
    if header["Size"] < 0:
        raise ImportFileError("an attachment's Size is not negative", line=number)
    try:
        validate_id(header["Id"])
        AttachmentPutCommand(header["Id"], header["Name"], b"", header["ContentType"])
    except (ConfigurationError, InvalidIdError) as exc:
        raise ImportFileError(str(exc), line=number) from None
    return header


def _entries(
    file: IO[bytes], progress: Progress | None
) -> Iterator[PutCommand | tuple[dict[str, Any], _Content]]:
    """The file's documents (puts) and attachments (header, content), in order; each
    attachment's content lines are read (and checked) before the next entry."""

    def numbered() -> Iterator[tuple[int, bytes]]:
        for number, line in enumerate(file, start=1):
            if progress is not None:
                progress(len(line))
            if line.strip():
                yield number, line

    lines = numbered()
    for number, line in lines:
        header = None
        if line.startswith(b'{"@attachment"'):
            try:
                header = _attachment(loads_strict(line), number)
            except SerializationError:
                header = None  # _put says what is wrong with it
        if header is None:
            yield _put(line, number)
            continue
        content = _Content(lines, header, number)
        yield header, content
        content.drain()


def check_file(file: IO[bytes], progress: Progress | None = None) -> int:
    """Check every line of an import file; the number of documents it holds.
    Raises ``ImportFileError`` for the first line that is not a storable document (or
    attachment: its content must have its size and hash)."""
    return sum(1 for entry in _entries(file, progress) if type(entry) is PutCommand)


def import_file(
    storage: Storage,
    file: IO[bytes],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> int:
    """Store every document of an import file, ``batch_size`` per atomic batch, and each
    attachment in a batch of its own after its document's; how many documents were
    stored. A document whose id is already stored replaces it. The caller checks the file
    first (``check_file``) so that a bad line is found before anything is written."""
    if batch_size < 1:
        raise ConfigurationError("batch_size must be at least 1")
    stored = 0
    batch: list[PutCommand] = []
    ids: set[str] = set()

    def write() -> None:
        nonlocal stored
        storage.apply(batch)
        stored += len(batch)
        batch.clear()
        ids.clear()

    for put in _entries(file, progress):
        if isinstance(put, tuple):
            if batch:  # its document first
                write()
            header, content = put
            command = AttachmentPutCommand(
                header["Id"], header["Name"], cast(IO[bytes], content), header["ContentType"]
            )
            storage.apply([command])
            continue
        key = document_key(put.id)
        # A batch holds one command per document: a repeated id goes in the next batch, so the
        # file's last line for it is the one kept.
        if len(batch) >= batch_size or key in ids:
            write()
        batch.append(put)
        ids.add(key)
    if batch:
        write()
    return stored

"""Documents in and out as JSON lines: ``rookdb export`` and ``rookdb import`` (SPEC §8).

One document per line, in RavenDB's shape: the document's JSON with ``@metadata`` carrying its
``@id`` and ``@collection`` (and whatever metadata the document has of its own, such as
``Raven-Python-Type``)::

    {"FirstName":"Robert","@metadata":{"@collection":"Employees","@id":"employees/1-A"}}

Change vectors and modification times are not exported: storage assigns them, so an import
would drop them anyway, and leaving them out makes two exports of the same data identical.

Both directions stream, so memory does not grow with the number of documents: an export pages
through ``Storage.stream``; an import reads one line at a time and writes a batch every
``batch_size`` documents. Each batch is atomic; the file as a whole is not (a batch the size
of the file could not stream). So that bad input writes nothing, ``import_file`` reads the
whole file once to check every line before it writes the first batch.

Lines of other kinds follow the documents: a JSON object with one key, the kind (a document's
line always has ``@metadata``), and its record as the value. An import refuses a file with a
kind it does not know, so that nothing in it is silently lost. The kinds:

- ``{"@revision": {...}}``: a revision in RavenDB's shape, its ``@metadata`` with ``@id``,
  ``@collection``, ``@change-vector``, ``@last-modified`` and ``@flags`` (``Revision`` or
  ``DeleteRevision``); a document's revisions the oldest first, then those of deleted
  documents (RavenDB's revisions bin). An import keeps them as they are, change vectors and
  times too, and skips one whose change vector the database has.
- ``{"@attachment": {"Id", "Name", "ContentType", "Size", "Hash"}}``: an attachment, its
  content in the ``{"@content": "<base64>"}`` lines right after it, pieces of at most 1 MiB
  (``CHUNK_SIZE``), as many as its ``Size`` takes (none for an empty one); the attachments of
  the documents that have them (``HasAttachments``), after the documents. An import checks
  each content's size and hash before it writes anything, and stores each attachment in a
  batch of its own, its content read from the file as it goes (flat memory).
- ``{"@counters": {"Id": "users/1", "Counters": {"Likes": 3, "Views": 10}}}``: the counters
  of a document that has them (``HasCounters``), one line per document, after the
  attachments; names as stored, values 64-bit integers. An import sets each counter to its
  value (a counter of that name the database had is replaced, not added to), the document's
  counters in one batch, after the document's own batch.
- ``{"@revisions-configuration": {...}}``: RavenDB's ``RevisionsConfiguration``, last, in an
  export of the whole database. An import applies it after everything else, so that the
  documents it writes keep no revisions of their own (unless the database already had a
  configuration).

An export notes the ids of the documents that have revisions (``HasRevisions``),
attachments (``HasAttachments``) or counters (``HasCounters``) as it streams them, and
reads those after the last document: memory grows with those ids (and one document's
revisions at a time), not with the documents.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple, cast

import orjson

from rookdb.errors import ConfigurationError, InvalidIdError, SerializationError, shown
from rookdb.ids import validate_collection_name, validate_id
from rookdb.protocol import ASSIGNED, encode_document
from rookdb.serialization.encoding import check_depth, dumps, loads_strict
from rookdb.serialization.exact_numbers import keep_digits
from rookdb.storage.base import Storage
from rookdb.storage.commands import (
    AttachmentPutCommand,
    CounterOperation,
    CountersCommand,
    PutCommand,
)
from rookdb.storage.owned_metadata import ATTACHMENTS, COUNTERS
from rookdb.storage.records import DocumentRecord, document_key
from rookdb.storage.relational.attachments import CHUNK_SIZE, content_hash
from rookdb.storage.revisions_config import HAS_REVISIONS, check_configuration, check_revision

__all__ = [
    "ATTACHMENT",
    "CONTENT",
    "COUNTERS_LINE",
    "DEFAULT_BATCH_SIZE",
    "DOCUMENT",
    "REVISION",
    "REVISIONS_CONFIGURATION",
    "ImportCounts",
    "ImportFileError",
    "check_file",
    "check_records",
    "export_lines",
    "export_records",
    "import_file",
    "import_records",
]

#: Documents per atomic batch of an import.
DEFAULT_BATCH_SIZE = 1000

#: Told how many bytes of the file (import) or documents (export) were just handled.
Progress = Callable[[int], None]

#: The kinds of line (``export_records``): a document, and the one-key records after them.
DOCUMENT = "document"
REVISION = "@revision"
REVISIONS_CONFIGURATION = "@revisions-configuration"
ATTACHMENT = "@attachment"
CONTENT = "@content"
COUNTERS_LINE = "@counters"

#: A document's revisions are read this many at a time.
_REVISIONS_PAGE = 1024


class ImportCounts(NamedTuple):
    """What an import file holds (``check_records``) or an import stored
    (``import_records``: revisions it already had are not counted)."""

    documents: int = 0
    revisions: int = 0
    #: It holds (applied) a revisions configuration.
    configuration: bool = False
    attachments: int = 0
    #: Documents whose counters it holds (set).
    counters: int = 0


class ImportFileError(ConfigurationError):
    """A line of an import file is not a document rookdb can store; nothing was written.
    ``line`` is its 1-based number."""

    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def export_lines(storage: Storage, collection: str | None = None) -> Iterator[bytes]:
    """Each line of an export of ``storage`` (of one collection if given), newline included:
    ``export_records`` without the kinds."""
    for _, line in export_records(storage, collection):
        yield line


def export_records(storage: Storage, collection: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Each line of an export of ``storage`` (of one collection if given) and its kind
    (``DOCUMENT``, ``ATTACHMENT``, ``CONTENT``, ``COUNTERS_LINE``, ``REVISION``,
    ``REVISIONS_CONFIGURATION``),
    newline included."""
    revised: dict[str, None] = {}  # the ids of documents with revisions, in order
    attached: dict[str, None] = {}  # and of those with attachments
    counted: dict[str, None] = {}  # and of those with counters
    for record in storage.stream(collection):
        document = encode_document(record)
        metadata = document["@metadata"]
        del metadata["@change-vector"], metadata["@last-modified"]
        flags = metadata.get("@flags")
        if type(flags) is str and HAS_REVISIONS in flags:
            revised[record.id] = None
        if type(flags) is str and ATTACHMENTS.flag in flags:
            attached[record.id] = None
        if type(flags) is str and COUNTERS.flag in flags:
            counted[record.id] = None
        yield DOCUMENT, orjson.dumps(document) + b"\n"
    if storage.capabilities.attachments:
        for document_id in attached:
            for details in storage.get_attachments(document_id):
                yield from _attachment_lines(storage, document_id, details.name)
    if storage.capabilities.counters:
        for document_id in counted:
            counters = storage.get_counters(document_id)
            if counters:  # (none: all deleted since the document was read)
                counted_record = {"Id": document_id, "Counters": counters}
                yield COUNTERS_LINE, orjson.dumps({COUNTERS_LINE: counted_record}) + b"\n"
    if not storage.capabilities.revisions:
        return
    for document_id in revised:
        yield from _revision_lines(storage, document_id)
    start = 0
    while entries := storage.get_revisions_bin(start, _REVISIONS_PAGE):
        start += len(entries)
        for entry in entries:
            wanted = collection is None or entry.collection.lower() == collection.lower()
            if wanted and entry.id not in revised:
                revised[entry.id] = None
                yield from _revision_lines(storage, entry.id)
    configuration = storage.get_revisions_configuration()
    if configuration is not None and collection is None:
        line = orjson.dumps({REVISIONS_CONFIGURATION: configuration})
        yield REVISIONS_CONFIGURATION, line + b"\n"


def _revision_lines(storage: Storage, document_id: str) -> Iterator[tuple[str, bytes]]:
    """The revisions of ``document_id`` as lines, the oldest first."""
    revisions: list[DocumentRecord] = []
    while page := storage.get_revisions(document_id, len(revisions), _REVISIONS_PAGE).records:
        revisions.extend(page)
    for revision in reversed(revisions):
        yield REVISION, orjson.dumps({REVISION: encode_document(revision)}) + b"\n"


def _attachment_lines(storage: Storage, document_id: str, name: str) -> Iterator[tuple[str, bytes]]:
    """An attachment as a header line and its content's lines."""
    found = storage.read_attachment(document_id, name)
    if found is None:  # deleted since it was listed
        return
    details, chunks = found
    header = {
        "Id": details.document_id,
        "Name": details.name,
        "ContentType": details.content_type,
        "Size": details.size,
        "Hash": details.hash,
    }
    yield ATTACHMENT, orjson.dumps({ATTACHMENT: header}) + b"\n"
    pending = b""
    for chunk in chunks:  # cut again to CHUNK_SIZE, whatever sizes storage reads in
        pending += chunk
        while len(pending) >= CHUNK_SIZE:
            piece, pending = pending[:CHUNK_SIZE], pending[CHUNK_SIZE:]
            yield CONTENT, b'{"@content":"' + base64.b64encode(piece) + b'"}\n'
    if pending:
        yield CONTENT, b'{"@content":"' + base64.b64encode(pending) + b'"}\n'


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
            data = base64.b64decode(value[CONTENT], validate=True)
        except (orjson.JSONDecodeError, TypeError, KeyError, binascii.Error):
            raise ImportFileError(
                f"attachment {shown(self._header['Name'])} needs {self._left:,} more bytes of "
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
                f"attachment {shown(self._header['Name'])}: its content does not have its Hash",
                line=self._number,
            )

    def drain(self) -> None:
        """Read (and check) the rest of the content."""
        while self.read(CHUNK_SIZE):
            pass


def _attachment(header: Any, number: int) -> dict[str, Any]:
    """The header of an attachment line, checked."""
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


def _counters(record: Any, number: int) -> CountersCommand:
    """The command a counters line stands for: each counter set to its value (deleted,
    then incremented from 0, in one command)."""
    counters = record.get("Counters") if type(record) is dict else None
    if (
        type(record) is not dict
        or type(record.get("Id")) is not str
        or type(counters) is not dict
        or not counters
    ):
        raise ImportFileError(
            '"@counters" has Id (a string) and Counters (an object of names and values)',
            line=number,
        )
    operations: list[CounterOperation] = []
    try:
        for name, value in counters.items():
            if type(value) is not int:
                raise ConfigurationError(
                    f"counter {shown(name)} has the value {shown(value)}, not an int"
                )
            operations.append(CounterOperation("Delete", name))
            operations.append(CounterOperation("Increment", name, value))
        return CountersCommand(record["Id"], tuple(operations))
    except (ConfigurationError, InvalidIdError) as exc:
        raise ImportFileError(f"{COUNTERS_LINE}: {exc}", line=number) from None


def _put(line: bytes, number: int) -> PutCommand:
    """The PUT a line of an import file stands for."""
    try:
        document = keep_digits(line, loads_strict(line))  # its numbers stored as written
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


def _other(line: bytes, number: int) -> tuple[str, Any] | None:
    """The kind and record of a line that is not a document (None for a document's)."""
    if not line.lstrip().startswith(b'{"@') or line.lstrip().startswith(b'{"@metadata"'):
        return None  # the cheap test first: most lines are documents
    try:
        value = loads_strict(line)
    except SerializationError as exc:
        raise ImportFileError(str(exc), line=number) from None
    if type(value) is not dict or len(value) != 1 or "@metadata" in value:
        return None
    ((kind, record),) = value.items()
    try:
        if kind == REVISION:  # its numbers stored as written, as a document's
            return kind, check_revision(keep_digits(line, value)[REVISION])
        if kind == REVISIONS_CONFIGURATION:
            return kind, check_configuration(record)
        if kind == ATTACHMENT:
            return kind, _attachment(record, number)
        if kind == COUNTERS_LINE:
            return kind, _counters(record, number)
    except ConfigurationError as exc:
        raise ImportFileError(f"{kind}: {exc}", line=number) from None
    raise ImportFileError(f"a line of the unknown kind {shown(kind)}", line=number)


def _records(file: IO[bytes], progress: Progress | None) -> Iterator[tuple[str, Any]]:
    """Each line's kind and what it stands for: a ``PutCommand``, a revision's
    ``DocumentRecord``, a revisions configuration, an attachment's header and content (a
    stream of the lines after it: they are read, and checked, before the next record)."""

    def numbered() -> Iterator[tuple[int, bytes]]:
        for number, line in enumerate(file, start=1):
            if progress is not None:
                progress(len(line))
            if line.strip():
                yield number, line

    lines = numbered()
    for number, line in lines:
        other = _other(line, number)
        if other is None:
            yield DOCUMENT, _put(line, number)
        elif other[0] == ATTACHMENT:
            content = _Content(lines, other[1], number)
            yield ATTACHMENT, (other[1], content)
            content.drain()
        else:
            yield other


def check_file(file: IO[bytes], progress: Progress | None = None) -> int:
    """Check every line of an import file; the number of documents it holds.
    Raises ``ImportFileError`` for the first line that is not a storable document (or
    record of another kind)."""
    return check_records(file, progress).documents


def check_records(file: IO[bytes], progress: Progress | None = None) -> ImportCounts:
    """Check every line of an import file; what it holds. Raises ``ImportFileError`` for
    the first line that is not a storable document or record of another kind."""
    documents = revisions = attachments = counters = 0
    configuration = False
    for kind, _ in _records(file, progress):
        documents += kind == DOCUMENT
        revisions += kind == REVISION
        attachments += kind == ATTACHMENT
        counters += kind == COUNTERS_LINE
        configuration = configuration or kind == REVISIONS_CONFIGURATION
    return ImportCounts(documents, revisions, configuration, attachments, counters)


def import_file(
    storage: Storage,
    file: IO[bytes],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> int:
    """Store every document of an import file, ``batch_size`` per atomic batch; how many were
    stored: ``import_records(...).documents``."""
    return import_records(storage, file, batch_size=batch_size, progress=progress).documents


def import_records(
    storage: Storage,
    file: IO[bytes],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportCounts:
    """Store every document of an import file, ``batch_size`` per atomic batch (a document
    whose id is already stored is replaced), each attachment and each document's counters
    in a batch of its own, its
    revisions as many at a time, then its revisions configuration; what was stored. The
    caller checks the file first (``check_records``) so that a bad line is found before
    anything is written."""
    if batch_size < 1:
        raise ConfigurationError("batch_size must be at least 1")
    stored = kept = attached = counted = 0
    batch: list[PutCommand] = []
    ids: set[str] = set()
    revisions: list[DocumentRecord] = []
    configuration: dict[str, Any] | None = None

    def keep() -> None:
        nonlocal kept
        kept += storage.import_revisions(revisions)
        revisions.clear()

    def write() -> None:
        nonlocal stored
        storage.apply(batch)
        stored += len(batch)
        batch.clear()
        ids.clear()

    for kind, record in _records(file, progress):
        if kind == REVISION:
            revisions.append(record)
            if len(revisions) >= batch_size:
                keep()
            continue
        if kind == REVISIONS_CONFIGURATION:
            configuration = record  # applied last: the documents written keep no revisions
            continue
        if kind == ATTACHMENT:
            if batch:  # its document first
                write()
            header, content = record
            storage.apply(
                [
                    AttachmentPutCommand(
                        header["Id"],
                        header["Name"],
                        cast(IO[bytes], content),
                        header["ContentType"],
                    )
                ]
            )
            attached += 1
            continue
        if kind == COUNTERS_LINE:
            if batch:  # its document first
                write()
            storage.apply([record])
            counted += 1
            continue
        key = document_key(record.id)
        # A batch holds one command per document: a repeated id goes in the next batch, so the
        # file's last line for it is the one kept.
        if len(batch) >= batch_size or key in ids:
            write()
        batch.append(record)
        ids.add(key)
    if batch:
        write()
    if revisions:
        keep()
    if configuration is not None:
        storage.configure_revisions(configuration)
    return ImportCounts(stored, kept, configuration is not None, attached, counted)

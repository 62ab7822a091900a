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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import orjson

from rookdb.errors import ConfigurationError, InvalidIdError, SerializationError
from rookdb.ids import validate_collection_name, validate_id
from rookdb.protocol import ASSIGNED, encode_document
from rookdb.serialization.encoding import check_depth, dumps, loads_strict
from rookdb.storage.base import Storage
from rookdb.storage.records import PutCommand, document_key

__all__ = ["DEFAULT_BATCH_SIZE", "ImportFileError", "check_file", "export_lines", "import_file"]

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
    """Each document of ``storage`` (of one collection if given) as a line, newline included."""
    for record in storage.stream(collection):
        document = encode_document(record)
        metadata = document["@metadata"]
        del metadata["@change-vector"], metadata["@last-modified"]
        yield orjson.dumps(document) + b"\n"


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


def _puts(file: IO[bytes], progress: Progress | None) -> Iterator[PutCommand]:
    for number, line in enumerate(file, start=1):
        if progress is not None:
            progress(len(line))
        if line.strip():
            yield _put(line, number)


def check_file(file: IO[bytes], progress: Progress | None = None) -> int:
    """Check every line of an import file; the number of documents it holds.
    Raises ``ImportFileError`` for the first line that is not a storable document."""
    return sum(1 for _ in _puts(file, progress))


def import_file(
    storage: Storage,
    file: IO[bytes],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> int:
    """Store every document of an import file, ``batch_size`` per atomic batch; how many were
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

    for put in _puts(file, progress):
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

"""RavenDB's HTTP protocol as rookdb speaks it: the JSON shapes, both ways (SPEC §7 H2).

The server (``rookdb.server``) and the http backend (``rookdb.storage.http``) share this module,
so each shape is written once. Shapes follow the official ``ravendb`` client 7.2: PascalCase
keys (``Results``, ``Includes``, ``ChangeVector``), documents carrying ``@metadata`` with
``@id``, ``@change-vector``, ``@last-modified`` and ``@collection``.

A document on the wire is its stored JSON with the storage-assigned keys added to its
``@metadata``. rookdb's own client asks (``Accept: application/vnd.rookdb.records+json``) for
*records* instead: the same answers, each document as ``{"@id", "@change-vector",
"@last-modified", "@collection", "Data"}`` with ``Data`` the stored canonical JSON as a string,
so a loaded snapshot is byte for byte what was written (SPEC D5) and neither side re-encodes
documents. From a server that does not know records, the client reads RavenDB's shape.

rookdb's own additions, which RavenDB's clients never send and ignore when received:
``ReadCheck`` commands and a PUT's ``Collection`` in ``bulk_docs`` (SPEC S19
``WRITES_AND_READS``; a collection that the document's ``@metadata`` does not name),
``capacity`` in ``hilo/next``, and ``RookdbError`` (the rookdb error class) in error bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from rookdb.errors import (
    AuthenticationError,
    AuthorizationError,
    ConcurrencyError,
    ConfigurationError,
    DatabaseDoesNotExistError,
    InvalidCollectionNameError,
    InvalidIdError,
    OutcomeUnknownError,
    ProtocolError,
    QueryError,
    RookError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
    quoted,
)
from rookdb.ids import validate_collection_name, validate_id
from rookdb.serialization.encoding import dumps
from rookdb.storage.records import (
    BatchResult,
    Command,
    DatabaseStatistics,
    DeleteCommand,
    DocumentRecord,
    PutCommand,
    ReadCheck,
    WriteResult,
)

__all__ = [
    "ASSIGNED",
    "RECORDS",
    "SERVER_TAG",
    "decode_batch_result",
    "decode_commands",
    "decode_document",
    "decode_documents",
    "decode_record",
    "decode_statistics",
    "encode_batch_result",
    "encode_commands",
    "encode_document",
    "encode_projection",
    "encode_record",
    "encode_statistics",
    "error_body",
    "error_from_body",
    "error_status",
    "raven_error",
]

#: The cluster node tag of a rookdb server (ids from HiLo end in ``-A``, as in RavenDB).
SERVER_TAG = "A"
#: Metadata keys storage assigns, added on the way out and removed on the way in.
ASSIGNED = ("@id", "@change-vector", "@last-modified")
#: The media type of answers with documents as records (see above).
RECORDS = "application/vnd.rookdb.records+json"

_RAVEN = "Raven.Client.Exceptions."

# -- documents --------------------------------------------------------------------------------


def encode_document(record: DocumentRecord) -> dict[str, Any]:
    """A stored document as RavenDB sends it: its JSON with storage's metadata added."""
    document = orjson.loads(record.data)
    if type(document) is not dict:  # storage holds JSON objects; be safe with anything else
        document = {"@value": document}
    metadata = document.get("@metadata")
    if type(metadata) is not dict:
        metadata = document["@metadata"] = {}
    metadata["@collection"] = record.collection
    metadata["@id"] = record.id
    metadata["@change-vector"] = record.change_vector
    metadata["@last-modified"] = record.last_modified
    return document


def encode_projection(
    projection: dict[str, Any], record: DocumentRecord | None, distinct: bool
) -> dict[str, Any]:
    """A projection (``select``) as RavenDB sends it: its fields, and ``@metadata`` saying
    ``@projection`` (the official client reads every result's ``@metadata``, and builds no
    tracked entity from a projection) with the id, change vector, last-modified and
    collection of the document it came from. A ``distinct`` projection stands for every
    document giving it, so it names none (no ``@id``)."""
    out = dict(projection)
    given = out.get("@metadata")
    metadata: dict[str, Any] = dict(given) if type(given) is dict else {}
    metadata["@projection"] = True
    if record is not None and not distinct:
        metadata["@id"] = record.id
        metadata["@change-vector"] = record.change_vector
        metadata["@last-modified"] = record.last_modified
        metadata["@collection"] = record.collection
    out["@metadata"] = metadata
    return out


def encode_record(record: DocumentRecord) -> dict[str, Any]:
    """A stored document as a record: its canonical bytes untouched, as a JSON string."""
    return {
        "@id": record.id,
        "@change-vector": record.change_vector,
        "@last-modified": record.last_modified,
        "@collection": record.collection,
        "Data": record.data.decode(),
    }


def decode_record(record: Any) -> DocumentRecord:
    try:
        return DocumentRecord(
            record["@id"],
            record["Data"].encode(),
            record["@change-vector"],
            record["@last-modified"],
            record["@collection"],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server sent a malformed record: {exc}") from exc


def decode_document(document: Any) -> DocumentRecord:
    """The ``DocumentRecord`` of a document in RavenDB's shape, or of a record (which, unlike
    every document in RavenDB's shape, has no ``@metadata``)."""
    if type(document) is dict and "@metadata" not in document:
        return decode_record(document)
    try:
        metadata = document["@metadata"]
        record_id = metadata.pop("@id")
        change_vector = metadata.pop("@change-vector")
        last_modified = metadata.pop("@last-modified", "")
        collection = metadata.get("@collection", "@empty")
        if not metadata:
            del document["@metadata"]
        data = orjson.dumps(document)
    except (KeyError, TypeError, AttributeError, orjson.JSONEncodeError) as exc:
        raise ProtocolError(f"the server sent a document without its metadata: {exc}") from exc
    if not (type(record_id) is str and type(change_vector) is str):
        raise ProtocolError("the server sent a document whose @id or @change-vector is no string")
    return DocumentRecord(record_id, data, change_vector, str(last_modified), str(collection))


def decode_documents(documents: Iterable[Any]) -> Iterator[DocumentRecord | None]:
    for document in documents:
        yield None if document is None else decode_document(document)


# -- batches (bulk_docs) ----------------------------------------------------------------------


def encode_commands(batch: Iterable[Command]) -> bytes:
    """The ``bulk_docs`` body of a batch. Documents go as their canonical bytes, spliced in
    without being decoded."""
    parts = []
    for command in batch:
        if type(command) is PutCommand:
            head = orjson.dumps(
                {
                    "Type": "PUT",
                    "Id": command.id,
                    "ChangeVector": command.expected_change_vector,
                    "Collection": command.collection,
                }
            )
            parts.append(head[:-1] + b',"Document":' + command.data + b"}")
        elif type(command) is DeleteCommand:
            parts.append(
                orjson.dumps(
                    {
                        "Type": "DELETE",
                        "Id": command.id,
                        "ChangeVector": command.expected_change_vector,
                    }
                )
            )
        else:
            assert type(command) is ReadCheck
            parts.append(
                orjson.dumps(
                    {"Type": "ReadCheck", "Id": command.id, "ChangeVector": command.change_vector}
                )
            )
    return b'{"Commands":[' + b",".join(parts) + b"]}"


def _text(value: Any, what: str) -> str:
    if type(value) is not str:
        raise ConfigurationError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def decode_commands(body: Any) -> list[Command]:
    """The commands of a ``bulk_docs`` body; anything malformed is a ``ConfigurationError``
    (a 400), before anything is written."""
    if type(body) is not dict or type(body.get("Commands")) is not list:
        raise ConfigurationError('a batch is {"Commands": [...]}')
    out: list[Command] = []
    for i, raw in enumerate(body["Commands"]):
        if type(raw) is not dict:
            raise ConfigurationError(f"command {i} is not an object")
        kind = raw.get("Type")
        document_id = validate_id(_text(raw.get("Id", ""), f"command {i}: Id"))
        expected = _optional_text(raw.get("ChangeVector"), f"command {i}: ChangeVector")
        if kind == "PUT":
            document = raw.get("Document")
            if type(document) is not dict:
                raise ConfigurationError(f"command {i}: Document must be a JSON object")
            metadata = document.get("@metadata")
            collection = raw.get("Collection")
            if type(metadata) is dict:
                for key in ASSIGNED:  # storage assigns these; a client's copy is not kept
                    metadata.pop(key, None)
                if collection is None:
                    collection = metadata.get("@collection")
            if collection is None or collection == "":
                collection = "@empty"
            try:
                collection = validate_collection_name(collection)
                data = dumps(document)  # at most MAX_DEPTH levels deep, as embedded
            except (InvalidIdError, SerializationError) as exc:
                raise type(exc)(f"command {i}: {exc}") from None
            out.append(PutCommand(document_id, collection, data, expected))
        elif kind == "DELETE":
            out.append(DeleteCommand(document_id, expected))
        elif kind == "ReadCheck":
            out.append(ReadCheck(document_id, expected))
        else:
            raise ConfigurationError(
                f"command {i}: Type {quoted(kind)} is not supported by rookdb (PUT, DELETE)"
            )
    return out


def encode_batch_result(batch: list[Command], result: BatchResult) -> dict[str, Any]:
    """RavenDB's ``bulk_docs`` answer: one entry per PUT and DELETE, in batch order."""
    puts = iter(result.puts)
    out: list[dict[str, Any]] = []
    for command in batch:
        if type(command) is PutCommand:
            written = next(puts)
            out.append(
                {
                    "Type": "PUT",
                    "@id": written.id,
                    "@collection": command.collection,
                    "@change-vector": written.change_vector,
                    "@last-modified": written.last_modified,
                }
            )
        elif type(command) is DeleteCommand:
            out.append({"Type": "DELETE", "Id": command.id, "Deleted": True})
    return {"Results": out}


def decode_batch_result(body: Any) -> BatchResult:
    try:
        return BatchResult(
            [
                WriteResult(r["@id"], r["@change-vector"], r["@last-modified"])
                for r in body["Results"]
                if r.get("Type") == "PUT"
            ]
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server's batch result is malformed: {exc}") from exc


# -- errors -----------------------------------------------------------------------------------

# rookdb error class -> (HTTP status, RavenDB exception type). Subclasses before bases.
_ERRORS: list[tuple[type[RookError], int, str]] = [
    (ConcurrencyError, 409, "ConcurrencyException"),
    (QueryError, 400, "InvalidQueryException"),
    (InvalidCollectionNameError, 400, "BadRequestException"),
    (InvalidIdError, 400, "BadRequestException"),
    (SerializationError, 400, "BadRequestException"),
    (ConfigurationError, 400, "BadRequestException"),
    (DatabaseDoesNotExistError, 404, "Database.DatabaseDoesNotExistException"),
    (AuthenticationError, 401, "Security.AuthenticationException"),
    (AuthorizationError, 403, "Security.AuthorizationException"),
    (StorageUnavailableError, 503, "RavenException"),
    (OutcomeUnknownError, 500, "RavenException"),
    (ProtocolError, 400, "BadRequestException"),
    (StorageError, 500, "RavenException"),
]
_BY_NAME: dict[str, type[RookError]] = {cls.__name__: cls for cls, _, _ in _ERRORS}


# -- statistics -------------------------------------------------------------------------------


def encode_statistics(stats: DatabaseStatistics) -> dict[str, Any]:
    """RavenDB's database statistics, plus ``Collections`` (documents per collection, as
    ``collections/stats`` gives them) so that rookdb's client needs one request."""
    return {
        "CountOfDocuments": stats.count_of_documents,
        "CountOfIndexes": len(stats.indexes),
        "Indexes": [{"Name": index} for index in stats.indexes],
        "DatabaseName": stats.database,
        "Collections": stats.collections,
    }


def decode_statistics(body: Any, name: str) -> DatabaseStatistics:
    try:
        return DatabaseStatistics(
            str(body.get("DatabaseName", name)),
            int(body["CountOfDocuments"]),
            {str(k): int(v) for k, v in body["Collections"].items()},
            [str(index["Name"]) for index in body["Indexes"]],
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"the server's statistics are malformed: {exc}") from exc


# -- errors -----------------------------------------------------------------------------------


def raven_error(type_name: str, message: str) -> dict[str, Any]:
    """An error body in RavenDB's shape; ``type_name`` under ``Raven.Client.Exceptions.``."""
    return {"Type": _RAVEN + type_name, "Message": message, "Error": message}


def error_status(error: RookError) -> int:
    for cls, status, _ in _ERRORS:
        if isinstance(error, cls):
            return status
    return 400


def error_body(error: RookError) -> dict[str, Any]:
    """A RavenDB-style error body (``Type``, ``Message``, ``Error``) for a rookdb error, with
    what rookdb's client needs to raise the same error again. Never a stack trace."""
    raven_type, rookdb_type = "RavenException", type(error).__name__
    for cls, _, name in _ERRORS:
        if isinstance(error, cls):
            raven_type, rookdb_type = name, cls.__name__
            break
    body = raven_error(raven_type, str(error))
    body["RookdbError"] = rookdb_type
    if isinstance(error, ConcurrencyError):
        body.update(
            Id=error.document_id,
            ExpectedChangeVector=error.expected,
            ActualChangeVector=error.actual,
        )
    elif isinstance(error, QueryError):
        body.update(Position=error.position, Line=error.line, Column=error.column)
    return body


def error_from_body(status: int, body: Mapping[str, Any] | None) -> RookError:
    """The rookdb error a server's error answer stands for."""
    body = body or {}
    message = str(body.get("Message") or f"the server answered HTTP {status}")
    name = body.get("RookdbError")
    if status == 409 or name == "ConcurrencyError":
        return ConcurrencyError(
            message,
            document_id=str(body.get("Id") or ""),
            expected=body.get("ExpectedChangeVector"),
            actual=body.get("ActualChangeVector"),
        )
    if name == "QueryError":
        return QueryError(
            message, position=body.get("Position"), line=body.get("Line"), column=body.get("Column")
        )
    cls = _BY_NAME.get(str(name))
    if cls is not None and cls not in (ConcurrencyError, QueryError):
        return cls(message)
    if status == 401:
        return AuthenticationError(message)
    if status == 403:
        return AuthorizationError(message)
    if status == 503:
        return StorageUnavailableError(message)
    return StorageError(message)

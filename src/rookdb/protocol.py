"""RavenDB's HTTP protocol as rookdb speaks it: the JSON shapes, both ways (SPEC §7 H2).

The server (``rookdb.server``) and the http backend (``rookdb.storage.http``) share this module,
so each shape is written once (batches: ``rookdb.protocol_batches``; statistics:
``rookdb.protocol_statistics``; patches: ``rookdb.patch_protocol``). Shapes follow the
official ``ravendb`` client 7.2: PascalCase keys (``Results``, ``Includes``,
``ChangeVector``), documents carrying ``@metadata`` with ``@id``, ``@change-vector``,
``@last-modified`` and ``@collection``.

A document on the wire is its stored JSON with the storage-assigned keys added to its
``@metadata``. rookdb's own client asks (``Accept: application/vnd.rookdb.records+json``) for
*records* instead: the same answers, each document as ``{"@id", "@change-vector",
"@last-modified", "@collection", "Data"}`` with ``Data`` the stored canonical JSON as a string,
so a loaded snapshot is byte for byte what was written (SPEC D5) and neither side re-encodes
documents. From a server that does not know records, the client reads RavenDB's shape.

rookdb's own additions, which RavenDB's clients never send and ignore when received: the
``Rookdb-Create-Database: true`` request header (create the database on first use),
``ReadCheck`` commands and a PUT's ``Collection`` in ``bulk_docs`` (SPEC S19
``WRITES_AND_READS``, sent by RavenDB's 7.2 client as ``BatchTrackChanges``, which the server
reads too; a collection that the document's ``@metadata`` does not name),
``capacity`` in ``hilo/next``, and ``RookdbError`` (the rookdb error class) in error bodies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import orjson

from rookdb.errors import (
    AuthenticationError,
    AuthorizationError,
    ConcurrencyError,
    ConfigurationError,
    DatabaseAlreadyExistsError,
    DatabaseDoesNotExistError,
    DocumentNotFoundError,
    IndexCompilationError,
    IndexDoesNotExistError,
    IndexLockedError,
    InvalidCollectionNameError,
    InvalidIdError,
    OutcomeUnknownError,
    PatchError,
    PatchScriptError,
    PatchScriptLimitError,
    ProtocolError,
    QueryError,
    RookError,
    ScriptingUnavailableError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
)
from rookdb.serialization.exact_numbers import loads_keeping_digits
from rookdb.storage.records import DocumentRecord, ProjectionRow, last_modified_now
from rookdb.storage.statistics import DatabaseStatistics

__all__ = [
    "ASSIGNED",
    "CREATE_DATABASE_HEADER",
    "DATABASE_MISSING_HEADER",
    "DIGITS_HEADER",
    "RECORDS",
    "SERVER_TAG",
    "database_record",
    "database_topology",
    "decode_document",
    "decode_documents",
    "decode_record",
    "decode_statistics",
    "digits_header",
    "encode_collection_statistics",
    "encode_document",
    "encode_projection",
    "encode_record",
    "encode_statistics",
    "error_body",
    "error_from_body",
    "error_status",
    "etag_header",
    "etag_of",
    "raven_error",
    "unquote_etag",
]

#: The cluster node tag of a rookdb server (ids from HiLo end in ``-A``, as in RavenDB).
SERVER_TAG = "A"
#: Metadata keys storage assigns, added on the way out and removed on the way in.
ASSIGNED = ("@id", "@change-vector", "@last-modified")
#: The media type of answers with documents as records (see above).
RECORDS = "application/vnd.rookdb.records+json"
#: The request header with which rookdb's client asks for its database to be created on first
#: use, as on every embedded backend (``rookdb.server.databases``).
CREATE_DATABASE_HEADER = "Rookdb-Create-Database"
#: The answer header with which a rookdb server tells that a query's answer holds numbers
#: written with digits a float does not keep (``9.50``, for a ``Decimal`` field): its client
#: reads such an answer with those numbers noted (``exact_numbers.loads_noting``), and any
#: other with orjson alone.
DIGITS_HEADER = "Rookdb-Digits"
#: RavenDB's answer header naming a database that does not exist (with a 503): its clients
#: raise ``DatabaseDoesNotExistException``.
DATABASE_MISSING_HEADER = "Database-Missing"

_RAVEN = "Raven.Client.Exceptions."

# -- documents --------------------------------------------------------------------------------


def encode_document(record: DocumentRecord) -> dict[str, Any]:
    """A stored document as RavenDB sends it: its JSON with storage's metadata added, its
    numbers as stored (``9.50``, not a float's ``9.5``: ``exact_numbers.keep_digits``)."""
    document = loads_keeping_digits(record.data)
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
    projection: dict[str, Any],
    record: DocumentRecord | ProjectionRow | None,
    distinct: bool,
    reduce_result: bool = False,
) -> dict[str, Any]:
    """A projection (``select``) as RavenDB sends it: its fields, and ``@metadata`` saying
    ``@projection`` (the official client reads every result's ``@metadata``, and builds no
    tracked entity from a projection) with the id, change vector, last-modified and
    collection of the document it came from. A ``distinct`` projection stands for every
    document giving it, so it names none (no ``@id``). A map-reduce index's result read
    without a select (``reduce_result``) is no projection to RavenDB: no ``@projection``,
    so its client builds one without an entity type too."""
    out = dict(projection)
    given = out.get("@metadata")
    metadata: dict[str, Any] = dict(given) if type(given) is dict else {}
    if not reduce_result:
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


# -- errors -----------------------------------------------------------------------------------

# rookdb error class -> (HTTP status, RavenDB exception type). Subclasses before bases.
_ERRORS: list[tuple[type[RookError], int, str]] = [
    (ConcurrencyError, 409, "ConcurrencyException"),
    (QueryError, 400, "InvalidQueryException"),
    # A script's own failure, its limits included: what the client sent does not run.
    (PatchScriptLimitError, 400, "Documents.Patching.JavaScriptException"),
    (PatchScriptError, 400, "Documents.Patching.JavaScriptException"),
    (ScriptingUnavailableError, 501, "RavenException"),
    # RavenDB's own answer is its JSON Patch library's exception, unknown to its clients (they
    # raise RavenException for it); a bad request it is, never a 5xx.
    (PatchError, 400, "BadRequestException"),
    (IndexCompilationError, 400, "Compilation.IndexCompilationException"),
    (IndexDoesNotExistError, 404, "Documents.Indexes.IndexDoesNotExistException"),
    (IndexLockedError, 400, "Documents.Indexes.IndexAlreadyExistException"),
    (InvalidCollectionNameError, 400, "BadRequestException"),
    (InvalidIdError, 400, "BadRequestException"),
    (SerializationError, 400, "BadRequestException"),
    (ConfigurationError, 400, "BadRequestException"),
    # A counter of a document that does not exist (RavenDB answers it with a 500).
    (DocumentNotFoundError, 400, "Documents.DocumentDoesNotExistException"),
    (DatabaseDoesNotExistError, 503, "Database.DatabaseDoesNotExistException"),
    # As RavenDB answers CreateDatabaseOperation for a database that exists.
    (DatabaseAlreadyExistsError, 409, "ConcurrencyException"),
    (AuthenticationError, 401, "Security.AuthenticationException"),
    (AuthorizationError, 403, "Security.AuthorizationException"),
    (StorageUnavailableError, 503, "RavenException"),
    (OutcomeUnknownError, 500, "RavenException"),
    (ProtocolError, 400, "BadRequestException"),
    (StorageError, 500, "RavenException"),
]
_BY_NAME: dict[str, type[RookError]] = {cls.__name__: cls for cls, _, _ in _ERRORS}


# -- statistics -------------------------------------------------------------------------------


def _size(n: int) -> dict[str, Any]:
    """A size in RavenDB's shape: bytes, and as a person reads them (RavenDB's units)."""
    value, unit = float(n), "Bytes"
    for bigger in ("KBytes", "MBytes", "GBytes", "TBytes"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    humane = f"{int(value)} {unit}" if unit == "Bytes" else f"{value:.2f} {unit}"
    return {"SizeInBytes": n, "HumaneSize": humane}


def _index_information(name: str, now: str, kind: str, stale: bool) -> dict[str, Any]:
    """An index as RavenDB describes one in the database statistics: rookdb's indexes are
    maintained in the same transaction as the documents, so they are stale only while a
    server builds a new one over the documents already there, and have indexed up to now."""
    return {
        "Name": name,
        "IsStale": stale,
        "State": "Normal",
        "LockMode": "Unlock",
        "Priority": "Normal",
        "Type": kind,
        "SourceType": "Documents",
        "LastIndexingTime": now,
    }


def encode_statistics(
    stats: DatabaseStatistics, now: str | None = None, stale: Collection[str] = ()
) -> dict[str, Any]:
    """RavenDB's database statistics (every field the 7.2 client reads), plus ``Collections``
    (documents per collection, as ``collections/stats`` gives them) so that rookdb's client
    needs one request. What rookdb does not have (revisions, conflicts, counters,
    time series) counts 0; ``SizeOnDisk`` is what storage measures (``DatabaseStatistics``);
    rookdb has no temporary buffers (0). ``stale``: the indexes being built, which say
    ``IsStale`` (what clients poll to wait for indexing)."""
    now = now or last_modified_now()
    return {
        "CountOfDocuments": stats.count_of_documents,
        "CountOfIndexes": len(stats.indexes),
        "Indexes": [
            _index_information(index, now, stats.index_types.get(index, "AutoMap"), index in stale)
            for index in stats.indexes
        ],
        "DatabaseName": stats.database,
        "Collections": stats.collections,
        "LastDocEtag": stats.last_doc_etag,
        "LastDatabaseEtag": stats.last_doc_etag,
        "CountOfRevisionDocuments": 0,
        "CountOfDocumentsConflicts": 0,
        "CountOfTombstones": 0,
        "CountOfConflicts": 0,
        "CountOfAttachments": stats.count_of_attachments,
        "CountOfUniqueAttachments": stats.count_of_unique_attachments,
        "CountOfCounterEntries": 0,
        "CountOfTimeSeriesSegments": 0,
        "DatabaseChangeVector": stats.database_change_vector,
        "DatabaseId": stats.database_id or None,
        "Is64Bit": True,
        "Pager": "rookdb",
        "LastIndexingTime": now,
        "SizeOnDisk": _size(stats.size_on_disk),
        "TempBuffersSizeOnDisk": _size(0),
        "NumberOfTransactionMergerQueueOperations": 0,
    }


def encode_collection_statistics(stats: DatabaseStatistics) -> dict[str, Any]:
    """``collections/stats``: documents in all and per collection (rookdb has no conflicts)."""
    return {
        "CountOfDocuments": stats.count_of_documents,
        "CountOfConflicts": 0,
        "Collections": stats.collections,
    }


def decode_statistics(body: Any, name: str) -> DatabaseStatistics:
    try:
        return DatabaseStatistics(
            str(body.get("DatabaseName", name)),
            int(body["CountOfDocuments"]),
            {str(k): int(v) for k, v in body["Collections"].items()},
            [str(index["Name"]) for index in body["Indexes"]],
            size_on_disk=int((body.get("SizeOnDisk") or {}).get("SizeInBytes") or 0),
            last_doc_etag=int(body.get("LastDocEtag") or 0),
            database_change_vector=str(body.get("DatabaseChangeVector") or ""),
            database_id=str(body.get("DatabaseId") or ""),
            count_of_attachments=int(body.get("CountOfAttachments") or 0),
            count_of_unique_attachments=int(body.get("CountOfUniqueAttachments") or 0),
            index_types={
                str(index["Name"]): str(index["Type"])
                for index in body["Indexes"]
                if index.get("Type", "AutoMap") != "AutoMap"
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"the server's statistics are malformed: {exc}") from exc


# -- databases and topology -------------------------------------------------------------------


def database_topology() -> dict[str, Any]:
    """A database's topology as RavenDB's clients read it: one member, this server."""
    return {
        "Members": [SERVER_TAG],
        "Promotables": [],
        "Rehabs": [],
        "PredefinedMentors": {},
        "DemotionReasons": {},
        "PromotablesStatus": {},
        "ReplicationFactor": 1,
        "DynamicNodesDistribution": False,
        "Stamp": {"Index": 1, "Term": 1, "LeadersTicks": 0},
        "DatabaseTopologyIdBase64": "cm9va2RiAAAAAAAAAAAAAA",
        "ClusterTransactionIdBase64": "cm9va2RiAAAAAAAAAAAAAA",
        "PriorityOrder": [],
    }


def database_record(name: str) -> dict[str, Any]:
    """``GET /admin/databases?name=``: the database record, as much of it as rookdb has (no
    replication, backups, ETL...: those settings are absent, as in a new RavenDB database)."""
    return {
        "DatabaseName": name,
        "Disabled": False,
        "Encrypted": False,
        "DeletionInProgress": {},
        "DatabaseState": "Normal",
        "LockMode": "Unlock",
        "Topology": database_topology(),
        "Settings": {},
        "Indexes": {},
        "AutoIndexes": {},
        "Etag": 1,
    }


# -- HTTP caching (ETag, If-None-Match) ---------------------------------------------------------


def etag_of(
    records: Iterable[DocumentRecord | None],
    includes: Mapping[str, DocumentRecord | None],
    counters: Mapping[str, Mapping[str, int]] | None = None,
) -> str:
    """The ETag of a documents answer, as RavenDB forms it: one document without includes is
    tagged by its change vector (so ``If-None-Match: "<change vector>"`` asks "changed since
    I read it?"), anything else by a digest of every id and change vector in it, and of the
    included ``counters`` (a new value does not change a document's change vector)."""
    listed = list(records)
    if len(listed) == 1 and listed[0] is not None and not includes and counters is None:
        return listed[0].change_vector
    digest = hashlib.blake2b(digest_size=16)
    for record in listed:
        digest.update(b"-\x00" if record is None else _tagged(record))
    digest.update(b"\x01")
    for key, record in includes.items():
        digest.update(f"{key}\x00".encode() + (b"-\x00" if record is None else _tagged(record)))
    if counters is not None:
        digest.update(b"\x02" + orjson.dumps(counters, option=orjson.OPT_SORT_KEYS))
    return "H" + digest.hexdigest()


def _tagged(record: DocumentRecord) -> bytes:
    return f"{record.id}\x00{record.change_vector}\x00".encode()


def digits_header(*notes: object) -> dict[str, str] | None:
    """The headers of an answer holding the projections of query results of ``notes`` (their
    ``QueryResult.notes``): ``DIGITS_HEADER`` where any holds a number written with digits a
    float does not keep, which the answer writes as they were."""
    return {DIGITS_HEADER: "1"} if any(notes) else None


def etag_header(etag: str) -> str:
    """An ``ETag`` header's value: the tag in double quotes, as RavenDB sends it."""
    return f'"{etag}"'


def unquote_etag(header: str | None) -> str | None:
    """The tag in an ``If-None-Match`` / ``If-Match`` header (RavenDB's clients quote it, some
    of their commands do not)."""
    if header is None:
        return None
    header = header.strip()
    if len(header) >= 2 and header[0] == header[-1] == '"':
        return header[1:-1]
    return header


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
    elif isinstance(error, PatchScriptError):
        body.update(Id=error.document_id, Line=error.line, Column=error.column)
        if isinstance(error, PatchScriptLimitError):
            body["Limit"] = error.limit
    return body


def error_from_body(status: int, body: Mapping[str, Any] | None) -> RookError:
    """The rookdb error a server's error answer stands for."""
    body = body or {}
    message = str(body.get("Message") or f"the server answered HTTP {status}")
    name = body.get("RookdbError")
    if name == "DatabaseAlreadyExistsError":  # a 409 that is not about a document
        return DatabaseAlreadyExistsError(message)
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
    if name == "PatchScriptLimitError":
        return PatchScriptLimitError(
            message, limit=str(body.get("Limit") or "time"), document_id=body.get("Id")
        )
    if name == "PatchScriptError":
        return PatchScriptError(
            message, line=body.get("Line"), column=body.get("Column"), document_id=body.get("Id")
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

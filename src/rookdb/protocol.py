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

rookdb's own additions, which RavenDB's clients never send and ignore when received: the
``Rookdb-Create-Database: true`` request header (create the database on first use),
``ReadCheck`` commands and a PUT's ``Collection`` in ``bulk_docs`` (SPEC S19
``WRITES_AND_READS``, sent by RavenDB's 7.2 client as ``BatchTrackChanges``, which the server
reads too; a collection that the document's ``@metadata`` does not name),
``capacity`` in ``hilo/next``, and ``RookdbError`` (the rookdb error class) in error bodies.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from rookdb.counters_protocol import (
    decode_counters_command,
    decode_counters_reply,
    encode_counters_command,
    encode_counters_reply,
)
from rookdb.errors import (
    ConfigurationError,
    InvalidIdError,
    ProtocolError,
    SerializationError,
    quoted,
)
from rookdb.ids import validate_collection_name, validate_id
from rookdb.patch_protocol import (
    decode_patch_command,
    decode_patch_reply,
    encode_patch_command,
    encode_patch_reply,
)
from rookdb.protocol_errors import error_body, error_from_body, error_status, raven_error
from rookdb.serialization.encoding import dumps
from rookdb.storage.records import (
    BatchResult,
    Command,
    CountersCommand,
    CountersReply,
    DatabaseStatistics,
    DeleteCommand,
    DocumentRecord,
    ForceRevisionCommand,
    PatchCommand,
    PatchReply,
    ProjectionRow,
    PutCommand,
    ReadCheck,
    RevisionReply,
    WriteResult,
    last_modified_now,
)

__all__ = [
    "ASSIGNED",
    "CREATE_DATABASE_HEADER",
    "DATABASE_MISSING_HEADER",
    "RECORDS",
    "SERVER_TAG",
    "BatchEntry",
    "JsonPatch",
    "TrackChanges",
    "database_record",
    "database_topology",
    "decode_batch",
    "decode_batch_result",
    "decode_commands",
    "decode_document",
    "decode_documents",
    "decode_json_patch",
    "decode_record",
    "decode_statistics",
    "encode_batch_result",
    "encode_collection_statistics",
    "encode_commands",
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
#: RavenDB's answer header naming a database that does not exist (with a 503): its clients
#: raise ``DatabaseDoesNotExistException``.
DATABASE_MISSING_HEADER = "Database-Missing"


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
    projection: dict[str, Any], record: DocumentRecord | ProjectionRow | None, distinct: bool
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
    without being decoded. A ``ForceRevisionCommand`` before a put of its document is that
    PUT's ``ForceRevisionCreationStrategy``, as RavenDB's client sends it."""
    parts = []
    before: str | None = None  # the key of a forced revision the next PUT carries
    for command in batch:
        if type(command) is PutCommand:
            head: dict[str, Any] = {
                "Type": "PUT",
                "Id": command.id,
                "ChangeVector": command.expected_change_vector,
                "Collection": command.collection,
            }
            if before is not None and before == command.id.lower():
                head["ForceRevisionCreationStrategy"] = "Before"
            before = None
            parts.append(orjson.dumps(head)[:-1] + b',"Document":' + command.data + b"}")
            continue
        if before is not None:  # a forced revision with no PUT after it after all
            parts.append(orjson.dumps({"Type": "ForceRevisionCreation", "Id": before}))
            before = None
        if type(command) is DeleteCommand:
            parts.append(
                orjson.dumps(
                    {
                        "Type": "DELETE",
                        "Id": command.id,
                        "ChangeVector": command.expected_change_vector,
                    }
                )
            )
        elif type(command) is ForceRevisionCommand:
            if command.before_put:
                before = command.id.lower()
            else:
                parts.append(orjson.dumps({"Type": "ForceRevisionCreation", "Id": command.id}))
        elif type(command) is PatchCommand:
            parts.append(orjson.dumps(encode_patch_command(command, return_document=True)))
        elif type(command) is CountersCommand:
            parts.append(orjson.dumps(encode_counters_command(command)))
        else:
            assert type(command) is ReadCheck
            parts.append(
                orjson.dumps(
                    {"Type": "ReadCheck", "Id": command.id, "ChangeVector": command.change_vector}
                )
            )
    if before is not None:
        parts.append(orjson.dumps({"Type": "ForceRevisionCreation", "Id": before}))
    return b'{"Commands":[' + b",".join(parts) + b"]}"


def _text(value: Any, what: str) -> str:
    if type(value) is not str:
        raise ConfigurationError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


@dataclasses.dataclass(slots=True)
class TrackChanges:
    """RavenDB's ``BatchTrackChanges`` command (the 7.2 client's ``WRITES_AND_READS`` mode):
    the change vector of every document the session read and does not write, ``""`` for one
    it found missing. Storage checks them as ``ReadCheck`` commands; the answer holds one
    ``{"Type": "BatchTrackChanges"}`` entry in its place."""

    checks: list[ReadCheck]


@dataclasses.dataclass(slots=True)
class JsonPatch:
    """RavenDB's ``JsonPatch`` command: RFC 6902 ``operations`` the server applies to document
    ``id`` in the batch (``rookdb.server.batches``); ``return_document``: the answer carries
    the patched document (the client asks for it when the session tracks the document)."""

    id: str
    operations: list[dict[str, Any]]
    return_document: bool


#: One command of a ``bulk_docs`` body as the server reads it.
BatchEntry = (
    PutCommand
    | DeleteCommand
    | ReadCheck
    | TrackChanges
    | JsonPatch
    | PatchCommand
    | ForceRevisionCommand
    | CountersCommand
)


def decode_batch(body: Any) -> list[BatchEntry]:
    """The commands of a ``bulk_docs`` body; anything malformed is a ``ConfigurationError``
    (a 400), before anything is written."""
    if type(body) is not dict or type(body.get("Commands")) is not list:
        raise ConfigurationError('a batch is {"Commands": [...]}')
    out: list[BatchEntry] = []
    for i, raw in enumerate(body["Commands"]):
        if type(raw) is not dict:
            raise ConfigurationError(f"command {i} is not an object")
        kind = raw.get("Type")
        if kind == "BatchTrackChanges":
            out.append(_track_changes(raw.get("TrackedEntities"), i))
            continue
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
            strategy = raw.get("ForceRevisionCreationStrategy") or "None"
            if strategy not in ("None", "Before"):
                raise ConfigurationError(
                    f"command {i}: ForceRevisionCreationStrategy is None or Before"
                )
            if strategy == "Before":
                out.append(ForceRevisionCommand(document_id, before_put=True))
            out.append(PutCommand(document_id, collection, data, expected))
        elif kind == "DELETE":
            out.append(DeleteCommand(document_id, expected))
        elif kind == "ReadCheck":
            out.append(ReadCheck(document_id, expected))
        elif kind == "JsonPatch":
            out.append(_json_patch(raw, document_id, i))
        elif kind == "PATCH":
            out.append(decode_patch_command(raw, document_id, expected, i))
        elif kind == "ForceRevisionCreation":
            out.append(ForceRevisionCommand(document_id))
        elif kind == "Counters":
            out.append(decode_counters_command(raw, document_id, i))
        else:
            raise ConfigurationError(
                f"command {i}: Type {quoted(kind)} is not supported by rookdb (PUT, DELETE, "
                "PATCH, JsonPatch, BatchTrackChanges, ForceRevisionCreation, Counters)"
            )
    return out


def decode_commands(body: Any) -> list[Command]:
    """The storage commands of a ``bulk_docs``-shaped body (``PUT``, ``DELETE``, ``ReadCheck``),
    for routes that write with ``Storage.apply`` alone (``PUT /docs``, bulk insert): the server's
    own batch commands (``BatchTrackChanges``, ``JsonPatch``) are a ``ConfigurationError`` there."""
    out: list[Command] = []
    for i, entry in enumerate(decode_batch(body)):
        if not isinstance(entry, (PutCommand, DeleteCommand, ReadCheck)):
            raise ConfigurationError(f"command {i}: {type(entry).__name__} is not accepted here")
        out.append(entry)
    return out


def _track_changes(tracked: Any, i: int) -> TrackChanges:
    if type(tracked) is not dict:
        raise ConfigurationError(f"command {i}: TrackedEntities is an object of change vectors")
    checks = []
    for document_id, change_vector in tracked.items():
        validate_id(document_id)
        # "" is the client's word for "read as missing": it must still be missing.
        expected = _text(change_vector, f"command {i}: the change vector of {document_id!r}")
        checks.append(ReadCheck(document_id, expected or None))
    return TrackChanges(checks)


def decode_json_patch(body: Any, document_id: str) -> JsonPatch:
    """The body of ``PATCH /json-patch?id=`` (``{"Operations": [...]}``, the client's
    ``JsonPatchOperation``) as the ``JsonPatch`` command a batch would carry for it."""
    if type(body) is not dict:
        raise ConfigurationError('a JSON Patch is {"Operations": [{"op": ...}]}')
    return _json_patch({"JsonPatch": body, "ReturnDocument": True}, document_id, 0)


def _json_patch(raw: dict[str, Any], document_id: str, i: int) -> JsonPatch:
    patch = raw.get("JsonPatch")
    operations = patch.get("Operations") if type(patch) is dict else None
    if type(operations) is not list or any(type(op) is not dict for op in operations):
        raise ConfigurationError(f'command {i}: JsonPatch is {{"Operations": [{{"op": ...}}]}}')
    if not document_id or document_id[-1] in "/|":
        raise ConfigurationError(f"command {i}: a JsonPatch names the document it patches")
    return JsonPatch(document_id, operations, raw.get("ReturnDocument") is True)


def encode_batch_result(
    batch: Sequence[BatchEntry],
    result: BatchResult,
    patched: Mapping[int, DocumentRecord | None] | None = None,
) -> dict[str, Any]:
    """RavenDB's ``bulk_docs`` answer: one entry per command, in batch order (none for
    rookdb's ``ReadCheck``). ``patched``: for the position of each ``JsonPatch`` in ``batch``,
    the document it wrote (its id, collection and data; storage's change vector and time
    come from ``result``), or None where the document does not exist."""
    puts = iter(result.puts)
    replies = iter(result.replies)
    out: list[dict[str, Any]] = []
    for i, command in enumerate(batch):
        if type(command) is ForceRevisionCommand:
            if not command.before_put:  # that one is its PUT's, which answers
                out.append(_revision_reply(next(replies)))
            continue
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
        elif type(command) is TrackChanges:
            out.append({"Type": "BatchTrackChanges"})
        elif type(command) is CountersCommand:
            out.append(encode_counters_reply(next(replies)))  # type: ignore[arg-type]
        elif type(command) is PatchCommand:
            reply = next(replies)
            assert isinstance(reply, PatchReply)
            out.append(encode_patch_reply(reply, command.return_document, encode_document))
        elif type(command) is JsonPatch:
            record = (patched or {}).get(i)
            if record is None:
                out.append(
                    {"Type": "JsonPatch", "Id": command.id, "PatchStatus": "DocumentDoesNotExist"}
                )
                continue
            written = next(puts)
            entry: dict[str, Any] = {
                "Type": "JsonPatch",
                "Id": written.id,
                "ChangeVector": written.change_vector,
                "LastModified": written.last_modified,
                "PatchStatus": "Patched",
            }
            if command.return_document:
                entry["ModifiedDocument"] = encode_document(
                    record._replace(
                        change_vector=written.change_vector, last_modified=written.last_modified
                    )
                )
            out.append(entry)
    return {"Results": out}


def _decode_reply(r: dict[str, Any]) -> PatchReply | RevisionReply | CountersReply:
    """The reply of a batch command other than PUT and DELETE, from the server's answer."""
    if r["Type"] == "PATCH":
        return decode_patch_reply(r, decode_document)
    if r["Type"] == "Counters":
        return decode_counters_reply(r)
    return RevisionReply(
        r.get("@id", ""),
        r["RevisionCreated"] is True,
        r.get("@change-vector"),
        r.get("@last-modified"),
    )


def _revision_reply(reply: PatchReply | RevisionReply | CountersReply) -> dict[str, Any]:
    assert isinstance(reply, RevisionReply)
    if not reply.created:
        return {"Type": "ForceRevisionCreation", "RevisionCreated": False, "@id": reply.id}
    return {
        "Type": "ForceRevisionCreation",
        "RevisionCreated": True,
        "@id": reply.id,
        "@change-vector": reply.change_vector,
        "@last-modified": reply.last_modified,
    }


def decode_batch_result(body: Any) -> BatchResult:
    try:
        return BatchResult(
            [
                WriteResult(r["@id"], r["@change-vector"], r["@last-modified"])
                for r in body["Results"]
                if r.get("Type") == "PUT"
            ],
            [
                _decode_reply(r)
                for r in body["Results"]
                if r.get("Type") in ("PATCH", "ForceRevisionCreation", "Counters")
            ],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server's batch result is malformed: {exc}") from exc


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


def _index_information(name: str, now: str) -> dict[str, Any]:
    """An automatic index as RavenDB describes one: rookdb's indexes are maintained in the
    same transaction as the documents, so they are never stale."""
    return {
        "Name": name,
        "IsStale": False,
        "State": "Normal",
        "LockMode": "Unlock",
        "Priority": "Normal",
        "Type": "AutoMap",
        "SourceType": "Documents",
        "LastIndexingTime": now,
    }


def encode_statistics(stats: DatabaseStatistics, now: str | None = None) -> dict[str, Any]:
    """RavenDB's database statistics (every field the 7.2 client reads), plus ``Collections``
    (documents per collection, as ``collections/stats`` gives them) so that rookdb's client
    needs one request. What rookdb does not have (attachments, revisions, conflicts, counters,
    time series) counts 0; ``SizeOnDisk`` is what storage measures (``DatabaseStatistics``);
    rookdb has no temporary buffers (0)."""
    now = now or last_modified_now()
    return {
        "CountOfDocuments": stats.count_of_documents,
        "CountOfIndexes": len(stats.indexes),
        "Indexes": [_index_information(index, now) for index in stats.indexes],
        "DatabaseName": stats.database,
        "Collections": stats.collections,
        "LastDocEtag": stats.last_doc_etag,
        "LastDatabaseEtag": stats.last_doc_etag,
        "CountOfRevisionDocuments": 0,
        "CountOfDocumentsConflicts": 0,
        "CountOfTombstones": 0,
        "CountOfConflicts": 0,
        "CountOfAttachments": 0,
        "CountOfUniqueAttachments": 0,
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
    records: Iterable[DocumentRecord | None], includes: Mapping[str, DocumentRecord | None]
) -> str:
    """The ETag of a documents answer, as RavenDB forms it: one document without includes is
    tagged by its change vector (so ``If-None-Match: "<change vector>"`` asks "changed since
    I read it?"), anything else by a digest of every id and change vector in it."""
    listed = list(records)
    if len(listed) == 1 and listed[0] is not None and not includes:
        return listed[0].change_vector
    digest = hashlib.blake2b(digest_size=16)
    for record in listed:
        digest.update(b"-\x00" if record is None else _tagged(record))
    digest.update(b"\x01")
    for key, record in includes.items():
        digest.update(f"{key}\x00".encode() + (b"-\x00" if record is None else _tagged(record)))
    return "H" + digest.hexdigest()


def _tagged(record: DocumentRecord) -> bytes:
    return f"{record.id}\x00{record.change_vector}\x00".encode()


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

"""``store.bulk_insert()``: the fastest way to load many documents (RavenDB's bulk insert).

::

    with store.bulk_insert() as bulk:
        for row in rows:
            bulk.store(Employee(first_name=row[0], last_name=row[1]))

No session, no change tracking, no identity map: each ``store`` encodes the entity at once
(a bad entity or id is refused right there, with the error ``session.store`` would give, and
nothing of it is queued) and queues a put; every ``chunk_size`` documents (or 8 MB) the queue
is written with the storage's bulk path (``Storage.bulk_write``: SQLite's ``executemany`` in
one transaction, PostgreSQL's ``COPY`` into a temporary table and one upsert from it, one
request over HTTP).

What is atomic: **a chunk**. Each chunk is one transaction: if it fails, nothing of it is
written and ``BulkInsertAbortedError`` says how many documents the chunks before it wrote
(those stay); the bulk insert then takes no more documents. Leaving the ``with`` block writes
the last chunk; leaving it by an exception drops that last, unwritten chunk (``abort()``).

As in RavenDB, a document whose id exists already is overwritten (no concurrency check), ids
are made as a session makes them (the entity's id, else HiLo) and written back to the entity,
and entities are neither tracked nor passed to session events. Ids storage would complete
(``users/``, ``users|``) are refused: a bulk insert returns each id as it is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from rookdb.conventions import dict_collection_name
from rookdb.errors import (
    BulkInsertAbortedError,
    InvalidArgumentError,
    InvalidIdError,
    InvalidOperationError,
    RookError,
    SerializationError,
    shown,
)
from rookdb.ids import shown_id, validate_collection_name, validate_id
from rookdb.storage.commands import MAX_ATTACHMENT_NAME, AttachmentPutCommand, PutCommand
from rookdb.tracking.state import READ_ONLY_METADATA

if TYPE_CHECKING:
    from rookdb.serialization.entities import EntityCodec
    from rookdb.storage.base import Storage
    from rookdb.store import DocumentStore

__all__ = ["CHUNK_BYTES", "CHUNK_SIZE", "AttachmentsBulkInsert", "BulkInsertOperation"]

#: Documents per chunk (one transaction): a commit (an fsync on SQLite) spread over many
#: documents, little lost on a failure, a few megabytes held at most.
CHUNK_SIZE = 5000
#: Bytes per chunk, whichever comes first: memory stays flat however large the documents.
CHUNK_BYTES = 8 * 1024 * 1024
_SCALARS = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)


class BulkInsertOperation:
    """One bulk insert into one database; made by ``store.bulk_insert()``. Not thread-safe:
    one bulk insert per thread."""

    def __init__(self, store: DocumentStore, database: str, chunk_size: int = CHUNK_SIZE) -> None:
        if type(chunk_size) is not int or chunk_size < 1:
            raise InvalidOperationError("chunk_size takes a positive int")
        store.initialize()
        codec = store._codec
        assert codec is not None
        self._store = store
        self._database = database
        self._codec: EntityCodec = codec
        self._storage: Storage = store._storage(database)
        self._separator = store._client_settings(database).identity_parts_separator
        self._chunk_size = chunk_size
        self._pending: list[PutCommand] = []
        self._pending_keys: set[str] = set()
        self._pending_bytes = 0
        self._written = 0
        self._failed: BulkInsertAbortedError | None = None
        self._closed = False

    @property
    def written(self) -> int:
        """Documents written so far (chunks committed)."""
        return self._written

    def store(
        self, entity: object, metadata: Mapping[str, Any] | None = None, id: str | None = None
    ) -> str:
        """Queue ``entity`` (RavenDB's ``store(entity, metadata)``); its id: ``id``, else
        ``metadata["@id"]``, else the entity's id property, else a new HiLo id. Returns it."""
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidOperationError(
                "bulk.store(entity, metadata, id=...): the second argument is the metadata "
                "(a dict, or another mapping), as in RavenDB; pass the id as id=... or use "
                "store_as(entity, id)"
            )
        if id is None and metadata is not None and "@id" in metadata:
            id = metadata["@id"]
        return self._put(entity, id, metadata)

    def store_as(self, entity: object, key: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Queue ``entity`` under the id ``key`` (RavenDB's ``store_as``)."""
        if key is None:
            raise InvalidIdError("store_as needs an id")
        self._put(entity, key, metadata)

    def _put(self, entity: object, key: str | None, extra: Mapping[str, Any] | None) -> str:
        self._check_usable()
        if key is not None:
            validate_id(key)
        if extra is not None and not isinstance(extra, Mapping):
            raise InvalidArgumentError(
                f"the metadata is a dict (or another mapping) or None, not {shown(extra)}"
            )
        codec = self._codec
        if isinstance(entity, dict):
            own = entity.get("@metadata")
            metadata = (
                {k: v for k, v in own.items() if k not in READ_ONLY_METADATA}
                if isinstance(own, dict)
                else {}
            )
            if extra:
                metadata.update((k, v) for k, v in extra.items() if k not in READ_ONLY_METADATA)
            collection = metadata.get("@collection")
            if collection is None or collection == "":
                collection = dict_collection_name(key, self._separator)
            validate_collection_name(collection)
            metadata["@collection"] = collection
            if key is None:
                key = (
                    str(uuid.uuid4())
                    if collection == "@empty"
                    else self._store._next_id(self._database, entity, collection)
                )
        else:
            if entity is None or isinstance(entity, _SCALARS) or callable(entity):
                raise SerializationError(
                    f"cannot store a {type(entity).__qualname__}: an entity is an object or a dict"
                )
            collection, defaults = self._store.type_info(type(entity))
            metadata = dict(defaults)
            if extra:
                metadata.update((k, v) for k, v in extra.items() if k not in READ_ONLY_METADATA)
                collection = validate_collection_name(metadata["@collection"])
            if key is None:
                identity = codec.identity_of(entity)
                if isinstance(identity, str) and identity:
                    key = identity
                else:
                    key = self._store._next_id(self._database, entity, collection)
        if type(key) is str and (key == "" or key[-1] in "/|"):
            raise InvalidIdError(
                f"a bulk insert stores complete ids, not {shown(key)}: ids that storage completes "
                "(ending in '/' or '|') are for session.store"
            )
        if not isinstance(entity, dict):
            codec.set_identity(entity, key)  # before encoding, as a session's save sees it
        data = codec.encode_checked(entity, metadata)
        command = PutCommand(key, collection, data)  # checks the id and depth, as every write
        lowered = key.lower()
        if lowered in self._pending_keys:  # the same id twice in a chunk: the later one wins
            self._flush()
        self._pending.append(command)
        self._pending_keys.add(lowered)
        self._pending_bytes += len(data)
        if len(self._pending) >= self._chunk_size or self._pending_bytes >= CHUNK_BYTES:
            self._flush()
        return key

    def attachments_for(self, document_id: str) -> AttachmentsBulkInsert:
        """Attachments of ``document_id`` (RavenDB's ``attachments_for``): ``store(name,
        data_or_stream, content_type=None)`` writes the queued chunk (so that the document
        exists), then the attachment, in a transaction of its own, its stream read then."""
        if not isinstance(document_id, str) or not document_id.strip():
            raise InvalidIdError("Document id cannot be None or empty.")
        return AttachmentsBulkInsert(self, validate_id(document_id))

    def _attachment(self, command: AttachmentPutCommand) -> None:
        self._check_usable()
        self._flush()
        try:
            self._storage.apply([command])
        except RookError as exc:
            self._failed = BulkInsertAbortedError(
                f"attachment {shown(command.name, limit=MAX_ATTACHMENT_NAME)} of "
                f"{shown_id(command.id)} failed, and was not written "
                f"({exc}); the {self._written} documents before it were written",
                written=self._written,
                original=exc,
            )
            raise self._failed from exc

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise BulkInsertAbortedError(
                f"this bulk insert failed already ({self._failed}); {self._written} documents "
                "were written before it",
                written=self._written,
                original=self._failed.original,
            )
        if self._closed:
            raise InvalidOperationError("this bulk insert is finished")

    def _flush(self) -> None:
        """Write the queued chunk in one transaction."""
        if not self._pending:
            return
        chunk, self._pending = self._pending, []
        self._pending_keys = set()
        self._pending_bytes = 0
        try:
            self._storage.bulk_write(chunk)
        except RookError as exc:
            self._failed = BulkInsertAbortedError(
                f"a chunk of {len(chunk)} documents of this bulk insert failed, and nothing of "
                f"it was written ({exc}); the {self._written} documents of the chunks before "
                "it were written",
                written=self._written,
                original=exc,
            )
            raise self._failed from exc
        self._written += len(chunk)

    def abort(self) -> None:
        """Drop the queued chunk and finish: chunks written already stay."""
        self._pending, self._pending_keys, self._pending_bytes = [], set(), 0
        self._closed = True

    def close(self) -> None:
        """Write the last chunk and finish (what leaving the ``with`` block does)."""
        if self._closed or self._failed is not None:
            self._closed = True
            return
        try:
            self._flush()
        finally:
            self._closed = True

    def __enter__(self) -> BulkInsertOperation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class AttachmentsBulkInsert:
    """``bulk.attachments_for(document_id)``: stores attachments of that document."""

    def __init__(self, operation: BulkInsertOperation, document_id: str) -> None:
        self._operation, self._id = operation, document_id

    def store(
        self, name: str, data_or_stream: bytes | IO[bytes], content_type: str | None = None
    ) -> None:
        """Store attachment ``name`` (see ``BulkInsertOperation.attachments_for``)."""
        command = AttachmentPutCommand(self._id, name, data_or_stream, content_type or "")
        self._operation._attachment(command)

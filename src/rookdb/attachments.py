"""Attachments, as RavenDB has them: ``session.advanced.attachments``.

A document keeps files beside it, by name: stored, copied, moved and deleted with the next
``save_changes``, in its one atomic batch, in call order with the session's other deferred
commands (after the entities' own puts and deletes, as RavenDB's client sends them)::

    with store.open_session() as session:
        session.store(user, "users/1")
        session.advanced.attachments.store(user, "photo.png", open("photo.png", "rb"), "image/png")
        session.save_changes()                       # the file is read now, a chunk at a time
    with store.open_session() as session:
        with session.advanced.attachments.get("users/1", "photo.png") as attachment:
            attachment.details.size, attachment.details.hash
            shutil.copyfileobj(attachment.stream, destination)   # a chunk at a time

Outside a session, RavenDB's operations: ``store.operations.send(PutAttachmentOperation(id,
name, data_or_stream, content_type))`` (its ``AttachmentDetails``), ``GetAttachmentOperation``
(an ``AttachmentResult`` or None) and ``DeleteAttachmentOperation``, each in a batch of its own.

A content goes in and out a chunk at a time (``rookdb.storage.relational.attachments``):
never whole in memory. Storage keeps ``@attachments`` and ``HasAttachments`` in the document's
metadata; the session's copies learn them after a save, as RavenDB's client does.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from rookdb.document_operations import DocumentOperation
from rookdb.errors import ConfigurationError, InvalidArgumentError, InvalidOperationError
from rookdb.ids import validate_id
from rookdb.storage.base import Storage
from rookdb.storage.commands import (
    AttachmentCopyCommand,
    AttachmentDeleteCommand,
    AttachmentMoveCommand,
    AttachmentPutCommand,
    validate_attachment_name,
)
from rookdb.storage.owned_metadata import (
    ATTACHMENTS,
    attachment_entry,
    attachments_value,
    set_owned,
    with_owned,
)
from rookdb.storage.records import AttachmentDetails, AttachmentReply, document_key

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = [
    "AttachmentDetails",
    "AttachmentName",
    "AttachmentResult",
    "AttachmentStream",
    "DeleteAttachmentOperation",
    "GetAttachmentOperation",
    "PutAttachmentOperation",
    "SessionAttachments",
    "learn_replies",
]


@dataclasses.dataclass(frozen=True)
class AttachmentName:
    """An item of a document's ``@attachments`` (RavenDB's ``AttachmentName``)."""

    name: str
    hash: str
    content_type: str
    size: int

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> AttachmentName:
        return cls(value["Name"], value["Hash"], value["ContentType"], value["Size"])


class AttachmentStream(io.RawIOBase):
    """An attachment's content as a read-only binary file: reads take the chunks storage
    gives one at a time (``read``, ``readinto``, ``shutil.copyfileobj``); ``chunks()`` hands
    them out as they are. Valid while some attachment has this content (``StorageError``
    if it went meanwhile); closing it stops the reading."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            block = next(self._chunks, None)
            if block is None:
                return 0
            self._left = memoryview(block)
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size

    def chunks(self) -> Iterator[bytes]:
        """The rest of the content, a chunk at a time."""
        if self._left:
            left, self._left = bytes(self._left), memoryview(b"")
            yield left
        yield from self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


class AttachmentResult:
    """What ``attachments.get`` returns (RavenDB's ``CloseableAttachmentResult``): ``details``
    and the content, as ``stream`` (a file) or ``data`` (all of it, bytes: for small ones).
    A context manager: leaving it closes the stream."""

    def __init__(self, details: AttachmentDetails, stream: AttachmentStream) -> None:
        self.details = details
        self.stream = stream

    @property
    def data(self) -> bytes:
        """The whole content (what is left of it), read now."""
        return self.stream.read()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> AttachmentResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PutAttachmentOperation(DocumentOperation[AttachmentDetails]):
    """Store an attachment of an existing document, in a batch of its own (RavenDB's
    ``PutAttachmentOperation``); its details."""

    def __init__(
        self,
        document_id: str,
        name: str,
        data_or_stream: bytes | IO[bytes],
        content_type: str | None = None,
        change_vector: str | None = None,
    ) -> None:
        self.command = AttachmentPutCommand(
            document_id, name, data_or_stream, content_type or "", change_vector
        )

    def execute(self, storage: Storage) -> AttachmentDetails:
        reply = storage.apply([self.command]).replies[0]
        assert isinstance(reply, AttachmentReply) and reply.details is not None
        return reply.details


class GetAttachmentOperation(DocumentOperation["AttachmentResult | None"]):
    """An attachment's details and content (RavenDB's ``GetAttachmentOperation``), None
    when there is none; close the result (a context manager)."""

    def __init__(self, document_id: str, name: str) -> None:
        validate_id(document_id)
        self.document_id, self.name = document_id, validate_attachment_name(name)

    def execute(self, storage: Storage) -> AttachmentResult | None:
        found = storage.read_attachment(self.document_id, self.name)
        return None if found is None else AttachmentResult(found[0], AttachmentStream(found[1]))


class DeleteAttachmentOperation(DocumentOperation[None]):
    """Delete an attachment (a no-op when there is none), in a batch of its own (RavenDB's
    ``DeleteAttachmentOperation``); ``change_vector``: the attachment's, checked."""

    def __init__(self, document_id: str, name: str, change_vector: str | None = None) -> None:
        self.command = AttachmentDeleteCommand(document_id, name, change_vector)

    def execute(self, storage: Storage) -> None:
        storage.apply([self.command])


class SessionAttachments:
    """``session.advanced.attachments``. Writes are queued for the next ``save_changes``;
    reads (``get``, ``exists``) are one request of the session's budget each."""

    def __init__(self, session: DocumentSession) -> None:
        self._session = session

    # -- which document -------------------------------------------------------------------------

    def _id(self, entity_or_id: Any, what: str = "an attachment to") -> str:
        session = self._session
        session._check_open()
        if isinstance(entity_or_id, str):
            validate_id(entity_or_id)
            if not entity_or_id.strip():
                raise ConfigurationError("a document id is required")
            return entity_or_id
        state = session._map.by_entity(entity_or_id)
        if state is None:
            raise InvalidOperationError(
                f"{type(entity_or_id).__qualname__} is not associated with the session, cannot "
                f"add {what} it: use its document id, or track the entity in the session"
            )
        if state.completed_by_storage:
            raise InvalidOperationError(
                "the entity has no id yet (storage completes it): save it first"
            )
        return state.id

    def _deleted(self, document_id: str) -> bool:
        session = self._session
        state = session._map.by_key(document_key(document_id))
        return (state is not None and state.deleted) or session._map.is_deleted_by_id(
            document_key(document_id)
        )

    def _refuse(self, document_id: str, name: str, operation: str, *kinds: str) -> None:
        queued = self._session._deferred_queue().attachment_kind(document_id, name)
        if queued in kinds:
            raise InvalidOperationError(
                f"Can't {operation} attachment '{name}' of document '{document_id}', there is "
                f"deferred command registered to {queued} an attachment with '{name}' name."
            )

    # -- writes -----------------------------------------------------------------------------

    def store(
        self,
        entity_or_id: Any,
        name: str,
        data_or_stream: bytes | IO[bytes],
        content_type: str | None = None,
        change_vector: str | None = None,
    ) -> None:
        """Store ``data_or_stream`` (bytes, or a binary file: read at ``save_changes``, a
        chunk at a time) as attachment ``name`` of the document, with the next save. The
        document must exist by then (stored in this save, or before)."""
        document_id = self._id(entity_or_id)
        validate_attachment_name(name)
        if self._deleted(document_id):
            raise InvalidOperationError(
                f"Can't store attachment {name} of document {document_id}, the document was "
                "already deleted in this session."
            )
        self._refuse(document_id, name, "store", "create", "delete", "rename")
        queue = self._session._deferred_queue()
        if not isinstance(data_or_stream, (bytes, bytearray, memoryview)) and any(
            data is data_or_stream for data in queue.streams()
        ):
            raise InvalidOperationError(
                "It is forbidden to re-use the same stream for more than one attachment: "
                "use a stream of its own for each"
            )
        command = AttachmentPutCommand(
            document_id, name, data_or_stream, content_type or "", change_vector
        )
        queue.attachment(command, [(document_id, name, "create")], document_id)

    def delete(self, entity_or_id: Any, name: str) -> None:
        """Delete attachment ``name`` of the document with the next save (none: a no-op)."""
        document_id = self._id(entity_or_id)
        validate_attachment_name(name)
        queue = self._session._deferred_queue()
        if self._deleted(document_id) or queue.attachment_kind(document_id, name) == "delete":
            return  # the document's delete takes its attachments
        self._refuse(document_id, name, "delete", "create", "rename")
        command = AttachmentDeleteCommand(document_id, name)
        queue.attachment(command, [(document_id, name, "delete")], None)

    def copy(
        self,
        entity_or_id: Any,
        source_name: str,
        destination_entity_or_id: Any,
        destination_name: str,
    ) -> None:
        """Copy attachment ``source_name`` to ``destination_name`` of the destination
        document with the next save (the content is shared, not written again)."""
        self._relocate(
            AttachmentCopyCommand, "copy", entity_or_id, source_name,
            destination_entity_or_id, destination_name,
        )  # fmt: skip

    def move(
        self,
        entity_or_id: Any,
        source_name: str,
        destination_entity_or_id: Any,
        destination_name: str,
    ) -> None:
        """Move attachment ``source_name`` to ``destination_name`` of the destination
        document with the next save."""
        self._relocate(
            AttachmentMoveCommand, "move", entity_or_id, source_name,
            destination_entity_or_id, destination_name,
        )  # fmt: skip

    def rename(self, entity_or_id: Any, name: str, new_name: str) -> None:
        """Rename attachment ``name`` of the document to ``new_name`` with the next save."""
        self.move(entity_or_id, name, entity_or_id, new_name)

    def _relocate(
        self,
        kind: type[AttachmentCopyCommand] | type[AttachmentMoveCommand],
        operation: str,
        entity_or_id: Any,
        source_name: str,
        destination_entity_or_id: Any,
        destination_name: str,
    ) -> None:
        source = self._id(entity_or_id)
        destination = self._id(destination_entity_or_id)
        validate_attachment_name(source_name, "source name")
        validate_attachment_name(destination_name, "destination name")
        if source.lower() == destination.lower() and source_name == destination_name:
            return  # RavenDB's no-op
        for document_id in (source, destination):
            if self._deleted(document_id):
                raise InvalidOperationError(
                    f"Can't {operation} attachment '{source_name}' of document '{source}' to "
                    f"'{destination}', the document '{document_id}' was already deleted in "
                    "this session"
                )
        self._refuse(source, source_name, operation, "delete", "rename")
        self._refuse(destination, destination_name, operation, "delete", "rename")
        command = kind(source, source_name, destination, destination_name)
        names = [(destination, destination_name, "create")]
        if kind is AttachmentMoveCommand:
            names.insert(0, (source, source_name, "rename"))
        self._session._deferred_queue().attachment(command, names, destination)

    # -- reads ------------------------------------------------------------------------------

    def get(self, entity_or_id: Any, name: str) -> AttachmentResult | None:
        """Attachment ``name`` of the document: its details and content (read lazily, a
        chunk at a time), or None when there is none. One request."""
        document_id = self._reading(entity_or_id, name)
        return attachment_result(self._session._storage.read_attachment(document_id, name))

    def exists(self, document_id: str, name: str) -> bool:
        """Whether the document has attachment ``name``. One request."""
        document_id = self._reading(document_id, name)
        return self._session._storage.get_attachment(document_id, name) is not None

    def _reading(self, entity_or_id: Any, name: str) -> str:
        """A read of attachment ``name`` before its request (counted): the document's id."""
        document_id = self._id(entity_or_id, "an attachment of")
        validate_attachment_name(name)
        self._session._request()
        return document_id

    def get_names(self, entity: object) -> list[AttachmentName]:
        """The attachments of a tracked entity, as its metadata has them (no request)."""
        if not entity:
            return []
        if isinstance(entity, str):
            raise InvalidArgumentError(
                "get_names requires a tracked entity object, other types such as document id "
                "are not valid."
            )
        self._session._check_open()
        state = self._session._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError(
                f"{type(entity).__qualname__} is not associated with the session"
            )
        attachments = state.metadata.get(ATTACHMENTS.key)
        if not isinstance(attachments, list):
            return []
        return [AttachmentName.from_json(a) for a in attachments if isinstance(a, dict)]


def attachment_result(
    found: tuple[AttachmentDetails, Iterator[bytes]] | None,
) -> AttachmentResult | None:
    """What ``get`` returns of what ``Storage.read_attachment`` read."""
    if found is None:
        return None
    details, chunks = found
    return AttachmentResult(details, AttachmentStream(chunks))


def learn_replies(session: DocumentSession, replies: Sequence[AttachmentReply]) -> None:
    """After a save: the tracked documents its attachment commands changed learn their new
    change vector and ``@attachments`` (as RavenDB's client does), so that the session's next
    save of them neither fails its check nor looks like a change."""
    for reply in replies:
        moved_from = None if reply.source_name is None else reply.source_name.lower()
        if reply.source_id is not None and reply.source_change_vector is not None:
            # A move from another document: it lost the attachment.
            _learn(session, reply.source_id, reply.source_change_vector, moved_from, None)
            moved_from = None
        if reply.document_change_vector is None:
            continue
        details = reply.details
        if details is None:  # a delete
            _learn(session, reply.id, reply.document_change_vector, reply.name.lower(), None)
            continue
        item = attachment_entry(details.name, details.hash, details.content_type, details.size)
        _learn(session, reply.id, reply.document_change_vector, moved_from, item)


def _learn(
    session: DocumentSession,
    document_id: str,
    change_vector: str,
    gone: str | None,
    item: dict[str, Any] | None,
) -> None:
    """The tracked document ``document_id`` has ``change_vector`` now, without attachment
    ``gone`` (a name's key) and with ``item``."""
    state = session._map.by_key(document_key(document_id))
    if state is None or state.deleted or state.snapshot is None:
        return
    metadata = state.writable_metadata()
    kept = metadata.get(ATTACHMENTS.key)
    names = {
        str(a["Name"]).lower(): a
        for a in (kept if isinstance(kept, list) else [])
        if isinstance(a, dict) and "Name" in a
    }
    if gone is not None:
        names.pop(gone, None)
    if item is not None:
        names[str(item["Name"]).lower()] = item
    value = attachments_value(names.values())
    set_owned(metadata, ATTACHMENTS, value)
    state.synced(with_owned(state.snapshot, ATTACHMENTS, value), change_vector, state.last_modified)

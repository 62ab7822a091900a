"""The state of one tracked document: its entity, id, metadata and committed snapshot."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from rookdb._types import JsonDict
from rookdb.errors import InvalidOperationError
from rookdb.ids import validate_collection_name
from rookdb.serialization.layouts import Extras

__all__ = ["READ_ONLY_METADATA", "DocumentState", "MetadataDictionary"]

#: Metadata that storage assigns; the session shows it but never writes it.
READ_ONLY_METADATA = ("@id", "@change-vector", "@last-modified")


class DocumentState:
    """What the session knows of one entity.

    ``snapshot`` is the canonical JSON the session last read from or wrote to storage (None for
    a new entity: storage has nothing of it yet). Snapshots are bytes, not object copies (S5).
    ``metadata`` is the writable part of ``@metadata`` (``@collection``, ``Raven-Python-Type``,
    user keys); ``@id``, ``@change-vector`` and ``@last-modified`` come from storage.

    Every field is read-only from outside: what storage holds changes only through ``synced``
    (the one place that records it, after a save and on refresh), the id only through
    ``IdentityMap.rekey`` (the map is keyed by it), and the session's intentions through
    ``mark_deleted``, ``ignore`` and ``expect_change_vector``. The change-tracking engine of this
    package reads the private slots directly on its hot paths.
    """

    __slots__ = (
        "_change_vector",
        "_collection",
        "_deleted",
        "_entity",
        "_expected_change_vector",
        "_extras",
        "_id",
        "_ignore_changes",
        "_key",
        "_last_modified",
        "_metadata",
        "_metadata_shared",
        "_snapshot",
    )

    def __init__(
        self,
        entity: Any,
        document_id: str,
        collection: str,
        metadata: JsonDict,
        snapshot: bytes | None = None,
        change_vector: str | None = None,
        last_modified: str | None = None,
        extras: Extras | None = None,
        metadata_shared: bool = False,
    ) -> None:
        self._entity = entity
        self._id = document_id
        self._key = document_id.lower()
        self._collection = collection
        self._metadata = metadata
        # Most documents of a collection carry the same metadata: states may share one dict
        # (fewer objects for the garbage collector to walk) until someone writes to it.
        self._metadata_shared = metadata_shared
        self._snapshot = snapshot
        self._change_vector = change_vector
        self._last_modified = last_modified
        self._extras = extras
        self._ignore_changes = False
        self._deleted = False
        self._expected_change_vector: str | None = None

    # -- what the session knows (read-only) --------------------------------------------------

    @property
    def entity(self) -> Any:
        """The tracked object (the identity map finds it by ``id()``: it never changes)."""
        return self._entity

    @property
    def id(self) -> str:
        """The document id, as first spelled (``IdentityMap.rekey`` completes it at save)."""
        return self._id

    @property
    def key(self) -> str:
        """The case-folded id: what the identity map and storage key documents by."""
        return self._key

    @property
    def collection(self) -> str:
        return self._collection

    @property
    def metadata(self) -> JsonDict:
        """The writable metadata; write through ``writable_metadata()`` (it may be shared)."""
        return self._metadata

    @property
    def metadata_shared(self) -> bool:
        return self._metadata_shared

    @property
    def extras(self) -> Extras | None:
        """Values the entity's class cannot hold, kept to be written back (see ``Extras``)."""
        return self._extras

    @property
    def snapshot(self) -> bytes | None:
        """The canonical JSON storage holds, as last read or written; None when new."""
        return self._snapshot

    @property
    def change_vector(self) -> str | None:
        return self._change_vector

    @property
    def last_modified(self) -> str | None:
        return self._last_modified

    @property
    def expected_change_vector(self) -> str | None:
        """A change vector given to ``store(entity, id, change_vector)`` or ``delete``: the
        next save checks it."""
        return self._expected_change_vector

    @property
    def deleted(self) -> bool:
        """Deleted in this session: the next save deletes it."""
        return self._deleted

    @property
    def ignore_changes(self) -> bool:
        """``ignore_changes_for``: never saved, still tracked."""
        return self._ignore_changes

    @property
    def is_new(self) -> bool:
        return self._snapshot is None

    @property
    def completed_by_storage(self) -> bool:
        """Ids storage completes at save (``users/``, ``users|``, ``""``; SPEC S14)."""
        document_id = self._id
        return document_id == "" or document_id[-1] in "/|"

    # -- changes that keep the state whole ---------------------------------------------------

    def writable_metadata(self) -> JsonDict:
        """The metadata dict, made private to this state first if it was shared."""
        if self._metadata_shared:
            self._metadata = dict(self._metadata)
            self._metadata_shared = False
        return self._metadata

    def synced(
        self,
        data: bytes | None,
        change_vector: str | None,
        last_modified: str | None,
    ) -> None:
        """Record what storage now holds of this document: ``data`` at ``change_vector``.
        Written here for ``reloaded`` and in ``saved`` (the same three lines inline there:
        once per document every save writes); change them together."""
        self._snapshot = data
        self._change_vector = change_vector
        self._last_modified = last_modified

    def saved(self, data: bytes, change_vector: str | None, last_modified: str | None) -> None:
        """A save wrote ``data``: it is what storage holds, and the change vector the save
        checked (``expect_change_vector``) has served. (``synced``, inline: once per document
        every save writes.)"""
        self._snapshot = data
        self._change_vector = change_vector
        self._last_modified = last_modified
        self._expected_change_vector = None

    def reloaded(
        self,
        data: bytes,
        change_vector: str | None,
        last_modified: str | None,
        metadata: JsonDict,
        extras: Extras | None,
    ) -> None:
        """``refresh``: storage's version replaces every local edit, a pending delete and
        ``ignore_changes_for`` included. ``metadata`` is a dict of its own, just decoded."""
        self.synced(data, change_vector, last_modified)
        self._metadata = metadata
        self._metadata_shared = False
        self._extras = extras
        self._deleted = False
        self._ignore_changes = False

    def adopt_bytes(self, data: bytes) -> None:
        """``data`` encodes the same JSON as the snapshot in other bytes (``1`` vs ``1.0``):
        the snapshot takes them, so the next comparison is one of bytes again (S5)."""
        self._snapshot = data

    def replaces(self, deleted: DocumentState) -> None:
        """A new object stored under the id of one deleted in this session overwrites the
        version that one was read at."""
        self._change_vector = deleted._change_vector

    def expect_change_vector(self, change_vector: str | None) -> None:
        """The next save checks storage still holds ``change_vector`` (None: no check)."""
        self._expected_change_vector = change_vector

    def mark_deleted(self, expected_change_vector: str | None = None) -> None:
        """Delete at the next save (checking ``expected_change_vector`` if given)."""
        self._deleted = True
        if expected_change_vector is not None:
            self._expected_change_vector = expected_change_vector

    def ignore(self) -> None:
        """``ignore_changes_for``: never save changes to this entity."""
        self._ignore_changes = True

    def _set_id(self, document_id: str) -> None:
        # Only IdentityMap (rekey, give_id) calls this: the map is keyed by the id.
        self._id = document_id
        self._key = document_id.lower()

    def __repr__(self) -> str:
        status = "deleted" if self._deleted else "new" if self.is_new else "loaded"
        return f"<DocumentState {self._id!r} {status}>"


class MetadataDictionary(MutableMapping[str, Any]):
    """``get_metadata_for(entity)``: the document's ``@metadata`` as a live mapping.

    ``@id``, ``@change-vector`` and ``@last-modified`` are read-only (storage assigns them);
    every other key is written with the document, and editing one is a change (S12).
    """

    __slots__ = ("_state",)

    def __init__(self, state: DocumentState) -> None:
        self._state = state

    def _read_only(self) -> JsonDict:
        state = self._state
        values = {"@id": state.id}
        if state.change_vector is not None:
            values["@change-vector"] = state.change_vector
        if state.last_modified is not None:
            values["@last-modified"] = state.last_modified
        return values

    def __getitem__(self, key: str) -> Any:
        if key in READ_ONLY_METADATA:
            return self._read_only()[key]
        return self._state.metadata[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in READ_ONLY_METADATA:
            raise InvalidOperationError(f"{key} is assigned by storage and cannot be set")
        if key == "@collection":
            validate_collection_name(value)
        self._state.writable_metadata()[key] = value

    def __delitem__(self, key: str) -> None:
        if key in READ_ONLY_METADATA:
            raise InvalidOperationError(f"{key} is assigned by storage and cannot be removed")
        del self._state.writable_metadata()[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._state.metadata
        yield from self._read_only()

    def __len__(self) -> int:
        return len(self._state.metadata) + len(self._read_only())

    def __repr__(self) -> str:
        return f"MetadataDictionary({dict(self)!r})"

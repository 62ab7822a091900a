"""The state of one tracked document: its entity, id, metadata and committed snapshot."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from rookdb._types import JsonDict
from rookdb.errors import InvalidOperationError
from rookdb.ids import validate_collection_name
from rookdb.serialization.entities import Extras

__all__ = ["READ_ONLY_METADATA", "DocumentState", "MetadataDictionary"]

#: Metadata that storage assigns; the session shows it but never writes it.
READ_ONLY_METADATA = ("@id", "@change-vector", "@last-modified")


class DocumentState:
    """What the session knows of one entity.

    ``snapshot`` is the canonical JSON the session last read from or wrote to storage (None for
    a new entity: storage has nothing of it yet). Snapshots are bytes, not object copies (S5).
    ``metadata`` is the writable part of ``@metadata`` (``@collection``, ``Raven-Python-Type``,
    user keys); ``@id``, ``@change-vector`` and ``@last-modified`` come from storage.
    """

    __slots__ = (
        "change_vector",
        "collection",
        "deleted",
        "entity",
        "expected_change_vector",
        "extras",
        "id",
        "ignore_changes",
        "key",
        "last_modified",
        "metadata",
        "metadata_shared",
        "snapshot",
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
        self.entity = entity
        self.id = document_id
        self.key = document_id.lower()
        self.collection = collection
        self.metadata = metadata
        # Most documents of a collection carry the same metadata: states may share one dict
        # (fewer objects for the garbage collector to walk) until someone writes to it.
        self.metadata_shared = metadata_shared
        self.snapshot = snapshot
        self.change_vector = change_vector
        self.last_modified = last_modified
        self.extras = extras
        self.ignore_changes = False
        self.deleted = False
        #: A change vector given to ``store(entity, id, change_vector)``: checked at save.
        self.expected_change_vector: str | None = None

    def writable_metadata(self) -> JsonDict:
        """The metadata dict, made private to this state first if it was shared."""
        if self.metadata_shared:
            self.metadata = dict(self.metadata)
            self.metadata_shared = False
        return self.metadata

    @property
    def is_new(self) -> bool:
        return self.snapshot is None

    @property
    def completed_by_storage(self) -> bool:
        """Ids storage completes at save (``users/``, ``users|``, ``""``; SPEC S14)."""
        return self.id == "" or self.id[-1] in "/|"

    def set_id(self, document_id: str) -> None:
        self.id = document_id
        self.key = document_id.lower()

    def __repr__(self) -> str:
        status = "deleted" if self.deleted else "new" if self.is_new else "loaded"
        return f"<DocumentState {self.id!r} {status}>"


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

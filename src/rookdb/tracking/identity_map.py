"""The identity map: one object per document id in a session (SPEC S1, S2).

Entities are found by object identity (``id(obj)``, never ``__eq__``/``__hash__``) and by
case-insensitive document id. The map keeps tracking order, remembers ids known to be missing,
and holds deletes-by-id of documents the session never loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rookdb.tracking.state import DocumentState

__all__ = ["IdentityMap", "PendingDelete"]


class PendingDelete:
    """A delete of a document the session does not track (``delete(id)``)."""

    __slots__ = ("expected_change_vector", "id")

    def __init__(self, document_id: str, expected_change_vector: str | None) -> None:
        self.id = document_id
        self.expected_change_vector = expected_change_vector


class IdentityMap:
    def __init__(self) -> None:
        # By object identity, in tracking order. The state holds the entity, so its id() cannot
        # be reused by another object while it is tracked.
        self._by_object: dict[int, DocumentState] = {}
        #: Tracked states by case-folded id (read directly on hot paths).
        self.by_key: dict[str, DocumentState] = {}
        self.missing: set[str] = set()
        self.deletes_by_id: dict[str, PendingDelete] = {}

    def __len__(self) -> int:
        return len(self._by_object)

    def __iter__(self) -> Iterator[DocumentState]:
        """States in tracking order."""
        return iter(list(self._by_object.values()))

    def states(self) -> list[DocumentState]:
        return list(self._by_object.values())

    def by_entity(self, entity: Any) -> DocumentState | None:
        state = self._by_object.get(id(entity))
        return state if state is not None and state.entity is entity else None

    def by_id(self, document_id: str) -> DocumentState | None:
        return self.by_key.get(document_id.lower())

    def add(self, state: DocumentState) -> None:
        self._by_object[id(state.entity)] = state
        if not state.completed_by_storage:
            self.by_key[state.key] = state
            self.missing.discard(state.key)

    def add_loaded(self, state: DocumentState) -> None:
        """``add`` for a state read from storage: its id is final and it is not missing."""
        self._by_object[id(state.entity)] = state
        self.by_key[state.key] = state

    def rekey(self, state: DocumentState, document_id: str) -> None:
        """Give a state its final id (after storage completed it)."""
        if self.by_key.get(state.key) is state:
            del self.by_key[state.key]
        state.set_id(document_id)
        self.by_key[state.key] = state
        self.missing.discard(state.key)

    def remove(self, state: DocumentState) -> None:
        self._by_object.pop(id(state.entity), None)
        if self.by_key.get(state.key) is state:
            del self.by_key[state.key]

    def clear(self) -> None:
        self._by_object.clear()
        self.by_key.clear()
        self.missing.clear()
        self.deletes_by_id.clear()

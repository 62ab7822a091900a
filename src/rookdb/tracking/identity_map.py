"""The identity map: one object per document id in a session (SPEC S1, S2).

Entities are found by object identity (``id(obj)``, never ``__eq__``/``__hash__``) and by
case-insensitive document id. The map keeps tracking order, remembers ids known to be missing,
and holds deletes-by-id of documents the session never loaded.

The map keeps its own invariants; callers change it only through its methods:

- every tracked state is found by its entity, in tracking order; one whose id is final (not
  completed by storage at save) is also found by its key, and no two states share a key;
- tracking a new state under a key takes over what the session knew of that key: the key is no
  longer missing, and a state deleted in this session, or a delete-by-id, is replaced (its
  change vector is what the new object overwrites);
- a delete-by-id makes its key read as missing at once;
- ``rekey`` and ``give_id`` move a state to its final id without ever leaving it under both
  keys (``give_id`` before a save, with ``track_new``'s rules for the key it takes).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from rookdb.errors import NonUniqueObjectError
from rookdb.ids import shown_id
from rookdb.tracking.state import DocumentState

__all__ = ["IdentityMap", "PendingDelete"]

# A state's entity and key, read in C (``track_loaded_many`` maps them over a batch).
_entity_of: Callable[[DocumentState], Any] = operator.attrgetter("_entity")
_key_of: Callable[[DocumentState], str] = operator.attrgetter("_key")


class PendingDelete:
    """A delete of a document the session does not track (``delete(id)``)."""

    __slots__ = ("expected_change_vector", "id")

    def __init__(self, document_id: str, expected_change_vector: str | None) -> None:
        self.id = document_id
        self.expected_change_vector = expected_change_vector


class IdentityMap:
    """The states a session tracks, the ids it knows are missing, its deletes-by-id."""

    __slots__ = ("_by_key", "_by_object", "_deletes_by_id", "_missing")

    def __init__(self) -> None:
        # By object identity, in tracking order. The state holds the entity, so its id() cannot
        # be reused by another object while it is tracked.
        self._by_object: dict[int, DocumentState] = {}
        # Tracked states with a final id, by case-folded id.
        self._by_key: dict[str, DocumentState] = {}
        self._missing: set[str] = set()
        self._deletes_by_id: dict[str, PendingDelete] = {}

    # -- questions ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_object)

    def __iter__(self) -> Iterator[DocumentState]:
        """States in tracking order (a copy: a caller may change the map while iterating)."""
        return iter(list(self._by_object.values()))

    def states(self) -> list[DocumentState]:
        return list(self._by_object.values())

    def by_entity(self, entity: Any) -> DocumentState | None:
        state = self._by_object.get(id(entity))
        return state if state is not None and state._entity is entity else None

    def by_id(self, document_id: str) -> DocumentState | None:
        return self._by_key.get(document_id.lower())

    def by_key(self, key: str) -> DocumentState | None:
        """``by_id`` for an id already case-folded."""
        return self._by_key.get(key)

    def known(self, key: str) -> tuple[bool, Any]:
        """(True, entity or None) when the session can answer for ``key`` (case-folded)
        without asking storage: tracked (None if deleted), known missing, or deleted by id."""
        state = self._by_key.get(key)
        if state is not None:
            return True, None if state._deleted else state._entity
        if key in self._missing or key in self._deletes_by_id:
            return True, None
        return False, None

    def knows_nothing(self) -> bool:
        """True when the session knows nothing of any key: ``knows_none`` of any keys, asked
        before building them (a new session's query: no key made per document to test)."""
        return not (self._by_key or self._missing or self._deletes_by_id)

    def knows_none(self, keys: dict[str, Any]) -> bool:
        """True when the session knows nothing of any of ``keys`` (case-folded): ``known``
        would answer False for each (a load of ids new to the session, checked in C)."""
        return (
            self._by_key.keys().isdisjoint(keys)
            and self._missing.isdisjoint(keys)
            and self._deletes_by_id.keys().isdisjoint(keys)
        )

    def is_missing(self, key: str) -> bool:
        return key in self._missing

    def missing_keys(self) -> list[str]:
        """Keys known to be missing, sorted."""
        return sorted(self._missing)

    def is_deleted_by_id(self, key: str) -> bool:
        return key in self._deletes_by_id

    def pending_deletes(self) -> list[PendingDelete]:
        """The deletes-by-id the next save writes, in the order they were asked for."""
        return list(self._deletes_by_id.values())

    # -- changes -----------------------------------------------------------------------------

    def track_loaded(self, state: DocumentState) -> None:
        """Track a state read from storage: its id is final (and not tracked yet)."""
        self._by_object[id(state._entity)] = state
        self._by_key[state._key] = state

    def track_loaded_many(self, states: list[DocumentState]) -> None:
        """``track_loaded`` for a batch (one update of each dict)."""
        # (Pairs made in C, ``map`` and ``zip``: no Python step per state.)
        self._by_object.update(zip(map(id, map(_entity_of, states)), states, strict=True))
        self._by_key.update(zip(map(_key_of, states), states, strict=True))

    def track_new(self, state: DocumentState, expected_change_vector: str | None = None) -> None:
        """Track a state ``store()`` made (its entity not tracked yet), taking over what the
        session knew of its key; ``expected_change_vector`` is the one ``store`` was given.

        Raises ``NonUniqueObjectError`` (changing nothing) when another object that is not
        deleted is tracked under the same id."""
        # (Most new ids are of no state and no delete-by-id: nothing to take over.)
        if state._id and (state._key in self._by_key or self._deletes_by_id):
            self._take_key(state)
        if expected_change_vector is not None:
            state.expect_change_vector(expected_change_vector)
        self._by_object[id(state._entity)] = state
        document_id = state._id
        if document_id and document_id[-1] not in "/|":  # not ``completed_by_storage``
            self._by_key[state._key] = state
            if self._missing:  # (most sessions know of no missing id)
                self._missing.discard(state._key)

    def give_id(self, state: DocumentState, document_id: str) -> None:
        """Give a new state tracked under an id storage would complete (``employees/``: the
        async session's entity waiting for its HiLo id) its final id, taking over what the
        session knew of that id as ``track_new`` does.

        Raises ``NonUniqueObjectError`` (changing nothing) when another object that is not
        deleted is tracked under ``document_id``."""
        provisional, expected = state._id, state._expected_change_vector
        state._set_id(document_id)
        try:
            self._take_key(state)
        except NonUniqueObjectError:
            state._set_id(provisional)
            raise
        if expected is not None:  # given to store(): it wins over a replaced delete's
            state.expect_change_vector(expected)
        self._by_key[state._key] = state
        self._missing.discard(state._key)

    def _take_key(self, state: DocumentState) -> None:
        """Before a new state is keyed: refuse a key a live object holds; take over a state
        deleted in this session under it, or a delete-by-id of it (their versions are what the
        new object overwrites)."""
        key = state._key
        existing = self._by_key.get(key)
        if existing is not None:
            if not existing._deleted:
                raise NonUniqueObjectError(
                    f"another object is already tracked as {shown_id(state._id)} in this session"
                )
            # A new object replaces one deleted in this session: it overwrites that version.
            self._untrack(existing)
            state.replaces(existing)
        elif self._deletes_by_id:
            pending = self._deletes_by_id.pop(key, None)
            if pending is not None:
                state.expect_change_vector(pending.expected_change_vector)

    def rekey(self, state: DocumentState, document_id: str) -> None:
        """Give a state its final id (after storage completed it)."""
        if self._by_key.get(state._key) is state:
            del self._by_key[state._key]
        state._set_id(document_id)
        self._by_key[state._key] = state
        self._missing.discard(state._key)

    def mark_missing(self, key: str) -> None:
        """Storage has no document ``key`` (case-folded): loading it again costs no request."""
        self._missing.add(key)

    def delete_by_id(self, document_id: str, expected_change_vector: str | None) -> str:
        """Delete an untracked document at the next save; it reads as missing at once.
        Returns its key."""
        key = document_id.lower()
        self._deletes_by_id[key] = PendingDelete(document_id, expected_change_vector)
        self._missing.add(key)
        return key

    def forget(self, state: DocumentState) -> None:
        """Stop tracking ``state`` (``evict``): the session knows nothing of its id any more."""
        self._untrack(state)
        self._missing.discard(state._key)

    def deleted(self, key: str, state: DocumentState | None) -> None:
        """Storage deleted ``key`` (case-folded): its state (if tracked) leaves the map and the
        key reads as missing."""
        if state is not None:
            self._untrack(state)
        self._missing.add(key)

    def deletes_by_id_saved(self) -> None:
        """A save wrote every pending delete-by-id."""
        self._deletes_by_id.clear()

    def clear(self) -> None:
        """Forget every state, known-missing id and pending delete."""
        self._by_object.clear()
        self._by_key.clear()
        self._missing.clear()
        self._deletes_by_id.clear()

    def _untrack(self, state: DocumentState) -> None:
        self._by_object.pop(id(state._entity), None)
        if self._by_key.get(state._key) is state:
            del self._by_key[state._key]

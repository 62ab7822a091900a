"""What ``save_changes()`` would write, computed once for every question asked of it (SPEC S3-S5).

``iter_changes`` is the one code path, with the one filter, behind ``has_changes``,
``has_changed``, ``what_changed``, ``what_changed_for`` and ``save_changes`` (S4): whatever it
yields is exactly what a save writes, so the five can never disagree. (``save_changes`` hands
the changes to storage as they are found; the questions take ``compute_changes``, the list.)

For each tracked entity, in tracking order:

1. deleted → a delete (always reported and written, whatever the ignore rules say);
2. ignored with ``ignore_changes_for`` → nothing, without even serializing it;
3. serialized: a new entity in its canonical bytes; a tracked one with its top-level fields in
   the order it holds them, bytes identical to the snapshot → clean (one serialization, one
   bytes comparison: S5); otherwise its canonical bytes (fields in the document's order: the
   same bytes unless it holds them in another order), identical to the snapshot → clean;
   different but JSON equal (``1`` vs ``1.0``) → clean, and the snapshot takes the new bytes;
4. the ignore rule is asked (new entities and changed ones only, S9) → nothing if it says so;
5. validated for writing → a put.

Then the deletes-by-id of documents the session never loaded.

After storage wrote the batch, ``finalize_save`` records what it now holds (SQLAlchemy's unit
of work has ``finalize_flush_changes``): the one step after every save. It reads what was sent
from ``SentChanges``, kept column-wise while the batch is written.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

from rookdb._types import JsonDict
from rookdb.serialization.encoding import json_equal, loads
from rookdb.serialization.exact_numbers import (
    Notes,
    loads_noting,
    may_lose_digits,
    shown_as_written,
)
from rookdb.serialization.layouts import Extras
from rookdb.tracking.diff import ChangeType, DocumentsChanges, diff, to_json_patch
from rookdb.tracking.identity_map import IdentityMap, PendingDelete
from rookdb.tracking.state import DocumentState

__all__ = [
    "Change",
    "ChangeKind",
    "Encoding",
    "SentChanges",
    "Written",
    "compute_changes",
    "describe",
    "finalize_save",
    "iter_changes",
]


class ChangeKind(enum.Enum):
    NEW = "new"
    MODIFIED = "modified"
    DELETED = "deleted"


class Change:
    """One document ``save_changes()`` would write: its state (None for a delete-by-id), id and,
    for puts, the canonical bytes to write."""

    __slots__ = ("data", "document_id", "expected_change_vector", "kind", "new", "old", "state")

    def __init__(
        self,
        kind: ChangeKind,
        state: DocumentState | None,
        document_id: str,
        data: bytes | None = None,
        expected_change_vector: str | None = None,
    ) -> None:
        self.kind = kind
        self.state = state
        self.document_id = document_id
        self.data = data
        self.expected_change_vector = expected_change_vector
        # For a modification: the decoded snapshot and document, which the equality test
        # already needed; what_changed() diffs them without decoding again.
        self.old: Any = None
        self.new: Any = None

    def __repr__(self) -> str:
        return f"<Change {self.kind.value} {self.document_id!r}>"


def compute_changes(
    states: Iterable[DocumentState],
    deletes_by_id: Iterable[PendingDelete],
    encoding: Encoding,
    validate: Callable[[DocumentState, bytes], bytes],
    should_ignore: Callable[[DocumentState], bool] | None,
) -> list[Change]:
    """Every change a save would write, in tracking order (see the module docstring), the
    documents serialized by ``encoding``; ``should_ignore`` is None when there is no ignore
    rule to ask."""
    return list(iter_changes(states, deletes_by_id, encoding, validate, should_ignore))


def iter_changes(
    states: Iterable[DocumentState],
    deletes_by_id: Iterable[PendingDelete],
    encoding: Encoding,
    validate: Callable[[DocumentState, bytes], bytes],
    should_ignore: Callable[[DocumentState], bool] | None,
) -> Iterator[Change]:
    """``compute_changes`` one change at a time, each found when it is asked for."""
    encode, in_order = encoding
    # The engine reads the states' private slots: this loop runs once per tracked entity.
    for state in states:
        if state._deleted:
            yield Change(ChangeKind.DELETED, state, state._id)
            continue
        if state._ignore_changes:
            continue
        snapshot = state._snapshot
        old = new = None
        if snapshot is None:
            data = encode(state._entity, state._metadata, state._extras, False)
            kind = ChangeKind.NEW
        else:
            data = encode(state._entity, state._metadata, state._extras, True)
            if data == snapshot:
                continue
            # Not the snapshot's bytes: what would be written, the fields in order.
            data = in_order(state._entity, state._metadata, state._extras, data)
            if data == snapshot:
                continue  # the same document, its fields held in another order
            old, new = loads(snapshot), loads(data)
            if json_equal(old, new):
                state.adopt_bytes(data)  # same JSON, other bytes: clean (S5)
                continue
            kind = ChangeKind.MODIFIED
        if should_ignore is not None and should_ignore(state):
            continue
        change = Change(kind, state, state._id, validate(state, data))
        change.old, change.new = old, new
        yield change
    for pending in deletes_by_id:
        yield Change(ChangeKind.DELETED, None, pending.id, None, pending.expected_change_vector)


class Encoding(NamedTuple):
    """How the engine serializes documents (``Encoder``'s methods of the same names)."""

    #: ``encode(entity, metadata, extras, held)``: a document's canonical bytes; ``held``: its
    #: bytes with its top-level fields in the order the entity holds them (the canonical
    #: bytes when that is the document's order).
    encode: Callable[[Any, JsonDict, Extras | None, bool], bytes]
    #: ``in_order(entity, metadata, extras, data)``: the canonical bytes, given the held
    #: ``data`` of the same state.
    in_order: Callable[[Any, JsonDict, Extras | None, bytes], bytes]


class Written(Protocol):
    """What storage says of one document a save wrote (``storage.records.WriteResult``)."""

    @property
    def id(self) -> str: ...

    @property
    def change_vector(self) -> str: ...

    @property
    def last_modified(self) -> str | None: ...


class SentChanges:
    """The changes a save sent, in batch order, column-wise: of each, its state (None for a
    delete-by-id), its document id and the bytes written (None: a delete). ``finalize_save``
    reads them once storage has written the batch.

    Column-wise, so that each ``Change`` is freed as soon as its command is made: a list of
    them kept one object per document alive through the write, which the garbage collector's
    passes during the save moved to its oldest generation, and a save of 100,000 new
    documents could pay a full collection more for them (issue 18). The save's loop appends
    to the three lists directly (``batch.streamed_commands``)."""

    __slots__ = ("datas", "ids", "states")

    def __init__(self) -> None:
        self.states: list[DocumentState | None] = []
        self.ids: list[str] = []
        self.datas: list[bytes | None] = []

    @classmethod
    def of(cls, changes: Iterable[Change]) -> SentChanges:
        """``changes`` (a save that listed them: its handlers see them first), column-wise."""
        sent = cls()
        for change in changes:
            sent.add(change)
        return sent

    def add(self, change: Change) -> None:
        """Record ``change`` as sent, after those already recorded."""
        self.states.append(change.state)
        self.ids.append(change.document_id)
        self.datas.append(change.data)  # (a delete has none)


def finalize_save(
    identity_map: IdentityMap,
    sent: SentChanges,
    written: Iterable[Written],
    set_identity: Callable[[Any, str], object],
) -> list[DocumentState]:
    """Record what storage holds after it wrote the changes ``sent`` (``written``: the outcome
    of each put, in order). Deleted documents leave the map and read as missing; each written
    one takes the id storage gave it (``set_identity(entity, id)`` when storage completed it),
    its change vector and the bytes written as its snapshot; the deletes-by-id are done.
    Returns the written states, in order."""
    outcomes = list(written)
    states, ids, datas = sent.states, sent.ids, sent.datas
    if len(outcomes) == len(ids):
        # An outcome per change: puts alone (a save's common case), taken pairwise.
        rows: Iterable[tuple[DocumentState | None, str, bytes | None, Written | None]] = zip(
            states, ids, datas, outcomes, strict=True
        )
    else:
        taken = iter(outcomes)
        rows = (
            (state, document_id, data, None if data is None else next(taken))
            for state, document_id, data in zip(states, ids, datas, strict=True)
        )
    saved: list[DocumentState] = []
    for state, document_id, data, outcome in rows:
        if outcome is None:  # a delete
            identity_map.deleted(document_id.lower(), state)
            continue
        assert state is not None and data is not None
        if outcome.id != state._id:
            identity_map.rekey(state, outcome.id)
            set_identity(state._entity, outcome.id)
        state.saved(data, outcome.change_vector, outcome.last_modified)
        saved.append(state)
    identity_map.deletes_by_id_saved()
    return saved


def _changes_of(change: Change) -> list[DocumentsChanges]:
    """The entries of one change: its values the JSON it writes (or wrote), decoded, a
    number written with digits a float does not keep the ``Decimal`` of them (``9.50``)."""
    state = change.state
    notes: Notes = {}
    if change.kind is ChangeKind.NEW:
        assert change.data is not None
        new = shown_as_written(loads_noting(change.data, notes), notes)
        return [DocumentsChanges(ChangeType.DOCUMENT_ADDED, field_new_value=new)]
    if change.kind is ChangeKind.DELETED:
        snapshot = state.snapshot if state is not None else None
        old = None if snapshot is None else shown_as_written(loads_noting(snapshot, notes), notes)
        return [DocumentsChanges(ChangeType.DOCUMENT_DELETED, field_old_value=old)]
    assert state is not None and state.snapshot is not None and change.data is not None
    snapshot, data = state.snapshot, change.data
    if not (may_lose_digits(snapshot) or may_lose_digits(data)):
        return diff(change.old, change.new)
    # Compared as the change check compared them (floats), shown as written.
    entries = diff(loads_noting(snapshot, notes), loads_noting(data, notes))
    return [
        DocumentsChanges(
            entry.change,
            entry.field_name,
            entry.field_path,
            shown_as_written(entry.field_old_value, notes),
            shown_as_written(entry.field_new_value, notes),
            entry.json_pointer,
        )
        for entry in entries
    ]


def describe(changes: list[Change], as_patch: bool = False) -> dict[str, Any]:
    """``what_changed()``: per document id, its ``DocumentsChanges`` (or an RFC 6902 patch)."""
    out: dict[str, Any] = {}
    for change in changes:
        entries = _changes_of(change)
        out.setdefault(change.document_id, []).extend(entries)
    if as_patch:
        return {document_id: to_json_patch(entries) for document_id, entries in out.items()}
    return out

"""A ``bulk_docs`` batch with RavenDB's server-side commands, applied as one storage batch.

Storage applies PUT, DELETE and read checks (``rookdb.storage.base``). RavenDB's clients also
send ``JsonPatch`` (RFC 6902 operations on a stored document) and ``BatchTrackChanges`` (read
checks, ``rookdb.protocol``). A JSON Patch becomes a PUT of the patched document here, read in
one snapshot before the batch and written by it under the change vector it was read with, so
the batch applies exactly as if the patch ran inside its transaction: if another writer
changed the document in between, the batch is refused by storage, nothing is written, and it
is prepared again from a new read (a few times; then the ``ConcurrencyError`` goes to the
client). A patch that does not apply (a failed ``test``, a path that is not there) is a
``PatchError`` before anything is written. A patch of a document an earlier command of the
batch wrote or deleted patches what that command left.

The patches are applied with the ``jsonpatch`` library (RFC 6902 and RFC 6901 pointers, well
kept and pure Python), imported only when a batch has a patch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rookdb.errors import ConcurrencyError, ConfigurationError, PatchError, SerializationError
from rookdb.protocol_batches import BatchEntry, JsonPatch, TrackChanges
from rookdb.serialization import exact_numbers
from rookdb.serialization.encoding import dumps
from rookdb.storage.base import Storage
from rookdb.storage.commands import Command, DeleteCommand, PutCommand
from rookdb.storage.records import BatchResult, DocumentRecord, document_key

__all__ = ["AppliedBatch", "apply_batch", "apply_json_patch"]

#: How many times a batch whose patched documents changed under it is prepared again.
_ATTEMPTS = 8


@dataclasses.dataclass(slots=True)
class AppliedBatch:
    """What storage answered, and per ``JsonPatch`` position the document it wrote (None:
    the document does not exist, nothing was patched)."""

    result: BatchResult
    patched: dict[int, DocumentRecord | None]


def apply_batch(storage: Storage, batch: Sequence[BatchEntry]) -> AppliedBatch:
    """Apply ``batch`` atomically (blocking: run it in a worker thread)."""
    if not any(type(entry) is JsonPatch for entry in batch):
        return AppliedBatch(storage.apply(_commands(batch, {})), {})
    for attempt in range(_ATTEMPTS):
        patched, reads = _patch(storage, batch)
        try:
            return AppliedBatch(storage.apply(_commands(batch, patched)), patched)
        except ConcurrencyError as exc:
            ours = (document_key(exc.document_id), exc.expected) in reads
            if not ours or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _commands(
    batch: Sequence[BatchEntry], patched: dict[int, DocumentRecord | None]
) -> list[Command]:
    commands: list[Command] = []
    for i, entry in enumerate(batch):
        if type(entry) is TrackChanges:
            commands.extend(entry.checks)
        elif type(entry) is JsonPatch:
            record = patched[i]
            if record is not None:
                # The change vector it was read with; "" when an earlier command wrote it.
                expected = record.change_vector or None
                commands.append(PutCommand(record.id, record.collection, record.data, expected))
        else:
            assert not isinstance(entry, (TrackChanges, JsonPatch))
            commands.append(entry)
    return commands


def _patch(
    storage: Storage, batch: Sequence[BatchEntry]
) -> tuple[dict[int, DocumentRecord | None], set[tuple[str, str]]]:
    """Each patch's document, patched, with the change vector it was read with; and the
    (key, change vector) pairs read from storage."""
    ids = [entry.id for entry in batch if type(entry) is JsonPatch]
    stored = storage.get(ids).documents  # one snapshot
    # What the batch has written so far, by key: the record (change vector "") or None.
    written: dict[str, DocumentRecord | None] = {}
    patched: dict[int, DocumentRecord | None] = {}
    reads: set[tuple[str, str]] = set()
    for i, entry in enumerate(batch):
        if type(entry) is PutCommand:
            written[document_key(entry.id)] = DocumentRecord(
                entry.id, entry.data, "", "", entry.collection
            )
        elif type(entry) is DeleteCommand:
            written[document_key(entry.id)] = None
        elif type(entry) is JsonPatch:
            key = document_key(entry.id)
            base = written[key] if key in written else stored.get(key)
            if base is None:
                patched[i] = None
                continue
            if key not in written:
                reads.add((key, base.change_vector))
            # What the patch does not touch is written back as it was (``9.50``, not ``9.5``).
            notes: exact_numbers.Notes = {}
            original = exact_numbers.loads_noting(base.data, notes)
            document = apply_json_patch(original, entry.operations, i)
            try:
                data = dumps(exact_numbers.written_back(document, notes))
            except SerializationError as exc:
                raise PatchError(f"command {i}: the patched document: {exc}") from None
            patched[i] = written[key] = base._replace(data=data)
    return patched, reads


def apply_json_patch(document: Any, operations: list[dict[str, Any]], i: int = 0) -> Any:
    """``document`` with RFC 6902 ``operations`` applied (a new object); ``PatchError`` when
    they do not apply, ``ConfigurationError`` without the ``jsonpatch`` library."""
    try:
        import jsonpatch  # the server extra: only batches with patches need it
        import jsonpointer
    except ImportError as exc:  # pragma: no cover (installed with rookdb[server])
        raise ConfigurationError(
            "JsonPatch commands need the jsonpatch package: pip install 'rookdb[server]'"
        ) from exc
    try:
        result = jsonpatch.JsonPatch(operations).apply(document, in_place=False)
    except (
        jsonpatch.JsonPatchException,
        jsonpointer.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ) as exc:
        raise PatchError(f"command {i}: the JSON Patch does not apply: {exc}") from None
    if type(result) is not dict:
        raise PatchError(f"command {i}: the JSON Patch leaves no JSON object")
    return result

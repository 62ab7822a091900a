"""The batch a save sends to storage: one command per change, and read checks (SPEC S3, S19).

Each change becomes a ``PutCommand`` or ``DeleteCommand`` carrying the change vector storage
must find for it; with ``WRITES_AND_READS`` the batch also checks that what the session read and
does not write is still as it was read. Pure: no I/O (storage applies the batch).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from rookdb.storage.commands import Command, DeleteCommand, PutCommand, ReadCheck
from rookdb.storage.records import document_key
from rookdb.tracking.identity_map import IdentityMap
from rookdb.tracking.unit_of_work import Change, ChangeKind, SentChanges

__all__ = ["command_for", "read_checks", "streamed_commands"]


def command_for(change: Change, checking: bool) -> Command:
    """The storage command of one change, with the change vector it must find (S19).
    ``checking``: optimistic concurrency is on, so an unsaid change vector is the one read."""
    state = change.state
    if change.kind is ChangeKind.DELETED:
        expected = change.expected_change_vector
        if state is not None:
            expected = state.expected_change_vector or (state.change_vector if checking else None)
        return DeleteCommand(change.document_id, expected)
    assert state is not None and change.data is not None
    # The state's slots read directly, as ``unit_of_work`` reads them: once per put a save
    # writes, where each property read is a Python call.
    expected = state._expected_change_vector
    if expected is None and checking and not state.completed_by_storage:
        expected = state.change_vector or ""
    # The session checked the id, collection and depth already (store(), type_info, _validate).
    return PutCommand.prechecked(change.document_id, state._collection, change.data, expected)


def streamed_commands(
    found: Iterator[Change], checking: bool
) -> tuple[SentChanges, Iterator[Command]] | None:
    """The commands of ``found``, made as storage asks for them (None: no change at all), and
    what they sent (``SentChanges``), which fills as they are made. A backend may write the
    first commands while the session still encodes the rest (PostgreSQL pipelines them); a
    change that fails to encode ends the batch, and then storage writes none of it."""
    first = next(found, None)
    if first is None:
        return None
    sent = SentChanges()

    def commands() -> Iterator[Command]:
        prechecked = PutCommand.prechecked
        # ``SentChanges.add`` inline: the change itself is freed once its command is made.
        states, ids, datas = sent.states.append, sent.ids.append, sent.datas.append
        for change in itertools.chain((first,), found):
            state = change.state
            states(state)
            ids(change.document_id)
            datas(change.data)  # (None for a delete)
            if (
                not checking
                and state is not None
                and change.kind is not ChangeKind.DELETED
                and state._expected_change_vector is None
            ):
                # ``command_for``'s put with nothing to check, inline (once per put).
                assert change.data is not None
                yield prechecked(change.document_id, state._collection, change.data, None)
            else:
                yield command_for(change, checking)

    return sent, commands()


def read_checks(identity_map: IdentityMap, changes: list[Change]) -> list[ReadCheck]:
    """WRITES_AND_READS: what the session read and does not write must be as it was read.
    Keys the batch writes or deletes are checked by their own commands, not here."""
    written = {document_key(c.document_id) for c in changes}
    checks = [
        ReadCheck(state.id, state.change_vector)
        for state in identity_map.states()
        if state.key not in written and not state.is_new
    ]
    checks.extend(ReadCheck(key, None) for key in identity_map.missing_keys() if key not in written)
    return checks

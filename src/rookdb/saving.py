"""``save_changes()``: the session's one batch, sent in one request, and what it learns back.

The batch holds, in this order, the entities' puts and deletes (``rookdb.batch``: with
``WRITES_AND_READS``, the read checks), the deferred commands (``defer``, typed patches:
``rookdb.deferred``) and the forced revisions (``rookdb.revisions``: each right before its
document's put, where there is one). Storage applies it atomically (SPEC S3). Then the session
learns from the ``BatchResult``: every put's id and change vector (``finalize_save``), and the
replies of the other commands, in batch order (a patch's document, a forced revision's flag).

Without events or read checks the commands are made as storage asks for them, so a backend may
write the first ones while the session still encodes the rest (``batch.streamed_commands``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rookdb.attachments import learn_replies
from rookdb.batch import command_for, read_checks, streamed_commands
from rookdb.options import OptimisticConcurrencyMode
from rookdb.storage.commands import Command
from rookdb.storage.records import (
    AttachmentReply,
    BatchResult,
    CountersReply,
    PatchReply,
    RevisionReply,
)
from rookdb.storage.revisions_config import HAS_REVISIONS, with_flags
from rookdb.tracking.unit_of_work import SentChanges, finalize_save

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = ["save"]


def save(session: DocumentSession) -> None:
    """Write every change of ``session`` in one atomic batch, or nothing; no changes, no
    request."""
    planned = _plan(session)
    if planned is None:
        return
    sent, batch = planned
    session._request()
    _saved(session, sent, session._storage.apply(batch))


def _saved(session: DocumentSession, sent: SentChanges, result: BatchResult) -> None:
    """After storage committed a save's batch: the session forgets what it sent and learns
    the result (the async session calls this too, also when its save was cancelled)."""
    session._deferred.clear()
    session._counters.sent()
    _learn(session, sent, result)


def _plan(session: DocumentSession) -> tuple[SentChanges, Iterable[Command]] | None:
    """The changes of a save (filled as its batch is read, when streamed) and its batch
    (None: nothing to send)."""
    events = session._events
    deferred = session._deferred.commands(session._is_tracked)
    forced = session._forced_revisions
    counters = session._counters.commands()  # last in the batch: after every put
    mode = session._concurrency_mode
    batch: Iterable[Command]
    if (
        events.before_store
        or events.before_delete
        or mode is OptimisticConcurrencyMode.WRITES_AND_READS
    ):
        # Handlers see every change before anything is written, and read checks need
        # every key the batch writes: the whole batch first.
        changes = list(session._deferred.check(session._compute()))
        if not changes and not deferred and not forced and not counters:
            return None
        if changes:
            events.fire_before_save(session, changes, session._encode_checked)
        mode = session._concurrency_mode  # as the handlers left it
        checking = mode is not OptimisticConcurrencyMode.NONE
        listed = [*forced.around_puts(command_for(change, checking) for change in changes)]
        listed += deferred
        if mode is OptimisticConcurrencyMode.WRITES_AND_READS:
            # Before the forced revisions, which may give a read document a new version.
            checks = read_checks(session._map, changes)
            listed += [c for c in checks if not session._deferred.has(c.id.lower())]
        return SentChanges.of(changes), [*listed, *forced.rest(), *counters]
    checking = mode is not OptimisticConcurrencyMode.NONE
    streamed = streamed_commands(session._deferred.check(session._changes()), checking)
    if streamed is None:
        if not deferred and not forced and not counters:
            return None
        sent, batch = SentChanges(), deferred
    else:
        sent, batch = streamed
        if deferred:
            batch = itertools.chain(batch, deferred)
    if forced:
        batch = forced.commands(batch)
    if counters:
        batch = itertools.chain(batch, counters)
    return sent, batch


def _learn(session: DocumentSession, sent: SentChanges, result: BatchResult) -> None:
    """What the session learns from a save's result: its puts' ids and change vectors (and
    its ``after_save_changes`` handlers run), then each reply of the other commands."""
    saved = finalize_save(session._map, sent, result.puts, session._codec.set_identity)
    session._events.fire_after_save(session, saved)
    for reply in result.replies:
        if isinstance(reply, PatchReply):
            _patched(session, reply)
    for reply in result.replies:
        if isinstance(reply, CountersReply):
            _counted(session, reply)
    attached = [r for r in result.replies if isinstance(r, AttachmentReply)]
    if attached:
        learn_replies(session, attached)
    if session._forced_revisions:
        forced = [r for r in result.replies if isinstance(r, RevisionReply)]
        _revisions_forced(session, forced)


def _counted(session: DocumentSession, reply: CountersReply) -> None:
    """A counters command's reply: the values it left go to the session's cache, and the
    document, which has a new version where its counters' names changed, its change vector
    (so that a save of it with optimistic concurrency expects the right one)."""
    session._counters.learn(reply)
    state = session._map.by_key(reply.id.lower())
    if state is not None and state.snapshot is not None and not state.deleted:
        state.synced(state.snapshot, reply.change_vector, state.last_modified)


def _patched(session: DocumentSession, reply: PatchReply) -> None:
    """A patch's reply: the tracked entity of its document holds the document now, as
    RavenDB's client does (its local edits were refused before the save)."""
    record = reply.document
    if record is None or reply.status not in ("Patched", "Created"):
        return
    state = session._map.by_key(record.id.lower())
    if state is not None and not state.deleted and state.entity is not None:
        session._refresh(state, record)


def _revisions_forced(session: DocumentSession, replies: Sequence[RevisionReply]) -> None:
    """Documents given a forced revision have ``HasRevisions`` in storage, and a new change
    vector where the flag is new: the session's copies learn both, as RavenDB's client learns
    them from the reply, so that its next save keeps the flag."""
    versions = {r.id.lower(): r for r in replies if r.created}
    for key in session._forced_revisions.saved():
        state = session._map.by_id(key)
        if state is None or state.snapshot is None:
            continue
        metadata = state.writable_metadata()
        flags = metadata.get("@flags")
        present = [f.strip() for f in flags.split(",")] if isinstance(flags, str) else []
        if HAS_REVISIONS not in present:
            metadata["@flags"] = ", ".join([*filter(None, present), HAS_REVISIONS])
        reply = versions.get(key)
        state.synced(
            with_flags(state.snapshot, HAS_REVISIONS),
            state.change_vector if reply is None else reply.change_vector,
            state.last_modified if reply is None else reply.last_modified,
        )

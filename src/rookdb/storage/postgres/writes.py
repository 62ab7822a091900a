"""The PostgreSQL write path: batches in pipelined, conditional statements, retried.

One transaction per batch, the conditional writes done by the statements themselves
(``UPDATE ... WHERE change_vector = expected``, ``INSERT ... ON CONFLICT DO NOTHING`` for "must
not exist"), so two batches racing on a document cannot both pass their checks. A big batch goes
in pipelined statements of 2,000 commands, read from the session's generator as it encodes them,
so that PostgreSQL writes one while the session encodes the next; their results are read before
COMMIT. Batches with ``WRITES_AND_READS`` read checks run ``SERIALIZABLE``. Serialization
failures and deadlocks (SQLSTATE 40001, 40P01) are retried a bounded number of times; a lost
connection during COMMIT is ``OutcomeUnknownError``.

The rules every write path shares (``check_expected``, the read-check error, completed ids) are
the relational core's.

Counters and attachments (``relational.owned``): each put keeps what the ``counters`` and
``attachments`` tables hold for its document. Where the database has never had either, a put
looks for neither; so that no other batch adds a document's first one while such a put runs
(it would be written without its ``@counters``/``@attachments``), every batch holds an
advisory lock shared from its BEGIN (the same round trip), and the batch that adds the first
counter or attachment of a database takes it exclusively, waiting for the batches that began
without, and sets the ``owned`` meta flag, which never goes: a batch that sees it (or any row
in the tables) looks up its puts' documents in one read for both kinds, after taking a
lock of each document's key, shared (an advisory lock of the key's hash, not the row: a
document may not exist yet when the put reads, and be created and given a counter before the
put writes). A counters or attachment command takes its documents' key locks exclusively
first: it waits for the puts that read them, and they for it.

Lock order. User-defined indexes (``relational.index_maintenance``) lock too, so every
transaction takes its locks in one order, and no two wait for each other across the kinds:
the owned lock (in BEGIN), then the index lock (``_lock_indexes``; index creation holds it
exclusively and takes no owned lock), then, command by command, documents' key locks and
rows, and only at the end, after every command, the index maintenance's row locks of the
written documents (key order) and its advisory locks of (database, index id, bucket) (bucket
order). Key locks take two keys and group locks one: the two never name one lock.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg

from rookdb.errors import StorageError
from rookdb.storage import bridge
from rookdb.storage.commands import Command, ForceRevisionCommand, PutCommand, ReadCheck
from rookdb.storage.patching import Patching
from rookdb.storage.postgres.batch_reading import Replay, chunks, placed, spans
from rookdb.storage.postgres.errors import PostgresBatchErrors
from rookdb.storage.postgres.indexes import SchemaIndexes, searched
from rookdb.storage.postgres.transactions import RETRYABLE, transaction
from rookdb.storage.postgres.write_spans import BatchState, OwnedFirst, PendingPuts, SpanWrites
from rookdb.storage.postgres.write_statements import WriteStatements, jsonb_text
from rookdb.storage.records import (
    ALL_COUNTERS,
    AttachmentReply,
    BatchResult,
    CountersReply,
    DocumentRecord,
    RevisionReply,
    WriteResult,
    last_modified_now,
)
from rookdb.storage.relational.attachments import BatchAttachments
from rookdb.storage.relational.auto_indexes import Registry
from rookdb.storage.relational.index_maintenance import written_keys
from rookdb.storage.relational.index_registry import INDEX_VERSION
from rookdb.storage.relational.revisions import (
    CONFIGURATION,
    BatchRevisions,
    Rules,
    with_revision_replies,
)

__all__ = ["RETRIES", "PostgresWrites"]

# The package's name: what users configure (the "rookdb" logger and its children).
log = logging.getLogger("rookdb.storage.postgres")

#: How many times a batch is retried after a serialization failure or a deadlock.
RETRIES = 8
_T = TypeVar("_T")

#: Commands per statement when a batch is big enough to pipeline (see PostgresWrites._apply).
_CHUNK = 2000


class PostgresWrites(SpanWrites):
    """The write path of ``PostgresStorage``, which gives it a schema and connections."""

    _s: str
    _indexes: SchemaIndexes
    _index_lock: int
    #: Shared by every batch, exclusive for the one that adds a database's first counter or
    #: attachment (the module's docstring).
    _owned_lock: int

    def _prepare_writes(self) -> None:
        """The statements of the write path, in the storage's schema."""
        self._write_sql = WriteStatements.of(self._s, self._owned_lock)

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        # A retried transaction writes the same batch again: keep what a generator gave.
        commands = batch if isinstance(batch, Sequence) else Replay(batch)
        # Read checks of WRITES_AND_READS guard documents the batch does not write: only
        # SERIALIZABLE sees another batch create one of them meanwhile.
        serializable = isinstance(batch, Sequence) and any(type(c) is ReadCheck for c in batch)
        with PostgresBatchErrors("write a batch"):
            return self._retried(
                lambda conn, ser, adding: self._apply(conn, commands, ser, adding), serializable
            )

    def _retried(
        self, run: Callable[[psycopg.Connection[Any], bool, bool], _T], serializable: bool
    ) -> _T:
        """``run(conn, serializable, adding)`` in a pooled connection, again after a
        serialization failure or a deadlock (up to ``RETRIES`` times), SERIALIZABLE after
        ``_ReadCheckLate``, ``adding`` (the owned lock exclusive) after ``OwnedFirst``."""
        attempt = 0
        adding = False
        while True:
            try:
                with self._connection() as conn:
                    return run(conn, serializable, adding)
            except OwnedFirst:
                adding = True  # the database's first counter or attachment: again, exclusive
            except _ReadCheckLate:
                serializable = True  # a generator's read check: again, SERIALIZABLE
                log.debug("a read check came late in the batch: writing it again SERIALIZABLE")
            except RETRYABLE as exc:
                if attempt == RETRIES:
                    raise StorageError(
                        f"PostgreSQL kept failing the batch after {RETRIES} retries: {exc}",
                        original=exc,
                    ) from exc
                log.info(
                    "database %r: batch retried (%d of %d) after %s: %s",
                    self.name,
                    attempt + 1,
                    RETRIES,
                    type(exc).__name__,
                    " ".join(str(exc).split()),
                )
                # Jitter, so that the retries of two colliding batches do not collide again.
                bridge.sleep(random.uniform(0, 0.005 * 2**attempt))
                attempt += 1

    def _apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Iterable[Command],
        serializable: bool,
        adding: bool = False,
    ) -> BatchResult:
        begin = "BEGIN ISOLATION LEVEL SERIALIZABLE" if serializable else "BEGIN"
        with transaction(conn, self.begin_owned(begin, adding)):
            registry, rules, state, version = self._lock_indexes(conn)
            if adding and not state.flagged:
                conn.execute(self._write_sql.flag_owned)
                state.flagged = state.owned = True
            # Every key written, when user-defined indexes need to know.
            touched: list[tuple[str, str | None]] | None = (
                [] if self._user_indexes.registry(conn, version) else None
            )
            revisions = None if rules is None else BatchRevisions(rules)
            final: dict[str, tuple[str, bytes] | None] | None = {} if searched(registry) else None
            now = last_modified_now()
            pending: list[PendingPuts] = []
            replies: list[
                tuple[tuple[int, int], RevisionReply | AttachmentReply | CountersReply]
            ] = []
            attachments = BatchAttachments(
                self._attachment_sql, self._key_list, jsonb_text, revisions=revisions
            )
            # Patches read (FOR UPDATE: no other batch changes them before COMMIT) and become
            # puts and deletes; what this batch wrote before them, they see from the batch.
            patching = Patching(
                batch,
                lambda keys: self._locked(conn, keys),
                lambda document_id: self._completed_id(conn, document_id),
                lambda keys: self._counters_asked(conn, list(keys), [ALL_COUNTERS]),
                _CHUNK,  # (commands are applied a chunk at a time)
            )
            # Each forced revision's, attachment and counters command's place among the
            # replies: (patches' replies before it, its number among those commands).
            patched: dict[int, tuple[int, int]] = {}
            with contextlib.ExitStack() as pipeline:
                pipelined = False
                for chunk in chunks(placed(patching, patched), _CHUNK):
                    if len(chunk) == _CHUNK and not pipelined:
                        pipelined = True
                        # A big batch: each statement goes as soon as it is made, and
                        # PostgreSQL runs it while this process reads the next commands of
                        # the batch (the session encodes them meanwhile); results are read
                        # at the end. One statement for 100,000 puts took ~0.6 s longer.
                        pipeline.enter_context(conn.pipeline())
                    kinds = {*map(type, chunk)}  # (in C: no Python step per command)
                    if not serializable and ReadCheck in kinds:
                        raise _ReadCheckLate
                    if revisions is None and ForceRevisionCommand in kinds:
                        # No configuration, a forced one.
                        revisions = attachments.revisions = BatchRevisions(rules)
                    if revisions is not None:
                        chunk = [revisions.revise(c) for c in chunk]
                    ids = self._complete_ids(conn, chunk)
                    if touched is not None:
                        touched.extend(written_keys(chunk, ids))
                    for span in spans(chunk, ids):
                        puts = self._apply_segment(
                            conn, span, now, final, revisions, replies, patched, attachments, state
                        )
                        if puts is not None:
                            pending.append(puts)
            results: list[WriteResult] = []
            for puts in pending:
                self._written(conn, puts, now, results)
            attachments.finish(conn)
            if revisions is not None:
                revisions.puts_written(results, now)
                revisions.finish(conn, self._revision_sql)
            if final:
                self._indexes.maintain(conn, registry, final)
            if touched:
                self._user_indexes.documents_changed(conn, touched, version)
        replies.sort(key=lambda placed_reply: placed_reply[0])
        placed_replies = [(place, reply) for (place, _), reply in replies]
        return with_revision_replies(patching.result(results), placed_replies)

    def _locked(self, conn: psycopg.Connection[Any], keys: Sequence[str]) -> dict[str, Any]:
        """The records of ``keys``, locked until the batch ends."""
        rows = self._select_records(
            conn, self._sql.get_many + " FOR UPDATE", (self._key_list(list(keys)),)
        )
        return {row[0]: DocumentRecord._make(row[1:]) for row in rows.fetchall()}

    def begin_owned(self, begin: str, adding: bool = False) -> str:
        """``begin`` and the owned lock (shared; exclusive when ``adding``), one round trip;
        the transaction's next statement sees every batch that added a first counter or
        attachment before (the module's docstring)."""
        lock = "pg_advisory_xact_lock" if adding else "pg_advisory_xact_lock_shared"
        return f"{begin}; SELECT {lock}({self._owned_lock})"

    def _lock_indexes(
        self, conn: psycopg.Connection[Any]
    ) -> tuple[Registry, Rules | None, BatchState, str]:
        """First in a write's transaction (after ``begin_owned``): the index lock, shared
        (index creation holds it exclusively, so no batch misses a full-text index created
        while it ran), and the registry of automatic indexes the write maintains; the
        revisions configuration (``relational.revisions``), the ``owned`` flag, whether
        any document has counters or attachments and the version of the user-defined indexes
        (``INDEX_VERSION``), read in the same round trip."""
        s = self._s
        _, configuration, flagged, owned, version = conn.execute(
            "SELECT pg_advisory_xact_lock_shared(%s), "
            f"(SELECT value FROM {s}.meta WHERE name = %s), "
            f"EXISTS (SELECT 1 FROM {s}.meta WHERE name = 'owned'), "
            f"EXISTS (SELECT 1 FROM {s}.counters) OR EXISTS (SELECT 1 FROM {s}.attachments), "
            f"(SELECT value FROM {s}.meta WHERE name = %s)",
            (self._index_lock, CONFIGURATION, INDEX_VERSION),
        ).fetchall()[0]
        state = BatchState(bool(flagged), bool(flagged or owned))
        return self._indexes.registry(conn), Rules.of(configuration), state, version or ""

    def _complete_ids(self, conn: psycopg.Connection[Any], batch: Sequence[Command]) -> list[str]:
        """The final id of every command (SPEC S14; ``_completed_id``)."""
        return [
            self._completed_id(conn, c.id)
            if type(c) is PutCommand and (not c.id or c.id[-1] in "/|")
            else c.id
            for c in batch
        ]


class _ReadCheckLate(Exception):
    """A read check came after the transaction began without SERIALIZABLE: begin again."""

"""One span of a PostgreSQL batch written: read checks, forced revisions, deletes, counters
and attachment commands, then the puts, each kind in statements whose ``WHERE`` is the
concurrency check; and the puts' results read back, after the batch's last statement.

``SpanWrites`` is the base of ``postgres.writes``' ``PostgresWrites``, which runs a batch's
transaction (its locks, its chunks and their spans, its retries) and calls ``_apply_segment``
for each span (``batch_reading.spans``: commands on distinct keys) and ``_written`` for the
puts it left pending. A put keeps its document's counters and attachments (``_owned_kept``,
``relational.owned``); a batch that began without the ``owned`` flag and adds a counter or
an attachment begins again (``OwnedFirst``).
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import psycopg

from rookdb.errors import ConcurrencyError
from rookdb.ids import shown_id
from rookdb.storage.commands import (
    ATTACHMENT_COMMANDS,
    CountersCommand,
    DeleteCommand,
    ForceRevisionCommand,
    PutCommand,
    ReadCheck,
    check_expected,
)
from rookdb.storage.postgres.arrays import (
    BinaryArray,
    bytea_array,
    null_text_array,
    text_array,
)
from rookdb.storage.postgres.batch_reading import Span
from rookdb.storage.postgres.write_statements import WriteStatements, jsonb_body, jsonb_text
from rookdb.storage.records import (
    AttachmentReply,
    CountersReply,
    RevisionReply,
    WriteResult,
    document_key,
)
from rookdb.storage.relational.attachments import BatchAttachments
from rookdb.storage.relational.counters import apply_counters
from rookdb.storage.relational.owned import OwnedLookup, owned_of, stripped_all
from rookdb.storage.relational.revisions import BatchRevisions, force_revision
from rookdb.storage.relational.storage import RelationalStorage, read_check_failed

__all__ = ["BatchState", "OwnedFirst", "PendingPuts", "SpanWrites"]


class SpanWrites(RelationalStorage):
    """The statements of one span of a batch, for ``PostgresWrites``."""

    _write_sql: WriteStatements
    _owned_lookup: OwnedLookup

    def _next_etag(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(self._write_sql.next_etag).fetchone()
        assert row is not None
        return int(row[0])

    def _apply_segment(
        self,
        conn: psycopg.Connection[Any],
        span: Span,
        now: str,
        final: dict[str, tuple[str, bytes] | None] | None,
        revisions: BatchRevisions | None = None,
        replies: list[tuple[tuple[int, int], RevisionReply | AttachmentReply | CountersReply]]
        | None = None,
        patched: dict[int, tuple[int, int]] | None = None,
        attachments: BatchAttachments | None = None,
        state: BatchState | None = None,
    ) -> PendingPuts | None:
        """Commands on distinct keys: read checks, deletes, then puts, each kind in statements
        whose WHERE is the concurrency check. The puts' results are read later (``_written``).
        An attachment command is a span of its own (``spans``)."""
        batch, keys = span.batch, span.keys
        if isinstance(batch[span.start], ATTACHMENT_COMMANDS):
            assert attachments is not None and replies is not None and state is not None
            if not state.flagged:
                raise OwnedFirst
            state.owned = True
            command = batch[span.start]
            assert isinstance(command, ATTACHMENT_COMMANDS)
            named = (command.id, getattr(command, "destination_id", command.id))
            conn.execute(self._write_sql.lock_keys_exclusive, (sorted({n.lower() for n in named}),))
            attached, _ = attachments.apply(
                conn, command, lambda: self._next_etag(conn), f"-{self._database_id}", now
            )
            replies.append(((patched or {}).get(id(command), (0, 0)), attached))
            return None
        reads: list[tuple[str, ReadCheck]] = []
        deletes: list[tuple[str, DeleteCommand]] = []
        # Puts by position in the chunk, not as tuples: the pending statements of a batch of
        # 100,000 puts are kept until COMMIT, and 100,000 tuples would be that many more
        # objects for the garbage collector to walk meanwhile.
        puts: list[int] = []
        put_commands: list[PutCommand] = []
        forced: list[ForceRevisionCommand] = []
        counters: list[CountersCommand] = []
        in_span = batch[span.start : span.stop]
        if {*map(type, in_span)} == {PutCommand}:  # puts alone (a save's): no loop
            puts = list(range(span.start, span.stop))
            put_commands = cast("list[PutCommand]", list(in_span))
            in_span = []
        for j, command in enumerate(in_span, span.start):
            if type(command) is PutCommand:
                puts.append(j)
                put_commands.append(command)
            elif type(command) is DeleteCommand:
                deletes.append((keys[j], command))
            elif type(command) is ForceRevisionCommand:
                forced.append(command)
            elif type(command) is CountersCommand:
                counters.append(command)
            else:
                assert type(command) is ReadCheck
                reads.append((keys[j], command))
        if reads:
            read = [key for key, _ in reads]
            current = dict(conn.execute(self._write_sql.current + " FOR SHARE", (read,)).fetchall())
            for key, check in reads:
                if current.get(key) != check.change_vector:
                    raise read_check_failed(check, current.get(key))
        for force in forced:  # keys are distinct in a span: before its puts is in order
            assert replies is not None
            etag, suffix = self._next_etag(conn), f"-{self._database_id}"
            reply = force_revision(conn, self._revision_sql, force, etag, suffix, now, jsonb_text)
            if not force.before_put:  # its put answers for it
                replies.append(((patched or {}).get(id(force), (0, 0)), reply))
        if deletes:
            deleted = [key for key, _ in deletes]
            # "" (must not exist) never deletes: the change vector is never empty.
            expected = [_comparable(c.expected_change_vector) for _, c in deletes]
            rows = conn.execute(self._write_sql.delete, (deleted, expected)).fetchall()
            gone = {row[0] for row in rows}
            if attachments is not None:
                attachments.documents_deleted(conn, sorted(gone))
            if revisions is not None:
                for _, document_id, collection in rows:
                    etag = self._next_etag(conn)
                    cv = f"A:{etag}-{self._database_id}"
                    revisions.deleted(document_id, collection, etag, cv, now)
            self._verify(
                conn,
                [
                    (c.id, c.expected_change_vector, key)
                    for key, c in deletes
                    if c.expected_change_vector is not None and key not in gone
                ],
            )
            if final is not None:
                final.update(dict.fromkeys(deleted))
            if state is not None and state.owned:
                conn.execute(self._counter_sql.purge_keys, (deleted,))
        # Keys are distinct in a span: a counters command is of a document no other command
        # of the span writes (one before it in the batch is in an earlier span).
        for command in counters:
            assert replies is not None and state is not None
            if not state.flagged:
                raise OwnedFirst
            conn.execute(self._write_sql.lock_keys_exclusive, ([command.id.lower()],))
            counters_reply, written = apply_counters(
                conn,
                self._counter_sql,
                self._revision_sql,
                command,
                lambda: self._next_etag(conn),
                f"-{self._database_id}",
                now,
                jsonb_text,
            )
            if command.answered:  # (not a patch script's)
                replies.append(((patched or {}).get(id(command), (0, 0)), counters_reply))
            state.owned = True
            if final is not None and written is not None:
                rows = conn.execute(self._sql.get_one, (command.id.lower(),)).fetchall()
                final[document_key(command.id)] = (rows[0][4], written)
        if not puts:
            return None
        if state is not None:
            put_keys = [keys[j] for j in puts]
            put_commands = self._owned_kept(conn, put_keys, put_commands, state.owned)
        pending = PendingPuts(span, puts, [])
        # What each put requires: nothing (None), absence (``""``) or a change vector
        # (``"cv"``).
        expects = [
            e if e is None or e == "" else "cv"
            for e in [c.expected_change_vector for c in put_commands]
        ]
        for kind, statement in (
            (None, self._write_sql.upsert),
            ("", self._write_sql.create),
            ("cv", self._write_sql.update),
        ):
            chosen = [i for i, expected in enumerate(expects) if expected == kind]
            if chosen:
                positions = [puts[i] for i in chosen]
                commands = [put_commands[i] for i in chosen]
                self._put(conn, statement, kind, pending, positions, commands, now)
        if final is not None:
            for j, command in zip(puts, put_commands, strict=True):
                final[keys[j]] = (command.collection, command.data)
        return pending

    def _owned_kept(
        self,
        conn: psycopg.Connection[Any],
        keys: list[str],
        commands: list[PutCommand],
        owned: bool,
    ) -> list[PutCommand]:
        """``commands`` with each document's counters and attachments as storage has them
        (``relational.owned``): where the database has any, the puts' keys are locked first,
        shared (a counters or attachment command locks them exclusively before it reads
        anything, so the two never interleave), then both tables read for them, the two
        statements in one round trip."""
        if owned:
            pairs = [(k, c.data) for k, c in zip(keys, commands, strict=True)]
            with conn.pipeline():
                conn.execute(
                    self._write_sql.lock_keys, (sorted(keys),)
                )  # in order: fewer deadlocks
                datas = owned_of(conn, self._owned_lookup, keys, pairs)
        else:  # none anywhere, and none added before COMMIT (the owned lock)
            datas = stripped_all([c.data for c in commands])
        return [
            c if data is c.data else PutCommand(c.id, c.collection, data, c.expected_change_vector)
            for c, data in zip(commands, datas, strict=True)
        ]

    def _put(
        self,
        conn: psycopg.Connection[Any],
        statement: str,
        kind: str | None,
        pending: PendingPuts,
        positions: list[int],
        commands: list[PutCommand],
        now: str,
    ) -> None:
        """Send the statement writing ``commands`` (at ``positions`` in the span's batch; one
        kind of expectation) and add it to ``pending``."""
        keys, ids = pending.span.keys, pending.span.ids
        second = (
            [_comparable(c.expected_change_vector) for c in commands]
            if kind == "cv"
            else [ids[j] for j in positions]
        )
        collections = [c.collection for c in commands]
        lowered = {collection: collection.lower() for collection in set(collections)}
        datas = [c.data for c in commands]
        # The arrays in binary format a batch at a time (``arrays``), not by psycopg's
        # per-element list dumper.
        utf8 = conn.info.encoding == "utf-8"
        packed = bytea_array(datas)
        parameters = (
            f"-{self._database_id}",
            now,
            text_array([keys[j] for j in positions], utf8),
            text_array(second, utf8),
            text_array(collections, utf8),
            text_array([lowered[collection] for collection in collections], utf8),
            packed,
            # (``_body`` of each, where one may differ: most documents hold no NUL escape,
            # found with one search of the packed bodies, whose lengths cannot spell one)
            [jsonb_body(data) for data in datas]
            if (
                b"\\u0000" in packed.data
                if isinstance(packed, BinaryArray)
                else [data for data in datas if data.find(b"\\u0000") >= 0]
            )
            else null_text_array(len(datas)),
        )
        cursor = conn.execute(statement, parameters)
        pending.statements.append((cursor, positions, commands))

    def _written(
        self,
        conn: psycopg.Connection[Any],
        pending: PendingPuts,
        now: str,
        results: list[WriteResult],
    ) -> None:
        """Read the results of a span's put statements into ``results``, in batch order; a put
        whose check failed is a ``ConcurrencyError``."""
        keys, ids = pending.span.keys, pending.span.ids
        written: dict[str, str] = {}
        for cursor, positions, commands in pending.statements:
            count = len(written)
            row = cursor.fetchone()
            if row is not None and row[0] is not None:  # array_agg of no rows is NULL
                written.update(zip(row[0], row[1], strict=True))
            if len(written) - count == len(commands):
                continue
            self._verify(
                conn,
                [
                    (c.id, c.expected_change_vector, keys[j])
                    for j, c in zip(positions, commands, strict=True)
                    if keys[j] not in written
                ],
            )
            first = commands[0]
            raise ConcurrencyError(  # the check failed, then the document changed back
                f"optimistic concurrency violation on {shown_id(first.id)}",
                document_id=first.id,
                expected=first.expected_change_vector,
                actual=None,
            )
        put_keys = [keys[j] for j in pending.puts]
        results.extend(
            WriteResult.many([ids[j] for j in pending.puts], [written[k] for k in put_keys], now)
        )

    def _verify(
        self, conn: psycopg.Connection[Any], expectations: list[tuple[str, str | None, str]]
    ) -> None:
        """Raise ``ConcurrencyError`` for the first (id, expected, key) the stored change
        vector does not satisfy."""
        if not expectations:
            return
        current = dict(
            conn.execute(self._write_sql.current, ([key for _, _, key in expectations],)).fetchall()
        )
        for document_id, expected, key in expectations:
            check_expected(document_id, expected, current.get(key))


def _comparable(expected: str | None) -> str | None:
    """An expected change vector as the write statements compare it: one PostgreSQL's text
    cannot hold (a NUL, a lone surrogate) matches no document, as ``""`` matches none in
    these statements; the check after them reports the conflict with the one sent."""
    if expected is None or "\x00" in expected:
        return None if expected is None else ""
    try:
        expected.encode()
    except UnicodeEncodeError:
        return ""
    return expected


class BatchState:
    """What a batch learns as it goes: ``flagged``, whether the database has the ``owned``
    flag (a batch without it that adds a counter or an attachment begins again, adding);
    ``owned``, whether any document may have counters or attachments (its puts look)."""

    __slots__ = ("flagged", "owned")

    def __init__(self, flagged: bool, owned: bool) -> None:
        self.flagged = flagged
        self.owned = owned


class OwnedFirst(Exception):
    """A batch that began without the ``owned`` flag adds a counter or an attachment: begin
    again with the owned lock exclusive, and set the flag."""


class PendingPuts(NamedTuple):
    """The put statements of one span, sent and not yet read: each statement's cursor with
    the positions and commands it writes; ``puts`` every put of the span, in batch order."""

    span: Span
    puts: list[int]
    statements: list[tuple[psycopg.Cursor[Any], list[int], list[PutCommand]]]

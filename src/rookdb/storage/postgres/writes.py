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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar, cast

import orjson
import psycopg

from rookdb.errors import ConcurrencyError, StorageError
from rookdb.storage import bridge
from rookdb.storage.patching import Patching
from rookdb.storage.postgres.batch_reading import Replay, chunks, placed
from rookdb.storage.postgres.errors import PostgresBatchErrors
from rookdb.storage.postgres.indexes import SchemaIndexes, searched
from rookdb.storage.postgres.transactions import RETRYABLE, transaction
from rookdb.storage.records import (
    ALL_COUNTERS,
    ATTACHMENT_COMMANDS,
    AttachmentReply,
    BatchResult,
    Command,
    CountersCommand,
    CountersReply,
    DeleteCommand,
    DocumentRecord,
    ForceRevisionCommand,
    PutCommand,
    ReadCheck,
    RevisionReply,
    WriteResult,
    check_expected,
    document_key,
    last_modified_now,
)
from rookdb.storage.relational.attachments import BatchAttachments
from rookdb.storage.relational.auto_indexes import Registry
from rookdb.storage.relational.counters import apply_counters
from rookdb.storage.relational.index_maintenance import INDEX_VERSION, written_keys
from rookdb.storage.relational.owned import OwnedLookup, owned_of, stripped_all
from rookdb.storage.relational.revisions import (
    CONFIGURATION,
    BatchRevisions,
    Rules,
    force_revision,
    with_revision_replies,
)
from rookdb.storage.relational.storage import RelationalStorage, read_check_failed

__all__ = ["OVERWRITE", "RETRIES", "PostgresWrites", "insert_from"]

# The package's name: what users configure (the "rookdb" logger and its children).
log = logging.getLogger("rookdb.storage.postgres")

#: How many times a batch is retried after a serialization failure or a deadlock.
RETRIES = 8
_T = TypeVar("_T")

#: Commands per statement when a batch is big enough to pipeline (see PostgresWrites._apply).
_CHUNK = 2000


class PostgresWrites(RelationalStorage):
    """The write path of ``PostgresStorage``, which gives it a schema and connections."""

    _s: str
    _indexes: SchemaIndexes
    _index_lock: int
    #: Shared by every batch, exclusive for the one that adds a database's first counter or
    #: attachment (the module's docstring).
    _owned_lock: int
    _owned_lookup: OwnedLookup

    def _prepare_writes(self) -> None:
        """The statements of the write path, in the storage's schema."""
        s = self._s
        insert = insert_from(s, _new_rows(s, "id"))
        self._sql_upsert = _as_arrays(insert + OVERWRITE + " RETURNING key, change_vector")
        self._sql_create = _as_arrays(
            insert + "ON CONFLICT (key) DO NOTHING RETURNING key, change_vector"
        )
        self._sql_update = _as_arrays(
            f"UPDATE {s}.documents AS d SET collection = n.collection, "
            "collection_key = n.collection_key, etag = n.etag, "
            "change_vector = 'A:' || n.etag || %s, last_modified = %s, data = n.data, "
            "body = COALESCE(n.body, convert_from(n.data, 'UTF8'))::jsonb "
            f"FROM ({_new_rows(s, 'expected')}) AS n "
            "WHERE d.key = n.key AND d.change_vector = n.expected "
            "RETURNING d.key, d.change_vector"
        )
        self._sql_delete = (
            f"DELETE FROM {s}.documents AS d USING unnest(%b::text[], %b::text[]) "
            "AS u(key, expected) WHERE d.key = u.key "
            "AND (u.expected IS NULL OR d.change_vector = u.expected) "
            "RETURNING d.key, d.id, d.collection"
        )
        self._sql_current = f"SELECT key, change_vector FROM {s}.documents WHERE key = ANY(%s)"
        self._sql_next_etag = f"SELECT nextval('{s}.etags')"
        # Per-document advisory locks in a space of their own (two int4 keys): shared by a
        # put that reads its document's counters and attachments, exclusive for a command that
        # changes them (the module's docstring). User-defined indexes' group locks take one
        # 64-bit key (``PostgresStorage``'s ``lock_group``), a lock space apart from these.
        space = -1 - (self._owned_lock & 0x7FFFFFFF)
        self._sql_lock_keys = (
            f"SELECT count(pg_advisory_xact_lock_shared({space}, hashtext(k))) "
            "FROM unnest(%s::text[]) AS k"
        )
        self._sql_lock_keys_exclusive = (
            f"SELECT count(pg_advisory_xact_lock({space}, hashtext(k))) "
            "FROM unnest(%s::text[]) AS k"
        )
        self._sql_flag_owned = (
            f"INSERT INTO {s}.meta (name, value) VALUES ('owned', '1') ON CONFLICT DO NOTHING"
        )

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
        ``_ReadCheckLate``, ``adding`` (the owned lock exclusive) after ``_OwnedFirst``."""
        attempt = 0
        adding = False
        while True:
            try:
                with self._connection() as conn:
                    return run(conn, serializable, adding)
            except _OwnedFirst:
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
                conn.execute(self._sql_flag_owned)
                state.flagged = state.owned = True
            # Every key written, when user-defined indexes need to know.
            touched: list[tuple[str, str | None]] | None = (
                [] if self._user_indexes.registry(conn, version) else None
            )
            revisions = None if rules is None else BatchRevisions(rules)
            final: dict[str, tuple[str, bytes] | None] | None = {} if searched(registry) else None
            now = last_modified_now()
            pending: list[_PendingPuts] = []
            replies: list[
                tuple[tuple[int, int], RevisionReply | AttachmentReply | CountersReply]
            ] = []
            attachments = BatchAttachments(
                self._attachment_sql, self._key_list, _jsonb_text, revisions=revisions
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
                    if not serializable and any(type(c) is ReadCheck for c in chunk):
                        raise _ReadCheckLate
                    if revisions is None and any(type(c) is ForceRevisionCommand for c in chunk):
                        # No configuration, a forced one.
                        revisions = attachments.revisions = BatchRevisions(rules)
                    if revisions is not None:
                        chunk = [revisions.revise(c) for c in chunk]
                    ids = self._complete_ids(conn, chunk)
                    if touched is not None:
                        touched.extend(written_keys(chunk, ids))
                    for span in _spans(chunk, ids):
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
        rows = conn.execute(self._sql.get_many + " FOR UPDATE", (self._key_list(list(keys)),))
        return {row[0]: DocumentRecord._make(row[1:]) for row in rows.fetchall()}

    def begin_owned(self, begin: str, adding: bool = False) -> str:
        """``begin`` and the owned lock (shared; exclusive when ``adding``), one round trip;
        the transaction's next statement sees every batch that added a first counter or
        attachment before (the module's docstring)."""
        lock = "pg_advisory_xact_lock" if adding else "pg_advisory_xact_lock_shared"
        return f"{begin}; SELECT {lock}({self._owned_lock})"

    def _lock_indexes(
        self, conn: psycopg.Connection[Any]
    ) -> tuple[Registry, Rules | None, _BatchState, str]:
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
        state = _BatchState(bool(flagged), bool(flagged or owned))
        return self._indexes.registry(conn), Rules.of(configuration), state, version or ""

    def _complete_ids(self, conn: psycopg.Connection[Any], batch: Sequence[Command]) -> list[str]:
        """The final id of every command (SPEC S14; ``_completed_id``)."""
        return [
            self._completed_id(conn, c.id)
            if type(c) is PutCommand and (not c.id or c.id[-1] in "/|")
            else c.id
            for c in batch
        ]

    def _next_etag(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(self._sql_next_etag).fetchone()
        assert row is not None
        return int(row[0])

    def _apply_segment(
        self,
        conn: psycopg.Connection[Any],
        span: _Span,
        now: str,
        final: dict[str, tuple[str, bytes] | None] | None,
        revisions: BatchRevisions | None = None,
        replies: list[tuple[tuple[int, int], RevisionReply | AttachmentReply | CountersReply]]
        | None = None,
        patched: dict[int, tuple[int, int]] | None = None,
        attachments: BatchAttachments | None = None,
        state: _BatchState | None = None,
    ) -> _PendingPuts | None:
        """Commands on distinct keys: read checks, deletes, then puts, each kind in statements
        whose WHERE is the concurrency check. The puts' results are read later (``_written``).
        An attachment command is a span of its own (``_spans``)."""
        batch, keys = span.batch, span.keys
        if isinstance(batch[span.start], ATTACHMENT_COMMANDS):
            assert attachments is not None and replies is not None and state is not None
            if not state.flagged:
                raise _OwnedFirst
            state.owned = True
            command = batch[span.start]
            assert isinstance(command, ATTACHMENT_COMMANDS)
            named = (command.id, getattr(command, "destination_id", command.id))
            conn.execute(self._sql_lock_keys_exclusive, (sorted({n.lower() for n in named}),))
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
            current = dict(conn.execute(self._sql_current + " FOR SHARE", (read,)).fetchall())
            for key, check in reads:
                if current.get(key) != check.change_vector:
                    raise read_check_failed(check, current.get(key))
        for force in forced:  # keys are distinct in a span: before its puts is in order
            assert replies is not None
            etag, suffix = self._next_etag(conn), f"-{self._database_id}"
            reply = force_revision(conn, self._revision_sql, force, etag, suffix, now, _jsonb_text)
            if not force.before_put:  # its put answers for it
                replies.append(((patched or {}).get(id(force), (0, 0)), reply))
        if deletes:
            deleted = [key for key, _ in deletes]
            # "" (must not exist) never deletes: the change vector is never empty.
            expected = [_comparable(c.expected_change_vector) for _, c in deletes]
            rows = conn.execute(self._sql_delete, (deleted, expected)).fetchall()
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
                raise _OwnedFirst
            conn.execute(self._sql_lock_keys_exclusive, ([command.id.lower()],))
            counters_reply, written = apply_counters(
                conn,
                self._counter_sql,
                self._revision_sql,
                command,
                lambda: self._next_etag(conn),
                f"-{self._database_id}",
                now,
                _jsonb_text,
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
        pending = _PendingPuts(span, puts, [])
        expects = [_expects(c) for c in put_commands]
        for kind, statement in (
            (None, self._sql_upsert),
            ("", self._sql_create),
            ("cv", self._sql_update),
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
                conn.execute(self._sql_lock_keys, (sorted(keys),))  # in order: fewer deadlocks
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
        pending: _PendingPuts,
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
        parameters = (
            f"-{self._database_id}",
            now,
            [keys[j] for j in positions],
            second,
            collections,
            [lowered[collection] for collection in collections],
            datas,
            # (``_body`` of each, where one may differ: most documents hold no NUL escape)
            [_body(data) for data in datas]
            if [data for data in datas if b"\\u0000" in data]
            else [None] * len(datas),
        )
        cursor = conn.execute(statement, parameters)
        pending.statements.append((cursor, positions, commands))

    def _written(
        self,
        conn: psycopg.Connection[Any],
        pending: _PendingPuts,
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
                f"optimistic concurrency violation on {first.id!r}",
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
            conn.execute(self._sql_current, ([key for _, _, key in expectations],)).fetchall()
        )
        for document_id, expected, key in expectations:
            check_expected(document_id, expected, current.get(key))


def _jsonb_text(data: bytes) -> str:
    return _body(data) or data.decode()


def _body(data: bytes) -> str | None:
    """The jsonb text of a document when it differs from ``data``: strings and keys holding a
    NUL character (jsonb cannot store one) cut there, or dropped for keys (no field path can
    name them). None means ``data`` itself."""
    if b"\\u0000" not in data:
        return None

    def clean(value: Any) -> Any:
        if type(value) is str:
            nul = value.find("\x00")
            return value if nul == -1 else value[:nul]
        if type(value) is list:
            return [clean(v) for v in value]
        if type(value) is dict:
            return {k: clean(v) for k, v in value.items() if "\x00" not in k}
        return value

    return orjson.dumps(clean(orjson.loads(data))).decode()


#: What a put that overwrites sets (a plain put, a bulk insert's chunk).
OVERWRITE = (
    "ON CONFLICT (key) DO UPDATE SET collection = excluded.collection, "
    "collection_key = excluded.collection_key, etag = excluded.etag, "
    "change_vector = excluded.change_vector, last_modified = excluded.last_modified, "
    "data = excluded.data, body = excluded.body"
)


def insert_from(s: str, rows: str) -> str:
    """The INSERT of every put, from ``rows`` (key, id, collection, collection_key, data,
    body, etag): the change vector ``A:<etag>-<database id>`` and the last-modified as two
    parameters, the jsonb ``body`` the queries and automatic indexes read."""
    return (
        f"INSERT INTO {s}.documents AS d (key, id, collection, collection_key, etag, "
        "change_vector, last_modified, data, body) "
        "SELECT key, id, collection, collection_key, etag, 'A:' || etag || %s, %s, data, "
        f"COALESCE(body, convert_from(data, 'UTF8'))::jsonb FROM ({rows}) AS n "
    )


def _new_rows(s: str, second: str) -> str:
    """The rows a put statement writes, from arrays of parameters, each with a new etag."""
    # %b: arrays in binary format; in text format every bytea is hex-escaped, which costs the
    # client and the server about 10 µs per document (measured, 10,000 documents).
    return (
        f"SELECT u.*, nextval('{s}.etags') AS etag FROM unnest(%b::text[], %b::text[], "
        "%b::text[], %b::text[], %b::bytea[], %b::text[]) "
        f"AS u(key, {second}, collection, collection_key, data, body)"
    )


def _as_arrays(statement: str) -> str:
    """``statement`` (a put RETURNING key and change vector) answering one row of two arrays
    instead of a row per document: fewer objects to build and to collect."""
    return f"WITH w AS ({statement}) SELECT array_agg(key), array_agg(change_vector) FROM w"


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


def _expects(command: PutCommand) -> str | None:
    """What a put requires: nothing (None), absence (``""``) or a change vector (``"cv"``)."""
    expected = command.expected_change_vector
    return expected if expected is None or expected == "" else "cv"


class _BatchState:
    """What a batch learns as it goes: ``flagged``, whether the database has the ``owned``
    flag (a batch without it that adds a counter or an attachment begins again, adding);
    ``owned``, whether any document may have counters or attachments (its puts look)."""

    __slots__ = ("flagged", "owned")

    def __init__(self, flagged: bool, owned: bool) -> None:
        self.flagged = flagged
        self.owned = owned


class _OwnedFirst(Exception):
    """A batch that began without the ``owned`` flag adds a counter or an attachment: begin
    again with the owned lock exclusive, and set the flag."""


class _ReadCheckLate(Exception):
    """A read check came after the transaction began without SERIALIZABLE: begin again."""


class _Span(NamedTuple):
    """Commands ``start:stop`` of ``batch`` (a chunk of a batch), on distinct keys; ``ids``
    are the completed ids (SPEC S14) and ``keys`` their lower-cased keys, one per command."""

    batch: Sequence[Command]
    ids: list[str]
    keys: list[str]
    start: int
    stop: int


def _spans(batch: Sequence[Command], ids: list[str]) -> Iterator[_Span]:
    """Runs of consecutive commands on distinct keys: inside a run the order of commands does
    not matter, so each kind of command is one statement; a key seen again starts a new run."""
    keys = list(map(document_key, ids))
    if len(set(keys)) == len(keys) and not any(
        issubclass(kind, ATTACHMENT_COMMANDS) for kind in {*map(type, batch)}
    ):
        # The common chunk (a session's save: one command per document), found in C.
        if keys:
            yield _Span(batch, ids, keys, 0, len(keys))
        return
    start = 0
    seen: set[str] = set()
    for position, key in enumerate(keys):
        if isinstance(batch[position], ATTACHMENT_COMMANDS):
            # Alone, in batch order: it reads and writes documents as the batch left them.
            if start < position:
                yield _Span(batch, ids, keys, start, position)
            yield _Span(batch, ids, keys, position, position + 1)
            start, seen = position + 1, set()
            continue
        if key in seen:
            yield _Span(batch, ids, keys, start, position)
            start, seen = position, set()
        seen.add(key)
    if start < len(keys):
        yield _Span(batch, ids, keys, start, len(keys))


class _PendingPuts(NamedTuple):
    """The put statements of one span, sent and not yet read: each statement's cursor with
    the positions and commands it writes; ``puts`` every put of the span, in batch order."""

    span: _Span
    puts: list[int]
    statements: list[tuple[psycopg.Cursor[Any], list[int], list[PutCommand]]]

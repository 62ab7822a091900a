"""The SQLite write path: a batch in one ``BEGIN IMMEDIATE`` transaction, in batch order.

The transaction takes the write lock before the batch reads the change vectors it checks, so no
other writer comes between a check and its write. Puts are gathered into ``executemany`` runs,
written before any command that reads the documents as the commands before it left them (a
delete, a forced revision, counters, attachments); patches are read in the transaction, which
holds the write lock, and become puts and deletes (``storage.patching``). The automatic indexes
that hold values (value tables, FTS5) and the user-defined ones are kept in step in the
transaction. A file that ``delete_database`` marked while this store had it open refuses the
batch before anything is written.

A batch of puts alone, in a database with nothing to check or keep per document (no change
vector to check, no counters or attachments, no revisions configuration, no value or full-text
index), is written in one ``executemany`` whose rows are built in one comprehension
(``_put_all``): a session's common save.

The rules every write path shares (``check_expected``, the read-check error, completed ids) are
the relational core's; what a put keeps of its document's counters and attachments is
``relational.owned``'s.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson

from rookdb.errors import DatabaseDoesNotExistError, shown
from rookdb.ids import MAX_DATABASE_NAME_LENGTH
from rookdb.storage.commands import (
    ATTACHMENT_COMMANDS,
    Command,
    CountersCommand,
    DeleteCommand,
    ForceRevisionCommand,
    PutCommand,
    ReadCheck,
    check_expected,
)
from rookdb.storage.patching import Patching
from rookdb.storage.records import (
    ALL_COUNTERS,
    AttachmentReply,
    BatchResult,
    CountersReply,
    RevisionReply,
    WriteResult,
    document_key,
    last_modified_now,
)
from rookdb.storage.relational.attachments import BatchAttachments
from rookdb.storage.relational.counters import apply_counters
from rookdb.storage.relational.index_registry import INDEX_VERSION
from rookdb.storage.relational.owned import KnownOwned, stripped, stripped_all
from rookdb.storage.relational.revisions import (
    CONFIGURATION,
    BatchRevisions,
    Rules,
    force_revision,
    with_revision_replies,
)
from rookdb.storage.relational.storage import RelationalStorage, read_check_failed
from rookdb.storage.sqlite.connections import Connections, transaction
from rookdb.storage.sqlite.errors import SqliteErrors
from rookdb.storage.sqlite.indexes import AutoIndexes
from rookdb.storage.sqlite.schema import (
    ATTACHMENT_STATEMENTS,
    COUNTER_STATEMENTS,
    OWNED_LOOKUP,
    REVISION_STATEMENTS,
    UPSERT,
)

__all__ = ["SqliteWrites"]


class SqliteWrites(RelationalStorage):
    """The write path of ``SqliteStorage``, which gives it a file and connections."""

    _connections: Connections
    _indexes: AutoIndexes

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        commands = list(batch)  # the whole batch before the write lock: it may be a generator
        with SqliteErrors("write a batch"), self._connections as conn, transaction(conn):
            return self._apply(conn, commands)

    def _put_all(
        self,
        conn: sqlite3.Connection,
        batch: Sequence[Command],
        etag: int,
        now: str,
        indexed: bool,
        index_version: str,
    ) -> BatchResult | None:
        """A batch of puts alone, to final ids, written in one ``executemany`` whose rows are
        built in one comprehension; None when the batch is not that (``_apply``'s loop writes
        it). The caller has found that nothing needs a look per document: no change vector to
        check, no counters or attachments to keep, no revisions configuration, no value or
        full-text index. The rows, etags, change vectors and results are those the loop's put
        branch makes (``tests/test_sqlite_storage.py`` compares them)."""
        if not batch or {*map(type, batch)} != {PutCommand}:
            return None
        puts = cast("Sequence[PutCommand]", batch)
        if [c for c in puts if not c.id or c.id[-1] in "/|"]:
            return None  # ids storage completes, in batch order: the loop
        suffix = f"-{self._database_id}"
        datas = stripped_all([c.data for c in puts])  # a put's body never brings its own
        rows = [
            (document_key(c.id), c.id, c.collection, at, f"A:{at}{suffix}", now, data.decode())
            for at, c, data in zip(itertools.count(etag + 1), puts, datas)
        ]
        conn.executemany(UPSERT, rows)
        if indexed:
            touched: list[tuple[str, str | None]] = [(row[0], row[2]) for row in rows]
            self._user_indexes.documents_changed(conn, touched, index_version)
        conn.execute("UPDATE meta SET value = ? WHERE name = 'last_etag'", (str(etag + len(rows)),))
        return BatchResult(WriteResult.many([r[1] for r in rows], [r[4] for r in rows], now))

    def _apply(self, conn: sqlite3.Connection, batch: Sequence[Command]) -> BatchResult:
        checked = [
            document_key(c.id)
            for c in batch
            if type(c) is ReadCheck
            or (
                (type(c) is PutCommand or type(c) is DeleteCommand)
                and c.expected_change_vector is not None
            )
        ]
        current = (
            dict(
                conn.execute(
                    "SELECT key, change_vector FROM documents "
                    "WHERE key IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(checked).decode(),),
                ).fetchall()
            )
            if checked
            else {}
        )
        meta = dict(
            conn.execute(
                "SELECT name, value FROM meta WHERE name IN ('last_etag', 'deleted', ?, ?) "
                # Whether any document has counters or attachments (the batch holds the write
                # lock: none gets one meanwhile), so that a batch of puts need not look.
                "UNION ALL SELECT 'owned', 1 WHERE EXISTS (SELECT 1 FROM counters) "
                "OR EXISTS (SELECT 1 FROM attachments)",
                (CONFIGURATION, INDEX_VERSION),
            )
        )
        if "deleted" in meta:
            # delete_database marked this file before removing it, while this store had it
            # open: a write now would be acknowledged into a file no one will read again.
            raise DatabaseDoesNotExistError(
                f"database {shown(self.name, limit=MAX_DATABASE_NAME_LENGTH)} was deleted (by "
                "another store or process) while this "
                "store had it open; nothing was written: open a new store to create it again"
            )
        etag = int(meta["last_etag"])
        now = last_modified_now()
        suffix = f"-{self._database_id}"
        rows: list[tuple[Any, ...]] = []
        results: list[WriteResult] = []
        replies: list[tuple[int, RevisionReply | AttachmentReply | CountersReply]] = []
        # Whether any document has counters or attachments: then each put keeps its
        # document's (``relational.owned``).
        owned = "owned" in meta
        known: KnownOwned | None = None  # read when the first put needs it
        # Every key written and the collection of a put, for user-defined indexes; a put adds
        # its key only when there are any (asked once per batch: the registry's version is
        # the batch's, under its write lock).
        touched: list[tuple[str, str | None]] = []
        indexed = bool(self._user_indexes.registry(conn, meta.get(INDEX_VERSION, "")))

        def next_etag() -> int:
            nonlocal etag
            etag += 1
            return etag

        # With value or full-text indexes, the final state of every key the batch touches.
        registry = self._indexes.registry(conn)
        maintained = any(k != "expression" for i in registry.values() for (_, k) in i)
        final: dict[str, tuple[str, bytes] | None] | None = {} if maintained else None
        deleted_rowids: dict[str, int] = {}
        rules = Rules.of(meta.get(CONFIGURATION))
        if not checked and not owned and rules is None and final is None:
            # Nothing to check, keep, index by value or keep revisions of: decided once for the
            # batch, and a batch of puts alone (a session's common save) is written in one step.
            all_put = self._put_all(conn, batch, etag, now, indexed, meta.get(INDEX_VERSION, ""))
            if all_put is not None:
                return all_put
        revisions = None if rules is None else BatchRevisions(rules)
        attachments = BatchAttachments(ATTACHMENT_STATEMENTS, self._key_list, revisions=revisions)

        def complete(document_id: str) -> str:  # a script's put('users/', ...): an etag
            nonlocal etag
            etag += 1
            return self._completed_id(conn, document_id, etag)

        # Patches read in this transaction (it holds the write lock) and become puts/deletes.
        patching = Patching(
            batch,
            lambda keys: self._fetch(conn, list(keys)),
            complete,
            lambda keys: self._counters_asked(conn, list(keys), [ALL_COUNTERS]),
        )
        for command in patching:
            if type(command) is PutCommand:
                etag += 1
                document_id = command.id
                if not document_id or document_id[-1] in "/|":
                    document_id = self._completed_id(conn, document_id, etag)
                key = document_id.lower()
                if command.expected_change_vector is not None:
                    check_expected(document_id, command.expected_change_vector, current.get(key))
                change_vector = f"A:{etag}{suffix}"
                data = command.data
                if owned:  # (the tables are as the batch's commands so far left them)
                    if known is None:
                        named = [document_key(c.id) for c in batch if type(c) is PutCommand]
                        known = KnownOwned(conn, OWNED_LOOKUP, self._key_list, named)
                    data = known.kept(conn, key, data)
                else:  # (the hot path: two bytes searches)
                    data = stripped(data)  # a put's body never brings its own
                if revisions is not None:
                    data, rule = revisions.put(document_id, command.collection, data)
                    if rule is not None:
                        revisions.written(
                            rule, document_id, command.collection, etag, change_vector, now, data
                        )
                rows.append(
                    (key, document_id, command.collection, etag, change_vector, now, data.decode())
                )
                if checked:
                    current[key] = change_vector
                if indexed:
                    touched.append((key, command.collection))
                if final is not None:
                    final[key] = (command.collection, data)
                results.append(WriteResult(document_id, change_vector, now))
            elif type(command) is DeleteCommand:
                key = document_key(command.id)
                check_expected(command.id, command.expected_change_vector, current.get(key))
                if rows:  # keep batch order: earlier puts land before this delete
                    conn.executemany(UPSERT, rows)
                    rows = []
                if final is not None or revisions is not None:
                    row = conn.execute(
                        "SELECT rowid, id, collection FROM documents WHERE key = ?", (key,)
                    ).fetchone()
                    if row is not None:
                        deleted_rowids[key] = row[0]
                        if revisions is not None:
                            etag += 1
                            cv = f"A:{etag}{suffix}"
                            if not revisions.deleted(row[1], row[2], etag, cv, now):
                                etag -= 1
                conn.execute("DELETE FROM documents WHERE key = ?", (key,))
                if owned:
                    conn.execute(COUNTER_STATEMENTS.purge, (key,))
                if known is not None:
                    known.changed(key)
                attachments.documents_deleted(conn, [key])
                touched.append((key, None))
                current.pop(key, None)
                if final is not None:
                    final[key] = None
            elif type(command) is ForceRevisionCommand:
                if rows:  # the revision is of the document as the commands before left it
                    conn.executemany(UPSERT, rows)
                    rows = []
                if revisions is None:
                    revisions = attachments.revisions = BatchRevisions(rules)
                revisions.force(command)
                etag += 1  # the document's new version's, if it gets HasRevisions
                reply = force_revision(conn, REVISION_STATEMENTS, command, etag, suffix, now)
                touched.append((document_key(command.id), None))
                if not command.before_put:  # its put answers for it
                    replies.append((patching.replies_so_far, reply))
                if checked and reply.created:
                    current[document_key(command.id)] = reply.change_vector
            elif type(command) is CountersCommand:
                if rows:  # the document as the commands before left it
                    conn.executemany(UPSERT, rows)
                    rows = []
                assert isinstance(command, CountersCommand)
                counters_reply, written = apply_counters(
                    conn, COUNTER_STATEMENTS, REVISION_STATEMENTS, command, next_etag, suffix, now
                )
                if command.answered:  # (not a patch script's)
                    replies.append((patching.replies_so_far, counters_reply))
                owned = True
                key = document_key(command.id)
                if known is not None:
                    known.changed(key)
                if written is not None:
                    touched.append((key, None))  # its @counters changed
                    if checked:
                        current[key] = counters_reply.change_vector
                    if final is not None:
                        row = conn.execute(
                            "SELECT collection FROM documents WHERE key = ?", (key,)
                        ).fetchone()
                        final[key] = (row[0], written)
            elif isinstance(command, ATTACHMENT_COMMANDS):
                if rows:  # the attachment's document as the commands before left it
                    conn.executemany(UPSERT, rows)
                    rows = []
                attached, changed = attachments.apply(conn, command, next_etag, suffix, now)
                owned = True
                if known is not None:
                    for named_id in (command.id, getattr(command, "destination_id", command.id)):
                        known.changed(document_key(named_id))
                replies.append((patching.replies_so_far, attached))
                touched.extend((key, None) for key in changed)
                if checked:
                    current.update(changed)
            else:
                assert isinstance(command, ReadCheck)
                actual = current.get(document_key(command.id))
                if actual != command.change_vector:
                    raise read_check_failed(command, actual)
        if rows:
            conn.executemany(UPSERT, rows)
        attachments.finish(conn)
        if final:
            self._indexes.maintain(conn, registry, final, deleted_rowids)
        if touched:
            self._user_indexes.documents_changed(conn, touched, meta.get(INDEX_VERSION, ""))
        if revisions is not None:
            revisions.finish(conn, REVISION_STATEMENTS)
        conn.execute("UPDATE meta SET value = ? WHERE name = 'last_etag'", (str(etag),))
        return with_revision_replies(patching.result(results), replies)

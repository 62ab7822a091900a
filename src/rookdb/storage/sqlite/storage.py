"""One rookdb database in one SQLite database (a file, or memory): the SQLite dialect of the
relational core (``relational.storage``), and its write path.

Writes run in ``BEGIN IMMEDIATE`` transactions, so a batch takes the write lock before it reads
the change vectors it checks; a batch is applied with ``executemany`` in batch order, and the
automatic indexes that hold values (value tables, FTS5) are kept in step in its transaction.
The file's format, its tables and the SQL text run on them are ``sqlite.schema``'s.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import orjson

from rookdb.errors import DatabaseDoesNotExistError
from rookdb.ids import hilo_document_id
from rookdb.query import OrderBy, Query
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
from rookdb.storage.relational import entry_indexes, hilo
from rookdb.storage.relational.attachments import BatchAttachments
from rookdb.storage.relational.counters import apply_counters
from rookdb.storage.relational.index_maintenance import (
    INDEX_VERSION,
    IndexMaintenance,
)
from rookdb.storage.relational.owned import KnownOwned, stripped, stripped_all
from rookdb.storage.relational.revisions import (
    CONFIGURATION,
    BatchRevisions,
    Rules,
    force_revision,
    with_revision_replies,
)
from rookdb.storage.relational.storage import (
    RelationalStorage,
    StreamReading,
    check_format_version,
    new_database_id,
    read_check_failed,
)
from rookdb.storage.sqlite import compiler
from rookdb.storage.sqlite.connections import Connections, transaction
from rookdb.storage.sqlite.errors import SqliteErrors, SqliteOpenErrors, SqliteQueryErrors
from rookdb.storage.sqlite.indexes import AutoIndexes, entry_index
from rookdb.storage.sqlite.schema import (
    ATTACHMENT_STATEMENTS,
    ATTACHMENTS_SCHEMA,
    COUNTER_STATEMENTS,
    COUNTERS_SCHEMA,
    FORMAT_VERSION,
    INDEX_STATEMENTS,
    INDEXES_SCHEMA,
    OWNED_LOOKUP,
    REVISION_STATEMENTS,
    REVISIONS_SCHEMA,
    SCHEMA,
    STATEMENTS,
    UPSERT,
)
from rookdb.storage.statistics import Capabilities

__all__ = ["SqliteStorage"]

# The package's name: what users configure (the "rookdb" logger and its children).
log = logging.getLogger("rookdb.storage.sqlite")


#: The compiled WHERE conditions of the query shapes seen lately (``SqliteStorage._where``),
#: with their parameters, by (collection, predicate's repr, automatic indexes); emptied when
#: full. Shapes with a longer repr than ``_WHERE_CACHE_SHAPE`` are not kept.
_WHERE_CACHE: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
_WHERE_CACHE_SIZE = 512
_WHERE_CACHE_SHAPE = 2000
#: ``SqliteStorage._arms`` of the query shapes seen lately, as ``_WHERE_CACHE`` (None: the
#: shape has no arms).
_ARMS_CACHE: dict[tuple[Any, ...], tuple[list[str], tuple[Any, ...]] | None] = {}


def _remember(
    cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], shape: str, found: Any
) -> None:
    """Keep ``found`` for a query shape in one of the compiled-shape caches, bounded: a shape
    with a long repr costs its compile anyway, and a full cache starts again."""
    if len(shape) <= _WHERE_CACHE_SHAPE:
        if len(cache) >= _WHERE_CACHE_SIZE:
            cache.clear()
        cache[key] = found


class SqliteStorage(RelationalStorage):
    """One rookdb database in one SQLite database (a file, or memory)."""

    _errors = SqliteErrors
    _query_errors = SqliteQueryErrors
    _log = log
    _no_limit = -1
    _key_order_in_python = True  # the key column compares BINARY
    # A union under an ORDER BY is read through a co-routine first: ~20% slower to sort.
    _arms_sorted_in_sql = False
    _stream_start = 0
    _sql = STATEMENTS
    _revision_sql = REVISION_STATEMENTS
    _counter_sql = COUNTER_STATEMENTS
    _attachment_sql = ATTACHMENT_STATEMENTS
    _index_sql = INDEX_STATEMENTS

    def __init__(self, name: str, path: str | None, capabilities: Capabilities) -> None:
        super().__init__(name, capabilities)
        self._indexes: AutoIndexes = AutoIndexes()
        self._user_indexes = IndexMaintenance(INDEX_STATEMENTS, STATEMENTS.get_meta, self._key_list)
        self._path = path
        self._connections = Connections(path)
        try:
            with SqliteOpenErrors(path or "memory"), self._connections as conn, transaction(conn):
                self._initialize(conn)
        except BaseException:
            self._connections.close()
            raise

    def _initialize(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        check_format_version(version, FORMAT_VERSION, "this database")
        if version == 0:
            # Statement by statement: executescript() would COMMIT the open transaction.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        row = conn.execute("SELECT value FROM meta WHERE name = 'database_id'").fetchone()
        if row is None:
            database_id = new_database_id()
            conn.execute("INSERT INTO meta VALUES ('database_id', ?)", (database_id,))
            conn.execute("INSERT INTO meta VALUES ('last_etag', '0')")
            conn.execute("INSERT INTO meta VALUES ('index_version', '0')")
        else:
            database_id = row[0]
        self._database_id = database_id
        if version == 1:
            self._upgrade_hilo(conn)
        if version in (1, 2):
            for statement in REVISIONS_SCHEMA.split(";"):
                conn.execute(statement)
        if version in (1, 2, 3):
            conn.execute(COUNTERS_SCHEMA)
            for statement in ATTACHMENTS_SCHEMA.split(";"):
                conn.execute(statement)
        if version in (1, 2, 3, 4):
            for statement in INDEXES_SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        # The name as first written, for listings (the file's name is lower-cased).
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('name', ?)", (self.name,))
        self.name = conn.execute("SELECT value FROM meta WHERE name = 'name'").fetchone()[0]
        self._indexes.repair(conn, self.name)  # those an older rookdb failed to make

    def _upgrade_hilo(self, conn: sqlite3.Connection) -> None:
        """Format 1 to 2: each ``hilo`` row raises its tag's ``Raven/Hilo/<tag>`` document
        to at least its high, then the table goes, in the opening transaction (which holds
        the write lock: no process reserves from the table meanwhile; a crash leaves it all
        as it was)."""
        etag = int(conn.execute("SELECT value FROM meta WHERE name = 'last_etag'").fetchone()[0])
        now = last_modified_now()
        for tag, high in conn.execute("SELECT prefix, high FROM hilo").fetchall():
            key = document_key(hilo_document_id(tag))
            row = conn.execute(
                "SELECT id, collection, CAST(data AS BLOB) FROM documents WHERE key = ?", (key,)
            ).fetchone()
            document_id, collection, data = hilo.raised(row and tuple(row), tag, high)
            etag += 1
            change_vector = f"A:{etag}-{self._database_id}"
            conn.execute(
                UPSERT,
                (key, document_id, collection, etag, change_vector, now, data.decode()),
            )
        conn.execute("UPDATE meta SET value = ? WHERE name = 'last_etag'", (str(etag),))
        conn.execute("DROP TABLE hilo")
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")

    # -- the dialect -------------------------------------------------------------------------

    def _connection(self) -> Connections:
        return self._connections

    def _snapshot(self, conn: sqlite3.Connection) -> contextlib.AbstractContextManager[None]:
        return transaction(conn, "DEFERRED")

    @contextlib.contextmanager
    def _revision_transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connections as conn, transaction(conn):
            yield conn

    def _next_etag(self, conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'last_etag' "
            "RETURNING value"
        ).fetchone()
        return int(row[0])

    @contextlib.contextmanager
    def _stream_reading(self) -> Iterator[StreamReading]:
        with self._connections.streaming() as (conn, guard):
            yield StreamReading(conn, guard, conn.cursor)

    def _key_list(self, keys: list[str]) -> str:
        return orjson.dumps(keys).decode()

    def _collection_key(self, collection: str) -> str:
        return collection  # compared COLLATE NOCASE

    def _where(
        self,
        conn: sqlite3.Connection,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
        entries: str | None = None,
    ) -> str:
        # The compiled condition is a function of the collection (or an index's entries),
        # the predicate and the automatic indexes alone: a query of a shape seen lately
        # costs a dict lookup (issue 18). The predicate enters the key by its repr, which
        # tells 1, 1.0 and True apart (equal, and hashed alike, as Python values, but not
        # as JSON).
        shape = repr(query.where)
        key = (query.collection, shape, tuple(indexes.items()), entries)
        found = _WHERE_CACHE.get(key)
        if found is None:
            mine: list[Any] = []
            found = (self._compile_where(query, indexes, mine, entries), tuple(mine))
            _remember(_WHERE_CACHE, key, shape, found)
        params.extend(found[1])
        return found[0]

    def _arms(
        self,
        conn: sqlite3.Connection,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
    ) -> list[str] | None:
        if query.collection is None or not isinstance(query.where, compiler.SEEK_PREDICATES):
            return None  # without the cache's repr
        # Cached as ``_where`` is; None (no arms) too.
        shape = repr(query.where)
        key = (query.collection, shape, tuple(indexes.items()))
        if key in _ARMS_CACHE:
            found = _ARMS_CACHE[key]
        else:
            mine: list[Any] = []
            arms = compiler.Compiler(query.collection, indexes).arms(query.where, mine)
            found = None if arms is None else (arms, tuple(mine))
            _remember(_ARMS_CACHE, key, shape, found)
        if found is None:
            return None
        params.extend(found[1])
        return found[0]

    def _compile_where(
        self,
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
        entries: str | None = None,
    ) -> str:
        sql = compiler.Compiler(query.collection, indexes, entries)
        conditions = []
        if query.collection is not None:
            # When row-id sets from indexes find the matches, the collection test must not
            # make SQLite walk the collection instead: the unary + keeps it off indexes.
            row_sets = query.where is not None and sql.uses_row_sets(query.where)
            conditions.append(f"{'+' if row_sets else ''}collection = ? COLLATE NOCASE")
            params.append(query.collection)
        if query.where is not None:
            conditions.append(sql.where(query.where, params))
        return " AND ".join(conditions) or "1"

    def _order_clause(self, order_by: tuple[OrderBy, ...]) -> str:
        return compiler.order_clause(order_by)

    def _create_indexes(
        self, conn: sqlite3.Connection, collection: str, missing: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        with transaction(conn):
            return self._indexes.create(conn, collection, missing, self.max_auto_indexes)

    def _entry_index_transaction(self, conn: sqlite3.Connection) -> Any:
        return transaction(conn)

    def _entry_index_names(self, conn: sqlite3.Connection, index_id: int) -> set[str]:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'index_entries' "
            "AND substr(name, 1, length(?)) = ?",
            (entry_indexes.prefix(index_id),) * 2,
        )
        return {str(name) for (name,) in rows}

    def _create_entry_index(self, conn: sqlite3.Connection, index_id: int, path: str) -> None:
        conn.execute(entry_index(index_id, path))

    def _drop_index_sql(self, name: str) -> str:
        return f'DROP INDEX IF EXISTS "{name}"'

    def _last_etag(self, conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT value FROM meta WHERE name = 'last_etag'").fetchone()[0])

    def _size_on_disk(self, conn: sqlite3.Connection) -> int:
        if self._path is None:  # in memory: the pages the database holds
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])
        # What is on disk: the file, its write-ahead log (committed writes not yet
        # checkpointed into the file) and the log's index.
        size = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                size += os.path.getsize(self._path + suffix)
        return size

    def close(self) -> None:
        self._connections.close()

    # -- writes ------------------------------------------------------------------------------

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
                f"database {self.name!r} was deleted (by another store or process) while this "
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

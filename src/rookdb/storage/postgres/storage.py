"""One rookdb database in one PostgreSQL schema: the PostgreSQL dialect of the relational core
(``relational.storage``), on the write path of ``writes``.

A document is a row holding its canonical JSON (``data``, bytea: exactly what the session wrote,
SPEC D5) and a JSONB copy for queries (``body``; jsonb reorders keys and cannot hold a NUL
character, so its strings are cut at the first NUL, as every backend compares them). Reads of
several statements (includes, a query's page and count) run in one ``REPEATABLE READ``
snapshot. Predicates PostgreSQL cannot evaluate as ``rookdb.evaluate`` defines them (Python
regular expressions, searches without an index) are evaluated in Python in that snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
import psycopg

from rookdb.errors import StorageError
from rookdb.evaluate import matches
from rookdb.ids import hilo_document_id
from rookdb.query import OrderBy, Query
from rookdb.storage import bridge
from rookdb.storage.commands import PutCommand
from rookdb.storage.postgres import bulk_copy, compiler
from rookdb.storage.postgres.arrays import TextList
from rookdb.storage.postgres.errors import PostgresBatchErrors, PostgresErrors, PostgresQueryErrors
from rookdb.storage.postgres.indexes import SchemaIndexes, entry_index
from rookdb.storage.postgres.pool import MAX_CONNECTIONS, ConnectionPool
from rookdb.storage.postgres.schema import (
    ATTACHMENTS_SCHEMA,
    COUNTERS_SCHEMA,
    FORMAT_VERSION,
    INDEXES_SCHEMA,
    REVISIONS_SCHEMA,
    SCHEMA,
)
from rookdb.storage.postgres.transactions import SNAPSHOT, lock_key, transaction
from rookdb.storage.postgres.write_statements import jsonb_body
from rookdb.storage.postgres.writes import PostgresWrites, log
from rookdb.storage.records import document_key, last_modified_now
from rookdb.storage.relational import entry_indexes, hilo
from rookdb.storage.relational.attachments import AttachmentStatements
from rookdb.storage.relational.counters import CounterStatements
from rookdb.storage.relational.index_maintenance import (
    GROUP_LOCK_BUCKETS,
    IndexMaintenance,
    IndexStatements,
)
from rookdb.storage.relational.index_query import python_rows
from rookdb.storage.relational.owned import OwnedLookup
from rookdb.storage.relational.revisions import RevisionStatements
from rookdb.storage.relational.statements import Statements
from rookdb.storage.relational.storage import (
    StreamReading,
    check_format_version,
    new_database_id,
)
from rookdb.storage.statistics import Capabilities

__all__ = ["PostgresStorage"]

#: What ``AttachmentStatements.document`` reads of a document.
_DOCUMENT_COLUMNS = "id, etag, change_vector, data, collection"


class PostgresStorage(PostgresWrites):
    """One rookdb database in one PostgreSQL schema."""

    _errors = PostgresErrors
    #: The pool's size: each worker thread of the async session holds one connection.
    async_threads = MAX_CONNECTIONS
    #: The async session's hot calls can run on psycopg's ``AsyncConnection`` (``green``).
    async_native = True
    #: Not by default: psycopg's async ``execute`` costs more CPU per statement than its sync
    #: one, all of it on the loop's one thread; the threads measured faster (bench/README.md).
    async_native_faster = False
    _query_errors = PostgresQueryErrors
    _log = log
    _no_limit = None
    _stream_start = ""  # pages by key

    def __init__(
        self, name: str, schema: str, pool: ConnectionPool, capabilities: Capabilities
    ) -> None:
        super().__init__(name, capabilities)
        self.schema = schema
        self._pool = pool
        self._closed = False
        s = self._s = f'"{schema}"'
        self._indexes = SchemaIndexes(schema)
        self._index_lock = lock_key(f"rookdb indexes {schema}")
        self._entry_index_lock = lock_key(f"rookdb entry indexes {schema}")
        self._owned_lock = lock_key(f"rookdb owned metadata {schema}")
        self._owned_lookup = OwnedLookup.of(f"{s}.", "key = ANY(%s)")
        self._sql = Statements.of(
            schema=f"{s}.",
            mark="%s",
            columns="id, data, change_vector, last_modified, collection",
            cursor="key",
            collection="collection_key = %s",
            keys="key = ANY(%s)",
        )
        self._revision_sql = RevisionStatements.of(
            f"{s}.",
            "%s",
            "id, data, change_vector, last_modified, collection",
            document=(
                "SELECT id, collection, etag, change_vector, last_modified, data "
                f"FROM {s}.documents WHERE key = %s FOR UPDATE"
            ),
            flag_document=(
                f"UPDATE {s}.documents SET data = %s, body = %s::jsonb, etag = %s, "
                "change_vector = %s, last_modified = %s WHERE key = %s"
            ),
        )
        self._counter_sql = CounterStatements.of(f"{s}.", "%s", "key = ANY(%s)")
        self._attachment_sql = AttachmentStatements.of(
            f"{s}.",
            "%s",
            "%b",
            keys="key = ANY(%s)",
            new_content=(
                f"INSERT INTO {s}.attachment_contents (hash, size) VALUES (NULL, 0) RETURNING id"
            ),
            lock_hash="SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            document=f"SELECT {_DOCUMENT_COLUMNS} FROM {s}.documents WHERE key = %s FOR UPDATE",
            new_version=(
                f"UPDATE {s}.documents SET data = %s, body = %s::jsonb, etag = %s, "
                "change_vector = %s, last_modified = %s WHERE key = %s"
            ),
        )
        self._index_sql = IndexStatements.of(
            f"{s}.",
            "%s",
            keys="{column} = ANY(%s)",
            collection="collection_key = lower(%s)",
            entry="body",
            # The documents' rows, in key order; a bucket of groups: an advisory lock of the
            # transaction on (this database, index, bucket), so that databases (schemas) of
            # one PostgreSQL database never wait for each other's groups: a 64-bit key of the
            # schema's own, XOR the index's bucket number (one-key locks are a space apart
            # from the two-key locks of documents).
            lock_keys=f"SELECT key FROM {s}.documents WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
            lock_group=(
                f"SELECT pg_advisory_xact_lock({lock_key(f'rookdb index groups {schema}')}::bigint"
                f" # (%s::bigint * {GROUP_LOCK_BUCKETS} + %s::bigint))"
            ),
            body=True,
        )
        self._user_indexes = IndexMaintenance(
            self._index_sql, self._sql.get_meta, self._key_list, body=jsonb_body
        )
        self._prepare_writes()
        self._sql_copy_upsert = bulk_copy.upsert_statement(s)
        with PostgresErrors(f"open the schema {schema}"), self._pool.connection() as conn:
            self._database_id = self._initialize(conn)

    def _initialize(self, conn: psycopg.Connection[Any]) -> str:
        s = self._s
        # pg_tables, not to_regclass: a catalog read with the statement's snapshot, where
        # to_regclass may answer from a cache that has not yet seen another creator's commit.
        exists = "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'meta'"
        if conn.execute(exists, (self.schema,)).fetchone() is None:
            with transaction(conn, "BEGIN"):
                # One creator at a time: CREATE ... IF NOT EXISTS races in the catalogs.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"rookdb {s}"),))
                if conn.execute(exists, (self.schema,)).fetchone() is None:
                    for statement in SCHEMA.format(s=s).split(";"):
                        conn.execute(statement)
                    database_id = new_database_id()
                    conn.execute(
                        f"INSERT INTO {s}.meta VALUES ('format_version', %s), "
                        "('database_id', %s), ('name', %s), ('index_version', '0')",
                        (str(FORMAT_VERSION), database_id, self.name),
                    )
        meta = dict(conn.execute(f"SELECT name, value FROM {s}.meta").fetchall())
        version = int(meta["format_version"])
        check_format_version(version, FORMAT_VERSION, f"the schema {self.schema}")
        if version == 1:
            with transaction(conn, "BEGIN"):
                # One upgrader at a time; the table lock holds off older processes' reserves.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"rookdb {s}"),))
                self._upgrade_hilo(conn, str(meta["database_id"]))
        if version in (1, 2, 3, 4):
            with transaction(conn, "BEGIN"):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"rookdb {s}"),))
                added = ""
                if version in (1, 2):
                    added += REVISIONS_SCHEMA + ";"
                if version in (1, 2, 3):
                    added += ATTACHMENTS_SCHEMA + ";" + COUNTERS_SCHEMA + ";"
                added += INDEXES_SCHEMA
                for statement in added.format(s=s).split(";"):
                    conn.execute(statement)
                conn.execute(
                    f"UPDATE {s}.meta SET value = %s WHERE name = 'format_version'",
                    (str(FORMAT_VERSION),),
                )
        if self._indexes.outdated(conn):
            with transaction(conn, "BEGIN"):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._index_lock,))
                done = self._indexes.upgrade(conn)  # none if another process did it
            for name, what in done:
                log.info("database %r: the automatic index %r: %s", self.name, name, what)
        return str(meta["database_id"])

    def _upgrade_hilo(self, conn: psycopg.Connection[Any], database_id: str) -> None:
        """Format 1 to 2 (in the caller's transaction): each ``hilo`` row raises its tag's
        ``Raven/Hilo/<tag>`` document to at least its high, then the table goes."""
        s = self._s
        version = conn.execute(
            f"SELECT value FROM {s}.meta WHERE name = 'format_version'"
        ).fetchone()
        if version is None or int(version[0]) != 1:
            return  # another process upgraded it first
        conn.execute(f"LOCK TABLE {s}.hilo IN ACCESS EXCLUSIVE MODE")
        now = last_modified_now()
        for tag, high in conn.execute(f"SELECT prefix, high FROM {s}.hilo").fetchall():
            key = document_key(hilo_document_id(tag))
            row = conn.execute(
                f"SELECT id, collection, data FROM {s}.documents WHERE key = %s FOR UPDATE",
                (key,),
            ).fetchone()
            existing = None if row is None else (row[0], row[1], bytes(row[2]))
            document_id, collection, data = hilo.raised(existing, tag, high)
            (etag,) = conn.execute(f"SELECT nextval('{s}.etags')").fetchall()[0]
            conn.execute(
                f"INSERT INTO {s}.documents (key, id, collection, collection_key, etag, "
                "change_vector, last_modified, data, body) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb) "
                "ON CONFLICT (key) DO UPDATE SET etag = excluded.etag, "
                "change_vector = excluded.change_vector, last_modified = excluded.last_modified, "
                "data = excluded.data, body = excluded.body",
                (
                    key,
                    document_id,
                    collection,
                    collection.lower(),
                    etag,
                    f"A:{etag}-{database_id}",
                    now,
                    data,
                    jsonb_body(data) or data.decode(),  # as every write: strings cut at NUL
                ),
            )
        conn.execute(f"DROP TABLE {s}.hilo")
        conn.execute(
            f"UPDATE {s}.meta SET value = '2' WHERE name = 'format_version'",
        )

    def bulk_write(self, puts: Sequence[PutCommand]) -> None:
        if not bulk_copy.copyable(puts):  # outside the rules of a chunk: the batch path
            self.apply(puts)
            return
        try:
            with PostgresBatchErrors("write a bulk insert chunk"):
                self._retried(lambda conn, _, __: bulk_copy.write(self, conn, puts), False)
        except bulk_copy.KeepsRevisions:
            self.apply(puts)

    # -- the dialect -------------------------------------------------------------------------

    def _connection(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        if self._closed:
            raise StorageError("the storage is closed")
        if bridge.in_bridge():  # a native call of the async session: the loop's connections
            return self._pool.green_connection()
        return self._pool.connection()

    def _snapshot(self, conn: psycopg.Connection[Any]) -> contextlib.AbstractContextManager[None]:
        return transaction(conn, SNAPSHOT)

    @contextlib.contextmanager
    def _revision_transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection() as conn, transaction(conn, "BEGIN"):
            yield conn

    @contextlib.contextmanager
    def _stream_reading(self) -> Iterator[StreamReading]:
        # A pooled connection for the whole stream, in one snapshot (a read-only repeatable
        # read transaction: it never blocks writers), and a server-side cursor: a client-side
        # one would fetch every row before the first is read. The stream's reader writes on
        # other pooled connections meanwhile.
        with self._connection() as conn, transaction(conn, SNAPSHOT):
            yield StreamReading(
                conn,
                contextlib.nullcontext(),
                # Records in binary, as every read of records (``_select_records``).
                lambda: conn.cursor(name="rookdb_stream", binary=True),
            )

    def _select_records(self, conn: Any, statement: str, params: Sequence[Any]) -> Any:
        # Records in binary: ``data`` (bytea) comes as its bytes, not as hex text for libpq to
        # unescape (a tenth of the client's instructions loading a document); text columns
        # are the same either way.
        return conn.execute(statement, params, binary=True)

    def _key_list(self, keys: list[str]) -> TextList | list[str]:
        # Packed in binary when sent (``arrays``): lists of ``str`` (document keys); an empty
        # list or one of other values (the index tables' integer keys) is psycopg's to send.
        return TextList(keys) if keys and {*map(type, keys)} == {str} else keys

    def _collection_key(self, collection: str) -> str:
        return collection.lower()

    def _where(
        self,
        conn: psycopg.Connection[Any],
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
        entries: str | None = None,
    ) -> str:
        conditions = []
        if query.collection is not None:
            conditions.append("collection_key = %s")
            params.append(query.collection.lower())
        if query.where is not None:
            usable = indexes if query.collection is not None or entries is not None else {}
            python_keys = self._python_matches(conn, query, set(usable), python_rows())
            digest_keys = self._digest_matches(conn, query, usable)
            sql = compiler.Compiler(
                usable, python_keys, self._indexes.search_table, digest_keys, entries
            )
            conditions.append(sql.where(query.where, params))
        return " AND ".join(conditions) or "true"

    def _arms(
        self,
        conn: psycopg.Connection[Any],
        query: Query,
        indexes: dict[tuple[str, str], int],
        params: list[Any],
    ) -> list[str] | None:
        if query.where is None or query.collection is None:
            return None
        arms = compiler.Compiler(indexes, {}, self._indexes.search_table).arms(query.where)
        if arms is None:
            return None
        collection = query.collection.lower()
        for _, values in arms:
            params.extend((collection, *values))
        return [f"collection_key = %s AND {arm}" for arm, _ in arms]

    def _one_statement(self, query: Query, indexes: dict[tuple[str, str], int]) -> bool:
        # Predicates evaluated in Python read the documents first (``_python_matches``).
        if not super()._one_statement(query, indexes):
            return False
        if query.where is None:
            return True
        usable = set(indexes) if query.collection is not None else set()  # as ``_where``
        # So do the documents tested for a prefix search (``_digest_matches``).
        python = compiler.python_predicates(query.where, usable)
        return not python and not compiler.prefix_searches(query.where, usable)

    def _order_clause(self, order_by: tuple[OrderBy, ...]) -> str:
        return compiler.order_clause(order_by)

    def _python_matches(
        self,
        conn: psycopg.Connection[Any],
        query: Query,
        indexed: set[tuple[str, str]],
        source: tuple[str, tuple[Any, ...]] | None = None,
    ) -> dict[int, list[str]]:
        """Keys matching each predicate evaluated in Python, read in the query's snapshot;
        of the rows of ``source`` (a query of key and JSON, and its parameters: an index's
        rows) when given."""
        assert query.where is not None
        predicates = compiler.python_predicates(query.where, indexed)
        if not predicates:
            return {}
        if source is not None:
            rows = conn.execute(source[0], source[1])
        elif query.collection is None:
            rows = conn.execute(f"SELECT key, data FROM {self._s}.documents")
        else:
            rows = conn.execute(
                f"SELECT key, data FROM {self._s}.documents WHERE collection_key = %s",
                (query.collection.lower(),),
            )
        return _keys_matching(rows, predicates)

    def _digest_matches(
        self,
        conn: psycopg.Connection[Any],
        query: Query,
        indexes: dict[tuple[str, str], int],
    ) -> dict[int, list[str]]:
        """For each search with a prefix term its full-text table answers
        (``compiler.prefix_searches``): the keys of the documents holding a digest lexeme (a
        token too long for one) that match it, read in the query's snapshot."""
        assert query.where is not None
        keys: dict[int, list[str]] = {}
        for predicate in compiler.prefix_searches(query.where, set(indexes)):
            table = self._indexes.search_table(indexes[(predicate.field, "search")])
            rows = conn.execute(
                f"SELECT key, data FROM {self._s}.documents WHERE key IN "
                f"(SELECT key FROM {table} WHERE tokens @@ %s::tsquery)",
                (compiler.DIGESTS,),
            )
            keys.update(_keys_matching(rows, [predicate]))
        return keys

    def _create_indexes(
        self, conn: psycopg.Connection[Any], collection: str, missing: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        with transaction(conn, "BEGIN"):
            # Exclusive: no batch is between reading the registry and committing.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._index_lock,))
            return self._indexes.create(conn, collection, missing, self.max_auto_indexes)

    @contextlib.contextmanager
    def _entry_index_transaction(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        with transaction(conn, "BEGIN"):
            # One maker at a time: two making one name at once, one would fail.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._entry_index_lock,))
            yield

    def _lock_entry_indexes(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._entry_index_lock,))

    def _entry_index_names(self, conn: psycopg.Connection[Any], index_id: int) -> set[str]:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s "
            "AND tablename = 'index_entries' AND starts_with(indexname, %s)",
            (self.schema, entry_indexes.prefix(index_id)),
        ).fetchall()
        return {str(name) for (name,) in rows}

    def _create_entry_index(self, conn: psycopg.Connection[Any], index_id: int, path: str) -> None:
        for statement in entry_index(self._s, index_id, path):
            conn.execute(statement)
        # Expression indexes have statistics of their own: without them the planner guesses.
        conn.execute(f"ANALYZE {self._s}.index_entries")

    def _drop_index_sql(self, name: str) -> str:
        return f'DROP INDEX IF EXISTS {self._s}."{name}"'

    def _last_etag(self, conn: psycopg.Connection[Any]) -> int:
        # The sequence's position: every write draws from it (a rolled-back one too).
        rows = conn.execute(f"SELECT last_value, is_called FROM {self._s}.etags").fetchall()
        last, called = rows[0]
        return int(last) if called else 0

    def _size_on_disk(self, conn: psycopg.Connection[Any]) -> int:
        # Tables with their indexes and TOAST, and sequences: every relation of the schema.
        row = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN c.relkind IN ('r', 'm') "
            "THEN pg_total_relation_size(c.oid) ELSE pg_relation_size(c.oid) END), 0) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'S')",
            (self.schema,),
        ).fetchall()
        return int(row[0][0])

    def close(self) -> None:
        self._closed = True  # the pool belongs to the backend


def _keys_matching(rows: Iterable[Any], predicates: list[Any]) -> dict[int, list[str]]:
    """The keys of the rows (key, JSON) each predicate holds for, by the predicate's ``id()``:
    the Python side of predicates the SQL cannot answer (``evaluate.matches``)."""
    keys: dict[int, list[str]] = {id(p): [] for p in predicates}
    for key, data in rows:
        document = orjson.loads(data)
        for predicate in predicates:
            if matches(document, predicate, key):
                keys[id(predicate)].append(key)
    return keys

"""What tests look at inside a backend (schema objects, query plans, injected failures), for
each backend that has such insides. Users never need these."""

from __future__ import annotations

from typing import Any

from rookdb import DocumentStore
from rookdb.query import Query
from rookdb.storage.base import Storage
from rookdb.storage.sqlite import SqliteStorage


def _storage(store: DocumentStore) -> Storage:
    storage = store._storage(store.database)
    if storage.capabilities.name == "http":
        # The test server keeps SQLite files: look inside them from this process, as another
        # process sharing the directory would (the server sees triggers and indexes made here).
        from rookdb.storage.sqlite import SqliteBackend
        from rookdb.testing.backends import server_data_directory

        return SqliteBackend(server_data_directory()).database(store.database)
    return storage


def schema_objects(store: DocumentStore) -> list[tuple[Any, ...]]:
    """The tables, indexes and triggers of the database, but for automatic indexes."""
    storage = _storage(store)
    if isinstance(storage, SqliteStorage):
        with storage._connections as conn:
            return conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'auto/%' "
                "ORDER BY name"
            ).fetchall()
    from rookdb.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    with storage._connection() as conn:
        return conn.execute(
            "SELECT c.relkind, c.relname, pg_get_indexdef(c.oid), "
            "array_agg(a.attname::text ORDER BY a.attnum) FROM pg_class c "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
            "WHERE c.relnamespace = %s::regnamespace AND c.relname NOT LIKE 'auto%%' "
            "GROUP BY c.oid ORDER BY c.relname",
            (f'"{storage.schema}"',),
        ).fetchall()


def query_plan(store: DocumentStore, query: Query) -> str:
    """How the backend runs the WHERE of ``query`` on its collection (indexes created first),
    as the database explains it; PostgreSQL is told to avoid scans, which small test tables
    would otherwise make it prefer."""
    storage = _storage(store)
    assert query.where is not None
    if isinstance(storage, SqliteStorage):
        from rookdb.storage.sqlite import compiler as sqlite_compiler

        compiler = sqlite_compiler.Compiler(query.collection, storage._prepare_indexes(query))
        params: list[Any] = [query.collection]
        sql = compiler.where(query.where, params)
        with storage._connections as conn:
            rows = conn.execute(
                f"EXPLAIN QUERY PLAN SELECT key FROM documents WHERE +collection = ? "
                f"COLLATE NOCASE AND {sql}",
                params,
            ).fetchall()
        return "\n".join(row[3] for row in rows)
    from rookdb.storage.postgres import PostgresStorage
    from rookdb.storage.postgres import compiler as postgres_compiler

    assert isinstance(storage, PostgresStorage) and query.collection is not None
    indexes = storage._prepare_indexes(query)
    compiler = postgres_compiler.Compiler(indexes, {}, storage._indexes.search_table)
    params = [query.collection.lower()]
    sql = compiler.where(query.where, params)
    with storage._connection() as conn, conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        rows = conn.execute(
            f'EXPLAIN SELECT key FROM "{storage.schema}".documents '
            f"WHERE collection_key = %s AND {sql}",
            params,
        ).fetchall()
    return "\n".join(row[0] for row in rows)


def index_query_plan(store: DocumentStore, query: Query) -> str:
    """How the backend reads the entries of the map index ``query`` names for its WHERE
    (the expression indexes of its entries made first, as a query makes them): the FROM and
    WHERE ``relational.index_query`` runs, as the database explains them. PostgreSQL is told
    to avoid scans, which small test tables would otherwise make it prefer."""
    storage = _storage(store)
    assert query.index_name is not None and query.where is not None
    indexes = storage._prepare_entry_indexes(query)  # type: ignore[attr-defined]
    if isinstance(storage, SqliteStorage):
        with storage._connections as conn:
            index_id = int(storage._index_row(conn, query.index_name)[0])
            source, where, params = storage._index_where(conn, False, index_id, query, indexes)
            rows = conn.execute(
                f"EXPLAIN QUERY PLAN SELECT key FROM {source} WHERE {where}", (index_id, *params)
            ).fetchall()
        return "\n".join(row[3] for row in rows)
    from rookdb.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    with storage._connection() as conn, conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        index_id = int(storage._index_row(conn, query.index_name)[0])
        source, where, params = storage._index_where(conn, False, index_id, query, indexes)
        rows = conn.execute(
            f"EXPLAIN SELECT key FROM {source} WHERE {where}", (index_id, *params)
        ).fetchall()
    return "\n".join(row[0] for row in rows)


def entry_index_names(store: DocumentStore) -> list[str]:
    """The names of the SQL indexes over user-defined indexes' entries that queries made
    (``relational.entry_indexes``), sorted."""
    storage = _storage(store)
    if isinstance(storage, SqliteStorage):
        with storage._connections as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'index_entries' AND name LIKE 'auto/entries/%' ORDER BY name"
            ).fetchall()
        return [str(name) for (name,) in rows]
    from rookdb.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    with storage._connection() as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s "
            "AND tablename = 'index_entries' AND starts_with(indexname, 'auto/entries/') "
            "ORDER BY indexname",
            (storage.schema,),
        ).fetchall()
    return [str(name) for (name,) in rows]


def inject_failure(store: DocumentStore, key: str) -> None:
    """Make the database itself fail, mid-statement, when a batch writes document ``key``."""
    storage = _storage(store)
    if isinstance(storage, SqliteStorage):
        # Behind a server the trigger must be in the file, where the server's connections see it.
        temp = "" if store._storage(store.database).capabilities.name == "http" else "TEMP "
        with storage._connections as conn:
            conn.execute(
                f"CREATE {temp}TRIGGER inject BEFORE INSERT ON documents "
                f"WHEN NEW.key = '{key}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
            )
        return
    from rookdb.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    s = f'"{storage.schema}"'
    with storage._connection() as conn:
        conn.execute(
            f"CREATE FUNCTION {s}.inject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.key = '{key}' THEN RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER inject BEFORE INSERT ON {s}.documents "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.inject()"
        )


def remove_failure(store: DocumentStore) -> None:
    storage = _storage(store)
    if isinstance(storage, SqliteStorage):
        with storage._connections as conn:
            conn.execute("DROP TRIGGER inject")
        return
    from rookdb.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    with storage._connection() as conn:
        conn.execute(f'DROP FUNCTION "{storage.schema}".inject() CASCADE')


def write_unchecked(store: DocumentStore, document_id: str, collection: str, data: bytes) -> None:
    """Write ``data`` as a document past every check a ``PutCommand`` makes, as another program
    sharing the database could: for tests of what rookdb does with what it would not write."""
    from rookdb.storage.commands import PutCommand

    command = object.__new__(PutCommand)
    command.id, command.collection, command.data = document_id, collection, data
    command.expected_change_vector = None
    _storage(store).apply([command])


def make_entry_index_as_before(store: DocumentStore, index_name: str, path: str) -> list[str]:
    """Make the SQL indexes of ``path`` over the entries of index ``index_name`` as rookdb
    named them before they had a digest of the path (``auto/entries/<id>/<path>``); their
    names."""
    storage = _storage(store)
    if isinstance(storage, SqliteStorage):
        from rookdb.storage.sqlite.indexes import entry_index

        with storage._connections as conn:
            index_id = int(storage._index_row(conn, index_name)[0])
            new, old = storage_names(index_id, path)
            conn.execute(entry_index(index_id, path).replace(new[0], old[0]))
        return old[:1]
    from rookdb.storage.postgres import PostgresStorage
    from rookdb.storage.postgres.indexes import entry_index as postgres_entry_index

    assert isinstance(storage, PostgresStorage)
    with storage._connection() as conn:
        index_id = int(storage._index_row(conn, index_name)[0])
        new, old = storage_names(index_id, path)
        for statement, new_name, old_name in zip(
            postgres_entry_index(storage._s, index_id, path), new, old, strict=True
        ):
            conn.execute(statement.replace(new_name, old_name))
    return old


def storage_names(index_id: int, path: str) -> tuple[list[str], list[str]]:
    """The names of the SQL indexes of ``path`` over index ``index_id``'s entries (the
    jsonb form's, then the text form's), and those rookdb gave before."""
    from rookdb.storage.relational import entry_indexes

    suffixes = ("", entry_indexes.TEXT_SUFFIX)
    new = [entry_indexes.name(index_id, path, suffix) for suffix in suffixes]
    old = [f"{entry_indexes.prefix(index_id)}{path}{suffix}" for suffix in suffixes]
    return new, old

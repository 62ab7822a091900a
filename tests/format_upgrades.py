"""Older databases, made from current ones, for the format-upgrade tests (SPEC D6).

A database of format N is today's without the tables the formats after N added (``ADDED``):
``older_sqlite_file`` and ``older_postgres_schema`` write a database with one document
(``users/1``, ``{"Name": "kept"}``), then take it back to format N as a file or schema that
an older rookdb left would be. Each test opens it with today's rookdb, checks that its feature
works there and that the documents stayed, and reads the format it was upgraded to
(``sqlite_format``, ``postgres_format``). Format 1 (HiLo in a table) is older than a table
dropped: ``test_hilo_format_upgrade.py`` makes its own.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rookdb import DocumentStore
from rookdb.storage.postgres import storage as postgres_storage
from rookdb.storage.sqlite.schema import FILE_SUFFIX
from rookdb.testing.backends import postgres_url

__all__ = [
    "ADDED",
    "DATABASE",
    "older_postgres_schema",
    "older_sqlite_file",
    "postgres_format",
    "sqlite_format",
]

#: The database the helpers make.
DATABASE = "old"

#: The tables each format added, by format.
ADDED: dict[int, tuple[str, ...]] = {
    3: ("revisions",),
    4: ("counters", "attachments", "attachment_contents", "attachment_chunks"),
    5: ("indexes", "index_entries", "index_references", "reduce_results", "reduce_pages"),
}


def _newer_tables(version: int) -> list[str]:
    return [table for added, tables in ADDED.items() if added > version for table in tables]


def _write_one_document(url: str) -> None:
    with DocumentStore(urls=url, database=DATABASE) as store, store.open_session() as session:
        session.store({"Name": "kept", "@metadata": {"@collection": "Users"}}, "users/1")
        session.save_changes()


def older_sqlite_file(directory: Path, version: int) -> Path:
    """A format ``version`` SQLite database in ``directory`` (its URL:
    ``sqlite:///{directory}``), holding ``users/1``; its file's path."""
    _write_one_document(f"sqlite:///{directory}")
    path = directory / f"{DATABASE}{FILE_SUFFIX}"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for table in _newer_tables(version):
            conn.execute(f"DROP TABLE {table}")
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()
    return path


def sqlite_format(path: Path) -> int:
    """The format the SQLite file at ``path`` says it has."""
    conn = sqlite3.connect(path)
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    return version


def older_postgres_schema(store_url: str, version: int) -> str:
    """A format ``version`` PostgreSQL schema for database ``DATABASE`` of ``store_url``,
    holding ``users/1``; the schema's name."""
    import psycopg

    _write_one_document(store_url)
    with DocumentStore(urls=store_url, database=DATABASE) as store:
        storage = store._storage(DATABASE)
        assert isinstance(storage, postgres_storage.PostgresStorage)
        schema = storage.schema
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        for table in _newer_tables(version):
            conn.execute(f'DROP TABLE "{schema}".{table}')
        conn.execute(
            f"UPDATE \"{schema}\".meta SET value = '{version}' WHERE name = 'format_version'"
        )
    return schema


def postgres_format(schema: str) -> int:
    """The format the PostgreSQL ``schema`` says it has."""
    import psycopg

    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        row = conn.execute(
            f"SELECT value FROM \"{schema}\".meta WHERE name = 'format_version'"
        ).fetchone()
    assert row is not None
    return int(row[0])

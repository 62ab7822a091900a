"""Databases written before user-defined indexes (format 4: no index tables) keep working
(issue 16): on first open the tables are made and the format becomes 5; their documents stay,
and an index put then indexes them. A format 4 database is the current one without them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.indexes import IndexDefinition
from rookdb.operations import PutIndexesOperation
from rookdb.storage.postgres import storage as postgres_storage
from rookdb.storage.sqlite import FORMAT_VERSION
from rookdb.storage.sqlite.storage import FILE_SUFFIX
from rookdb.testing.backends import postgres_url

_TABLES = ("indexes", "index_entries", "index_references", "reduce_results", "reduce_pages")


def _prepare(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"Name": "kept", "@metadata": {"@collection": "Users"}}, "users/1")
        session.save_changes()


def _check(url: str) -> None:
    with DocumentStore(urls=url, database="old") as store:
        definition = IndexDefinition(
            name="Users/ByName", maps={"from u in docs.Users select new { u.Name }"}
        )
        store.maintenance.send(PutIndexesOperation(definition))
        with store.open_session() as session:
            session.store({"Name": "new", "@metadata": {"@collection": "Users"}}, "users/2")
            session.save_changes()
            found = session.query_index("Users/ByName").order_by("Name")
            assert [u["Name"] for u in found] == ["kept", "new"]


def test_a_format_4_sqlite_file_gets_its_index_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    with DocumentStore(urls=url, database="old") as store:
        _prepare(store)
    path = tmp_path / f"old{FILE_SUFFIX}"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for table in _TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("PRAGMA user_version = 4")
    finally:
        conn.close()
    _check(url)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION == 5
    finally:
        conn.close()


@pytest.mark.rookdb_backends("postgres")
def test_a_format_4_postgres_schema_gets_its_index_tables(store_url: str) -> None:
    import psycopg

    with DocumentStore(urls=store_url, database="old") as store:
        _prepare(store)
        storage = store._storage("old")
        assert isinstance(storage, postgres_storage.PostgresStorage)
        schema = storage.schema
    s = f'"{schema}"'
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        for table in _TABLES:
            conn.execute(f"DROP TABLE {s}.{table}")
        conn.execute(f"UPDATE {s}.meta SET value = '4' WHERE name = 'format_version'")
    _check(store_url)
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        version = conn.execute(
            f"SELECT value FROM {s}.meta WHERE name = 'format_version'"
        ).fetchone()
    assert version is not None and version[0] == str(postgres_storage.FORMAT_VERSION) == "5"

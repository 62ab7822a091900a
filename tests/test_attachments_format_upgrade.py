"""Databases written before attachments (format 3: no attachment tables) keep working (issue
15): on first open the tables are made and the format becomes 4; their documents stay, and
attachments are kept from then on. A format 3 database is the current one without them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.storage.postgres import storage as postgres_storage
from rookdb.storage.sqlite import FORMAT_VERSION
from rookdb.storage.sqlite.storage import FILE_SUFFIX
from rookdb.testing.backends import postgres_url

_TABLES = ("attachments", "attachment_contents", "attachment_chunks")


def _prepare(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "kept", "@metadata": {"@collection": "Users"}}, "users/1")
        session.save_changes()


def _check(url: str) -> None:
    with DocumentStore(urls=url, database="old") as store:
        with store.open_session() as session:
            user = session.load("users/1")
            assert user["name"] == "kept"
            session.advanced.attachments.store(user, "a.txt", b"hello")
            session.save_changes()
        with store.open_session() as session:
            result = session.advanced.attachments.get("users/1", "a.txt")
            assert result is not None
            with result:
                assert result.data == b"hello"


def test_a_format_3_sqlite_file_gets_its_attachment_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    with DocumentStore(urls=url, database="old") as store:
        _prepare(store)
    path = tmp_path / f"old{FILE_SUFFIX}"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for table in _TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("PRAGMA user_version = 3")
    finally:
        conn.close()
    _check(url)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION == 5
    finally:
        conn.close()


@pytest.mark.rookdb_backends("postgres")
def test_a_format_3_postgres_schema_gets_its_attachment_tables(store_url: str) -> None:
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
        conn.execute(f"UPDATE {s}.meta SET value = '3' WHERE name = 'format_version'")
    _check(store_url)
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        version = conn.execute(
            f"SELECT value FROM {s}.meta WHERE name = 'format_version'"
        ).fetchone()
    assert version is not None and version[0] == str(postgres_storage.FORMAT_VERSION) == "5"

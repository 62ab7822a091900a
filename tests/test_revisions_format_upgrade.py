"""Databases written before revisions (format 2: no ``revisions`` table) keep working (issue
15): on first open the table is made and the format becomes the current one (4, with the
attachment and counters tables); their documents stay, and revisions are kept from then on. A
format 2 database is the current one without the tables of formats 3 and 4."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.operations import ConfigureRevisionsOperation
from rookdb.revisions import RevisionsCollectionConfiguration, RevisionsConfiguration
from rookdb.storage.postgres import storage as postgres_storage
from rookdb.storage.sqlite import FORMAT_VERSION
from rookdb.storage.sqlite.storage import FILE_SUFFIX
from rookdb.testing.backends import postgres_url


def _prepare(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "kept", "@metadata": {"@collection": "Users"}}, "users/1")
        session.save_changes()


def _check(url: str) -> None:
    with DocumentStore(urls=url, database="old") as store:
        configuration = RevisionsConfiguration(RevisionsCollectionConfiguration())
        store.maintenance.send(ConfigureRevisionsOperation(configuration))
        with store.open_session() as session:
            user = session.load("users/1")
            assert user["name"] == "kept"
            user["name"] = "changed"
            session.save_changes()
        with store.open_session() as session:
            assert [r["name"] for r in session.advanced.revisions.get_for("users/1")] == ["changed"]


def test_a_format_2_sqlite_file_gets_its_revisions_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    with DocumentStore(urls=url, database="old") as store:
        _prepare(store)
    path = tmp_path / f"old{FILE_SUFFIX}"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP TABLE revisions")
        conn.execute("DROP TABLE counters")  # format 4's
        conn.execute("PRAGMA user_version = 2")
    finally:
        conn.close()
    _check(url)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION == 5
    finally:
        conn.close()


@pytest.mark.rookdb_backends("postgres")
def test_a_format_2_postgres_schema_gets_its_revisions_table(store_url: str) -> None:
    import psycopg

    with DocumentStore(urls=store_url, database="old") as store:
        _prepare(store)
        storage = store._storage("old")
        assert isinstance(storage, postgres_storage.PostgresStorage)
        schema = storage.schema
    s = f'"{schema}"'
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(f"DROP TABLE {s}.revisions")
        conn.execute(f"DROP TABLE {s}.counters")  # format 4's
        conn.execute(f"UPDATE {s}.meta SET value = '2' WHERE name = 'format_version'")
    _check(store_url)
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        version = conn.execute(
            f"SELECT value FROM {s}.meta WHERE name = 'format_version'"
        ).fetchone()
    assert version is not None and version[0] == str(postgres_storage.FORMAT_VERSION) == "5"

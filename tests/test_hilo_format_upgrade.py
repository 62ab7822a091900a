"""Databases written before HiLo ranges moved into ``Raven/Hilo/<tag>`` documents (format 1:
a ``hilo`` table) keep working (issue 14): on first open, each range moves into its tag's
document, the table goes, the format becomes 2, and no id is handed out twice.

The old databases are made as rookdb 0.1 (format 1) wrote them: the current schema is format 1
without the documents and with the table, which is all format 2 changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from rookdb import DocumentStore
from rookdb.storage.postgres import schema as postgres_schema
from rookdb.storage.postgres import storage as postgres_storage
from rookdb.storage.sqlite import FORMAT_VERSION
from rookdb.storage.sqlite.schema import FILE_SUFFIX
from rookdb.testing.backends import postgres_url
from rookdb.testing.suite.models import Employee

#: What format 1 held: the next ranges after these highs; "people" also had a document there,
#: stored by a user (a RavenDB client, say), with a higher Max and a field of its own.
RANGES = {"employees": 40, "people": 500, "things": 7}
USER_HILO = {"Max": 1000, "Note": "mine", "@metadata": {"@collection": "@hilo"}}


def _prepare(store: DocumentStore) -> None:
    """Some documents, and the user's own ``Raven/Hilo/people``."""
    with store.open_session() as session:
        session.store({"name": "kept"}, "things/kept")
        session.store(dict(USER_HILO), "Raven/Hilo/people")
        session.save_changes()


def _downgrade_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("CREATE TABLE hilo (prefix TEXT PRIMARY KEY, high INTEGER NOT NULL)")
        conn.executemany("INSERT INTO hilo VALUES (?, ?)", RANGES.items())
        conn.execute("DELETE FROM documents WHERE key IN ('raven/hilo/employees')")
        conn.execute("DROP TABLE revisions")  # format 3's
        conn.execute("PRAGMA user_version = 1")
    finally:
        conn.close()


def _sqlite_state(path: Path) -> tuple[int, bool]:
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'hilo'").fetchone()
        return version, table is not None
    finally:
        conn.close()


def _check_upgraded(open_store: Callable[[], DocumentStore]) -> None:
    with open_store() as store:
        with store.open_session() as session:
            assert session.load("Raven/Hilo/employees")["Max"] == 40
            people = session.load("Raven/Hilo/people")
            assert (people["Max"], people["Note"]) == (1000, "mine")  # the higher one wins
            assert session.load("Raven/Hilo/things")["Max"] == 7
            assert session.load("things/kept")["name"] == "kept"
            employee = Employee("After")
            session.store(employee)
            session.store({"v": 1, "@metadata": {"@collection": "People"}}, None)
            session.save_changes()
            assert employee.Id == "employees/41-A"  # past the old range
        stats = store.maintenance.get_statistics()
        assert stats.collections["@hilo"] == 3
    with open_store() as store, store.open_session() as session:
        # Opened again: nothing moves twice; the next range is past everything handed out.
        employee = Employee("Again")
        session.store(employee)
        session.save_changes()
        assert int(employee.Id.split("/")[1].split("-")[0]) > 41


def test_a_format_1_sqlite_file_moves_its_ranges_into_documents(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    with DocumentStore(urls=url, database="old") as store:
        _prepare(store)
    path = tmp_path / f"old{FILE_SUFFIX}"
    _downgrade_sqlite(path)
    assert _sqlite_state(path) == (1, True)
    _check_upgraded(lambda: DocumentStore(urls=url, database="old").initialize())
    assert _sqlite_state(path) == (FORMAT_VERSION, False)


@pytest.mark.rookdb_backends("postgres")
def test_a_format_1_postgres_schema_moves_its_ranges_into_documents(store_url: str) -> None:
    import psycopg

    with DocumentStore(urls=store_url, database="old") as store:
        _prepare(store)
        storage = store._storage("old")
        assert isinstance(storage, postgres_storage.PostgresStorage)
        schema = storage.schema
    s = f'"{schema}"'
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.hilo (prefix text PRIMARY KEY, high bigint NOT NULL)")
        for tag, high in RANGES.items():
            conn.execute(f"INSERT INTO {s}.hilo VALUES (%s, %s)", (tag, high))
        conn.execute(f"DELETE FROM {s}.documents WHERE key = 'raven/hilo/employees'")
        conn.execute(f"DROP TABLE {s}.revisions")  # format 3's
        conn.execute(f"UPDATE {s}.meta SET value = '1' WHERE name = 'format_version'")
    _check_upgraded(lambda: DocumentStore(urls=store_url, database="old").initialize())
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        version = conn.execute(
            f"SELECT value FROM {s}.meta WHERE name = 'format_version'"
        ).fetchone()
        table = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'hilo'", (schema,)
        ).fetchone()
        body = conn.execute(
            f"SELECT body FROM {s}.documents WHERE key = 'raven/hilo/things'"
        ).fetchone()
    assert (version[0], table) == (str(postgres_schema.FORMAT_VERSION), None)
    assert orjson.loads(orjson.dumps(body[0]))["Max"] == 7  # the jsonb copy queries read

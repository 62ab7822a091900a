"""Databases written before attachments (format 3: no attachment tables) keep working (issue
15): on first open the tables are made and the format becomes the current one; their
documents stay, and attachments are kept from then on (``tests/format_upgrades.py`` makes the
old ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.storage.sqlite import FORMAT_VERSION
from tests.format_upgrades import (
    DATABASE,
    older_postgres_schema,
    older_sqlite_file,
    postgres_format,
    sqlite_format,
)


def _check(url: str) -> None:
    with DocumentStore(urls=url, database=DATABASE) as store:
        with store.open_session() as session:
            user = session.load("users/1")
            assert user["Name"] == "kept"
            session.advanced.attachments.store(user, "a.txt", b"hello")
            session.save_changes()
        with store.open_session() as session:
            result = session.advanced.attachments.get("users/1", "a.txt")
            assert result is not None
            with result:
                assert result.data == b"hello"


def test_a_format_3_sqlite_file_gets_its_attachment_tables(tmp_path: Path) -> None:
    path = older_sqlite_file(tmp_path, 3)
    _check(f"sqlite:///{tmp_path}")
    assert sqlite_format(path) == FORMAT_VERSION


@pytest.mark.rookdb_backends("postgres")
def test_a_format_3_postgres_schema_gets_its_attachment_tables(store_url: str) -> None:
    schema = older_postgres_schema(store_url, 3)
    _check(store_url)
    assert postgres_format(schema) == FORMAT_VERSION

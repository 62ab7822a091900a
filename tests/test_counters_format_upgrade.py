"""Databases written before counters (format 3: no ``counters`` table) keep working (issue
15): on first open the table is made and the format becomes the current one; their documents
stay, and counters work from then on (``tests/format_upgrades.py`` makes the old ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.storage.commands import CounterOperation, CountersCommand
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
        storage = store._storage(DATABASE)
        storage.apply([CountersCommand("users/1", (CounterOperation("Increment", "likes", 3),))])
        assert storage.get_counters("users/1") == {"likes": 3}
        with store.open_session() as session:
            user = session.load("users/1")
            assert user["Name"] == "kept"
            assert session.advanced.get_metadata_for(user)["@counters"] == ["likes"]


def test_a_format_3_sqlite_file_gets_its_counters_table(tmp_path: Path) -> None:
    path = older_sqlite_file(tmp_path, 3)
    _check(f"sqlite:///{tmp_path}")
    assert sqlite_format(path) == FORMAT_VERSION


@pytest.mark.rookdb_backends("postgres")
def test_a_format_3_postgres_schema_gets_its_counters_table(store_url: str) -> None:
    schema = older_postgres_schema(store_url, 3)
    _check(store_url)
    assert postgres_format(schema) == FORMAT_VERSION

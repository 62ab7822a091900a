"""Databases written before user-defined indexes (format 4: no index tables) keep working
(issue 16): on first open the tables are made and the format becomes 5; their documents stay,
and an index put then indexes them. (``tests/format_upgrades.py`` makes the old ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.indexes import IndexDefinition
from rookdb.operations import PutIndexesOperation
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
    path = older_sqlite_file(tmp_path, 4)
    _check(f"sqlite:///{tmp_path}")
    assert sqlite_format(path) == FORMAT_VERSION


@pytest.mark.rookdb_backends("postgres")
def test_a_format_4_postgres_schema_gets_its_index_tables(store_url: str) -> None:
    schema = older_postgres_schema(store_url, 4)
    _check(store_url)
    assert postgres_format(schema) == FORMAT_VERSION

"""Databases written before revisions (format 2: no ``revisions`` table) keep working (issue
15): on first open the table is made and the format becomes the current one; their documents
stay, and revisions are kept from then on (``tests/format_upgrades.py`` makes the old ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.operations import ConfigureRevisionsOperation
from rookdb.revisions import RevisionsCollectionConfiguration, RevisionsConfiguration
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
        configuration = RevisionsConfiguration(RevisionsCollectionConfiguration())
        store.maintenance.send(ConfigureRevisionsOperation(configuration))
        with store.open_session() as session:
            user = session.load("users/1")
            assert user["Name"] == "kept"
            user["Name"] = "changed"
            session.save_changes()
        with store.open_session() as session:
            assert [r["Name"] for r in session.advanced.revisions.get_for("users/1")] == ["changed"]


def test_a_format_2_sqlite_file_gets_its_revisions_table(tmp_path: Path) -> None:
    path = older_sqlite_file(tmp_path, 2)
    _check(f"sqlite:///{tmp_path}")
    assert sqlite_format(path) == FORMAT_VERSION


@pytest.mark.rookdb_backends("postgres")
def test_a_format_2_postgres_schema_gets_its_revisions_table(store_url: str) -> None:
    schema = older_postgres_schema(store_url, 2)
    _check(store_url)
    assert postgres_format(schema) == FORMAT_VERSION

"""Index storage's insides on SQLite files (issue 16): an index left building (a process
stopped mid-build) answers stale, ``wait_for_non_stale_results`` waits for it with a typed
error at its end, and putting it again finishes the build."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import cast

import psycopg
import pytest

from rookdb import DocumentStore, NonStaleResultsTimeoutError
from rookdb.indexes import IndexDefinition
from rookdb.operations import GetIndexStatisticsOperation, PutIndexesOperation
from rookdb.query import QueryStatistics
from rookdb.storage.postgres.storage import PostgresStorage
from rookdb.storage.relational.index_maintenance import GROUP_LOCK_BUCKETS
from rookdb.storage.sqlite.schema import FILE_SUFFIX
from rookdb.testing.backends import postgres_url

_DEFINITION = IndexDefinition(
    name="Users/ByName", maps={"from u in docs.Users select new { u.Name }"}
)


def test_an_index_left_building_is_stale_until_put_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    with DocumentStore(urls=url, database="db") as store:
        with store.open_session() as session:
            for i in range(3):
                session.store(
                    {"Name": f"n{i}", "@metadata": {"@collection": "Users"}}, f"users/{i}"
                )
            session.save_changes()
        store.maintenance.send(PutIndexesOperation(_DEFINITION))
    # As if the process had stopped after the put's first transaction: no entries, Building.
    conn = sqlite3.connect(tmp_path / f"db{FILE_SUFFIX}", isolation_level=None)
    conn.execute("DELETE FROM index_entries")
    conn.execute("UPDATE indexes SET state = 'Building'")
    conn.close()
    with DocumentStore(urls=url, database="db") as store:
        seen: list[QueryStatistics] = []
        with store.open_session() as session:
            assert list(session.query_index("Users/ByName").statistics(seen.append)) == []
            assert seen[0].is_stale
            with pytest.raises(NonStaleResultsTimeoutError):
                list(session.query_index("Users/ByName").wait_for_non_stale_results(0.05))
        assert store.maintenance.send(GetIndexStatisticsOperation("Users/ByName")).is_stale
        store.maintenance.send(PutIndexesOperation(_DEFINITION))  # unchanged: the build goes on
        with store.open_session() as session:
            found = session.query_index("Users/ByName").wait_for_non_stale_results()
            assert sorted(u["Name"] for u in found) == ["n0", "n1", "n2"]


@pytest.mark.rookdb_backends("postgres")
def test_postgres_group_locks_are_per_database(
    new_store: Callable[..., DocumentStore],
) -> None:
    # Two databases (schemas) of one PostgreSQL database: a transaction holding every group
    # lock of one database's index 1 does not hold the other's (a lock wait would end the
    # statement with LockNotAvailable after lock_timeout), while it does hold its own.
    storages = [cast(PostgresStorage, new_store(database=db)._storage(db)) for db in "ab"]
    locks = [s._index_sql.lock_group for s in storages]
    buckets = range(GROUP_LOCK_BUCKETS)
    with psycopg.connect(postgres_url()) as holder, psycopg.connect(postgres_url()) as other:
        for bucket in buckets:
            holder.execute(locks[0], (1, bucket))
        other.execute("SET lock_timeout = '2s'")
        other.commit()  # (a SET is undone with its transaction)
        for bucket in buckets:
            other.execute(locks[1], (1, bucket))
        other.rollback()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute(locks[0], (1, 0))

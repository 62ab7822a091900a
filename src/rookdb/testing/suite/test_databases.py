"""Databases and their statistics through ``store.maintenance``, on every backend: creating a
database that exists is an error (as RavenDB's ``CreateDatabaseOperation``), opening one
creates it on first use; statistics measure what storage holds."""

from __future__ import annotations

import pytest

from rookdb import DatabaseAlreadyExistsError, DocumentStore


def test_creating_a_database_that_exists_is_an_error(store: DocumentStore) -> None:
    store.maintenance.create_database("Created")
    assert "Created" in store.maintenance.list_databases()
    with store.open_session(database="Created") as session:
        session.store({"n": 1}, "things/1")
        session.save_changes()
    for name in ("Created", "CREATED"):  # database names are case-insensitive
        with pytest.raises(DatabaseAlreadyExistsError, match="already exists"):
            store.maintenance.create_database(name)
    with store.open_session(database="Created") as session:  # nothing changed
        assert session.load("things/1") == {"n": 1}
    store.maintenance.delete_database("Created")


def test_the_stores_own_database_exists_once_used(store: DocumentStore) -> None:
    with store.open_session() as session:  # created on first use, no error
        session.store({"n": 1}, "things/1")
        session.save_changes()
    with pytest.raises(DatabaseAlreadyExistsError):
        store.maintenance.create_database(store.database)


def test_a_database_created_explicitly_is_then_used(store: DocumentStore) -> None:
    store.maintenance.create_database("Fresh")
    with store.open_session(database="Fresh") as session:
        session.store({"n": 2}, "things/2")
        session.save_changes()
    assert store.maintenance.get_statistics("Fresh").count_of_documents == 1
    store.maintenance.delete_database("Fresh")


def test_statistics_measure_what_storage_holds(store: DocumentStore) -> None:
    with store.open_session() as session:  # the database exists, empty
        assert session.load("things/0") is None
    empty = store.maintenance.get_statistics()
    assert (empty.count_of_documents, empty.last_doc_etag) == (0, 0)
    assert empty.database_change_vector == ""
    assert empty.size_on_disk > 0  # its tables are there

    with store.open_session() as session:
        for i in range(300):
            session.store({"text": f"{i:04d}" * 250}, f"things/{i}")  # 1 kB each
        session.save_changes()
    with store.open_session() as session:
        last = session.load("things/299")
        last["text"] = "changed"
        session.save_changes()
        vector = session.advanced.get_change_vector_for(last)
    stats = store.maintenance.get_statistics()
    assert stats.count_of_documents == 300 and stats.collections == {"things": 300}
    # The database's change vector is the last write's, in RavenDB's form A:<etag>-<id>.
    assert stats.database_change_vector == vector
    assert vector.startswith(f"A:{stats.last_doc_etag}-") and stats.last_doc_etag >= 301
    assert stats.database_id and vector.endswith(stats.database_id)
    assert stats.size_on_disk >= empty.size_on_disk + 300 * 1000

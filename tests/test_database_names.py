"""Database names are case-insensitive on every backend, on disk too (issue 12 §1).

A database written as ``Probe_Case`` is the same database as ``probe_case`` and ``PROBE_CASE``,
in this store, in a new store, after a server restart, and for ``delete_database``; the name keeps
the case it was created with in listings, as in RavenDB.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from rookdb import ConfigurationError, DatabaseDoesNotExistError, DocumentStore, StorageError
from rookdb.storage.sqlite import FILE_SUFFIX
from rookdb.testing.backends import start_server


def _write(store: DocumentStore, database: str) -> None:
    with store.open_session(database=database) as session:
        session.store({"kept": True}, "probes/1")
        session.save_changes()


def _found(store: DocumentStore, database: str) -> bool:
    with store.open_session(database=database) as session:
        return session.load("probes/1") is not None


def test_every_spelling_of_a_name_is_one_database(
    new_store: Callable[..., DocumentStore],
) -> None:
    store = new_store().initialize()
    _write(store, "Probe_Case")
    assert _found(store, "probe_case") and _found(store, "PROBE_CASE")
    if store.backend.capabilities.shared_in_process:
        # A new store (a new process, a restarted server) reads the lower-case name first.
        fresh = new_store().initialize()
        assert _found(fresh, "probe_case")
        assert _found(fresh, "Probe_Case")
    listed = [n for n in store.maintenance.list_databases() if n.lower() == "probe_case"]
    assert listed == ["Probe_Case"]  # once, in the case it was created with


def test_delete_in_another_case_removes_the_data(
    new_store: Callable[..., DocumentStore],
) -> None:
    store = new_store().initialize()
    _write(store, "Probe_Case")
    store.maintenance.delete_database("PROBE_CASE")
    assert not any(n.lower() == "probe_case" for n in store.maintenance.list_databases())
    assert not _found(store, "Probe_Case")
    if store.backend.capabilities.shared_in_process:
        assert not _found(new_store().initialize(), "probe_case")
    with pytest.raises(DatabaseDoesNotExistError):
        store.maintenance.delete_database("nothing_here")


@pytest.mark.rookdb_requires("shared_in_process")
def test_a_write_after_another_store_deleted_the_database_is_never_lost(
    new_store: Callable[..., DocumentStore],
) -> None:
    """A store that had the database open when another deleted it either refuses its next
    write or writes it where a new store finds it: a write is never acknowledged and gone."""
    writer, deleter = new_store().initialize(), new_store().initialize()
    _write(writer, "Two")
    deleter.maintenance.delete_database("two")
    try:
        with writer.open_session(database="Two") as session:
            session.store({"after": True}, "probes/2")
            session.save_changes()
    except StorageError:
        acknowledged = False
    else:
        acknowledged = True
    with new_store().initialize().open_session(database="two") as session:
        assert (session.load("probes/2") is not None) == acknowledged
        assert session.load("probes/1") is None  # what was deleted stays deleted


# -- SQLite files ------------------------------------------------------------------------------


def _legacy_file(directory: Path, name: str) -> None:
    """A database file named in the case it was created with, as rookdb 0.1 wrote them."""
    with DocumentStore(urls=f"sqlite:///{directory}", database=name) as store:
        _write(store, name)
    canonical = directory / f"{name.lower()}{FILE_SUFFIX}"
    canonical.rename(directory / f"{name}{FILE_SUFFIX}")


def test_a_file_in_any_case_is_found(tmp_path: Path) -> None:
    _legacy_file(tmp_path, "Probe_Case")
    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="PROBE_CASE") as store:
        assert _found(store, "probe_case")
        assert store.maintenance.list_databases() == ["Probe_Case"]
        assert sorted(p.name for p in tmp_path.glob(f"*{FILE_SUFFIX}")) == [
            f"Probe_Case{FILE_SUFFIX}"
        ]  # nothing new made beside it
        store.maintenance.delete_database("probe_CASE")
        assert list(tmp_path.iterdir()) == []


def test_new_files_have_one_name_whatever_the_case_asked(tmp_path: Path) -> None:
    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="Northwind") as store:
        _write(store, "Northwind")
    assert [p.name for p in tmp_path.glob(f"*{FILE_SUFFIX}")] == [f"northwind{FILE_SUFFIX}"]
    with DocumentStore(urls=f"sqlite:///{tmp_path}") as store:
        assert store.maintenance.list_databases() == ["Northwind"]


def test_two_files_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    for name in ("Twice", "TWICE"):
        sqlite3.connect(tmp_path / f"{name}{FILE_SUFFIX}").close()
    with (
        DocumentStore(urls=f"sqlite:///{tmp_path}", database="twice") as store,
        pytest.raises(ConfigurationError, match="differ only in case"),
    ):
        store.open_session()
    assert len(list(tmp_path.iterdir())) == 2  # nothing created, nothing removed


# -- through the server -----------------------------------------------------------------------


def test_a_restarted_server_finds_a_database_in_any_case(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    put = {"Commands": [{"Type": "PUT", "Id": "probes/1", "Document": {"v": 1}}]}
    served = start_server("--data", data)
    try:
        response = httpx.post(  # created on first use, as rookdb's client asks
            f"{served.url}/databases/Probe_Case/bulk_docs",
            json=put,
            headers={"Rookdb-Create-Database": "true"},
        )
        assert response.status_code == 201
    finally:
        served.process.terminate()
        served.process.wait(timeout=15)
    served = start_server("--data", data)
    try:
        for name in ("probe_case", "Probe_Case"):
            got = httpx.get(f"{served.url}/databases/{name}/docs", params={"id": "probes/1"})
            assert got.status_code == 200, name
        deleted = httpx.request(
            "DELETE", f"{served.url}/admin/databases", json={"DatabaseNames": ["PROBE_CASE"]}
        )
        assert deleted.status_code == 200
        assert not list(Path(data).glob(f"*{FILE_SUFFIX}"))
    finally:
        served.process.terminate()
        served.process.wait(timeout=15)

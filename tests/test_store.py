"""DocumentStore: URLs, databases, conventions, maintenance and events (SPEC §2.1, §2.5)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import rookdb
from rookdb import (
    AfterSaveChangesEventArgs,
    BeforeDeleteEventArgs,
    BeforeQueryEventArgs,
    BeforeStoreEventArgs,
    ConfigurationError,
    DatabaseDoesNotExistError,
    DocumentStore,
    InvalidOperationError,
    SessionOptions,
)
from rookdb.testing.suite.models import Employee


def test_public_api_is_sorted_and_complete() -> None:
    assert rookdb.__all__ == sorted(rookdb.__all__)
    public = {
        name
        for name, value in vars(rookdb).items()
        if not name.startswith(("_", "@")) and not isinstance(value, types.ModuleType)
    }
    assert public == set(rookdb.__all__)


def test_memory_is_private_per_store_and_named_memory_is_shared() -> None:
    with DocumentStore(urls="memory://") as a, DocumentStore(urls="memory://") as b:
        with a.open_session() as session:
            session.store(Employee("A"), "employees/1")
            session.save_changes()
        with b.open_session() as session:
            assert session.load("employees/1") is None
    with DocumentStore(urls="memory://shared-test") as a, a.open_session() as session:
        session.store(Employee("A"), "employees/1")
        session.save_changes()
    with DocumentStore(urls="memory://shared-test") as b, b.open_session() as session:
        assert session.load("employees/1", Employee).first_name == "A"


def test_rookdb_url_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROOKDB_URL", f"sqlite:///{tmp_path}/env-data")
    with DocumentStore() as store, store.open_session() as session:
        session.store(Employee("A"), "employees/1")
        session.save_changes()
    assert (tmp_path / "env-data" / "default.rookdb").exists()


def test_sqlite_url_forms(tmp_path: Path, in_tmp_dir: None) -> None:
    for url, expected in [
        ("sqlite:///./rel", Path("rel/default.rookdb")),
        (f"sqlite:///{tmp_path}/abs", tmp_path / "abs" / "default.rookdb"),
        (f"sqlite:////{str(tmp_path).lstrip('/')}/abs2", tmp_path / "abs2" / "default.rookdb"),
    ]:
        with DocumentStore(urls=url) as store:
            store.initialize()
            store.open_session().close()
        assert expected.exists(), url


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_sqlite_memory_forms_are_memory(url: str, in_tmp_dir: None) -> None:
    """As in SQLAlchemy: ``sqlite://`` and ``sqlite:///:memory:`` are in-memory databases,
    private to the store; nothing appears in the working directory."""
    with DocumentStore(urls=url) as a, DocumentStore(urls=url) as b:
        with a.open_session() as session:
            session.store(Employee("A"), "employees/1")
            session.save_changes()
        with a.open_session() as session:
            assert session.load("employees/1", Employee).first_name == "A"
        with b.open_session() as session:
            assert session.load("employees/1") is None
        assert not a.backend.capabilities.persistent
    assert list(Path(".").iterdir()) == []


@pytest.mark.parametrize("name", ["app.db", "app.sqlite", "app.sqlite3", "app.db3", "app.rookdb"])
def test_a_sqlite_url_naming_a_file_is_a_clear_error(name: str, in_tmp_dir: None) -> None:
    """``sqlite:///PATH`` is a directory of database files: a URL that names a database file
    (as a SQLAlchemy URL would) is refused with the form to use, and nothing is made."""
    with pytest.raises(ConfigurationError, match="directory"):
        DocumentStore(urls=f"sqlite:///{name}").initialize()
    Path("existing").write_text("a file")
    with pytest.raises(ConfigurationError, match="is a file"):
        DocumentStore(urls="sqlite:///existing").initialize()
    assert sorted(p.name for p in Path(".").iterdir()) == ["existing"]


def test_urls_as_a_list(tmp_path: Path) -> None:
    with DocumentStore(urls=[f"sqlite:///{tmp_path}"], database="Northwind") as store:
        assert store.urls == [f"sqlite:///{tmp_path}"] and store.database == "Northwind"
        store.open_session().close()
    assert (tmp_path / "northwind.rookdb").exists()  # names are case-insensitive on disk too


def test_initialize_is_idempotent_and_freezes_conventions(new_store: Any) -> None:
    store = new_store()
    store.conventions.max_number_of_requests_per_session = 5
    with store:
        assert store.initialize() is store.initialize()
        with pytest.raises(ConfigurationError):
            store.conventions.max_number_of_requests_per_session = 6
        with store.open_session() as session:
            assert session.advanced.max_number_of_requests_per_session == 5


def test_enter_does_not_initialize(new_store: Any) -> None:
    with new_store() as store:
        store.conventions.use_optimistic_concurrency = True  # still allowed
        assert store._backend is None


def test_closed_store(new_store: Any) -> None:
    store = new_store()
    store.close()
    with pytest.raises(InvalidOperationError):
        store.open_session()


def test_sessions_on_several_databases(store: DocumentStore) -> None:
    with store.open_session(database="Other") as session:
        session.store(Employee("Elsewhere"), "employees/1")
        session.save_changes()
    with store.open_session(session_options=SessionOptions(database="Other")) as session:
        assert session.load("employees/1", Employee).first_name == "Elsewhere"
    with store.open_session() as session:
        assert session.load("employees/1") is None
    assert {"Other", "default"} <= set(store.maintenance.list_databases())


def test_maintenance(store: DocumentStore) -> None:
    store.maintenance.create_database("Reports")
    assert "Reports" in store.maintenance.list_databases()
    with store.open_session(database="Reports") as session:
        session.store(Employee("A"), "employees/1")
        session.store({"x": 1}, "things/1")
        session.save_changes()
    stats = store.maintenance.get_statistics("Reports")
    assert (stats.count_of_documents, stats.collections) == (2, {"Employees": 1, "things": 1})
    store.maintenance.delete_database("Reports")
    assert "Reports" not in store.maintenance.list_databases()
    with pytest.raises(DatabaseDoesNotExistError):
        store.maintenance.delete_database("Reports")
    with store.open_session(database="Reports") as session:  # created again on first use
        assert session.load("employees/1") is None


def test_store_events_are_copied_into_each_session(store: DocumentStore) -> None:
    seen: list[tuple[str, str]] = []

    def before_store(args: BeforeStoreEventArgs) -> None:
        seen.append(("before_store", args.document_id))
        args.entity.stamped = True  # what the handler leaves is what is written
        args.document_metadata["stamp"] = "yes"

    store.add_before_store(before_store)
    store.add_after_save_changes(
        lambda a: (
            seen.append(("after_save", a.document_id))
            if isinstance(a, AfterSaveChangesEventArgs)
            else None
        )
    )
    store.add_before_delete(
        lambda a: (
            seen.append(("before_delete", a.document_id))
            if isinstance(a, BeforeDeleteEventArgs)
            else None
        )
    )
    store.add_before_query(
        lambda a: (
            seen.append(("before_query", a.query.collection or ""))
            if isinstance(a, BeforeQueryEventArgs)
            else None
        )
    )
    with store.open_session() as session:
        employee = Employee("A")
        session.store(employee, "employees/1")
        assert [str(c.change) for c in session.advanced.what_changed()["employees/1"]] == [
            "document_added"
        ]
        session.save_changes()
        assert employee.stamped is True  # type: ignore[attr-defined]
        assert session.advanced.has_changes is False
        session.delete(employee)
        session.save_changes()
        session.query(object_type=Employee).to_list()
    assert seen == [
        ("before_store", "employees/1"),
        ("after_save", "employees/1"),
        ("before_delete", "employees/1"),
        ("before_query", "Employees"),
    ]


def test_session_events_stay_in_their_session(store: DocumentStore) -> None:
    seen: list[str] = []
    with store.open_session() as session:
        session.advanced.add_before_store(lambda a: seen.append(a.document_id))
        session.store(Employee("A"), "employees/1")
        session.save_changes()
    with store.open_session() as session:
        session.store(Employee("B"), "employees/2")
        session.save_changes()
    assert seen == ["employees/1"]


def test_a_session_dropped_without_close_is_freed_at_once(tmp_path: Path) -> None:
    """A session holds no reference cycle (``advanced`` is a view made on each access), so one
    dropped without ``close()`` is freed by its last reference going, with its identity map,
    not at the garbage collector's next full collection (issue 18: an unclosed session's
    entities were GC work for every collection until then)."""
    import gc
    import weakref

    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="d") as store:
        with store.open_session() as session:
            session.store(Employee("Ada"), "employees/1")
            session.save_changes()
        was_enabled = gc.isenabled()
        gc.disable()  # only reference counting may free it
        try:
            session = store.open_session()
            employee = session.load("employees/1", Employee)
            session.advanced.max_number_of_requests_per_session = 99  # the session's setting
            assert session.advanced.max_number_of_requests_per_session == 99
            assert session.advanced.what_changed() == {}
            gone = weakref.ref(session)
            del session
            assert gone() is None
            assert employee.first_name == "Ada"  # the user's objects stay theirs
        finally:
            if was_enabled:
                gc.enable()


def test_a_store_that_names_its_collections_never_imports_inflect() -> None:
    """inflect's import is slow (typeguard sets up its type checks as it is imported: ~1.6 s):
    it happens only when a process first needs a default collection name, so one that names
    its collections itself (``conventions.find_collection_name``) never pays it."""
    code = (
        "import sys\n"
        "from rookdb import DocumentStore\n"
        "class Employee:\n"
        "    def __init__(self, name): self.name = name\n"
        "store = DocumentStore(urls='memory://', database='db')\n"
        "store.conventions.find_collection_name = lambda cls: cls.__name__ + 's'\n"
        "with store.initialize(), store.open_session() as session:\n"
        "    session.store(Employee('a'), 'employees/1')\n"
        "    session.store({'name': 'b'}, 'people/1')\n"
        "    session.save_changes()\n"
        "    assert session.query(object_type=Employee).count() == 1\n"
        "print('inflect' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"

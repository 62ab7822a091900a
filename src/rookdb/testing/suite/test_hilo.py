"""HiLo ranges as RavenDB keeps them (issue 14): a ``Raven/Hilo/<tag>`` document per tag, in the
``@hilo`` collection, with ``Max`` the top of the last range reserved; RavenDB's range sizes;
unused ids given back; never an id twice, whichever stores ask, across restarts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from rookdb import ChangeType, DocumentStore
from rookdb.errors import InvalidOperationError
from rookdb.ids import HiLoIdGenerator
from rookdb.testing.async_mode import BlockingSession
from rookdb.testing.recording import Call, record_requests
from rookdb.testing.suite.models import Employee


def _hilo(store: DocumentStore, tag: str = "employees") -> dict[str, object] | None:
    with store.open_session() as session:
        document = session.load(f"Raven/Hilo/{tag}")
        if document is None:
            return None
        assert session.advanced.get_metadata_for(document)["@collection"] == "@hilo"
        return dict(document)


def _store_employees(store: DocumentStore, count: int) -> list[str]:
    with store.open_session() as session:
        employees = [Employee(f"E{i}") for i in range(count)]
        for employee in employees:
            session.store(employee)
        session.save_changes()
    return [e.Id for e in employees if e.Id is not None]


def test_a_range_is_a_document_in_the_hilo_collection(store: DocumentStore) -> None:
    assert _store_employees(store, 2) == ["employees/1-A", "employees/2-A"]
    assert _hilo(store) == {"Max": 32}  # the first range: 32 numbers
    with store.open_session() as session:
        # A document like any other: in its own collection, not in the entities' queries.
        assert [e.first_name for e in session.query(Employee)] == ["E0", "E1"]
        assert session.query(collection_name="@hilo").count() == 1
        assert session.advanced.exists("raven/hilo/EMPLOYEES")
    stats = store.maintenance.get_statistics()
    assert stats.collections == {"@hilo": 1, "Employees": 2}
    assert stats.count_of_documents == 3


def test_storing_the_document_moves_the_next_range(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"Max": 100, "@metadata": {"@collection": "@hilo"}}, "Raven/Hilo/employees")
        session.save_changes()
    assert _store_employees(store, 1) == ["employees/101-A"]
    assert _hilo(store) == {"Max": 132}


def test_ranges_double_while_they_run_out_and_the_unused_end_goes_back(
    store: DocumentStore,
) -> None:
    generator = HiLoIdGenerator(store._storage(store.database))
    ids = [generator.next_id("employees") for _ in range(33)]
    assert ids[-1] == "employees/33-A"
    assert _hilo(store) == {"Max": 32 + 64}  # the second range, within 30 s: twice the first
    generator.return_unused()
    assert _hilo(store) == {"Max": 33}
    assert HiLoIdGenerator(store._storage(store.database)).next_id("employees") == "employees/34-A"


def test_a_range_set_back_by_hand_is_not_handed_out_again(store: DocumentStore) -> None:
    generator = HiLoIdGenerator(store._storage(store.database))
    first = [generator.next_id("employees") for _ in range(32)]
    with store.open_session() as session:
        session.store({"Max": 0, "@metadata": {"@collection": "@hilo"}}, "Raven/Hilo/employees")
        session.save_changes()
    # The next range starts past the generator's last one (RavenDB's lastMax), not at 1.
    assert generator.next_id("employees") == "employees/33-A"
    assert "employees/33-A" not in first


def test_other_fields_of_the_document_are_kept(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(
            {"Max": 7, "Note": "kept", "@metadata": {"@collection": "@hilo"}},
            "Raven/Hilo/employees",
        )
        session.save_changes()
    assert _store_employees(store, 1) == ["employees/8-A"]
    assert _hilo(store) == {"Max": 39, "Note": "kept"}


@pytest.mark.rookdb_requires("shared_in_process")
def test_never_an_id_twice_across_stores_and_restarts(
    new_store: Callable[..., DocumentStore],
) -> None:
    seen: list[str] = []
    first, second = new_store().initialize(), new_store().initialize()
    for _ in range(3):
        seen += _store_employees(first, 40)
        seen += _store_employees(second, 25)
    first.close()  # gives back its unused end, which the next store may take
    third = new_store().initialize()
    for _ in range(3):
        seen += _store_employees(third, 30)
        seen += _store_employees(second, 30)
    second.close()
    third.close()
    fourth = new_store().initialize()
    seen += _store_employees(fourth, 100)
    assert len(set(seen)) == len(seen) == 3 * 65 + 3 * 60 + 100
    stats = fourth.maintenance.get_statistics()
    assert stats.collections["Employees"] == len(seen)


# -- ids awaited by the async session ----------------------------------------------------------
# On an event loop the async session never reserves a HiLo range (a request): an entity stored
# there when its generator has no number left is tracked under the provisional id
# "employees/" and gets its HiLo id at the next save_changes. The sync session (and the async
# one off the loop) gives it at once. Either way it is a change like any other (S4).


def _store_on_the_loop(session: Any, *entities: object) -> None:
    """``session.store`` of each entity, on the event loop in async mode (where the async
    session's ``store`` runs in an application), directly in sync mode."""
    if not isinstance(session, BlockingSession):
        for entity in entities:
            session.store(entity)
        return
    waiting = session.async_session

    async def store_them() -> None:
        for entity in entities:
            waiting.store(entity)

    session._loop.run(store_them())


def _ranges_reserved(calls: list[Call]) -> int:
    return sum(call.method == "reserve_ids" for call in calls)


def test_entities_waiting_for_a_hilo_id_are_changes_until_save_gives_them_one(
    store: DocumentStore, session_mode: str
) -> None:
    calls = record_requests(store)
    employees = [Employee("Ada"), Employee("Bob"), Employee("Cy")]
    with store.open_session() as session:
        _store_on_the_loop(session, *employees)
        waiting = session_mode == "async"
        assert _ranges_reserved(calls) == (0 if waiting else 1)  # never on the loop
        changed = session.advanced.what_changed()
        assert session.has_changes() and session.has_changes() == bool(changed)
        if waiting:  # the provisional id, until the save
            assert list(changed) == ["employees/"]
            assert [e.Id for e in employees] == [None, None, None]
        else:
            assert list(changed) == ["employees/1-A", "employees/2-A", "employees/3-A"]
        added = [entry for entries in changed.values() for entry in entries]
        assert [entry.field_new_value["first_name"] for entry in added] == ["Ada", "Bob", "Cy"]
        assert all(entry.change is ChangeType.DOCUMENT_ADDED for entry in added)
        assert all(session.advanced.has_changed(e) for e in employees)
        session.save_changes()
        assert _ranges_reserved(calls) == 1
        # HiLo ids in store order, written back to the entities.
        assert [e.Id for e in employees] == ["employees/1-A", "employees/2-A", "employees/3-A"]
        assert [session.advanced.get_document_id(e) for e in employees] == [e.Id for e in employees]
        assert not session.has_changes() and session.advanced.what_changed() == {}
        assert not any(session.advanced.has_changed(e) for e in employees)
        assert session.load("employees/2-A", Employee) is employees[1]
    with store.open_session() as session:
        loaded = session.load([e.Id for e in employees], Employee)
        assert [e.first_name for e in loaded.values()] == ["Ada", "Bob", "Cy"]


def test_an_entity_waiting_for_its_id_evicted_deleted_or_cleared_is_not_written(
    store: DocumentStore, session_mode: str
) -> None:
    with store.open_session() as session:
        never = [Employee("never"), Employee("never")]
        _store_on_the_loop(session, *never)
        session.advanced.clear()
        assert not session.has_changes() and session.advanced.what_changed() == {}
        session.save_changes()
        if session_mode == "async":
            assert [e.Id for e in never] == [None, None]
    kept, evicted, deleted, again = Employee("kept"), Employee("ev"), Employee("del"), Employee("2")
    with store.open_session() as session:
        _store_on_the_loop(session, kept, evicted, deleted, again)
        _store_on_the_loop(session, again, kept)  # stored once
        session.advanced.evict(evicted)
        session.delete(deleted)
        assert not session.advanced.has_changed(evicted)
        # Waiting for its id it names no document: the delete just forgets it. With its id
        # (sync), the delete is written (S16: another session may have written that id).
        assert session.advanced.has_changed(deleted) == (session_mode == "sync")
        changed = session.advanced.what_changed()
        added = [
            entry.field_new_value["first_name"]
            for entries in changed.values()
            for entry in entries
            if entry.change is ChangeType.DOCUMENT_ADDED
        ]
        assert added == ["kept", "2"]
        with pytest.raises(InvalidOperationError, match="already stored as"):
            session.store(kept, "employees/elsewhere")
        session.save_changes()
        assert kept.Id is not None and again.Id is not None and kept.Id != again.Id
        assert re.fullmatch(r"employees/\d+-A", kept.Id) and re.fullmatch(
            r"employees/\d+-A", again.Id
        )
        if session_mode == "async":  # they never had an id
            assert evicted.Id is None and deleted.Id is None
    with store.open_session() as session:
        found = session.query(Employee).to_list()
        assert sorted(e.first_name for e in found) == ["2", "kept"]
        assert {e.Id for e in found} == {kept.Id, again.Id}

"""HiLo ranges as RavenDB keeps them (issue 14): a ``Raven/Hilo/<tag>`` document per tag, in the
``@hilo`` collection, with ``Max`` the top of the last range reserved; RavenDB's range sizes;
unused ids given back; never an id twice, whichever stores ask, across restarts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rookdb import DocumentStore
from rookdb.ids import HiLoIdGenerator
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

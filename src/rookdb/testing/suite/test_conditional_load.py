"""``session.advanced.conditional_load``: RavenDB's "load it unless my copy is current".

The session answers from memory for ids it holds; otherwise one storage call
(``conditional_get``), where an unchanged document does not travel.
"""

from __future__ import annotations

import pytest

from rookdb import ConfigurationError, DocumentStore, InvalidIdError, SessionOptions
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Employee


def _saved(store: DocumentStore, first_name: str = "Nancy") -> str:
    """Store employees/1 and return its change vector."""
    with store.open_session() as session:
        employee = Employee(first_name, "Davolio")
        session.store(employee, "employees/1")
        session.save_changes()
        vector = session.advanced.get_change_vector_for(employee)
    assert vector is not None
    return vector


def test_a_changed_document_is_loaded_and_tracked(store: DocumentStore) -> None:
    old = _saved(store)
    with store.open_session() as session:
        session.load("employees/1", Employee).first_name = "Anne"
        session.save_changes()
    with store.open_session() as session:
        result = session.advanced.conditional_load("employees/1", old, Employee)
        assert isinstance(result.entity, Employee) and result.entity.first_name == "Anne"
        assert result.change_vector is not None and result.change_vector != old
        assert result.change_vector == session.advanced.get_change_vector_for(result.entity)
        assert session.number_of_requests == 1
        # Tracked: loading it again costs nothing and gives the same object; edits are saved.
        assert session.load("employees/1", Employee) is result.entity
        result.entity.last_name = "Dodsworth"
        session.save_changes()
    with store.open_session() as session:
        assert session.load("employees/1", Employee).last_name == "Dodsworth"


def test_an_unchanged_document_is_none_with_the_same_change_vector(store: DocumentStore) -> None:
    current = _saved(store)
    calls = record_requests(store)
    with store.open_session() as session:
        entity, vector = session.advanced.conditional_load("employees/1", current, Employee)
        assert entity is None and vector == current
        assert session.number_of_requests == 1
        assert not session.advanced.is_loaded("employees/1")  # nothing was tracked
    assert [call.method for call in calls] == ["conditional_get"]


def test_a_missing_document_is_none_twice_and_remembered(store: DocumentStore) -> None:
    vector = _saved(store)
    with store.open_session() as session:
        result = session.advanced.conditional_load("employees/2", vector, Employee)
        assert (result.entity, result.change_vector) == (None, None)
        assert session.load("employees/2", Employee) is None
        assert session.number_of_requests == 1  # known missing: no second request


def test_a_session_answers_for_the_ids_it_holds(store: DocumentStore) -> None:
    vector = _saved(store)
    with store.open_session() as session:
        loaded = session.load("employees/1", Employee)
        # Whatever change vector is given, the session's own entity is the answer.
        result = session.advanced.conditional_load("employees/1", "A:0-stale", Employee)
        assert result.entity is loaded and result.change_vector == vector
        session.delete(loaded)
        assert session.advanced.conditional_load("employees/1", vector).entity is None
        assert session.number_of_requests == 1


def test_ids_are_case_insensitive(store: DocumentStore) -> None:
    vector = _saved(store)
    with store.open_session() as session:
        assert session.advanced.conditional_load("EMPLOYEES/1", vector, Employee).entity is None
        result = session.advanced.conditional_load("Employees/1", "A:0-other", Employee)
        assert result.entity is not None and result.change_vector == vector


def test_a_no_tracking_session_loads_without_tracking(store: DocumentStore) -> None:
    vector = _saved(store)
    with store.open_session(SessionOptions(no_tracking=True)) as session:
        assert session.advanced.conditional_load("employees/1", vector, Employee).entity is None
        first = session.advanced.conditional_load("employees/1", "A:0-other", Employee).entity
        again = session.advanced.conditional_load("employees/1", "A:0-other", Employee).entity
        assert first is not None and again is not None and first is not again
        assert session.number_of_requests == 3


@pytest.mark.parametrize("vector", [None, "", "  "])
def test_without_a_change_vector_it_is_refused_before_any_request(
    store: DocumentStore, vector: str | None
) -> None:
    with store.open_session() as session:
        with pytest.raises(ConfigurationError, match="change vector"):
            session.advanced.conditional_load("employees/1", vector, Employee)
        with pytest.raises(InvalidIdError):
            session.advanced.conditional_load("\x00", "A:1-x", Employee)
        assert session.number_of_requests == 0


def test_lazy_conditional_loads_run_with_the_other_lazy_operations(store: DocumentStore) -> None:
    old = _saved(store)
    with store.open_session() as session:
        session.store(Employee("Robert", "King"), "employees/2")
        session.save_changes()
        current = session.advanced.get_change_vector_for(session.load("employees/2", Employee))
    with store.open_session() as session:
        session.load("employees/1", Employee).first_name = "Anne"
        session.save_changes()
    assert current is not None
    with store.open_session() as session:
        lazily = session.advanced.lazily
        changed = lazily.conditional_load("employees/1", old, Employee)
        unchanged = lazily.conditional_load("employees/2", current, Employee)
        missing = lazily.conditional_load("employees/3", old, Employee)
        other = lazily.load("employees/2", Employee)
        assert session.number_of_requests == 0  # nothing sent yet
        assert changed.value.entity.first_name == "Anne"  # runs all four: one request
        assert session.number_of_requests == 1
        assert changed.value.change_vector == session.advanced.get_change_vector_for(
            changed.value.entity
        )
        assert (unchanged.value.entity, unchanged.value.change_vector) == (None, current)
        assert (missing.value.entity, missing.value.change_vector) == (None, None)
        assert other.value.last_name == "King"
        # Tracked as by conditional_load: loading again costs nothing.
        assert session.load("employees/1", Employee) is changed.value.entity
        assert session.load("employees/3", Employee) is None
        assert session.number_of_requests == 1


def test_a_lazy_conditional_load_of_a_held_id_asks_no_storage(store: DocumentStore) -> None:
    old = _saved(store)
    with store.open_session() as session:
        held = session.load("employees/1", Employee)
        lazy = session.advanced.lazily.conditional_load("employees/1", old, Employee)
        session.advanced.eagerly.execute_all_pending_lazy_operations()
        assert session.number_of_requests == 1  # the load only
        assert lazy.value.entity is held and lazy.value.change_vector == old


def test_a_lazy_conditional_load_needs_a_change_vector(store: DocumentStore) -> None:
    with store.open_session() as session:
        with pytest.raises(ConfigurationError):
            session.advanced.lazily.conditional_load("employees/1", "", Employee)
        with pytest.raises(InvalidIdError):
            session.advanced.lazily.conditional_load(5, "A:1-x", Employee)  # type: ignore[arg-type]

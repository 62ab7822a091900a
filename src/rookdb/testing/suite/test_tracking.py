"""Tracking, the identity map, saving and ignoring (SPEC S1-S10, S13), on every backend."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rookdb import (
    DocumentSession,
    DocumentStore,
    InvalidOperationError,
    SessionOptions,
    ShouldIgnoreEntityChanges,
)
from rookdb.storage.commands import PutCommand
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Company, Employee, FrozenPoint, Product, Slotted


def _save(store: DocumentStore, entity: object, key: str) -> None:
    with store.open_session() as session:
        session.store(entity, key)
        session.save_changes()


# -- S1: tracking by object identity -------------------------------------------------------


class AlwaysEqual:
    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 1


def test_equal_objects_are_two_entities(store: DocumentStore) -> None:
    a, b = AlwaysEqual("a"), AlwaysEqual("b")
    with store.open_session() as session:
        session.store(a, "things/a")
        session.store(b, "things/b")
        assert set(session.advanced.what_changed()) == {"things/a", "things/b"}
        session.save_changes()
        assert session.advanced.get_document_id(b) == "things/b"


@pytest.mark.parametrize(
    "entity",
    [
        Employee("Ann", "Lee"),
        FrozenPoint(1, 2),
        Slotted("s", 3),
        Company(name="Acme"),
        {"name": "a dict"},
    ],
    ids=["plain", "frozen-dataclass", "slots", "pydantic", "dict"],
)
def test_every_kind_of_object_is_tracked(store: DocumentStore, entity: Any) -> None:
    with store.open_session() as session:
        session.store(entity, "things/1")
        assert session.advanced.has_changed(entity)
        session.save_changes()
        assert not session.advanced.has_changed(entity)
    with store.open_session() as session:
        loaded = session.load("things/1", type(entity))
        assert type(loaded) is type(entity)
        assert session.advanced.has_changes is False


# -- S2: the identity map ------------------------------------------------------------------


def test_load_twice_returns_the_same_instance_without_a_request(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    calls = record_requests(store)
    with store.open_session() as session:
        first = session.load("employees/1", Employee)
        assert session.load("employees/1", Employee) is first
        assert session.load("EMPLOYEES/1", Employee) is first  # ids are case-insensitive
        assert session.number_of_requests == 1
    assert [c.method for c in calls] == ["get"]


def test_missing_ids_are_remembered(store: DocumentStore) -> None:
    with store.open_session() as session:
        assert session.load("employees/404", Employee) is None
        assert session.load("Employees/404", Employee) is None
        assert session.number_of_requests == 1


def test_query_results_go_through_the_identity_map(store: DocumentStore) -> None:
    _save(store, Employee("Ann", "Lee"), "employees/1")
    with store.open_session() as session:
        loaded = session.load("employees/1", Employee)
        loaded.last_name = "Local edit"
        found = session.query(object_type=Employee).where_equals("first_name", "Ann").first()
        assert found is loaded
        assert found.last_name == "Local edit"  # local edits win
        assert session.number_of_requests == 2  # a query always costs one request


def test_query_results_drop_ids_pending_delete(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    _save(store, Employee("Ann"), "employees/2")
    with store.open_session() as session:
        session.delete("employees/2")
        found = list(session.query(object_type=Employee).where_equals("first_name", "Ann"))
        assert [session.advanced.get_document_id(e) for e in found] == ["employees/1"]


# -- S3: save_changes ----------------------------------------------------------------------


def test_save_writes_one_batch_with_exactly_the_changes(store: DocumentStore) -> None:
    for i in range(3):
        _save(store, Employee(f"E{i}"), f"employees/{i}")
    calls = record_requests(store)
    with store.open_session() as session:
        loaded = session.load(["employees/0", "employees/1", "employees/2"], Employee)
        loaded["employees/1"].first_name = "Changed"
        session.delete(loaded["employees/2"])
        session.store(Employee("New"), "employees/3")
        session.save_changes()
    applies = [c for c in calls if c.method == "apply"]
    assert len(applies) == 1
    batch = applies[0].args[0]
    assert [(type(c).__name__, c.id) for c in batch] == [
        ("PutCommand", "employees/1"),
        ("DeleteCommand", "employees/2"),
        ("PutCommand", "employees/3"),
    ]


def test_nothing_to_write_means_no_request(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    calls = record_requests(store)
    with store.open_session() as session:
        session.load("employees/1", Employee)
        session.save_changes()
        session.save_changes()
        assert session.number_of_requests == 1
    assert [c.method for c in calls] == ["get"]


def test_after_save_snapshots_are_the_written_json(store: DocumentStore) -> None:
    with store.open_session() as session:
        employee = Employee("Ann")
        session.store(employee, "employees/1")
        session.save_changes()
        assert session.advanced.has_changes is False
        assert session.advanced.what_changed() == {}
        employee.first_name = "Bea"
        assert list(session.advanced.what_changed()) == ["employees/1"]


# -- S5: cheap change detection ------------------------------------------------------------


def test_same_json_other_bytes_is_clean_and_refreshes_the_snapshot(store: DocumentStore) -> None:
    _save(store, {"n": 1}, "numbers/1")
    calls = record_requests(store)
    with store.open_session() as session:
        doc = session.load("numbers/1")
        doc["n"] = 1.0  # other bytes ("1.0"), same JSON number
        assert session.advanced.has_changes is False
        assert session.advanced.what_changed() == {}
        session.save_changes()
    assert [c.method for c in calls] == ["get"]


def test_snapshots_are_bytes_not_object_copies(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        state = session._map.by_entity(employee)
        assert state is not None and type(state.snapshot) is bytes


# -- S6: ignore_changes_for ----------------------------------------------------------------


def test_ignored_entity_can_still_be_deleted(store: DocumentStore) -> None:
    _save(store, Product("Chai", 1), "products/1")
    with store.open_session() as session:
        product = session.load("products/1", Product)
        session.ignore_changes_for(product)
        product.units_in_stock = 99
        session.delete(product)
        assert session.advanced.has_changes is True
        session.save_changes()
    with store.open_session() as session:
        assert session.load("products/1", Product) is None


def test_ignoring_an_untracked_entity_is_an_error(store: DocumentStore) -> None:
    with store.open_session() as session, pytest.raises(InvalidOperationError):
        session.ignore_changes_for(Product())


def test_ignoring_a_new_entity_keeps_it_out_of_the_save(store: DocumentStore) -> None:
    with store.open_session() as session:
        product = Product("Chai")
        session.store(product, "products/1")
        session.ignore_changes_for(product)
        assert session.advanced.has_changes is False
        session.save_changes()
        assert session.number_of_requests == 0


# -- S7: no-tracking sessions --------------------------------------------------------------


def test_no_tracking_session_refuses_store_delete_and_includes(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    with store.open_session(session_options=SessionOptions(no_tracking=True)) as session:
        with pytest.raises(InvalidOperationError):
            session.store(Employee("x"))
        with pytest.raises(InvalidOperationError):
            session.delete("employees/1")
        with pytest.raises(InvalidOperationError):
            session.include("manager").load("employees/1")
        with pytest.raises(InvalidOperationError):
            session.load("employees/1", Employee, includes=["manager"])
        employee = session.load("employees/1", Employee)
        employee.first_name = "Changed"
        assert session.advanced.has_changes is False
        session.save_changes()
        assert session.number_of_requests == 1
        assert session.load("employees/404", Employee) is None
        assert session.load("employees/404", Employee) is None
        assert session.number_of_requests == 3  # nothing remembered, not even missing ids


def test_no_tracking_queries_return_new_instances(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    with store.open_session(session_options=SessionOptions(no_tracking=True)) as session:
        a = session.query(object_type=Employee).first()
        b = session.query(object_type=Employee).first()
        assert a is not b


# -- S8: query.no_tracking() ---------------------------------------------------------------


def test_no_tracking_query_returns_already_tracked_instances(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    _save(store, Employee("Ann"), "employees/2")
    with store.open_session() as session:
        tracked = session.load("employees/1", Employee)
        results = list(session.query(object_type=Employee).no_tracking())
        assert results[0] is tracked
        results[1].first_name = "Not saved"
        tracked.first_name = "Saved"
        assert list(session.advanced.what_changed()) == ["employees/1"]
        assert session.advanced.is_loaded("employees/2") is False


# -- S9: the should_ignore_entity_changes convention ---------------------------------------


class Recorder(ShouldIgnoreEntityChanges):
    def __init__(self) -> None:
        self.calls: list[tuple[DocumentSession, object, str]] = []
        self.ignore: set[str] = set()

    def check(self, session_operations: DocumentSession, entity: object, document_id: str) -> bool:
        self.calls.append((session_operations, entity, document_id))
        return document_id in self.ignore


def test_convention_called_once_per_candidate_in_tracking_order(new_store) -> None:  # type: ignore[no-untyped-def]
    rule = Recorder()
    store = new_store()
    store.conventions.should_ignore_entity_changes = rule
    _save(store, Employee("Clean"), "employees/clean")
    _save(store, Employee("Deleted"), "employees/deleted")
    with store.open_session() as session:
        clean = session.load("employees/clean", Employee)
        session.delete(session.load("employees/deleted", Employee))
        b, a = Employee("B"), Employee("A")
        session.store(b, "employees/b")
        session.store(a, "employees/a")
        rule.calls.clear()
        session.advanced.what_changed()
        # new ones only (the clean one matches its snapshot; deletes are never asked)
        assert [(s, e, i) for s, e, i in rule.calls] == [
            (session, b, "employees/b"),
            (session, a, "employees/a"),
        ]
        clean.first_name = "Dirty"
        rule.calls.clear()
        assert session.advanced.has_changes is True
        assert [i for _, _, i in rule.calls] == ["employees/clean", "employees/b", "employees/a"]


@pytest.mark.parametrize("question", ["has_changes", "has_changed", "what_changed", "save"])
def test_convention_is_asked_at_every_computation(new_store, question: str) -> None:  # type: ignore[no-untyped-def]
    rule = Recorder()
    store = new_store()
    store.conventions.should_ignore_entity_changes = rule
    with store.open_session() as session:
        entity = Employee("X")
        session.store(entity, "employees/x")
        for _ in range(2):
            rule.calls.clear()
            if question == "has_changes":
                session.has_changes()
            elif question == "has_changed":
                session.advanced.has_changed(entity)
            elif question == "what_changed":
                session.advanced.what_changed()
            else:
                rule.ignore.add("employees/x")
                session.save_changes()
            assert len(rule.calls) == 1


def test_an_exception_from_the_convention_propagates_and_nothing_is_written(new_store) -> None:  # type: ignore[no-untyped-def]
    class Boom(ShouldIgnoreEntityChanges):
        def check(self, session_operations: Any, entity: object, document_id: str) -> bool:
            if document_id == "employees/2":
                raise RuntimeError("boom")
            return False

    store = new_store()
    store.conventions.should_ignore_entity_changes = Boom
    with store.open_session() as session:
        session.store(Employee("A"), "employees/1")
        session.store(Employee("B"), "employees/2")
        with pytest.raises(RuntimeError, match="boom"):
            session.save_changes()
    with store.open_session() as session:
        assert session.load(["employees/1", "employees/2"]) == {
            "employees/1": None,
            "employees/2": None,
        }


# -- S10 / S13 -------------------------------------------------------------------------------


def test_has_changes_sees_a_pending_delete_by_id(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.delete("employees/never-loaded")
        assert session.advanced.has_changes is True
        assert session.advanced.what_changed()["employees/never-loaded"][0].change == (
            "document_deleted"
        )


def test_has_changed(store: DocumentStore) -> None:
    _save(store, Employee("Ann"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        assert session.advanced.has_changed(employee) is False
        employee.first_name = "Bea"
        assert session.advanced.has_changed(employee) is True
        session.ignore_changes_for(employee)
        assert session.advanced.has_changed(employee) is False  # ignored: not reported (S4)
        session.delete(employee)
        assert session.advanced.has_changed(employee) is True  # deletes are always reported
        assert session.advanced.has_changed(Employee("untracked")) is False


@dataclasses.dataclass
class Counter:
    value: int


def test_all_change_questions_agree(store: DocumentStore) -> None:
    """S4: has_changes == bool(what_changed()) and both match the batch save sends."""
    _save(store, Counter(1), "counters/1")
    _save(store, Counter(2), "counters/2")
    calls = record_requests(store)
    with store.open_session() as session:
        one = session.load("counters/1", Counter)
        two = session.load("counters/2", Counter)
        one.value = 10
        session.ignore_changes_for(two)
        two.value = 20
        changed = session.advanced.what_changed()
        assert session.advanced.has_changes == bool(changed)
        assert list(changed) == ["counters/1"]
        assert [session.advanced.has_changed(e) for e in (one, two)] == [True, False]
        assert session.advanced.what_changed_for(two) == []
        session.save_changes()
    batch = next(c for c in calls if c.method == "apply").args[0]
    assert [c.id for c in batch if isinstance(c, PutCommand)] == list(changed)


def test_clean_entities_cost_one_serialization_and_no_field_walk(
    store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S5: a byte-identical entity is never decoded, compared as JSON nor diffed."""
    import rookdb.tracking.unit_of_work as uow

    for i in range(3):
        _save(store, Employee(f"E{i}"), f"employees/{i}")
    walks: list[str] = []
    real_loads = uow.loads
    monkeypatch.setattr(uow, "json_equal", lambda a, b: walks.append("json_equal") or False)
    monkeypatch.setattr(uow, "loads", lambda data: walks.append("loads") or real_loads(data))
    with store.open_session() as session:
        loaded = session.load(["employees/0", "employees/1", "employees/2"], Employee)
        assert session.advanced.has_changes is False
        assert session.advanced.what_changed() == {}
        assert walks == []
        loaded["employees/1"].first_name = "Changed"
        assert list(session.advanced.what_changed()) == ["employees/1"]
        assert walks and all(w in ("loads", "json_equal") for w in walks)

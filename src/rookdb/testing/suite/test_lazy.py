"""Lazy operations: gathered, then run together as one storage request (one snapshot)."""

from __future__ import annotations

import pytest

from rookdb import (
    DocumentStore,
    InvalidIdError,
    InvalidOperationError,
    SessionOptions,
    TooManyRequestsError,
)
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Employee


def _seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        for i in range(5):
            session.store(Employee(f"E{i}", "Lazy"), f"employees/{i}")
        session.store(Employee("X", "Other"), "others/1")
        session.save_changes()


def test_lazy_loads_and_queries_run_as_one_request(store: DocumentStore) -> None:
    _seed(store)
    calls = record_requests(store)
    with store.open_session() as session:
        one = session.advanced.lazily.load("employees/1", Employee)
        many = session.advanced.lazily.load(["employees/2", "employees/9"], Employee)
        query = session.query(Employee).where_equals("first_name", "E3").lazily()
        count = session.query(Employee).where_equals("last_name", "Lazy").count_lazily()
        prefix = session.advanced.lazily.load_starting_with("employees/", Employee, page_size=2)
        assert session.number_of_requests == 0 and calls == []
        assert not one.is_value_created
        assert one.value.first_name == "E1"  # runs every pending operation
        assert session.number_of_requests == 1
        assert [c.method for c in calls] == ["read_many"]
        assert many.value["employees/2"].first_name == "E2"
        assert many.value["employees/9"] is None
        assert [e.first_name for e in query.value] == ["E3"]
        assert count.value == 5
        assert list(prefix.value) == ["employees/0", "employees/1"]
        assert prefix.value["employees/1"] is one.value  # one identity map
        assert session.number_of_requests == 1


def test_execute_all_pending_lazy_operations(store: DocumentStore) -> None:
    _seed(store)
    seen: list[object] = []
    with store.open_session() as session:
        first = session.advanced.lazily.load("employees/0", Employee, on_eval=seen.append)
        names = session.query(Employee).where_equals("first_name", "E4").lazily(seen.append)
        session.advanced.eagerly.execute_all_pending_lazy_operations()
        assert session.number_of_requests == 1
        assert first.is_value_created is False and len(seen) == 2  # callbacks ran
        assert first.value is seen[0] and names.value == seen[1]
        session.advanced.eagerly.execute_all_pending_lazy_operations()  # nothing pending
        assert session.number_of_requests == 1


def test_lazy_load_of_known_ids_costs_no_request(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        assert session.advanced.lazily.load("employees/1", Employee).value is employee
        missing = session.advanced.lazily.load(["employees/1"], Employee)
        assert missing.value == {"employees/1": employee}
        assert session.number_of_requests == 1


def test_lazy_results_are_tracked(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        employee = session.advanced.lazily.load("employees/2", Employee).value
        employee.last_name = "Changed"
        session.save_changes()
    with store.open_session() as session:
        assert session.load("employees/2", Employee).last_name == "Changed"


def test_lazy_load_with_includes(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "Acme", "@metadata": {"@collection": "Companies"}}, "companies/1")
        session.store(
            {"company": "companies/1", "@metadata": {"@collection": "Orders"}}, "orders/1"
        )
        session.save_changes()
    with store.open_session() as session:
        order = session.advanced.lazily.include("company").load("orders/1")
        assert order.value["company"] == "companies/1"
        assert session.load("companies/1")["name"] == "Acme"  # came with the order
        assert session.number_of_requests == 1


def test_lazy_count_applies_skip_and_take(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        paged = session.query(Employee).where_equals("last_name", "Lazy").skip(1).take(2)
        assert paged.count_lazily().value == paged.count() == 2


def test_lazy_operations_count_against_the_request_budget(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        session.advanced.max_number_of_requests_per_session = 0
        lazy = session.advanced.lazily.load("employees/1", Employee)
        with pytest.raises(TooManyRequestsError):
            _ = lazy.value
        session.advanced.max_number_of_requests_per_session = 1
        assert lazy.value.first_name == "E1"  # still pending: it runs once allowed


def test_lazy_operations_refuse_bad_input_at_once(store: DocumentStore) -> None:
    with store.open_session() as session:
        with pytest.raises(InvalidIdError):
            session.advanced.lazily.load(["ok", 3], Employee)  # type: ignore[list-item]
        with pytest.raises(InvalidIdError):
            session.advanced.lazily.load(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidIdError):
            session.advanced.lazily.load_starting_with(7)  # type: ignore[arg-type]
        assert session.number_of_requests == 0
    with pytest.raises(InvalidOperationError):
        session.advanced.lazily.load("employees/1")


def test_lazy_prefix_in_a_no_tracking_session(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session(session_options=SessionOptions(no_tracking=True)) as session:
        found = session.advanced.lazily.load_starting_with("employees/", Employee).value
        assert [e.first_name for e in found.values()] == ["E0", "E1", "E2", "E3", "E4"]
        assert list(found) == [f"employees/{i}" for i in range(5)]


def test_clear_drops_pending_lazy_operations(store: DocumentStore) -> None:
    _seed(store)
    calls = record_requests(store)
    with store.open_session() as session:
        session.advanced.lazily.load("employees/1", Employee)
        session.advanced.clear()
        session.advanced.eagerly.execute_all_pending_lazy_operations()
        assert calls == [] and session.number_of_requests == 0

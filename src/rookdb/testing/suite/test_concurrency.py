"""Change vectors, optimistic concurrency and sharing a store (SPEC S19, S20)."""

from __future__ import annotations

import re
import threading

import pytest

from rookdb import (
    ConcurrencyError,
    ConcurrencyException,
    ConfigurationError,
    DocumentStore,
    OptimisticConcurrencyMode,
    SessionOptions,
)
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Employee

WRITES = OptimisticConcurrencyMode.WRITES
WRITES_AND_READS = OptimisticConcurrencyMode.WRITES_AND_READS


def _save(store: DocumentStore, entity: object, key: str) -> None:
    with store.open_session() as session:
        session.store(entity, key)
        session.save_changes()


def _etag(change_vector: str | None) -> int:
    assert change_vector is not None
    match = re.fullmatch(r"A:(\d+)-[\w-]+", change_vector)
    assert match, change_vector
    return int(match.group(1))


def test_etags_strictly_increase(store: DocumentStore) -> None:
    seen = []
    for i in range(3):
        with store.open_session() as session:
            employee = Employee(f"E{i}")
            session.store(employee, "employees/1" if i != 1 else "employees/2")
            session.save_changes()
            seen.append(_etag(session.advanced.get_change_vector_for(employee)))
    assert seen == sorted(seen) and len(set(seen)) == 3


def test_off_by_default_last_write_wins(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as s1, store.open_session() as s2:
        s1.load("employees/1", Employee).first_name = "One"
        s2.load("employees/1", Employee).first_name = "Two"
        s1.save_changes()
        s2.save_changes()
    with store.open_session() as session:
        assert session.load("employees/1", Employee).first_name == "Two"


@pytest.mark.parametrize("mode", [WRITES, WRITES_AND_READS])
def test_conflicting_write_is_rejected_whole(
    store: DocumentStore, mode: OptimisticConcurrencyMode
) -> None:
    _save(store, Employee("A"), "employees/1")
    options = SessionOptions(optimistic_concurrency_mode=mode)
    with store.open_session(session_options=options) as s1, store.open_session() as s2:
        s1.load("employees/1", Employee).first_name = "One"
        s1.store(Employee("New"), "employees/2")
        s2.load("employees/1", Employee).first_name = "Two"
        s2.save_changes()
        with pytest.raises(ConcurrencyException) as raised:  # RavenDB's name works too
            s1.save_changes()
        error = raised.value
        assert error.document_id == "employees/1"
        assert error.actual is not None and error.expected != error.actual
        assert s1.advanced.has_changes  # nothing in the session changed (S3)
    with store.open_session() as session:
        assert session.load("employees/1", Employee).first_name == "Two"
        assert session.load("employees/2", Employee) is None  # nothing of the batch


def test_new_document_must_not_exist_under_optimistic_concurrency(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.advanced.use_optimistic_concurrency = True
        session.store(Employee("A"), "employees/1")
        _save(store, Employee("Other"), "employees/1")
        with pytest.raises(ConcurrencyError) as raised:
            session.save_changes()
        assert raised.value.expected == ""


def test_a_conflict_deep_in_a_big_batch_writes_nothing(store: DocumentStore) -> None:
    # PostgreSQL pipelines big batches and reads the statements' results at the end: the
    # conflict in the third statement must still undo the first two.
    _save(store, Employee("Taken"), "employees/4500")
    options = SessionOptions(optimistic_concurrency_mode=WRITES)
    with store.open_session(session_options=options) as session:
        for i in range(5000):
            session.store(Employee(f"E{i}"), f"employees/{i}")
        with pytest.raises(ConcurrencyError) as raised:
            session.save_changes()
        assert raised.value.document_id == "employees/4500"
    with store.open_session() as session:
        assert session.load("employees/4499", Employee) is None
        assert session.load("employees/4500", Employee).first_name == "Taken"


def test_delete_checks_the_change_vector_read(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        session.advanced.use_optimistic_concurrency = True
        session.delete(session.load("employees/1", Employee))
        _save(store, Employee("Changed"), "employees/1")
        with pytest.raises(ConcurrencyError):
            session.save_changes()


def test_explicit_change_vectors_are_checked_always(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session, pytest.raises(ConcurrencyError):
        session.store(Employee("B"), "employees/1", change_vector="A:999-nope")
        session.save_changes()
    with store.open_session() as session:
        session.delete("employees/1", expected_change_vector="A:999-nope")
        with pytest.raises(ConcurrencyError):
            session.save_changes()
    with store.open_session() as session:
        current = session.advanced.get_change_vector_for(session.load("employees/1", Employee))
    with store.open_session() as session:
        session.delete("employees/1", expected_change_vector=current)
        session.save_changes()


def test_a_change_vector_no_document_could_have_is_a_conflict(store: DocumentStore) -> None:
    change_vector = "A:1\x00x"
    # Not a storage failure: PostgreSQL's text holds no NUL (the HTTP fuzzer's DELETE).
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        session.delete("employees/1", expected_change_vector=change_vector)
        with pytest.raises(ConcurrencyError):
            session.save_changes()
    with store.open_session() as session, pytest.raises(ConcurrencyError):
        session.store(Employee("B"), "employees/1", change_vector=change_vector)
        session.save_changes()
    with store.open_session() as session:
        assert session.load("employees/1", Employee).first_name == "A"


def test_writes_and_reads_fails_if_something_read_changed(store: DocumentStore) -> None:
    _save(store, Employee("Read"), "employees/read")
    options = SessionOptions(optimistic_concurrency_mode=WRITES_AND_READS)
    with store.open_session(session_options=options) as session:
        session.load("employees/read", Employee)
        session.store(Employee("W"), "employees/write")
        _save(store, Employee("Changed"), "employees/read")
        with pytest.raises(ConcurrencyError) as raised:
            session.save_changes()
        assert raised.value.document_id == "employees/read"


def test_writes_and_reads_fails_if_a_missing_id_appeared(store: DocumentStore) -> None:
    options = SessionOptions(optimistic_concurrency_mode=WRITES_AND_READS)
    with store.open_session(session_options=options) as session:
        assert session.load("employees/ghost", Employee) is None
        session.store(Employee("W"), "employees/write")
        _save(store, Employee("Now here"), "employees/ghost")
        with pytest.raises(ConcurrencyError):
            session.save_changes()


def test_writes_mode_ignores_reads(store: DocumentStore) -> None:
    _save(store, Employee("Read"), "employees/read")
    calls = record_requests(store)
    with store.open_session(
        session_options=SessionOptions(optimistic_concurrency_mode=WRITES)
    ) as session:
        session.load("employees/read", Employee)
        session.store(Employee("W"), "employees/write")
        _save(store, Employee("Changed"), "employees/read")
        session.save_changes()
    batch = [c for c in calls if c.method == "apply"][-1].args[0]
    assert [type(c).__name__ for c in batch] == ["PutCommand"]


def test_no_tracking_with_concurrency_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError):
        SessionOptions(no_tracking=True, optimistic_concurrency_mode=WRITES)
    SessionOptions(no_tracking=True, optimistic_concurrency_mode=OptimisticConcurrencyMode.NONE)


def test_convention_turns_optimistic_concurrency_on(new_store) -> None:  # type: ignore[no-untyped-def]
    store = new_store()
    store.conventions.use_optimistic_concurrency = True
    with store.open_session() as session:
        assert session.advanced.use_optimistic_concurrency is True
        assert session.advanced.optimistic_concurrency_mode is WRITES


# -- S20: a store is thread-safe; stores in many processes share a SQLite file -------------


def test_sessions_in_many_threads(store: DocumentStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                with store.open_session() as session:
                    session.store(Employee(f"T{n}-{i}"))
                    session.save_changes()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = store.maintenance.get_statistics()
    assert stats.collections == {"Employees": 80, "@hilo": 1}  # Raven/Hilo/employees


def test_writes_and_reads_checks_no_key_twice(store: DocumentStore) -> None:
    """A key the batch deletes or writes is checked by that command only, whatever the order
    in which storage applies the commands."""
    _save(store, Employee("Gone"), "employees/gone")
    calls = record_requests(store)
    options = SessionOptions(optimistic_concurrency_mode=WRITES_AND_READS)
    with store.open_session(session_options=options) as session:
        session.load("employees/missing", Employee)
        session.delete("employees/gone")
        session.store(Employee("New"), "employees/missing")
        session.save_changes()
    batch = [c for c in calls if c.method == "apply"][-1].args[0]
    assert sorted((type(c).__name__, c.id) for c in batch) == [
        ("DeleteCommand", "employees/gone"),
        ("PutCommand", "employees/missing"),
    ]

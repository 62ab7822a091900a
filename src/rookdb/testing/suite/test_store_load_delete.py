"""store / load / delete / evict / clear / refresh and the request budget (SPEC S14-S18)."""

from __future__ import annotations

import re
import uuid

import pytest

from rookdb import (
    DocumentNotFoundError,
    DocumentStore,
    InvalidOperationError,
    NonUniqueObjectError,
    TooManyRequestsError,
)
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Company, Employee, FrozenPoint, Person


def _save(store: DocumentStore, entity: object, key: str | None = None) -> None:
    with store.open_session() as session:
        session.store(entity, key)
        session.save_changes()


# -- S14: ids --------------------------------------------------------------------------------


def test_hilo_ids_per_collection(store: DocumentStore) -> None:
    with store.open_session() as session:
        a, b, p = Employee("A"), Employee("B"), Person("P")
        for entity in (a, b, p):
            session.store(entity)
        assert (a.Id, b.Id) == ("employees/1-A", "employees/2-A")
        assert session.advanced.get_document_id(p) == "people/1-A"
        assert session.number_of_requests == 0  # id ranges are not requests
        session.save_changes()


def test_hilo_ranges_are_shared_by_stores_of_one_database(new_store) -> None:  # type: ignore[no-untyped-def]
    store1 = new_store()
    with store1.open_session() as session:
        first = Employee("A")
        session.store(first)
    # A private memory database has one store; other backends are shared by stores.
    store2 = new_store() if store1.backend.capabilities.shared_in_process else store1
    with store2.open_session() as session:
        second = Employee("B")
        session.store(second)
    assert first.Id != second.Id


@pytest.mark.rookdb_requires("shared_in_process")  # the next store must see what it gave back
def test_unused_hilo_ids_are_returned_at_close(new_store) -> None:  # type: ignore[no-untyped-def]
    store = new_store()
    with store.open_session() as session:
        session.store(Employee("A"))
    store.close()
    with new_store().open_session() as session:
        e = Employee("B")
        session.store(e)
        assert e.Id == "employees/2-A"


def test_key_then_identity_property_then_generated(store: DocumentStore) -> None:
    with store.open_session() as session:
        explicit = Employee("A", Id="employees/ignored")
        session.store(explicit, "employees/explicit")
        assert explicit.Id == "employees/explicit"  # written back
        own = Employee("B", Id="employees/own")
        session.store(own)
        assert session.advanced.get_document_id(own) == "employees/own"
        blank = Employee("C", Id="")
        session.store(blank)
        assert blank.Id == "employees/1-A"


def test_frozen_objects_keep_their_id_in_the_session(store: DocumentStore) -> None:
    with store.open_session() as session:
        point = FrozenPoint(1, 2)
        session.store(point)
        assert session.advanced.get_document_id(point) == "frozenpoints/1-A"
        assert not hasattr(point, "Id")
        session.save_changes()


def test_pydantic_identity_is_written_back(store: DocumentStore) -> None:
    with store.open_session() as session:
        company = Company(name="Acme")
        session.store(company)
        assert company.Id == "companies/1-A"


def test_ids_completed_by_storage(store: DocumentStore) -> None:
    with store.open_session() as session:
        by_etag, by_identity, by_identity2, guid = (
            Employee("E"),
            Employee("I"),
            Employee("J"),
            {"x": 1},
        )
        session.store(by_etag, "users/")
        session.store(by_identity, "users|")
        session.store(by_identity2, "users|")  # exempt from NonUniqueObjectError
        session.store(guid, "")
        session.save_changes()
        assert re.fullmatch(r"users/\d{19}-A", by_etag.Id)
        assert (by_identity.Id, by_identity2.Id) == ("users/1", "users/2")
        guid_id = session.advanced.get_document_id(guid)
        assert guid_id is not None and uuid.UUID(guid_id)
        assert session.load("users/1", Employee) is by_identity  # in the map under its final id
        assert session.number_of_requests == 1


def test_storing_another_object_under_a_tracked_id(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("A"), "employees/1")
        with pytest.raises(NonUniqueObjectError):
            session.store(Employee("B"), "EMPLOYEES/1")


def test_storing_a_tracked_entity_again_is_a_no_op(store: DocumentStore) -> None:
    with store.open_session() as session:
        employee = Employee("A")
        session.store(employee, "employees/1")
        session.store(employee)
        session.store(employee, "employees/1")
        with pytest.raises(InvalidOperationError):
            session.store(employee, "employees/2")
        assert list(session.advanced.get_tracked_entities()) == ["employees/1"]


# -- S15: load -------------------------------------------------------------------------------


def test_load_many_is_a_dict_in_the_callers_order_and_spelling(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    _save(store, Employee("B"), "employees/2")
    calls = record_requests(store)
    with store.open_session() as session:
        one = session.load("employees/1", Employee)
        result = session.load(
            ["Employees/2", "employees/404", "EMPLOYEES/1", "employees/2"], Employee
        )
        assert list(result) == ["Employees/2", "employees/404", "EMPLOYEES/1"]
        assert result["EMPLOYEES/1"] is one
        assert result["employees/404"] is None
        assert session.load(["employees/2"], Employee) == {"employees/2": result["Employees/2"]}
        assert session.load([]) == {}
        assert session.number_of_requests == 2
    assert calls[1].args[0] == ["Employees/2", "employees/404"]  # only the unknown ids


def test_load_without_type_builds_registered_classes_else_dicts(store: DocumentStore) -> None:
    class NeverRegistered:
        pass

    with store.open_session() as session:
        session.store(Employee("A"), "employees/1")
        unregistered = NeverRegistered()
        unregistered.x = 1  # type: ignore[attr-defined]
        session.store(unregistered, "things/1")
        session.save_changes()
    with store.open_session() as session:
        assert type(session.load("employees/1")) is Employee  # stored with Employee: registered
    from rookdb.serialization.type_registry import python_type_name

    store._types._by_name.pop(python_type_name(NeverRegistered))  # as if never stored
    with store.open_session() as session:
        assert session.load("things/1") == {"x": 1}


def test_includes_load_referenced_documents_in_the_same_request(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "Boss"}, "employees/boss")
        session.store({"name": "Ann", "manager": "employees/boss"}, "employees/ann")
        session.store({"name": "Orphan", "manager": "employees/none"}, "employees/orphan")
        session.save_changes()
    with store.open_session() as session:
        ann = session.include("manager").load("employees/ann")
        assert session.number_of_requests == 1
        boss = session.load("employees/boss")
        assert boss["name"] == "Boss" and ann["manager"] == "employees/boss"
        assert session.number_of_requests == 1
        session.load("employees/orphan", includes=lambda b: b.include_documents("manager"))
        assert session.load("employees/none") is None
        assert session.number_of_requests == 2


# -- S16: delete -----------------------------------------------------------------------------


def test_delete_reads_as_missing_at_once(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        session.delete(employee)
        assert session.load("employees/1", Employee) is None
        session.delete("employees/2")
        assert session.load("employees/2", Employee) is None
        assert session.number_of_requests == 1
        session.save_changes()
    with store.open_session() as session:
        assert session.load("employees/1", Employee) is None


def test_delete_by_id_of_a_changed_entity_is_refused(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        employee.first_name = "Changed"
        with pytest.raises(InvalidOperationError):
            session.delete("employees/1")
        employee.first_name = "A"
        session.delete("employees/1")  # unchanged again: fine
        assert session.advanced.has_changed(employee)


def test_delete_of_an_untracked_entity_is_refused(store: DocumentStore) -> None:
    with store.open_session() as session, pytest.raises(InvalidOperationError):
        session.delete(Employee("x"))


def test_delete_of_a_new_entity_is_written(store: DocumentStore) -> None:
    """S16/S4: the delete is written, even for an entity never saved; another session may have
    written that id meanwhile (found by the stateful model test)."""
    with store.open_session() as session:
        employee = Employee("A")
        session.store(employee, "employees/1")
        session.delete(employee)
        assert [str(c.change) for c in session.advanced.what_changed()["employees/1"]] == [
            "document_deleted"
        ]
        assert session.load("employees/1", Employee) is None
        with store.open_session() as other:
            other.store(Employee("Other"), "employees/1")
            other.save_changes()
        session.save_changes()
    with store.open_session() as session:
        assert session.load("employees/1", Employee) is None
    with store.open_session() as session:
        pending = Employee("B")
        session.store(pending, "employees/")  # completed by storage: nothing to delete yet
        session.delete(pending)
        assert session.advanced.has_changes is False


# -- S17: evict / clear / refresh ------------------------------------------------------------


def test_evict(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        new = Employee("N")
        session.store(new, "employees/new")
        session.advanced.evict(new)
        loaded = session.load("employees/1", Employee)
        session.delete(loaded)
        session.advanced.evict(loaded)  # the pending delete is cancelled
        assert session.advanced.has_changes is False
        again = session.load("employees/1", Employee)  # no longer missing: a request
        assert again is not loaded and again.first_name == "A"
        assert session.number_of_requests == 2


def test_clear(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        employee.first_name = "B"
        session.delete("employees/2")
        session.advanced.clear()
        assert session.advanced.has_changes is False
        assert session.load("employees/1", Employee) is not employee


def test_refresh_reloads_in_place(store: DocumentStore) -> None:
    _save(store, Employee("A", "Old"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        employee.first_name = "Local"
        with store.open_session() as other:
            other.load("employees/1", Employee).last_name = "New"
            other.save_changes()
        assert session.advanced.refresh(employee) is employee
        assert (employee.first_name, employee.last_name) == ("A", "New")
        assert session.advanced.has_changes is False
        assert session.number_of_requests == 2


def test_refresh_of_a_deleted_document(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        with store.open_session() as other:
            other.delete("employees/1")
            other.save_changes()
        with pytest.raises(DocumentNotFoundError):
            session.advanced.refresh(employee)
        with pytest.raises(KeyError):  # DocumentNotFoundError is a KeyError
            session.advanced.refresh(employee)


# -- S18: the request budget -----------------------------------------------------------------


def test_request_budget(store: DocumentStore) -> None:
    calls = record_requests(store)
    with store.open_session() as session:
        session.advanced.max_number_of_requests_per_session = 2
        session.load("employees/1")
        session.load("employees/2")
        with pytest.raises(TooManyRequestsError):
            session.load("employees/3")
        assert session.number_of_requests == 2
    assert len([c for c in calls if c.method == "get"]) == 2  # refused before it was sent


def test_request_budget_default_from_conventions(new_store) -> None:  # type: ignore[no-untyped-def]
    store = new_store()
    assert store.conventions.max_number_of_requests_per_session == 30
    store.conventions.max_number_of_requests_per_session = 1
    with store.open_session() as session:
        session.load("a/1")
        with pytest.raises(TooManyRequestsError):
            session.query(collection_name="a").first_or_default()


def test_session_metadata_accessors(store: DocumentStore) -> None:
    _save(store, Employee("A"), "employees/1")
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        metadata = session.advanced.get_metadata_for(employee)
        assert metadata["@id"] == "employees/1"
        assert metadata["@collection"] == "Employees"
        assert metadata["Raven-Python-Type"] == "rookdb.testing.suite.models.Employee"
        change_vector = session.advanced.get_change_vector_for(employee)
        assert change_vector is not None and re.fullmatch(r"A:\d+-[\w-]+", change_vector)
        modified = session.advanced.get_last_modified_for(employee)
        assert modified is not None and re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", modified
        )
        with pytest.raises(InvalidOperationError):
            metadata["@change-vector"] = "A:1-x"
        assert session.advanced.exists("employees/1") is True  # known: no request
        assert session.advanced.exists("employees/2") is False
        assert session.number_of_requests == 2
        assert session.advanced.is_loaded("employees/1")


def test_load_starting_with(store: DocumentStore) -> None:
    for i in range(5):
        _save(store, Employee(f"E{i}"), f"employees/{i}")
    _save(store, Employee("X"), "other/1")
    with store.open_session() as session:
        tracked = session.load("employees/1", Employee)
        page = session.advanced.load_starting_with("EMPLOYEES/", Employee, start=1, page_size=2)
        assert [e.first_name for e in page] == ["E1", "E2"]
        assert page[0] is tracked


def test_closed_session_refuses_use(store: DocumentStore) -> None:
    session = store.open_session()
    session.close()
    with pytest.raises(InvalidOperationError):
        session.load("employees/1")
    with pytest.raises(InvalidOperationError):
        session.save_changes()


class Keyed:
    def __init__(self, key: str | None, name: str) -> None:
        self.key, self.name = key, name


def test_the_identity_property_comes_from_the_conventions(new_store) -> None:  # type: ignore[no-untyped-def]
    store = new_store()
    store.conventions.find_identity_property_name = lambda cls: "key" if cls is Keyed else "Id"
    with store.open_session() as session:
        keyed, generated = Keyed("things/1", "a"), Keyed(None, "b")
        session.store(keyed)
        session.store(generated)
        assert generated.key == "keyeds/1-A"
        added = session.advanced.what_changed()["things/1"][0].field_new_value
        assert "key" not in added and added["name"] == "a"
        session.save_changes()
    with store.open_session() as session:
        loaded = session.load("things/1", Keyed)
        assert (loaded.key, loaded.name) == ("things/1", "a")
        assert session.advanced.has_changes is False

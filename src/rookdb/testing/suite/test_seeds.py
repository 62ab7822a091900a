"""Every example of the seed documents, as completed in SPEC's appendix, on every backend."""

from __future__ import annotations

import pytest

from rookdb import (
    ChangeType,
    DocumentSession,
    DocumentStore,
    InvalidOperationError,
    SessionOptions,
    ShouldIgnoreEntityChanges,
)
from rookdb.testing.suite.models import Employee, Product


@pytest.fixture
def seeded(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        session.store(Product("Chai", 39), "products/1-A")
        session.store(Employee("Robert", "King"))  # HiLo: employees/1-A
        session.save_changes()
    return store


def test_disable_tracking_for_a_specific_entity(seeded: DocumentStore) -> None:
    with seeded.open_session() as session:
        product = session.load("products/1-A", Product)
        session.ignore_changes_for(product)
        product.units_in_stock += 1
        requests = session.number_of_requests
        assert session.load("products/1-A", Product) is product
        assert session.number_of_requests == requests  # no second request
        session.save_changes()
        assert session.number_of_requests == requests  # wrote nothing
    with seeded.open_session() as session:
        assert session.load("products/1-A", Product).units_in_stock == 39


def test_ignore_changes_for_is_also_on_advanced(seeded: DocumentStore) -> None:
    with seeded.open_session() as session:
        product = session.load("products/1-A", Product)
        session.advanced.ignore_changes_for(product)
        product.units_in_stock = 0
        assert session.advanced.has_changes is False


@pytest.mark.parametrize("positional", [True, False])
def test_disable_tracking_for_all_entities_in_a_session(
    seeded: DocumentStore, positional: bool
) -> None:
    options = SessionOptions(no_tracking=True)
    opened = (
        seeded.open_session(options) if positional else seeded.open_session(session_options=options)
    )
    with opened as session:
        employee1 = session.load("employees/1-A", Employee)
        employee2 = session.load("employees/1-A", Employee)  # a second request
        assert employee1 is not employee2
        assert session.number_of_requests == 2
        with pytest.raises(InvalidOperationError):
            session.store(Employee("New", "Hire"))


def test_disable_tracking_for_query_results(seeded: DocumentStore) -> None:
    with seeded.open_session() as session:
        employees_results = list(
            session.query(object_type=Employee).no_tracking().where_equals("first_name", "Robert")
        )
        first_employee = employees_results[0]
        first_employee.last_name = "NewName"
        assert session.advanced.has_changes is False
        session.save_changes()
    with seeded.open_session() as session:
        assert session.load("employees/1-A", Employee).last_name == "King"


class MyCustomShouldIgnoreEntityChanges(ShouldIgnoreEntityChanges):
    def check(self, session_operations: DocumentSession, entity: object, document_id: str) -> bool:
        return isinstance(entity, Employee) and entity.first_name == "Bob"


@pytest.mark.parametrize("as_instance", [False, True], ids=["class", "instance"])
def test_customize_tracking_in_conventions(new_store, as_instance: bool) -> None:  # type: ignore[no-untyped-def]
    with new_store() as store:  # not yet initialized
        rule = MyCustomShouldIgnoreEntityChanges
        store.conventions.should_ignore_entity_changes = rule() if as_instance else rule
        with store.open_session() as session:  # initializes, freezing conventions
            employee1 = Employee(first_name="Alice", Id="employees/1")
            employee2 = Employee(first_name="Bob", Id="employees/2")
            session.store(employee1)
            session.store(employee2)
            employee1.first_name = "Bob"
            employee2.first_name = "Alice"
            session.save_changes()  # inserts employees/2 (Alice) only
        with store.open_session() as session:
            assert session.load("employees/1", Employee) is None
            assert session.load("employees/2", Employee).first_name == "Alice"


def test_check_for_session_changes(store: DocumentStore) -> None:
    with store.open_session() as session:
        assert session.advanced.has_changes is False
        assert session.has_changes() is False  # the RavenDB client's method form
        session.store(Employee(first_name="John", last_name="Doe"))
        assert session.advanced.has_changes is True
        assert session.has_changes() is True
        session.save_changes()
        assert session.advanced.has_changes is False


def test_get_session_changes_new_document(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee(first_name="Anna", last_name="Smith"), "employees/7")
        changes = session.advanced.what_changed()
        assert changes["employees/7"][0].change == ChangeType.DOCUMENT_ADDED
        assert changes["employees/7"][0]["change"] == ChangeType.DOCUMENT_ADDED
        session.save_changes()
        assert session.advanced.what_changed() == {}


def test_get_session_changes_modified_document(seeded: DocumentStore) -> None:
    with seeded.open_session() as session:
        employee = session.load("employees/1-A", Employee)
        employee.first_name = "Jim"
        employee.last_name = "Brown"
        changes = session.advanced.what_changed()["employees/1-A"]
        assert [c.field_name for c in changes] == ["first_name", "last_name"]
        assert (changes[0].field_old_value, changes[0].field_new_value) == ("Robert", "Jim")
        assert changes[0].change == ChangeType.FIELD_CHANGED
        # ... and by key, as the RavenDB Python client returns them
        assert (changes[0]["old_value"], changes[0]["new_value"]) == ("Robert", "Jim")
        assert changes[1]["field_name"] == "last_name" and changes[1]["field_path"] == ""
        assert str(changes[0].change) == "field_changed"

"""The tour behind ``rookdb demo``: sample data and the tracking scenarios of the seeds.

It runs on the embedded default (SQLite in ``./rookdb-data``, or ``$ROOKDB_URL``), in a database
of its own (``demo``) that it empties first, so it can be run again and again.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable

from rookdb.conventions import ShouldIgnoreEntityChanges
from rookdb.errors import DatabaseDoesNotExistError, InvalidOperationError
from rookdb.options import SessionOptions
from rookdb.session import DocumentSession
from rookdb.store import DocumentStore

__all__ = ["DATABASE", "Address", "Employee", "Product", "run"]

DATABASE = "demo"


@dataclasses.dataclass
class Address:
    city: str
    country: str


@dataclasses.dataclass
class Employee:
    first_name: str
    last_name: str
    title: str
    address: Address
    Id: str | None = None


@dataclasses.dataclass
class Product:
    name: str
    units_in_stock: int
    price: float
    Id: str | None = None


EMPLOYEES = [
    Employee("Nancy", "Davolio", "Sales Representative", Address("Seattle", "USA")),
    Employee("Andrew", "Fuller", "Vice President, Sales", Address("Tacoma", "USA")),
    Employee("Robert", "King", "Sales Representative", Address("London", "UK")),
]
PRODUCTS = [
    Product("Chai", 39, 18.0),
    Product("Chang", 17, 19.0),
    Product("Aniseed Syrup", 13, 10.0),
]


class IgnoreBob(ShouldIgnoreEntityChanges):
    """The convention of the seed: never save changes to employees named Bob."""

    def check(self, session_operations: DocumentSession, entity: object, document_id: str) -> bool:
        return isinstance(entity, Employee) and entity.first_name == "Bob"


def run(echo: Callable[[str], None] = print, url: str | None = None) -> None:
    """Run the tour, printing with ``echo``."""
    with DocumentStore(urls=url, database=DATABASE) as store:
        store.conventions.should_ignore_entity_changes = IgnoreBob
        with contextlib.suppress(DatabaseDoesNotExistError):  # start from nothing
            store.maintenance.delete_database(DATABASE)
        echo(f"rookdb demo: database {DATABASE!r} at {store.urls[0]}\n")

        echo("1. Store sample data: one session, one atomic batch")
        with store.open_session() as session:
            for entity in [*EMPLOYEES, *PRODUCTS]:
                session.store(copy.deepcopy(entity))
            echo(f"   has_changes before save_changes(): {session.advanced.has_changes}")
            session.save_changes()
            ids = list(session.advanced.get_tracked_entities())
            echo(f"   saved {len(ids)} documents with HiLo ids: {', '.join(ids[:3])}, ...")
            echo(f"   storage requests: {session.number_of_requests}\n")

        echo("2. Change tracking: load, edit like a normal object, ask what changed")
        with store.open_session() as session:
            robert = session.load("employees/3-A", Employee)
            assert robert is not None
            robert.title = "Sales Manager"
            robert.address.city = "Cambridge"
            for change in session.advanced.what_changed()["employees/3-A"]:
                echo(
                    f"   {change.change!s:15} {change.field_full_name:15} "
                    f"{change.field_old_value!r} -> {change.field_new_value!r}"
                )
            echo(f"   as a JSON Patch: {session.advanced.what_changed(as_patch=True)}")
            again = session.load("EMPLOYEES/3-A", Employee)
            echo(f"   loading it again gives the same object: {again is robert}")
            session.save_changes()
            echo(f"   saved; storage requests: {session.number_of_requests}\n")

        echo("3. ignore_changes_for: edits to one entity are never saved")
        with store.open_session() as session:
            chai = session.load("products/1-A", Product)
            assert chai is not None
            session.ignore_changes_for(chai)
            chai.units_in_stock += 100
            echo(
                f"   has_changes after editing an ignored entity: {session.advanced.has_changes}\n"
            )

        echo("4. A no-tracking session: new instances every time, nothing saved")
        with store.open_session(SessionOptions(no_tracking=True)) as session:
            a = session.load("products/2-A", Product)
            b = session.load("products/2-A", Product)
            echo(f"   two loads, two objects: {a is not b}; requests: {session.number_of_requests}")
            try:
                session.store(Product("Tofu", 1, 1.0))
            except InvalidOperationError as exc:
                echo(f"   store() refused: {exc}\n")

        echo("5. A no-tracking query inside a tracking session")
        with store.open_session() as session:
            reps = list(
                session.query(object_type=Employee)
                .no_tracking()
                .where_equals("title", "Sales Representative")
            )
            for rep in reps:
                rep.last_name = "Not saved"
            echo(f"   edited {len(reps)} result(s); has_changes: {session.advanced.has_changes}\n")

        echo("6. The should_ignore_entity_changes convention: Bob is never saved")
        with store.open_session() as session:
            alice = Employee(
                "Alice", "Mutton", "Buyer", Address("Oslo", "Norway"), Id="employees/a"
            )
            bob = Employee("Bob", "Smith", "Intern", Address("Oslo", "Norway"), Id="employees/b")
            session.store(alice)
            session.store(bob)
            changed = sorted(session.advanced.what_changed())
            echo(f"   stored Alice and Bob; what_changed(): {changed}")
            alice.first_name, bob.first_name = "Bob", "Alice"  # the rule follows the fields
            echo(f"   after swapping names:  {sorted(session.advanced.what_changed())}")
            session.save_changes()
        with store.open_session() as session:
            found = session.load(["employees/a", "employees/b"], Employee)
            stored = {k: (v.first_name if v else None) for k, v in found.items()}
            echo(f"   stored now: {stored}")
            robert = session.load("employees/3-A", Employee)
            assert robert is not None
            echo(f"   and Robert is {robert.title!r} in {robert.address.city}")
        stats = store.maintenance.get_statistics(DATABASE)
        echo(f"\nDocuments per collection: {stats.collections}")

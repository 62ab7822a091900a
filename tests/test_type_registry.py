"""Each store has its own type registry (``Raven-Python-Type``, SPEC D3), on every backend.

Two stores in one process never share registrations: a class one store stored, loaded or
registered is built by ``load`` without ``object_type`` in that store's sessions only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rookdb import DocumentStore
from rookdb.serialization.type_registry import python_type_name


@dataclasses.dataclass
class Alpha:
    name: str


def _store_typed_dict(store: DocumentStore, document_id: str) -> None:
    """A document naming ``Alpha`` in its ``Raven-Python-Type``, written as a dict, so that
    writing it registers nothing."""
    metadata = {"@collection": "Alphas", "Raven-Python-Type": python_type_name(Alpha)}
    with store.open_session() as session:
        session.store({"name": document_id, "@metadata": metadata}, document_id)
        session.save_changes()


def test_two_stores_in_one_process_keep_their_own_registrations(
    new_store: Callable[..., DocumentStore],
) -> None:
    first, second = new_store(), new_store()
    with first.open_session() as session:
        session.store(Alpha("one"), "alphas/1")  # storing registers Alpha in the first store
        session.save_changes()
    _store_typed_dict(second, "alphas/2")

    with first.open_session() as session:
        assert session.load("alphas/1") == Alpha("one")
    with second.open_session() as session:
        assert session.load("alphas/2") == {"name": "alphas/2"}  # not registered here

    second.conventions.register_type(Alpha)
    with second.open_session() as session:
        assert session.load("alphas/2") == Alpha("alphas/2")


def test_registering_in_one_store_does_not_register_in_another(
    new_store: Callable[..., DocumentStore],
) -> None:
    first, second = new_store(), new_store()
    first.conventions.register_type(Alpha)
    _store_typed_dict(first, "alphas/3")
    _store_typed_dict(second, "alphas/4")
    with first.open_session() as session:
        assert session.load("alphas/3") == Alpha("alphas/3")
    with second.open_session() as session:
        assert session.load("alphas/4") == {"name": "alphas/4"}

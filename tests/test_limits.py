"""What rookdb does with a document it would not write, put in storage past its checks as
another program sharing the database could (the rest of the limits are in the shipped suite,
``rookdb.testing.suite.test_limits``)."""

from __future__ import annotations

import pytest

from rookdb import DocumentStore, SerializationError
from rookdb.serialization.encoding import MAX_DEPTH
from rookdb.testing.suite.models import Employee
from rookdb.testing.suite.test_limits import Node, _deep_bytes
from tests.internals import write_unchecked


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 1000])
def test_a_deeper_document_in_storage_does_not_break_the_session(
    store: DocumentStore, levels: int
) -> None:
    # Written by another program sharing the database: rookdb itself refuses to write it.
    write_unchecked(store, "deep/1", "Deep", _deep_bytes(levels))
    with store.open_session() as session:
        session.store(Employee("Before"), "employees/1")
        with pytest.raises(SerializationError, match="deep/1"):
            session.load("deep/1")
        with pytest.raises(SerializationError, match="deep/1"):
            session.load("deep/1", Node)
        with pytest.raises(SerializationError, match="deep/1"):
            session.query(collection_name="Deep").to_list()
        with pytest.raises(SerializationError, match="deep/1"):
            session.advanced.load_starting_with("deep/")
        session.store(Employee("After"), "employees/2")
        assert len(session.advanced.what_changed()) == 2
        session.save_changes()  # unrelated documents save
        session.load("employees/1").first_name = "Changed"
        session.save_changes()  # and again
    with store.open_session() as session:
        assert session.load("employees/1").first_name == "Changed"
        assert session.query(collection_name="Deep").count() == 1  # counting decodes nothing

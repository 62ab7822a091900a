"""what_changed(): the field-level diff of S11/S12, DocumentsChanges (§2.6) and JSON Patch."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from rookdb import ChangeType, DocumentsChanges, DocumentStore
from rookdb.testing.suite.models import Employee
from rookdb.tracking.diff import diff, to_json_patch


def _changes(store: DocumentStore, old: dict[str, Any], edit: Any) -> list[DocumentsChanges]:
    with store.open_session() as session:
        session.store(dict(old), "docs/1")
        session.save_changes()
    with store.open_session() as session:
        doc = session.load("docs/1")
        edit(doc)
        changes = session.advanced.what_changed().get("docs/1", [])
        assert changes == session.advanced.what_changed()["docs/1"] if changes else True
        return changes


def _row(c: DocumentsChanges) -> tuple[str, str, str, Any, Any]:
    return (str(c.change), c.field_name, c.field_path, c.field_old_value, c.field_new_value)


def test_top_level_and_nested_fields(store: DocumentStore) -> None:
    old = {"name": "a", "address": {"city": "Oslo", "geo": {"lat": 1}}}

    def edit(d: dict[str, Any]) -> None:
        d["name"] = "b"
        d["address"]["city"] = "Bergen"
        d["address"]["geo"]["lat"] = 2

    assert [_row(c) for c in _changes(store, old, edit)] == [
        ("field_changed", "name", "", "a", "b"),
        ("field_changed", "city", "address", "Oslo", "Bergen"),
        ("field_changed", "lat", "address.geo", 1, 2),
    ]


def test_new_and_removed_fields_come_after_current_fields(store: DocumentStore) -> None:
    old = {"a": 1, "gone": "x", "b": 2}

    def edit(d: dict[str, Any]) -> None:
        del d["gone"]
        d["b"] = 3
        d["added"] = None

    assert [_row(c) for c in _changes(store, old, edit)] == [
        ("field_changed", "b", "", 2, 3),
        ("new_field", "added", "", None, None),
        ("removed_field", "gone", "", "x", None),
    ]


def test_arrays_compare_by_position(store: DocumentStore) -> None:
    old = {"tags": ["a", "b", "c"], "lines": [{"product": "p1"}], "matrix": [[1, 2]]}

    def edit(d: dict[str, Any]) -> None:
        d["tags"][1] = "B"
        d["tags"].pop()
        d["lines"][0]["product"] = "p2"
        d["lines"].append({"product": "p3"})
        d["matrix"][0][1] = 3

    assert [_row(c) for c in _changes(store, old, edit)] == [
        ("array_value_changed", "tags", "tags[1]", "b", "B"),
        ("array_value_removed", "tags", "tags", "c", None),
        ("field_changed", "product", "lines[0]", "p1", "p2"),
        ("array_value_added", "lines", "lines", None, {"product": "p3"}),
        ("array_value_changed", "matrix", "matrix[0][1]", 2, 3),
    ]


_SHAPES: list[Any] = [None, 1, "s", True, [1, 2], {"k": 1}, [], {}]
_SHAPE_CHANGES = [
    (a, b)
    for a, b in itertools.product(_SHAPES, _SHAPES)
    if a is not b and not (type(a) is type(b) and type(a) in (list, dict))  # same shape: recursion
]


@pytest.mark.parametrize(("before", "after"), _SHAPE_CHANGES)
def test_every_change_of_shape_is_one_whole_entry(before: Any, after: Any) -> None:
    changes = diff({"f": before}, {"f": after})
    assert [_row(c) for c in changes] == [("field_changed", "f", "", before, after)]


def test_json_equality_numbers_by_value_booleans_not_numbers() -> None:
    assert diff({"n": 1}, {"n": 1.0}) == []
    assert [str(c.change) for c in diff({"n": 1}, {"n": True})] == ["field_changed"]
    assert [str(c.change) for c in diff({"n": 1}, {"n": "1"})] == ["field_changed"]


@pytest.mark.parametrize(("stored", "value"), [(1, True), (True, 1), (0, False), (False, 0)])
def test_a_bool_over_an_equal_number_is_a_change_the_session_saves(
    store: DocumentStore, stored: Any, value: Any
) -> None:
    # ``True == 1`` in Python; in JSON a bool is no number: a change, written.
    with store.open_session() as session:
        session.store({"flag": stored, "tags": [stored]}, "docs/1")
        session.save_changes()
    with store.open_session() as session:
        doc = session.load("docs/1")
        doc["flag"], doc["tags"][0] = value, value
        assert session.advanced.has_changed(doc) and session.advanced.has_changes
        assert [_row(c) for c in session.advanced.what_changed()["docs/1"]] == [
            ("field_changed", "flag", "", stored, value),
            ("array_value_changed", "tags", "tags[0]", stored, value),
        ]
        session.save_changes()
    with store.open_session() as session:
        doc = session.load("docs/1")
        assert type(doc["flag"]) is type(value) and type(doc["tags"][0]) is type(value)
        assert (doc["flag"], doc["tags"]) == (value, [value])


def test_identity_property_is_never_reported(store: DocumentStore) -> None:
    with store.open_session() as session:
        employee = Employee("Ann", Id="employees/1")
        session.store(employee)
        session.save_changes()
        employee.Id = "employees/other"
        assert session.advanced.what_changed() == {}


def test_metadata_edits_are_changes(store: DocumentStore) -> None:
    with store.open_session() as session:
        employee = Employee("Ann")
        session.store(employee, "employees/1")
        session.save_changes()
        metadata = session.advanced.get_metadata_for(employee)
        metadata["reviewed"] = True
        assert [_row(c) for c in session.advanced.what_changed_for(employee)] == [
            ("new_field", "reviewed", "@metadata", None, True)
        ]
        session.save_changes()
    with store.open_session() as session:
        employee = session.load("employees/1", Employee)
        assert session.advanced.get_metadata_for(employee)["reviewed"] is True


def test_deleted_document_replaces_field_changes(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("Ann"), "employees/1")
        session.save_changes()
        employee = session.load("employees/1", Employee)
        employee.first_name = "Bea"
        session.delete(employee)
        changes = session.advanced.what_changed()["employees/1"]
        assert [c.change for c in changes] == [ChangeType.DOCUMENT_DELETED]


def test_repeated_calls_give_equal_results(store: DocumentStore) -> None:
    old = {"a": [1, {"b": 2}], "c": "x"}

    def edit(d: dict[str, Any]) -> None:
        d["a"][1]["b"] = 3
        d["c"] = None

    first = _changes(store, old, edit)
    assert first == diff(old, {"a": [1, {"b": 3}], "c": None})


def test_documents_changes_is_an_immutable_value() -> None:
    c = DocumentsChanges(ChangeType.FIELD_CHANGED, "city", "address", "Oslo", "Bergen", "/a/c")
    assert c.field_full_name == "address.city"
    assert dict(c) == {
        "old_value": "Oslo",
        "new_value": "Bergen",
        "change": ChangeType.FIELD_CHANGED,
        "field_name": "city",
        "field_path": "address",
    }
    with pytest.raises(AttributeError):
        c.field_name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        c["field_name"] = "x"  # type: ignore[index]
    assert DocumentsChanges(ChangeType.NEW_FIELD, "x").field_full_name == "x"


def test_change_type_values() -> None:
    assert [str(t) for t in ChangeType] == [
        "document_deleted",
        "document_added",
        "field_changed",
        "new_field",
        "removed_field",
        "array_value_changed",
        "array_value_added",
        "array_value_removed",
    ]


def test_json_pointer_escapes_per_rfc6901() -> None:
    (change,) = diff({"a/b": {"~c": 1}}, {"a/b": {"~c": 2}})
    assert change.json_pointer == "/a~1b/~0c"


def test_as_patch(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"n": 1, "tags": ["a", "b", "c"]}, "docs/1")
        session.store({"gone": True}, "docs/2")
        session.save_changes()
    with store.open_session() as session:
        doc = session.load("docs/1")
        doc["tags"] = ["a"]
        doc["n"] = 2
        session.delete("docs/2")
        session.store({"k": "v"}, "docs/3")
        patches = session.advanced.what_changed(as_patch=True)
    assert patches["docs/1"] == [
        {"op": "replace", "path": "/n", "value": 2},
        {"op": "remove", "path": "/tags/2"},
        {"op": "remove", "path": "/tags/1"},
    ]
    assert patches["docs/2"] == [{"op": "remove", "path": ""}]
    assert patches["docs/3"] == [
        {"op": "add", "path": "", "value": {"k": "v", "@metadata": {"@collection": "docs"}}}
    ]
    assert to_json_patch([]) == []


def test_metadata_edits_stay_with_their_entity(store: DocumentStore) -> None:
    """Entities of a collection share one metadata dict until one of them writes to it."""
    with store.open_session() as session:
        first, second = Employee("A"), Employee("B")
        session.store(first, "employees/1")
        session.store(second, "employees/2")
        session.advanced.get_metadata_for(first)["new-only"] = 1
        assert "new-only" not in session.advanced.get_metadata_for(second)
        session.save_changes()
    with store.open_session() as session:
        loaded = session.load(["employees/1", "employees/2"], Employee)
        one, two = loaded["employees/1"], loaded["employees/2"]
        assert "new-only" not in session.advanced.get_metadata_for(two)
        session.advanced.get_metadata_for(two)["loaded-only"] = True
        assert list(session.advanced.what_changed()) == ["employees/2"]
        assert "loaded-only" not in session.advanced.get_metadata_for(one)
    with store.open_session() as session:
        fresh = Employee("C")
        session.store(fresh, "employees/3")
        assert dict(session.advanced.get_metadata_for(fresh)) == {
            "@collection": "Employees",
            "Raven-Python-Type": "rookdb.testing.suite.models.Employee",
            "@id": "employees/3",
        }

"""Field-level differences between two versions of a document (SPEC S11, S12, §2.6).

``diff(old, new)`` walks two decoded JSON objects and returns one ``DocumentsChanges`` per
difference, in a deterministic order: the current fields in document order (recursing into
nested objects and arrays as it meets them), then the removed fields of that object. Any change
of shape (object↔scalar, list↔object, None↔value, ...) is one ``FIELD_CHANGED`` entry carrying the
whole old and new values, so no combination can crash the walk.

``to_json_patch(changes)`` turns those entries into an RFC 6902 JSON Patch that, applied to the
old document, gives the new one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

from rookdb.serialization.encoding import json_equal

__all__ = ["ChangeType", "DocumentsChanges", "diff", "json_pointer_escape", "to_json_patch"]


class ChangeType(str, enum.Enum):
    """What kind of change a ``DocumentsChanges`` entry reports.

    ``str()`` gives the snake_case value (``"field_changed"``) as the RavenDB Python client does;
    RavenDB's documentation prints the PascalCase names of the C# client.
    """

    DOCUMENT_DELETED = "document_deleted"
    DOCUMENT_ADDED = "document_added"
    FIELD_CHANGED = "field_changed"
    NEW_FIELD = "new_field"
    REMOVED_FIELD = "removed_field"
    ARRAY_VALUE_CHANGED = "array_value_changed"
    ARRAY_VALUE_ADDED = "array_value_added"
    ARRAY_VALUE_REMOVED = "array_value_removed"

    def __str__(self) -> str:
        return self.value


_MAPPING_KEYS = ("old_value", "new_value", "change", "field_name", "field_path")


class DocumentsChanges(Mapping[str, Any]):
    """One change of one document: an immutable value.

    Read it by attribute, as RavenDB's documentation does::

        >>> c = DocumentsChanges(ChangeType.FIELD_CHANGED, "city", "address", "Oslo", "Bergen")
        >>> c.field_full_name, c.field_old_value, c.field_new_value
        ('address.city', 'Oslo', 'Bergen')

    or by key, as the RavenDB Python client's ``what_changed()`` returns it::

        >>> c["old_value"], c["change"]
        ('Oslo', <ChangeType.FIELD_CHANGED: 'field_changed'>)

    ``json_pointer`` (RFC 6901) is the exact location of the change in the document.
    """

    __slots__ = ("_change", "_field_name", "_field_path", "_json_pointer", "_new", "_old")
    _change: ChangeType
    _field_name: str
    _field_path: str
    _json_pointer: str
    _new: Any
    _old: Any

    def __init__(
        self,
        change: ChangeType,
        field_name: str = "",
        field_path: str = "",
        field_old_value: Any = None,
        field_new_value: Any = None,
        json_pointer: str = "",
    ) -> None:
        object.__setattr__(self, "_change", change)
        object.__setattr__(self, "_field_name", field_name)
        object.__setattr__(self, "_field_path", field_path)
        object.__setattr__(self, "_old", field_old_value)
        object.__setattr__(self, "_new", field_new_value)
        object.__setattr__(self, "_json_pointer", json_pointer)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DocumentsChanges is immutable")

    @property
    def change(self) -> ChangeType:
        return self._change

    @property
    def field_name(self) -> str:
        return self._field_name

    @property
    def field_path(self) -> str:
        return self._field_path

    @property
    def field_old_value(self) -> Any:
        return self._old

    @property
    def field_new_value(self) -> Any:
        return self._new

    @property
    def json_pointer(self) -> str:
        return self._json_pointer

    @property
    def field_full_name(self) -> str:
        path = self._field_path
        return self._field_name if not path else f"{path}.{self._field_name}"

    # Mapping access with the keys of the RavenDB Python client's what_changed().
    def __getitem__(self, key: str) -> Any:
        if key == "old_value":
            return self._old
        if key == "new_value":
            return self._new
        if key == "change":
            return self._change
        if key == "field_name":
            return self._field_name
        if key == "field_path":
            return self._field_path
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_MAPPING_KEYS)

    def __len__(self) -> int:
        return len(_MAPPING_KEYS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DocumentsChanges):
            return NotImplemented
        return (
            self._change == other._change
            and self._field_name == other._field_name
            and self._field_path == other._field_path
            and self._json_pointer == other._json_pointer
            and json_equal(self._old, other._old)
            and json_equal(self._new, other._new)
        )

    __hash__ = None  # type: ignore[assignment]  # values may be dicts and lists

    def __repr__(self) -> str:
        return (
            f"DocumentsChanges({self._change!s} {self.field_full_name!r}: "
            f"{self._old!r} -> {self._new!r})"
        )


def json_pointer_escape(token: str) -> str:
    """Escape one reference token per RFC 6901."""
    return token.replace("~", "~0").replace("/", "~1")


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[DocumentsChanges]:
    """Every difference between two decoded JSON objects, in deterministic order."""
    out: list[DocumentsChanges] = []
    _diff_object(old, new, "", "", out)
    return out


def _diff_object(
    old: dict[str, Any], new: dict[str, Any], path: str, pointer: str, out: list[DocumentsChanges]
) -> None:
    for key, new_value in new.items():
        child_pointer = f"{pointer}/{json_pointer_escape(key)}"
        if key not in old:
            out.append(
                DocumentsChanges(ChangeType.NEW_FIELD, key, path, None, new_value, child_pointer)
            )
            continue
        old_value = old[key]
        old_type, new_type = type(old_value), type(new_value)
        if old_type is dict and new_type is dict:
            _diff_object(old_value, new_value, _join(path, key), child_pointer, out)
        elif old_type is list and new_type is list:
            _diff_array(old_value, new_value, key, _join(path, key), child_pointer, out)
        elif not json_equal(old_value, new_value):
            out.append(
                DocumentsChanges(
                    ChangeType.FIELD_CHANGED, key, path, old_value, new_value, child_pointer
                )
            )
    for key, old_value in old.items():
        if key not in new:
            out.append(
                DocumentsChanges(
                    ChangeType.REMOVED_FIELD,
                    key,
                    path,
                    old_value,
                    None,
                    f"{pointer}/{json_pointer_escape(key)}",
                )
            )


def _diff_array(
    old: list[Any],
    new: list[Any],
    name: str,
    path: str,
    pointer: str,
    out: list[DocumentsChanges],
) -> None:
    """Arrays compare by position; ``name`` is the array's own key, ``path`` its dotted path."""
    for index, (old_value, new_value) in enumerate(zip(old, new, strict=False)):
        item_path = f"{path}[{index}]"
        item_pointer = f"{pointer}/{index}"
        old_type, new_type = type(old_value), type(new_value)
        if old_type is dict and new_type is dict:
            _diff_object(old_value, new_value, item_path, item_pointer, out)
        elif old_type is list and new_type is list:
            _diff_array(old_value, new_value, name, item_path, item_pointer, out)
        elif not json_equal(old_value, new_value):
            out.append(
                DocumentsChanges(
                    ChangeType.ARRAY_VALUE_CHANGED,
                    name,
                    item_path,
                    old_value,
                    new_value,
                    item_pointer,
                )
            )
    for index in range(len(old), len(new)):
        out.append(
            DocumentsChanges(
                ChangeType.ARRAY_VALUE_ADDED, name, path, None, new[index], f"{pointer}/{index}"
            )
        )
    for index in range(len(new), len(old)):
        out.append(
            DocumentsChanges(
                ChangeType.ARRAY_VALUE_REMOVED, name, path, old[index], None, f"{pointer}/{index}"
            )
        )


def to_json_patch(changes: list[DocumentsChanges]) -> list[dict[str, Any]]:
    """An RFC 6902 JSON Patch equivalent to ``changes`` (as produced by ``diff`` for one document).

    A whole added document becomes ``add ""``, a deleted one ``remove ""``. Removed array
    elements are emitted from the highest index down, so that each ``remove`` addresses the
    element that the diff meant.
    """
    patch: list[dict[str, Any]] = []
    pending_removals: list[dict[str, Any]] = []
    for change in changes:
        kind = change.change
        if kind is not ChangeType.ARRAY_VALUE_REMOVED and pending_removals:
            patch.extend(reversed(pending_removals))
            pending_removals = []
        if kind is ChangeType.DOCUMENT_ADDED:
            patch.append({"op": "add", "path": "", "value": change.field_new_value})
        elif kind is ChangeType.DOCUMENT_DELETED:
            patch.append({"op": "remove", "path": ""})
        elif kind in (ChangeType.FIELD_CHANGED, ChangeType.ARRAY_VALUE_CHANGED):
            patch.append(
                {"op": "replace", "path": change.json_pointer, "value": change.field_new_value}
            )
        elif kind in (ChangeType.NEW_FIELD, ChangeType.ARRAY_VALUE_ADDED):
            patch.append(
                {"op": "add", "path": change.json_pointer, "value": change.field_new_value}
            )
        elif kind is ChangeType.REMOVED_FIELD:
            patch.append({"op": "remove", "path": change.json_pointer})
        else:  # ARRAY_VALUE_REMOVED: consecutive entries of one array, in ascending index order
            pending_removals.append({"op": "remove", "path": change.json_pointer})
    patch.extend(reversed(pending_removals))
    return patch

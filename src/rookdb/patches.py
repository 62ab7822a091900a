"""The session's typed patches as data: set a value, increment a number, add to or remove from
an array, applied to a document in Python (no JavaScript engine needed), or printed as the
JavaScript RavenDB's client sends for them.

``session.advanced.patch(entity, "address.city", "Oslo")`` becomes ``SetValue("address.city",
"Oslo")``; storage applies it with ``apply_operations``, and a RavenDB server receives the
script of ``render_script`` (``this.address.city = args.val_0;``). Both give the same
document: a path through a missing object, an increment of something that is not a number
and a push to something that is not an array are errors, as the script's are.

A value is a JSON tree as the session writes it (``Encoder.written_value``): a number a float
does not give back as written is an ``orjson.Fragment`` of its text (``Decimal("9.50")``),
sent so in a request's body and stored so (``exact_numbers.noting``); a JavaScript engine
running the script reads it as a number.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from rookdb.errors import ConfigurationError, PatchError, shown
from rookdb.paths import MAX_PATH_BYTES
from rookdb.serialization import exact_numbers
from rookdb.serialization.encoding import MAX_DEPTH

__all__ = [
    "ArrayAdd",
    "ArrayRemoveAt",
    "Increment",
    "PatchOperation",
    "SetValue",
    "apply_operations",
    "check_path",
    "decode_operations",
    "encode_operations",
    "render_script",
]

_PATH = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\Z")


def check_path(path: Any) -> str:
    """A patch path: field names (JavaScript identifiers) joined by dots, at most
    ``MAX_PATH_BYTES`` long as a query's field path is."""
    if type(path) is not str or len(path) > MAX_PATH_BYTES or not _PATH.match(path):
        raise ConfigurationError(
            "a patch path is field names joined by dots (letters, digits, _ and $), at most "
            f"{MAX_PATH_BYTES} characters, not {shown(path)}"
        )
    return path


@dataclasses.dataclass(frozen=True, slots=True)
class SetValue:
    """``this.<path> = value``."""

    path: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Increment:
    """``this.<path> = this.<path> ? this.<path> + delta : delta`` (RavenDB's increment)."""

    path: str
    delta: int | float


@dataclasses.dataclass(frozen=True, slots=True)
class ArrayAdd:
    """``this.<path>.push(...items)``."""

    path: str
    items: tuple[Any, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ArrayRemoveAt:
    """``this.<path>.splice(index, 1)``."""

    path: str
    index: int


PatchOperation = SetValue | Increment | ArrayAdd | ArrayRemoveAt


def _parent(document: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    *parents, last = path.split(".")
    node: Any = document
    for i, name in enumerate(parents):
        node = node.get(name) if type(node) is dict else None
        if type(node) is not dict:
            where = ".".join(parents[: i + 1])
            raise PatchError(f"patch path {shown(path)}: {shown(where)} is not an object")
    return node, last


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def apply_operations(
    document: dict[str, Any],
    operations: Sequence[PatchOperation],
    notes: exact_numbers.Notes | None = None,
) -> dict[str, Any]:
    """``document`` with ``operations`` applied in order (a new object); ``PatchError`` where
    the script RavenDB's client sends for them would fail too. ``notes``: those of the
    document's ``loads_noting``, where each number a value holds with its digits (an
    ``orjson.Fragment``) is noted as it is set, for ``exact_numbers.written_back``; without
    them, it is the float JSON reads."""
    if notes is None:
        notes = {}
    out = copy.deepcopy(document)
    for op in operations:
        parent, name = _parent(out, op.path)
        if type(op) is SetValue:
            parent[name] = exact_numbers.noting(op.value, notes)
        elif type(op) is Increment:
            current: Any = parent.get(name)
            if _is_number(current):
                # Adding 0 keeps the number as stored (9.50, not 9.5; 0.0, not 0).
                if op.delta != 0:
                    parent[name] = current + op.delta if current != 0 else op.delta
            elif current is None or current is False or current == "":  # JavaScript's falsy
                parent[name] = op.delta
            else:
                raise PatchError(f"increment of {shown(op.path)}: {shown(current)} is not a number")
        else:
            target = parent.get(name)
            if type(target) is not list:
                raise PatchError(f"patch of array {shown(op.path)}: it is not an array")
            if type(op) is ArrayAdd:
                target.extend(exact_numbers.noting(list(op.items), notes))
            else:
                assert type(op) is ArrayRemoveAt
                index = op.index + len(target) if op.index < 0 else op.index
                if 0 <= index < len(target):
                    del target[index]
    return out


def render_script(
    operations: Sequence[PatchOperation], first: int = 0
) -> tuple[str, dict[str, Any]]:
    """The JavaScript of ``operations`` as RavenDB's client writes it, and its ``args``
    (``val_<n>`` from ``first``)."""
    lines: list[str] = []
    values: dict[str, Any] = {}
    n = first

    def arg(value: Any) -> str:
        nonlocal n
        name = f"val_{n}"
        n += 1
        values[name] = value
        return f"args.{name}"

    for op in operations:
        target = f"this.{op.path}"
        if type(op) is SetValue:
            lines.append(f"{target} = {arg(op.value)};")
        elif type(op) is Increment:
            value = arg(op.delta)
            lines.append(f"{target} = {target} ? {target} + {value} : {value};")
        elif type(op) is ArrayAdd:
            lines.append(f"{target}.push({', '.join(arg(item) for item in op.items)});")
        else:
            assert type(op) is ArrayRemoveAt
            lines.append(f"{target}.splice({arg(op.index)}, 1);")
    return "\n".join(lines), values


def encode_operations(operations: Sequence[PatchOperation]) -> list[dict[str, Any]]:
    """The operations as JSON, for rookdb's own server (beside the script, which a RavenDB
    server runs instead)."""
    out: list[dict[str, Any]] = []
    for op in operations:
        if type(op) is SetValue:
            out.append({"Op": "set", "Path": op.path, "Value": op.value})
        elif type(op) is Increment:
            out.append({"Op": "increment", "Path": op.path, "Value": op.delta})
        elif type(op) is ArrayAdd:
            out.append({"Op": "add", "Path": op.path, "Value": list(op.items)})
        else:
            assert type(op) is ArrayRemoveAt
            out.append({"Op": "remove_at", "Path": op.path, "Value": op.index})
    return out


def _nests_deeper(value: Any, most: int) -> bool:
    """Whether the JSON tree ``value`` nests more than ``most`` levels of objects and arrays
    (found without recursing: the tree may come from outside, as deep as orjson reads)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if depth > most:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if kind is dict else item))
    return False


def decode_operations(raw: Any, written: Any = None) -> tuple[PatchOperation, ...]:
    """``encode_operations``'s JSON back; ``ConfigurationError`` when malformed. ``written``:
    the same JSON read with its numbers kept as written (``exact_numbers.keep_digits``), whose
    values are those set and added (``9.50`` as ``9.50``); an increment's and an index are
    read from ``raw``, as numbers."""
    if type(raw) is not list:
        raise ConfigurationError("patch operations are a list")
    kept = raw if written is None else written  # the same JSON: the same shape
    out: list[PatchOperation] = []
    for i, item in enumerate(raw):
        if type(item) is not dict:
            raise ConfigurationError("a patch operation is an object")
        kind, path = item.get("Op"), check_path(item.get("Path"))
        value: Any = item.get("Value")
        if _nests_deeper(value, MAX_DEPTH):
            # Refused before anything walks it (a copy, a check: Python's recursion limit);
            # set in a document, it would nest deeper than a document may anyway.
            raise ConfigurationError(
                f"patch operation {shown(kind)}: its value nests more than {MAX_DEPTH} levels"
            )
        if kind == "set":
            out.append(SetValue(path, kept[i].get("Value")))
        elif kind == "increment" and _is_number(value):
            out.append(Increment(path, value))
        elif kind == "add" and type(value) is list:
            out.append(ArrayAdd(path, tuple(kept[i]["Value"])))
        elif kind == "remove_at" and type(value) is int:
            out.append(ArrayRemoveAt(path, value))
        else:
            raise ConfigurationError(
                f"patch operation {shown(kind)} with {shown(value)} is not valid"
            )
    return tuple(out)

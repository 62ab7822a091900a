"""Where a class's documents hold ``Decimal`` fields, worked out once per class.

``exact_numbers`` reads a document whose class may hold a ``Decimal`` from the text of its
numbers where a float would change a decimal's digits (9.50 stays 9.50): ``decimal_keys(cls)``
tells it the keys to look after (``exact_numbers.finder``), or that the whole document is to be
looked at, or that nothing is; ``holds_decimals(cls)`` whether any is. The classes a field
names are walked at any depth (through unions, containers and ``Annotated``) by their layouts'
type hints (``layouts.layout_of``).
"""

from __future__ import annotations

import decimal
import types
import typing
from collections.abc import Callable
from typing import Any

from rookdb.serialization.class_traits import is_object_class
from rookdb.serialization.layouts import LAYOUTS, layout_of

__all__ = ["decimal_keys", "holds_decimals"]


def _named_classes(hint: Any) -> list[type]:
    """The classes ``hint`` names: itself, or those of its arguments (a Union's, a container's,
    an ``Annotated``'s type), at any depth; none for a field that holds no document value of
    them (``type[X]``, a ``Callable``, a ``ClassVar``)."""
    origin = typing.get_origin(hint)
    if origin is type or origin is Callable or origin is typing.ClassVar:
        return []
    args = typing.get_args(hint)
    if args:
        return [named for arg in args for named in _named_classes(arg)]
    return [hint] if isinstance(hint, type) else []


def holds_decimals(cls: type) -> bool:
    """Whether a document of ``cls`` may hold a field typed ``Decimal``: one of its own, or of
    an object one of its fields holds, at any depth (``exact_numbers``: such documents are read
    from the text where a float would change a decimal's digits)."""
    return decimal_keys(cls) != ()


def decimal_keys(cls: type) -> tuple[str, ...] | None:
    """Where a document of ``cls`` holds ``Decimal`` fields, for ``exact_numbers.finder``:
    ``()`` when nowhere; the keys they are stored under when each is a field of its own
    (typed ``Decimal``, ``Decimal | None``, ``Annotated[Decimal, ...]``) of ``cls`` or of an
    object it holds, at any depth; None when one is held otherwise (in a list, a dict, a
    union with other types), where the whole document is looked at. Worked out once per
    class."""
    try:
        return _DECIMAL_KEYS[cls]
    except KeyError:
        found = _DECIMAL_KEYS[cls] = _decimal_keys(cls)
        return found


_DECIMAL_KEYS: dict[type, tuple[str, ...] | None] = {}


def _decimal_keys(cls: type) -> tuple[str, ...] | None:
    keys: dict[str, None] = {}  # in order, once each
    seen: set[type] = set()
    todo = [cls]
    while todo:
        klass = todo.pop()
        if klass in seen:
            continue
        seen.add(klass)
        for name, hint in (LAYOUTS.get(klass) or layout_of(klass)).hints.items():
            named = _named_classes(hint)
            if decimal.Decimal in named:
                if not _decimal_alone(hint):
                    return None
                keys[name] = None
            todo.extend(held for held in named if is_object_class(held))
    return tuple(keys)


def _decimal_alone(hint: Any) -> bool:
    """Whether a field typed ``hint`` holds one ``Decimal`` (or None), nothing else."""
    if hint is decimal.Decimal:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _decimal_alone(typing.get_args(hint)[0])
    if origin is typing.Union or origin is types.UnionType:
        return all(arg is type(None) or _decimal_alone(arg) for arg in typing.get_args(hint))
    return False

"""What a class's instances are like, read off the class once for its layout (``layouts``).

- ``slot_names``: the ``__slots__`` of the class and of its bases, in order, once each;
- ``instances_have_dict``: whether an instance carries a ``__dict__`` that can hold fields the
  class does not declare (an instance made without ``__init__`` is asked; one whose ``__new__``
  needs arguments is judged by the class);
- ``has_data_descriptors`` and ``reads_dict``: whether writing or reading an attribute goes
  through something other than the instance's ``__dict__`` (a property, a slot, a
  ``__getattribute__`` of its own), which decide whether a layout may adopt a decoded dict or
  hand out the live ``__dict__``;
- ``type_hints``: the class's type hints, none when they cannot be resolved;
- ``is_object_class``: whether a field typed by a class holds an object rookdb builds from a
  JSON object (not a value read as it is or by a scalar decoder).

``layouts.Layout`` records what these say once per class; ``decimal_fields`` walks the classes
a document holds with ``is_object_class``.
"""

from __future__ import annotations

import enum
import typing
import uuid
from typing import Any, cast

from rookdb.serialization import scalars

__all__ = [
    "has_data_descriptors",
    "instances_have_dict",
    "is_object_class",
    "reads_dict",
    "slot_names",
    "type_hints",
]


def slot_names(cls: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for name in slots:
            if name not in ("__dict__", "__weakref__") and name not in names:
                names.append(name)
    return tuple(names)


def has_data_descriptors(cls: type) -> bool:
    """Whether ``cls`` (or a base other than ``object``) has a property, slot or other data
    descriptor, through which ``object.__setattr__`` would write instead of the ``__dict__``."""
    for klass in cls.__mro__[:-1]:
        for name, value in klass.__dict__.items():
            if name in ("__dict__", "__weakref__"):
                continue
            kind = type(value)
            if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                return True
    return False


def reads_dict(cls: type, names: tuple[str, ...]) -> bool:
    """Whether ``getattr(obj, name)`` of an instance of ``cls`` is ``obj.__dict__[name]`` for
    every one of ``names`` that its ``__dict__`` holds: no ``__getattribute__`` of its own, and
    no data descriptor (a property, a slot) of any of those names on the class."""
    if getattr(cls, "__getattribute__", None) is not object.__getattribute__:
        return False
    for name in names:
        for klass in cls.__mro__:
            if name in klass.__dict__:
                kind = type(klass.__dict__[name])
                if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                    return False
                break
    return True


def _new(cls: type) -> Any:
    """An instance of ``cls`` made without calling ``__init__`` (SPEC D3)."""
    return cast(Any, cls).__new__(cls)


def instances_have_dict(cls: type, slots: tuple[str, ...]) -> bool:
    try:
        return hasattr(_new(cls), "__dict__")
    except Exception:  # a __new__ that needs arguments: judge by the class
        return "__dict__" in dir(cls) and not slots


def type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: fall back to no hints, never crash
        return {}


def is_object_class(hint: type) -> bool:
    """Whether a field typed ``hint`` holds an object rookdb builds from a JSON object (a
    dataclass, a model, a plain class), not a value read as it is or by a decoder."""
    return not (
        hint in (str, int, float, bool, object, list, dict, type(None), set, frozenset, tuple)
        or issubclass(hint, (str, int, float, bytes, enum.Enum))
        or hint is uuid.UUID
        or scalars.decoder_for(hint) is not None
    )

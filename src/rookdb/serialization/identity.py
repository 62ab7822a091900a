"""The identity property of entities (SPEC D2, S14): which attribute holds a document's id,
how it is written, read, and kept.

Each class has one identity property, ``"Id"`` unless the store's conventions name another
(``conventions.find_identity_property_name``, asked once per class: conventions are frozen by
the time a codec exists). The document id is written there when a session stores or loads an
entity, and left out of the stored document (``encoders``); dicts have none (their id is the
key they are stored with), nor have classes that neither declare it nor have a ``__dict__``
(pydantic models only take declared fields). Frozen objects keep their id in the session only
(S14), except while rookdb builds them, as ``__init__`` would (``decoders``).

A document that holds a field of the identity property's name with another value than its id
(written before the property was the identity) keeps it, as one of the entity's ``Extras``
(``keep_stored_identity``): the entity has the document id, and the field is written back as
it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rookdb.serialization.layouts import LAYOUTS, Extras, Kind, layout_of

__all__ = ["IdentityProperty", "keep_stored_identity"]

#: A class ``set_identity`` has not seen yet (None is an answer: nowhere to write the id).
_UNKNOWN: Any = object()


class IdentityProperty:
    """The identity property of each class for one store: its name, and how an id is written
    to it, each worked out once per class."""

    def __init__(self, identity_name: Callable[[type], str]) -> None:
        # The store's convention (conventions.find_identity_property_name).
        self._find_identity_name = identity_name
        self._identity_names: dict[type, str] = {}
        # How to write the identity property, per (class, while-constructing): None or a setter.
        self._identity_setters: dict[tuple[type, bool], Callable[[Any, str], None] | None] = {}
        # ``set_identity``'s setter of each class, by class alone (None: nowhere to write).
        self._assigners: dict[type, Any] = {}

    def identity_name(self, cls: type) -> str:
        """The identity property of ``cls`` (``"Id"`` unless the conventions say otherwise)."""
        name = self._identity_names.get(cls)
        if name is None:
            name = self._identity_names[cls] = self._find_identity_name(cls)
        return name

    def identity_of(self, entity: Any) -> Any:
        """The value of the identity property, or None (dicts have none: their id is the
        ``key`` they are stored with)."""
        if isinstance(entity, dict):
            return None
        return getattr(entity, self.identity_name(type(entity)), None)

    def identity_setter(
        self, cls: type, *, constructing: bool
    ) -> Callable[[Any, str], None] | None:
        """How to write the identity property of ``cls``'s objects, or None when they cannot
        hold it; ``constructing``: while rookdb builds the object, as ``__init__`` would."""
        key = (cls, constructing)
        cache = self._identity_setters
        if key in cache:
            return cache[key]
        name = self.identity_name(cls)
        layout = LAYOUTS.get(cls) or layout_of(cls)
        setter: Callable[[Any, str], None] | None
        declares = name in layout.declared or name in layout.slots
        # Nowhere to put it: dicts, and classes that neither declare it nor have a __dict__
        # (pydantic models only take declared fields).
        can_hold = declares or (layout.has_dict and layout.kind is not Kind.PYDANTIC)
        if layout.kind is Kind.DICT or not can_hold:
            setter = None
        elif constructing or layout.kind is Kind.PYDANTIC:
            # While rookdb builds an object, as __init__ would, nothing refuses the write
            # (frozen classes, attrs' on_setattr hooks); pydantic's validate_assignment never
            # sees the id either.
            setter = (
                (lambda obj, value: object.__setattr__(obj, name, value))
                if (constructing or not layout.frozen)
                else None
            )
        elif layout.frozen:
            setter = None  # frozen objects keep their id in the session only (SPEC S14)
        else:
            setter = lambda obj, value: setattr(obj, name, value)  # noqa: E731
        cache[key] = setter
        return setter

    def assigner(self, cls: type) -> Callable[[Any, str], None] | None:
        """``set_identity``'s setter for ``cls``'s objects (None: nowhere to write the id),
        worked out once per class. It may raise ``AttributeError`` or ``TypeError``: the
        object refuses the write, which ``set_identity`` ignores."""
        setter = self._assigners.get(cls, _UNKNOWN)
        if setter is _UNKNOWN:
            setter = self._assigners[cls] = (
                None if issubclass(cls, dict) else self.identity_setter(cls, constructing=False)
            )
        return setter  # type: ignore[no-any-return]

    def set_identity(self, entity: Any, document_id: str) -> bool:
        """Write the id to the identity property when the object allows it; True if written.
        Frozen objects keep their id in the session only (SPEC S14)."""
        cls = type(entity)
        # Once per class (a session's store() asks it of every entity): its setter, or None.
        setter = self._assigners.get(cls, _UNKNOWN)
        if setter is _UNKNOWN:
            setter = self.assigner(cls)
        if setter is None:
            return False
        try:
            setter(entity, document_id)
        except (AttributeError, TypeError):
            return False
        return True

    def refresh_in_place(self, entity: Any, fresh: Any) -> None:
        """Make ``entity`` hold the state of ``fresh`` (same class), keeping its identity."""
        if isinstance(entity, dict):
            entity.clear()
            entity.update(fresh)
            return
        layout = layout_of(type(entity))
        if layout.kind is Kind.PYDANTIC:
            object.__setattr__(entity, "__dict__", dict(fresh.__dict__))
            if hasattr(fresh, "__pydantic_extra__"):
                object.__setattr__(entity, "__pydantic_extra__", fresh.__pydantic_extra__)
            return
        for name in layout.slots:
            if hasattr(fresh, name):
                object.__setattr__(entity, name, getattr(fresh, name))
            elif hasattr(entity, name):
                object.__delattr__(entity, name)
        if layout.has_dict:
            entity.__dict__.clear()
            entity.__dict__.update(fresh.__dict__)


def keep_stored_identity(entity: Any, name: str, stored: Any, extras: Extras) -> None:
    """The document holds a field of the identity property's name with another value than
    its id (written before the property was the identity, e.g. a model's own ``id`` field):
    the entity has the document id, and the field is kept and written back as it was, never
    lost."""
    held = extras.get(id(entity))
    if held is not None and held[0] is entity:
        held[1][name] = stored
    else:
        extras[id(entity)] = (entity, {name: stored})

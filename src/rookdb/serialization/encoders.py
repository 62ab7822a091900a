"""Entities to JSON documents (SPEC D2, D3).

Plain classes (``__dict__``), ``__slots__`` classes, dataclasses, pydantic v2 models and dicts
become JSON objects with their attribute names verbatim, less the identity property
(``identity``), plus ``@metadata``. Nested objects, lists, tuples, sets (sorted when their
elements sort), enums, datetimes, timedeltas, Decimals and UUIDs are supported (their JSON forms
are in ``scalars``); anything else raises ``SerializationError`` unless a hook for its type was
registered.

Two paths produce the same bytes:

* the fast path hands the object graph to orjson with a ``default`` callback, used every time the
  session checks an entity for changes (``Encoder.encode``);
* the checked path (``Encoder.encode_checked``) is used for what is about to be written. It
  runs the fast path and, only when the bytes could hide an invalid value (see
  ``may_hide_invalid_values``), rebuilds the document as a plain JSON tree while validating every
  value: NaN and infinities, integers outside 64 bits, dict keys that are not ``str``/``int``,
  circular references, nesting deeper than ``encoding.MAX_DEPTH`` (where it stops, so that it
  never recurses deeper than that). Bytes whose only suspect is a null (a None, or a NaN or
  an infinity that orjson wrote as null) are written as they are once a look at the
  document's floats finds none of those (``Encoder._finite``).

What is worked out once per class (its kind, fields) is in ``layouts``; this module adds what
depends on a store: the type hooks, the identity property left out, and the encoders orjson is
handed, each decided once per class or type.
"""

from __future__ import annotations

import enum
import functools
import math
import types
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from rookdb._types import JsonDict
from rookdb.errors import SerializationError, shown
from rookdb.serialization import encoding, exact_numbers, scalars
from rookdb.serialization.layouts import LAYOUTS, Extras, Kind, layout_of, live_dict

__all__ = ["Encoder"]

#: The types ``Encoder._finite`` passes over: they hold no float.
_ATOMS = frozenset((str, int, bool, type(None)))


class Encoder:
    """Writes entities as JSON documents for one store (its identity property and type
    hooks)."""

    def __init__(
        self,
        identity_name: Callable[[type], str],
        encoders: dict[type, Callable[[Any], Any]] | None = None,
    ) -> None:
        # The identity property of each class (``identity.IdentityProperty.identity_name``):
        # left out of documents.
        self._identity_name = identity_name
        self._encoders: dict[type, Callable[[Any], Any]] = dict(encoders or {})
        self._converters: dict[type, Callable[[Any], Any]] = {}
        converters, make = self._converters, self._converter

        def default(obj: Any) -> Any:
            # orjson's callback for what it cannot hold: one dict lookup on the hot path.
            convert = converters.get(type(obj))
            if convert is None:
                convert = converters[type(obj)] = make(type(obj))
            return convert(obj)

        self._default: Callable[[Any], Any] = default
        # The document fields of each class's entities (``_documenter``).
        self._documenters: dict[type, Callable[[Any], JsonDict]] = {}
        # Classes whose documenter copies the live ``__dict__`` less the identity property
        # (when its keys are in ``order``, if there is one): (identity property, order).
        # ``encode`` does that inline, one Python call fewer per check.
        self._live_copies: dict[type, tuple[str, tuple[str, ...] | None]] = {}

    def fields_of(self, obj: Any, extras: Extras | None = None) -> JsonDict:
        """The JSON-level fields of one object (not converted further; may be a live dict)."""
        cls = type(obj)
        fields: JsonDict = obj if cls is dict else (LAYOUTS.get(cls) or layout_of(cls)).fields(obj)
        if extras:
            held = extras.get(id(obj))
            if held is not None and held[0] is obj:
                fields = {**fields, **held[1]}
        return fields

    def document(self, entity: Any, metadata: JsonDict, extras: Extras | None = None) -> JsonDict:
        """The top-level JSON object of an entity: its fields less the identity property,
        plus ``@metadata``."""
        cls = type(entity)
        doc = (self._documenters.get(cls) or self._documenter(cls))(entity)
        if extras:
            held = extras.get(id(entity))
            if held is not None and held[0] is entity:
                doc.update(held[1])
        doc["@metadata"] = metadata
        return doc

    def _documenter(self, cls: type) -> Callable[[Any], JsonDict]:
        """The function giving a new dict of the document fields of an entity of ``cls``
        (``document`` less extras and ``@metadata``): decided once per class, as the session
        asks it of every tracked entity at every change check."""
        layout = LAYOUTS.get(cls) or layout_of(cls)
        documenter: Callable[[Any], JsonDict]
        if layout.kind is Kind.DICT:

            def documenter(entity: Any) -> JsonDict:
                # A dict is its document body: every key is stored verbatim, except its own
                # "@metadata", which the session has merged into ``metadata``.
                doc = dict(entity)
                doc.pop("@metadata", None)
                return doc

        else:
            name = self._identity_name(cls)
            fields = layout.fields
            if layout.adopts or fields is live_dict:  # and pydantic models closed to extras
                self._live_copies[cls] = (name, None)

                def documenter(entity: Any) -> JsonDict:
                    doc: JsonDict = entity.__dict__.copy()
                    doc.pop(name, None)
                    return doc

            elif layout.live_order is not None:
                order = layout.live_order
                self._live_copies[cls] = (name, order)

                def documenter(entity: Any) -> JsonDict:
                    # ``layout.fields`` inline: one Python call fewer per check.
                    live: JsonDict = entity.__dict__
                    doc = live.copy() if tuple(live) == order else fields(entity)
                    doc.pop(name, None)
                    return doc

            elif layout.kind in (Kind.DATACLASS, Kind.PYDANTIC):

                def documenter(entity: Any) -> JsonDict:
                    doc = fields(entity)
                    if doc is entity.__dict__:  # the live dict: ours to change once copied
                        doc = doc.copy()
                    doc.pop(name, None)
                    return doc

            else:

                def documenter(entity: Any) -> JsonDict:
                    doc = fields(entity)  # a new dict for these kinds
                    doc.pop(name, None)
                    return doc

        self._documenters[cls] = documenter
        return documenter

    def _convert(self, obj: Any, extras: Extras | None) -> Any:
        """One level of conversion for what JSON cannot hold (orjson's ``default``)."""
        if extras and id(obj) in extras:
            return self.fields_of(obj, extras)
        cls = type(obj)
        convert = self._converters.get(cls)
        if convert is None:
            convert = self._converters[cls] = self._converter(cls)
        return convert(obj)

    def _converter(self, cls: type) -> Callable[[Any], Any]:
        """How values of ``cls`` become JSON; decided once per type."""
        hook = self._encoders.get(cls)
        if hook is not None:
            return hook
        for base, base_hook in self._encoders.items():
            if issubclass(cls, base):
                return base_hook
        builtin = scalars.encoder_for(cls)
        if builtin is not None:
            return builtin
        if issubclass(cls, (set, frozenset)):
            return _set_items
        if issubclass(cls, tuple):  # subclasses orjson does not take natively (namedtuple)
            return list
        if issubclass(cls, float):  # nor these (numpy's float64 is one): the number, as written
            return float
        if issubclass(cls, dict):
            return dict
        if issubclass(cls, (bytes, bytearray, memoryview)):
            return _unsupported
        if issubclass(cls, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            return _unsupported
        layout = LAYOUTS.get(cls) or layout_of(cls)
        if layout.kind is Kind.PLAIN and not layout.slots:
            return live_dict
        if not layout.has_dict and not layout.slots and layout.kind is not Kind.PYDANTIC:
            return _unsupported
        return layout.fields

    def encode(
        self, entity: Any, metadata: JsonDict, extras: Extras | None = None, held: bool = False
    ) -> bytes:
        """Canonical bytes of an entity's document, fast; used for change detection (once
        per tracked entity at every check: ``document`` is inlined for the common case).

        ``held`` gives the document with its top-level fields in the order the entity's
        ``__dict__`` holds them: the session's change check. The bytes are the canonical ones
        whenever the entity holds its fields in its document's order, as a dataclass's
        ``__init__`` and rookdb's loads leave them (those of other classes always are): a
        clean entity then costs one serialization, compared with its snapshot, without a test
        of its fields' order, and ``in_order`` gives the canonical bytes from these when they
        differ from the snapshot. (The two differ in content only for a dataclass field
        deleted from the ``__dict__`` whose class gives it a default, which the canonical
        document reads: bytes without it that equal the snapshot's say the stored document
        lacks it too, and the entity is clean.)
        """
        if extras:
            doc = self.document(entity, metadata, extras)
            # (Not a lambda: a closure over ``extras`` would make cells at every call.)
            default: Callable[[Any], Any] = functools.partial(self._convert, extras=extras)
        else:
            cls = type(entity)
            live_copy = self._live_copies.get(cls)
            if live_copy is not None and (
                held or live_copy[1] is None or tuple(entity.__dict__) == live_copy[1]
            ):
                # The class's documenter, inline (``_documenter``'s first two kinds).
                doc = entity.__dict__.copy()
                doc.pop(live_copy[0], None)
            else:
                doc = (self._documenters.get(cls) or self._documenter(cls))(entity)
            doc["@metadata"] = metadata
            default = self._default
        try:
            return orjson.dumps(doc, default=default, option=encoding.OPTIONS)
        except (orjson.JSONEncodeError, SerializationError):
            # orjson refuses some valid documents outright (int dict keys); the tree walk
            # takes those, and says precisely what and where for the invalid ones.
            return encoding.dumps(self.to_tree(doc, extras))

    def in_order(
        self, entity: Any, metadata: JsonDict, extras: Extras | None, data: bytes
    ) -> bytes:
        """``encode``'s bytes of an entity, given ``encode(..., held=True)``'s ``data`` of it as it
        is now: ``data`` itself unless a dataclass holds its fields in another order than its
        document's (a field deleted and set again, a non-init field set by
        ``__post_init__``, the id set after the fields at load when it is declared first)."""
        live_copy = None if extras else self._live_copies.get(type(entity))
        if live_copy is None or live_copy[1] is None or tuple(entity.__dict__) == live_copy[1]:
            return data
        return self.encode(entity, metadata, extras)

    def encode_checked(
        self,
        entity: Any,
        metadata: JsonDict,
        extras: Extras | None = None,
        data: bytes | None = None,
    ) -> bytes:
        """Canonical bytes for writing, every value validated (see the module docstring).

        ``data``, when given, is what ``encode`` returned for the same state: only bytes that
        could hide an invalid value are then looked at again, and only those that could hide
        more than a NaN or an infinity among nulls are walked.
        """
        if data is None:
            data = self.encode(entity, metadata, extras)
        if not encoding.may_hide_invalid_values(data):
            return data
        doc = self.document(entity, metadata, extras)
        if not encoding.may_hold_long_integers(data) and self._finite(doc, extras):
            return data  # its nulls are None values
        return encoding.dumps(self.to_tree(doc, extras))

    def _finite(self, doc: JsonDict, extras: Extras | None) -> bool:
        """True when no float in ``doc``, a document ``encode`` wrote, is a NaN or an
        infinity, which orjson writes as null, as it writes None: a document holding a None
        then costs this look at its values, a few microseconds, where the validating walk
        takes tens. It goes over what orjson went over, through the same ``default``, without
        recursing (orjson found no cycle and no depth past its own limit). False, too, for
        anything it cannot look at: the walk then does."""
        default = functools.partial(self._convert, extras=extras) if extras else self._default
        isfinite = math.isfinite
        stack: list[Any] = [doc]
        pop, extend = stack.pop, stack.extend
        try:
            while stack:
                value = pop()
                cls = type(value)
                if cls in _ATOMS:
                    continue
                if cls is dict:
                    extend(value.values())
                elif cls is float:
                    if not isfinite(value):
                        return False
                elif cls is list or cls is tuple:
                    extend(value)
                # What orjson writes itself, though not of these exact types: the same test.
                elif isinstance(value, enum.Enum):
                    extend((value.value,))
                elif isinstance(value, float):  # a subclass (the converter gives the float)
                    if not isfinite(value):
                        return False
                elif isinstance(value, dict):
                    extend(value.values())
                elif isinstance(value, (list, tuple)):
                    extend(value)
                elif not isinstance(value, (str, int, uuid.UUID, orjson.Fragment)):
                    extend((default(value),))  # what orjson handed ``default``
        except Exception:  # a value the converters refuse here: the walk says what
            return False
        return True

    def to_tree(self, value: Any, extras: Extras | None = None) -> Any:
        """A plain JSON tree of ``value``, validating every value. Slow; the reference path."""
        return self._tree(value, extras, "", set(), 0)

    def _tree(
        self, value: Any, extras: Extras | None, path: str, active: set[int], depth: int
    ) -> Any:
        """``value`` as a JSON tree; ``depth`` is how many containers hold it."""
        cls = type(value)
        if cls is orjson.Fragment:  # a Decimal, already written and checked (scalars.py)
            return value
        if value is None or cls is str or cls is bool:
            if cls is str:
                _check_text(value, path)
            return value
        if cls is int or (isinstance(value, int) and not isinstance(value, (bool, enum.Enum))):
            if not encoding.INT64_MIN <= value <= encoding.INT64_MAX:
                raise SerializationError(f"integer at {path or '/'} does not fit in 64 bits")
            return int(value)
        if cls is float or (isinstance(value, float) and not isinstance(value, enum.Enum)):
            if value != value or value in (float("inf"), float("-inf")):
                raise SerializationError(f"{value} at {path or '/'} is not a JSON number")
            return float(value)
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            _check_text(value, path)
            return str(value)
        if isinstance(value, enum.Enum):
            return self._tree(value.value, extras, path, active, depth)
        if isinstance(value, uuid.UUID):
            return str(value)
        marker = id(value)
        if marker in active:
            raise SerializationError(f"circular reference at {path or '/'}")
        if depth >= encoding.MAX_DEPTH and isinstance(value, (dict, list, tuple)):
            cut = path if len(path) <= 80 else path[:80] + "..."
            raise SerializationError(
                f"the value at {cut} nests deeper than {encoding.MAX_DEPTH} levels of "
                "objects and arrays, the most rookdb writes"
            )
        active.add(marker)
        try:
            if isinstance(value, dict):
                out: JsonDict = {}
                for key, item in value.items():
                    if type(key) is bool or not isinstance(key, (str, int)):
                        raise SerializationError(
                            f"dict key {shown(key)} at {path or '/'} is not a str or an int"
                        )
                    text = str(key) if not isinstance(key, str) else key
                    _check_text(text, path)
                    if text in out:
                        raise SerializationError(f"duplicate key {shown(text)} at {path or '/'}")
                    out[text] = self._tree(item, extras, f"{path}/{text}", active, depth + 1)
                return out
            if isinstance(value, (list, tuple)):
                return [
                    self._tree(item, extras, f"{path}/{i}", active, depth + 1)
                    for i, item in enumerate(value)
                ]
            converted = self._convert(value, extras)
            return self._tree(converted, extras, path, active, depth)
        finally:
            active.discard(marker)

    def json_value(self, value: Any) -> Any:
        """The JSON ``value`` is stored as, decoded: what a document holding it holds
        (``Decimal("9.50")`` -> ``9.5``, an aware datetime -> its UTC text, an enum -> its
        value). Query parameters are this, so they compare with fields as stored (SPEC D2)."""
        return encoding.loads(encoding.dumps(self.to_tree(value)))

    def written_value(self, value: Any) -> Any:
        """``json_value``, but each number a float does not give back as written an
        ``orjson.Fragment`` of its text (``Decimal("9.50")`` -> ``Fragment("9.50")``, where
        ``json_value`` gives ``9.5``), as ``exact_numbers.keep_digits`` reads a document to
        be written out again. A patch's values are this: what it sets is stored as a field
        of the same value is (SPEC D2), its digits kept (``exact_numbers.noting``)."""
        data = encoding.dumps(self.to_tree(value))
        return exact_numbers.keep_digits(data, encoding.loads(data))


def _set_items(value: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(value)
    except TypeError:  # elements that do not sort keep their iteration order
        return list(value)


def _unsupported(value: Any) -> Any:
    raise SerializationError(f"cannot serialize {type(value).__qualname__} values to JSON")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SerializationError(f"string at {path or '/'} holds a lone surrogate") from exc

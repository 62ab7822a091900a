"""How one class is read and written, worked out once per class (SPEC D2, D3).

``layout_of(cls)`` gives a class's ``Layout``: its kind (dict, dataclass, pydantic model, plain
class with a ``__dict__``, ``__slots__`` class), the fields it declares, its defaults, the
function giving an instance's JSON-level fields, and the converters that rebuild typed fields
(nested objects, lists of objects, datetimes, enums, UUIDs, Decimals) from decoded JSON by the
class's type hints. ``build(cls, data, extras)`` makes an instance from a decoded JSON object
without calling ``__init__``; fields the class cannot hold go to ``extras``. The three are one
knot: a layout is made with its converters, a converter of a nested object builds it, and
building reads the layout.

What a layout reads off the class (its slots, whether its instances have a ``__dict__``, data
descriptors, type hints, which fields hold objects) is ``class_traits``'; where a class's
documents hold ``Decimal`` fields, from its layouts, ``decimal_fields``'.

``encoders``, ``decoders`` and ``identity`` (the parts of ``entities.EntityCodec``) are its main
users (``decimal_fields`` and the ``materializer`` read layouts too): they add what depends on
a store (the identity property, type hooks, validation).
"""

from __future__ import annotations

import contextvars
import dataclasses
import decimal
import enum
import operator
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

from rookdb._types import JsonDict
from rookdb.serialization import exact_numbers, models, scalars
from rookdb.serialization.class_traits import (
    has_data_descriptors,
    instances_have_dict,
    is_object_class,
    reads_dict,
    slot_names,
    type_hints,
)

__all__ = [
    "LAYOUTS",
    "NO_VALUE",
    "Extras",
    "Kind",
    "Layout",
    "adopt",
    "build",
    "layout_of",
    "live_dict",
    "nested_extras",
    "object_converted",
    "projection_fields",
]

#: Unknown fields of objects that cannot hold them: ``id(obj) -> (obj, {field: value})``. The
#: object itself is kept so that its ``id`` stays valid as long as the map lives.
Extras = dict[int, tuple[object, JsonDict]]

NO_VALUE: Any = object()


# --------------------------------------------------------------------------- class layouts


class Kind(enum.Enum):
    DICT = "dict"
    DATACLASS = "dataclass"
    PYDANTIC = "pydantic"
    PLAIN = "plain"  # has a __dict__ (possibly also __slots__)
    SLOTS = "slots"  # only __slots__


class Layout:
    """How one class is read and written; computed once per class."""

    __slots__ = (
        "adopts",
        "adopts_as_is",
        "adopts_on_build",
        "cls",
        "converters",
        "declared",
        "declared_set",
        "defaults",
        "fields",
        "frozen",
        "has_dict",
        "hints",
        "kind",
        "live_order",
        "new",
        "plain_setattr",
        "slots",
        "validated_as_is",
    )

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.slots = slot_names(cls)
        is_pydantic = models.is_pydantic_model(cls)
        # Whether instances carry a __dict__ that can hold fields the class does not declare.
        self.has_dict = not is_pydantic and instances_have_dict(cls, self.slots)
        if issubclass(cls, dict):
            self.kind = Kind.DICT
        elif dataclasses.is_dataclass(cls):
            self.kind = Kind.DATACLASS
        elif is_pydantic:
            self.kind = Kind.PYDANTIC
        elif self.has_dict:
            self.kind = Kind.PLAIN
        else:
            self.kind = Kind.SLOTS
        hints = type_hints(cls)
        if self.kind in (Kind.PLAIN, Kind.SLOTS):
            # Most plain classes type their __init__'s parameters, not their body.
            hints = {**models.init_hints(cls), **hints}
        self.hints: dict[str, Any] = hints
        if self.kind is Kind.DATACLASS:
            self.declared: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(cls))
        elif self.kind is Kind.PYDANTIC:
            self.declared = tuple(cls.__pydantic_fields__)  # type: ignore[attr-defined]
        elif self.kind is Kind.SLOTS:
            self.declared = self.slots
        else:
            self.declared = tuple(hints)
        self.converters: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
            (name, conv)
            for name, hint in hints.items()
            if (conv := _converter_for(hint, self.kind is Kind.PYDANTIC)) is not None
        )
        params = getattr(cls, "__dataclass_params__", None)
        config = getattr(cls, "model_config", None)
        self.frozen = bool(
            (params is not None and params.frozen)
            or (isinstance(config, dict) and config.get("frozen"))
        )
        self.defaults = models.defaults(cls)
        # Classes whose __setattr__ is their own (frozen attrs classes refuse every write) are
        # built through object.__setattr__, as if by __init__.
        self.plain_setattr = getattr(cls, "__setattr__", None) is object.__setattr__
        # The field names a dataclass's live __dict__ holds, in order, when it is then what
        # ``fields`` gives (see ``_writer``); None for other classes.
        self.live_order: tuple[str, ...] | None = None
        self.fields = self._writer()
        # Plain classes without slots adopt a decoded dict as their __dict__, and hand out
        # their live __dict__ to writers (who must copy it before changing it).
        self.adopts = self.kind is Kind.PLAIN and not self.slots
        # Dataclasses with a __dict__ and nothing on the class that intercepts an attribute
        # write are built by adopting the decoded dict too: setting each key with
        # object.__setattr__ would fill the same __dict__ in the same order, one call a field.
        self.adopts_on_build = (
            self.kind is Kind.DATACLASS
            and self.has_dict
            and not self.slots
            and not has_data_descriptors(cls)
        )
        self.declared_set = frozenset(self.declared)
        # A model whose fields need no conversion and have no aliases: a model holding it as a
        # field validates it from the decoded dict (``to_object``).
        self.validated_as_is = (
            self.kind is Kind.PYDANTIC and not self.converters and not models.has_aliases(cls)
        )
        # ``build`` is then only: a new instance whose __dict__ is the decoded dict.
        self.adopts_as_is = (
            (self.adopts or self.adopts_on_build)
            and self.plain_setattr
            and not self.converters
            and not self.defaults
        )
        # How to make an instance without __init__: object.__new__ unless the class has its own.
        own_new: Any = cls.__new__
        self.new: Callable[[type], Any] = object.__new__ if own_new is object.__new__ else own_new

    def _writer(self) -> Callable[[Any], JsonDict]:
        """The function giving an instance's JSON-level fields. It may return the instance's
        live ``__dict__`` (plain classes, and dataclasses and pydantic models whose
        ``__dict__`` holds exactly their fields, in order): read it, never change it."""
        kind, declared, slots, has_dict = self.kind, self.declared, self.slots, self.has_dict
        if kind is Kind.PLAIN and not slots:
            return live_dict
        if kind is Kind.DICT:
            return dict
        if kind is Kind.PYDANTIC:
            # Only models open to extra fields keep any apart (``__pydantic_extra__``); the
            # others' live __dict__ is their fields, read in C (orjson's callback for every
            # nested model at every change check).
            config = getattr(self.cls, "model_config", None)
            opened = not isinstance(config, dict) or config.get("extra") == "allow"
            return _pydantic_fields if opened else live_dict
        names = declared if kind is Kind.DATACLASS else slots

        def fields(obj: Any) -> JsonDict:
            out = {
                name: value
                for name in names
                if (value := getattr(obj, name, NO_VALUE)) is not NO_VALUE
            }
            if has_dict:
                for key, value in obj.__dict__.items():
                    if key not in out:
                        out[key] = value
            return out

        if kind is Kind.DATACLASS and has_dict and not slots and reads_dict(self.cls, names):

            def dataclass_fields(obj: Any) -> JsonDict:
                # The dataclass's __dict__ holds exactly its fields, in their order (as
                # __init__ and rookdb's loads leave it): it is what ``fields`` would build.
                # (Comparing the keys as a tuple is a few pointer comparisons, in C.)
                live: JsonDict = obj.__dict__
                return live if tuple(live) == names else fields(obj)

            self.live_order = names
            return dataclass_fields
        return fields


#: ``obj.__dict__``, in C: the writer of plain classes and orjson's callback for them.
live_dict: Callable[[Any], JsonDict] = operator.attrgetter("__dict__")


def _pydantic_fields(obj: Any) -> JsonDict:
    # A model's __dict__ holds its fields, its extra fields are apart: the live dict unless
    # there are any.
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra:
        return {**obj.__dict__, **extra}
    live: JsonDict = obj.__dict__
    return live


LAYOUTS: dict[type, Layout] = {}


def layout_of(cls: type) -> Layout:
    layout = LAYOUTS.get(cls)
    if layout is None:
        layout = LAYOUTS[cls] = Layout(cls)
    return layout


def projection_fields(cls: type) -> tuple[str, ...]:
    """The fields a projection into ``cls`` asks for when given none: those the class declares
    (dataclass, pydantic and attrs fields, ``__slots__``, annotations of the class body or of
    ``__init__``'s parameters)."""
    return (LAYOUTS.get(cls) or layout_of(cls)).declared


# --------------------------------------------------------------------------- reading hints


def _keep_on_mismatch(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def guarded(value: Any) -> Any:
        try:
            return convert(value)
        except (TypeError, ValueError, ArithmeticError, KeyError, AttributeError):
            return value

    return guarded


def _converter_for(hint: Any, in_model: bool = False) -> Callable[[Any], Any] | None:
    """A function rebuilding a JSON value into ``hint``, or None when the value is already right.
    ``in_model``: the value is a field of a pydantic model, which validates it after."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        real = [a for a in args if a is not type(None)]
        if len(real) != 1:
            return None  # ambiguous unions keep the stored value
        inner = _converter_for(real[0], in_model)
        if inner is None:
            return None
        return lambda v: None if v is None else inner(v)
    if origin is typing.Annotated:
        return _converter_for(args[0], in_model)
    if origin in (list, set, frozenset, tuple) or (
        origin is not None and origin.__module__ == "collections.abc" and args
    ):
        return _container_converter(origin, args)
    if origin is dict:
        return _dict_converter(args)
    if not isinstance(hint, type) or hint is typing.Any:  # a class since Python 3.11
        return None
    if hint is decimal.Decimal:  # from the text it was written as, when it is not a float's
        return _keep_on_mismatch(exact_numbers.read_decimal)
    decode = scalars.decoder_for(hint)
    if decode is not None:
        return _keep_on_mismatch(decode)
    if hint is uuid.UUID:
        return _keep_on_mismatch(lambda v: uuid.UUID(v) if isinstance(v, str) else v)
    if issubclass(hint, enum.Enum):
        return _keep_on_mismatch(hint)
    if hint in (set, frozenset, tuple):
        return _keep_on_mismatch(lambda v: hint(v) if isinstance(v, list) else v)
    if not is_object_class(hint):
        return None
    cls = hint

    def to_object(v: Any) -> Any:
        if type(v) is not dict:
            return v
        layout = LAYOUTS.get(cls)  # known after the first object of the class
        if layout is not None:
            if layout.adopts_as_is:  # ``build``'s work for it, inline
                obj = layout.new(cls)
                obj.__dict__ = v
                return obj
            if (
                in_model
                and layout.validated_as_is
                and v.keys() <= layout.declared_set
                and models.validating.get()
            ):
                # The model being built validates this dict into ``cls`` as ``build`` would
                # (its fields need no conversion, none is unknown): one validation in
                # pydantic's core for the whole document instead of one per model.
                return v
        try:
            return build(cls, v, nested_extras.get())
        except (TypeError, ValueError, ArithmeticError, KeyError, AttributeError):
            return v

    _OBJECT_CONVERTERS[to_object] = cls
    return to_object


#: The converters ``_converter_for`` made for a field holding an object of a class, and that
#: class (``object_converted``).
_OBJECT_CONVERTERS: dict[Callable[[Any], Any], type] = {}


def object_converted(convert: Callable[[Any], Any]) -> type | None:
    """The class ``convert`` rebuilds a field's decoded dict into, when that is all it does (a
    field typed by a class, not Optional, not a container of them); else None. A batch
    decoder does that inline for classes built as-is (``Layout.adopts_as_is``)."""
    return _OBJECT_CONVERTERS.get(convert)


def _container_converter(origin: Any, args: tuple[Any, ...]) -> Callable[[Any], Any] | None:
    if origin is tuple and args and args[-1] is not Ellipsis:
        item_convs = [_converter_for(a) or (lambda v: v) for a in args]

        def to_fixed_tuple(v: Any) -> Any:
            if type(v) is not list or len(v) != len(item_convs):
                return v
            return tuple(c(x) for c, x in zip(item_convs, v, strict=True))

        return _keep_on_mismatch(to_fixed_tuple)
    item = _converter_for(args[0]) if args else None
    name = getattr(origin, "__name__", "")
    if origin in (set, frozenset) or name in ("Set", "MutableSet"):
        make: Callable[[Any], Any] = frozenset if origin is frozenset else set
    elif origin is tuple:
        make = tuple
    elif origin is list or name in ("Sequence", "MutableSequence", "Iterable", "Collection"):
        make = list
    else:
        return None
    if item is None and make is list:
        return None
    conv = item or (lambda v: v)

    def to_container(v: Any) -> Any:
        if type(v) is not list:
            return v
        # A list comprehension, not ``make`` over a generator: a list of nested objects is
        # converted at every load of its document (issue 18).
        items = [conv(x) for x in v]
        return items if make is list else make(items)

    return _keep_on_mismatch(to_container)


def _dict_converter(args: tuple[Any, ...]) -> Callable[[Any], Any] | None:
    if len(args) != 2:
        return None
    key_is_int = args[0] is int
    value = _converter_for(args[1])
    if value is None and not key_is_int:
        return None
    conv = value or (lambda v: v)

    def to_dict(v: Any) -> Any:
        if type(v) is not dict:
            return v
        return {(int(k) if key_is_int else k): conv(x) for k, x in v.items()}

    return _keep_on_mismatch(to_dict)


# --------------------------------------------------------------------------- building objects

#: Where nested objects being built keep the fields their class cannot hold: the ``extras`` of
#: the document being decoded (converters are made once per class, shared by every session).
nested_extras: contextvars.ContextVar[Extras | None] = contextvars.ContextVar(
    "nested_extras", default=None
)


def build(cls: type, data: JsonDict, extras: Extras | None) -> Any:
    """Build an instance of ``cls`` from a decoded JSON object without calling ``__init__``.

    ``data`` is owned by the caller and may be consumed (plain classes take it as their
    ``__dict__``).
    """
    layout = LAYOUTS.get(cls) or layout_of(cls)
    for name, conv in layout.converters:
        if name in data:
            data[name] = conv(data[name])
    if layout.adopts or layout.adopts_on_build:
        return adopt(layout, cls, data)
    kind = layout.kind
    if kind is Kind.DICT:
        return data if cls is dict else cls(data)
    if kind is Kind.PYDANTIC:
        declared = layout.declared_set
        if data.keys() <= declared:  # the common case: every field is the model's
            return models.build_pydantic(cls, data, data)
        known = {k: v for k, v in data.items() if k in declared}
        obj = models.build_pydantic(cls, known, data)
        unknown = {k: v for k, v in data.items() if k not in declared}
        if unknown:
            pyd_extra = getattr(obj, "__pydantic_extra__", None)
            if isinstance(pyd_extra, dict):
                pyd_extra.update(unknown)
            elif extras is not None:
                extras[id(obj)] = (obj, unknown)
        return obj
    obj = layout.new(cls)
    slots = layout.slots
    unknown = {}
    for key, value in data.items():
        if layout.has_dict or key in slots:
            object.__setattr__(obj, key, value)
        else:
            unknown[key] = value
    if unknown and extras is not None:
        extras[id(obj)] = (obj, unknown)
    for name, make in layout.defaults:
        # A field missing from the document gets its default, so the object is usable;
        # the session then reports it as a NEW_FIELD (schema evolution).
        if name not in data:
            object.__setattr__(obj, name, make(obj))
    return obj


def adopt(layout: Layout, cls: type, data: JsonDict) -> Any:
    """An instance of a plain class (or a dataclass, ``Layout.adopts_on_build``) whose
    ``__dict__`` is ``data`` (the decoded dict is ours: adopted rather than copied)."""
    obj = layout.new(cls)
    if layout.plain_setattr:
        obj.__dict__ = data
    else:
        object.__setattr__(obj, "__dict__", data)
    for name, make in layout.defaults:
        if name not in data:
            data[name] = make(obj)
    return obj

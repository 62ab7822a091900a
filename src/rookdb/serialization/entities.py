"""Python objects ⇄ JSON documents (SPEC D2, D3).

Writing: plain classes (``__dict__``), ``__slots__`` classes, dataclasses, pydantic v2 models and
dicts become JSON objects with their attribute names verbatim. Nested objects, lists, tuples, sets
(sorted when their elements sort), enums, datetimes, timedeltas, Decimals and UUIDs are supported
(their JSON forms are in ``scalars``); anything else raises ``SerializationError`` unless a hook
for its type was registered.

Two paths produce the same bytes:

* the fast path hands the object graph to orjson with a ``default`` callback, used every time the
  session checks an entity for changes;
* the checked path (``EntityCodec.encode_checked``) is used for what is about to be written. It
  runs the fast path and, only when the bytes could hide an invalid value (see
  ``may_hide_invalid_values``), rebuilds the document as a plain JSON tree while validating every
  value: NaN and infinities, integers outside 64 bits, dict keys that are not ``str``/``int``,
  circular references, nesting deeper than ``encoding.MAX_DEPTH`` (where it stops, so that it
  never recurses deeper than that).

Reading: ``EntityCodec.decode`` builds an object without calling ``__init__`` (``__new__`` plus
attributes, as ``__init__`` would set them even on frozen classes), so constructors cannot drop
or coerce data. pydantic models are validated (``model_validate``; a document that does not
validate raises ``DocumentValidationError``) unless the store turned that off, when they are
``model_construct``-ed (see ``models``). Type hints (class annotations, dataclass, pydantic and
attrs field types, and for plain classes the annotations of ``__init__``'s parameters) rebuild
nested objects, lists of objects, datetimes, enums, UUIDs and Decimals; without hints nested
objects stay dicts. A value that does not match its hint is kept as stored. Fields a class does
not declare are kept as attributes, or, for classes without a ``__dict__`` (``__slots__``,
pydantic), in an ``Extras`` map that the session keeps and writes back, nested objects too.

What is worked out once per class (its kind, fields, converters, how instances are built) is in
``layouts``; this module adds what depends on a store: the identity property, type hooks,
validation, and the encoders orjson is handed.
"""

from __future__ import annotations

import enum
import types
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from rookdb._types import JsonDict
from rookdb.errors import SerializationError
from rookdb.serialization import encoding, json_models, models, scalars
from rookdb.serialization.layouts import (
    LAYOUTS,
    Extras,
    Kind,
    adopt,
    build,
    layout_of,
    live_dict,
    nested_extras,
    object_converted,
    projection_fields,
)

__all__ = [
    "BatchDecoder",
    "EntityCodec",
    "Extras",
    "OneDecoder",
    "projection_fields",
]

#: ``EntityCodec.batch_decoder(cls)``: (bodies, document ids) -> (entities, their ``Extras`` by
#: position, for the few that have any).
BatchDecoder = Callable[[list[JsonDict], list[str]], tuple[list[Any], dict[int, Extras]]]

#: ``EntityCodec.one_decoder(cls)``: (body, document id) -> (the entity, its ``Extras`` or None).
OneDecoder = Callable[[JsonDict, str], tuple[Any, Extras | None]]

#: A class ``set_identity`` has not seen yet (None is an answer: nowhere to write the id).
_UNKNOWN: Any = object()


# --------------------------------------------------------------------------- the codec


class EntityCodec:
    """Reads and writes entities for one store (its identity property, type hooks, and whether
    pydantic models are validated on load)."""

    def __init__(
        self,
        identity_name: Callable[[type], str] | None = None,
        encoders: dict[type, Callable[[Any], Any]] | None = None,
        validate: bool = True,
    ) -> None:
        # The identity property of each class (conventions.find_identity_property_name),
        # asked once per class: conventions are frozen by the time a codec exists.
        self._find_identity_name = identity_name or models.default_identity_property_name
        self._validate = validate
        self._identity_names: dict[type, str] = {}
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
        # How documents become entities of each class (``decoder``).
        self._decoders: dict[type | None, Callable[[JsonDict, str, Extras | None], Any]] = {}
        self._batch_decoders: dict[type | None, BatchDecoder] = {}
        self._one_decoders: dict[type, OneDecoder] = {}
        # The document fields of each class's entities (``_documenter``).
        self._documenters: dict[type, Callable[[Any], JsonDict]] = {}
        # How to write the identity property, per (class, while-constructing): None or a setter.
        self._identity_setters: dict[tuple[type, bool], Callable[[Any, str], None] | None] = {}
        # ``set_identity``'s setter of each class, by class alone (None: nowhere to write).
        self._assigners: dict[type, Any] = {}

    # -- writing -----------------------------------------------------------------------------

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
            name = self.identity_name(cls)
            fields = layout.fields
            if layout.adopts or fields is live_dict:  # and pydantic models closed to extras

                def documenter(entity: Any) -> JsonDict:
                    doc: JsonDict = entity.__dict__.copy()
                    doc.pop(name, None)
                    return doc

            elif layout.live_order is not None:
                order = layout.live_order

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

    def encode(self, entity: Any, metadata: JsonDict, extras: Extras | None = None) -> bytes:
        """Canonical bytes of an entity's document, fast; used for change detection (once
        per tracked entity at every check: ``document`` is inlined for the common case)."""
        if extras:
            doc = self.document(entity, metadata, extras)
            default = lambda o: self._convert(o, extras)  # noqa: E731
        else:
            cls = type(entity)
            doc = (self._documenters.get(cls) or self._documenter(cls))(entity)
            doc["@metadata"] = metadata
            default = self._default
        try:
            return orjson.dumps(doc, default=default, option=encoding.OPTIONS)
        except (orjson.JSONEncodeError, SerializationError):
            # orjson refuses some valid documents outright (int dict keys); the tree walk
            # takes those, and says precisely what and where for the invalid ones.
            return encoding.dumps(self.to_tree(doc, extras))

    def encode_checked(
        self,
        entity: Any,
        metadata: JsonDict,
        extras: Extras | None = None,
        data: bytes | None = None,
    ) -> bytes:
        """Canonical bytes for writing, every value validated (see the module docstring).

        ``data``, when given, is what ``encode`` returned for the same state: only bytes that
        could hide an invalid value are then walked again.
        """
        if data is None:
            data = self.encode(entity, metadata, extras)
        if not encoding.may_hide_invalid_values(data):
            return data
        return encoding.dumps(self.to_tree(self.document(entity, metadata, extras), extras))

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
            shown = path if len(path) <= 80 else path[:80] + "..."
            raise SerializationError(
                f"the value at {shown} nests deeper than {encoding.MAX_DEPTH} levels of "
                "objects and arrays, the most rookdb writes"
            )
        active.add(marker)
        try:
            if isinstance(value, dict):
                out: JsonDict = {}
                for key, item in value.items():
                    if type(key) is bool or not isinstance(key, (str, int)):
                        raise SerializationError(
                            f"dict key {key!r} at {path or '/'} is not a str or an int"
                        )
                    text = str(key) if not isinstance(key, str) else key
                    _check_text(text, path)
                    if text in out:
                        raise SerializationError(f"duplicate key {text!r} at {path or '/'}")
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

    # -- reading -----------------------------------------------------------------------------

    def decode(
        self,
        body: JsonDict,
        cls: type | None,
        document_id: str,
        extras: Extras | None = None,
    ) -> Any:
        """Build an entity of ``cls`` (a dict when None) from a document body without
        ``@metadata``; the identity property is set from ``document_id`` when the class can
        hold it."""
        return (self._decoders.get(cls) or self.decoder(cls))(body, document_id, extras)

    def decoder(self, cls: type | None) -> Callable[[JsonDict, str, Extras | None], Any]:
        """``decode`` for one class, ``decoder(cls)(body, document_id, extras)``: the class's
        layout and identity property are looked up once per codec, not once per document."""
        found = self._decoders.get(cls)
        if found is not None:
            return found
        many = self.batch_decoder(cls)

        def decode(body: JsonDict, document_id: str, extras: Extras | None) -> Any:
            (entity,), held = many([body], [document_id])
            if held and extras is not None:
                extras.update(held[0])
            return entity

        self._decoders[cls] = decode
        return decode

    def batch_decoder(self, cls: type | None) -> BatchDecoder:
        """How a batch of documents becomes entities of ``cls`` (dicts when None):
        ``batch_decoder(cls)(bodies, document_ids)`` gives the entities, in order, and the
        ``Extras`` of those that have any, by position. Every document a session reads is
        built here, a batch at a time (``Materializer``): what depends on the class alone
        (layout, identity property and setter, converters, validation) is worked out once per
        class, and what depends on the batch (the context variables) once per batch."""
        found = self._batch_decoders.get(cls)
        if found is not None:
            return found
        many: BatchDecoder
        if cls is None or cls is dict:

            def many(bodies: list[JsonDict], ids: list[str]) -> tuple[list[Any], dict[int, Extras]]:
                return bodies, {}

        else:
            many, self._one_decoders[cls] = self._make_decoders(cls)
        self._batch_decoders[cls] = many
        return many

    def one_decoder(self, cls: type) -> OneDecoder:
        """``batch_decoder`` for one document (``load(id)``, the most common read):
        ``one_decoder(cls)(body, document_id)`` gives the entity and its ``Extras`` (None
        when it has none), built as the batch decoder builds it, without the batch's lists,
        and without setting a context variable for a class whose documents need none (no
        converter to hand nested extras to, validation on: most classes)."""
        found = self._one_decoders.get(cls)
        if found is not None:
            return found
        if cls is dict:
            found = self._one_decoders[cls] = lambda body, document_id: (body, None)
            return found
        self.batch_decoder(cls)
        return self._one_decoders[cls]

    def bytes_decoder(self, cls: type) -> json_models.BytesDecoder | None:
        """How documents become pydantic models of ``cls`` without the converter walk, their
        unknown fields found from the stored bytes; None when ``cls`` is not a model of
        JSON-native fields or this store does not validate on load (``json_models``;
        documents it does not take whole are read by ``batch_decoder``)."""
        if not self._validate:
            return None
        if not json_models.eligible(cls):
            return None
        name = self.identity_name(cls)
        layout = LAYOUTS.get(cls) or layout_of(cls)
        return json_models.BytesDecoder(cls, name if name in layout.declared else None)

    def _make_decoders(self, cls: type) -> tuple[BatchDecoder, OneDecoder]:
        """``cls``'s batch decoder and one-document decoder (``one_decoder``), from one
        working-out of the class."""
        layout = LAYOUTS.get(cls) or layout_of(cls)
        name = self.identity_name(cls)
        keep, validate = self._keep_stored_identity, self._validate
        converters, defaults, new = layout.converters, layout.defaults, layout.new
        setter = None if layout.adopts else self._identity_setter(cls, constructing=True)
        # Plain classes take the decoded dict, with the id, as their __dict__; pydantic models
        # validate the id with the rest (it may be required); other classes get it set after.
        adopts, inline = layout.adopts, layout.adopts and layout.plain_setattr and not defaults
        id_in_body = adopts or (layout.kind is Kind.PYDANTIC and name in layout.declared)
        # Dataclasses that ``build`` would make by adopting the decoded dict are made so here,
        # inline, with the id written where the setter would write it: after the defaults of
        # the missing fields, or in its own default's place (no default made only to be
        # replaced). Four Python calls fewer per document than ``build``, ``adopt``, the
        # default and the setter.
        adopts_dataclass = (
            not adopts and layout.adopts_on_build and layout.plain_setattr and setter is not None
        )
        known: type = cls
        # Nested objects of classes built as-is (a new instance adopting the decoded dict),
        # made inline by the paths that adopt: one Python call fewer per nested object.
        inline_objects: tuple[tuple[str, type, Callable[[type], Any]], ...] = ()
        adopting = adopts or adopts_dataclass  # the decoded dict becomes the entity's __dict__
        if adopting:
            held_objects = []
            for field, conv in converters:
                target = object_converted(conv)
                made = None if target is None else (LAYOUTS.get(target) or layout_of(target))
                if target is not None and made is not None and made.adopts_as_is:
                    inline_objects += ((field, target, made.new),)
                else:
                    held_objects.append((field, conv))
            converters = tuple(held_objects)

        def build_one(body: JsonDict, document_id: str, extras: Extras) -> Any:
            # One document's entity, for both decoders: the rules live here once. ``extras``
            # takes what its classes cannot hold (nested objects' too, through the context
            # variable ``many`` sets when there are converters).
            stored = body.get(name, document_id)
            if id_in_body:
                body[name] = document_id
            if adopting:
                for field, target, make in inline_objects:
                    value = body.get(field)
                    if type(value) is dict:
                        nested_object = make(target)
                        nested_object.__dict__ = value
                        body[field] = nested_object
                for field, conv in converters:
                    if field in body:
                        body[field] = conv(body[field])
                if adopts_dataclass:
                    entity = new(known)
                    entity.__dict__ = body
                    for field, make_default in defaults:
                        if field not in body:
                            body[field] = document_id if field == name else make_default(entity)
                    body[name] = document_id
                elif inline:  # the common case, inline
                    entity = new(known)
                    entity.__dict__ = body
                else:
                    entity = adopt(layout, known, body)
            else:
                entity = build(known, body, extras)
                if setter is not None:
                    setter(entity, document_id)
            if stored != document_id:
                keep(entity, name, stored, extras)
            return entity

        def many(bodies: list[JsonDict], ids: list[str]) -> tuple[list[Any], dict[int, Extras]]:
            entities: list[Any] = []
            append = entities.append
            held: dict[int, Extras] = {}
            extras: Extras = {}  # the current document's (nested objects put theirs here)
            # Validation is on by default (models.validating); a store that turned it off says
            # so for the time of this call.
            token = None if validate else models.validating.set(False)
            nested = nested_extras.set(extras) if converters else None
            body: JsonDict = {}
            document_id = ""
            try:
                for body, document_id in zip(bodies, ids, strict=True):
                    append(build_one(body, document_id, extras))
                    if extras:  # rare: this document had fields its classes cannot hold
                        held[len(entities) - 1] = extras
                        extras = {}
                        if converters:
                            nested_extras.set(extras)
            except models.ModelInvalid as exc:
                raise models.validation_error(exc, document_id, body) from exc.__cause__
            finally:
                if token is not None:
                    models.validating.reset(token)
                if nested is not None:
                    nested_extras.reset(nested)
            return entities, held

        if converters or not validate:
            # Context variables to set: the batch decoder, for a batch of one.
            def one_of_many(body: JsonDict, document_id: str) -> tuple[Any, Extras | None]:
                (entity,), held = many([body], [document_id])
                return entity, held.get(0)

            return many, one_of_many

        def one(body: JsonDict, document_id: str) -> tuple[Any, Extras | None]:
            # A class with no converter left to run (its nested objects, if any, made
            # inline), validating: no context variable to set.
            extras: Extras = {}
            try:
                entity = build_one(body, document_id, extras)
            except models.ModelInvalid as exc:
                raise models.validation_error(exc, document_id, body) from exc.__cause__
            return entity, extras or None

        return many, one

    @staticmethod
    def _keep_stored_identity(entity: Any, name: str, stored: Any, extras: Extras) -> None:
        """The document holds a field of the identity property's name with another value than
        its id (written before the property was the identity, e.g. a model's own ``id``
        field): the entity has the document id, and the field is kept and written back as it
        was, never lost."""
        held = extras.get(id(entity))
        if held is not None and held[0] is entity:
            held[1][name] = stored
        else:
            extras[id(entity)] = (entity, {name: stored})

    def build(self, body: JsonDict, cls: type | None) -> Any:
        """An object of ``cls`` (a dict when None) from a JSON object, with no identity: for
        projections."""
        if cls is None or cls is dict:
            return body
        # Projections hold some fields of a document: they are not validated as whole models.
        token = models.validating.set(False)
        try:
            return build(cls, body, None)
        finally:
            models.validating.reset(token)

    def _identity_setter(
        self, cls: type, *, constructing: bool
    ) -> Callable[[Any, str], None] | None:
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

    def set_identity(self, entity: Any, document_id: str) -> bool:
        """Write the id to the identity property when the object allows it; True if written.
        Frozen objects keep their id in the session only (SPEC S14)."""
        cls = type(entity)
        # Once per class (a session's store() asks it of every entity): its setter, or None.
        setter = self._assigners.get(cls, _UNKNOWN)
        if setter is _UNKNOWN:
            setter = self._assigners[cls] = (
                None if issubclass(cls, dict) else self._identity_setter(cls, constructing=False)
            )
        if setter is None:
            return False
        try:
            setter(entity, document_id)
        except (AttributeError, TypeError):
            return False
        return True

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

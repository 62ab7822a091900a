"""JSON documents to entities (SPEC D2, D3).

An entity is built without calling ``__init__`` (``__new__`` plus attributes, as ``__init__``
would set them even on frozen classes), so constructors cannot drop or coerce data. pydantic
models are validated (``model_validate``; a document that does not validate raises
``DocumentValidationError``) unless the store turned that off, when they are
``model_construct``-ed (see ``models``). Type hints (class annotations, dataclass, pydantic and
attrs field types, and for plain classes the annotations of ``__init__``'s parameters) rebuild
nested objects, lists of objects, datetimes, enums, UUIDs and Decimals; without hints nested
objects stay dicts. A value that does not match its hint is kept as stored. Fields a class does
not declare are kept as attributes, or, for classes without a ``__dict__`` (``__slots__``,
pydantic), in an ``Extras`` map that the session keeps and writes back, nested objects too. The
identity property gets the document id where the class can hold it (``identity``).

Every document a session reads is built by a decoder made once per class (``batch_decoder``,
``one_decoder``, and for some pydantic models ``bytes_decoder``, from ``json_models``) and
then called directly: what is worked out once per class (its kind, fields, converters, how
instances are built) is in ``layouts``; this module adds what depends on a store: the identity
property and whether pydantic models are validated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rookdb._types import JsonDict
from rookdb.serialization import json_models, models
from rookdb.serialization.identity import IdentityProperty, keep_stored_identity
from rookdb.serialization.layouts import (
    LAYOUTS,
    Extras,
    Kind,
    adopt,
    build,
    layout_of,
    nested_extras,
    object_converted,
)

__all__ = ["BatchDecoder", "Decoder", "OneDecoder"]

#: ``Decoder.batch_decoder(cls)``: (bodies, document ids) -> (entities, their ``Extras`` by
#: position, for the few that have any).
BatchDecoder = Callable[[list[JsonDict], list[str]], tuple[list[Any], dict[int, Extras]]]

#: ``Decoder.one_decoder(cls)``: (body, document id) -> (the entity, its ``Extras`` or None).
OneDecoder = Callable[[JsonDict, str], tuple[Any, Extras | None]]


class Decoder:
    """Reads entities from JSON documents for one store (its identity property, and whether
    pydantic models are validated on load)."""

    def __init__(self, identity: IdentityProperty, validate: bool = True) -> None:
        self._identity = identity
        self._validate = validate
        # How documents become entities of each class (``decoder``).
        self._decoders: dict[type | None, Callable[[JsonDict, str, Extras | None], Any]] = {}
        self._batch_decoders: dict[type | None, BatchDecoder] = {}
        self._one_decoders: dict[type, OneDecoder] = {}
        # ``bytes_decoder``'s, made once per class and store rather than once per session
        # (a session per query or per request is common: issue 18, W5).
        self._bytes_decoders: dict[type, json_models.BytesDecoder | None] = {}

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
        if cls in self._bytes_decoders:
            return self._bytes_decoders[cls]
        found = None
        if self._validate and json_models.eligible(cls):
            name = self._identity.identity_name(cls)
            layout = LAYOUTS.get(cls) or layout_of(cls)
            found = json_models.BytesDecoder(cls, name if name in layout.declared else None)
        self._bytes_decoders[cls] = found
        return found

    def _make_decoders(self, cls: type) -> tuple[BatchDecoder, OneDecoder]:
        """``cls``'s batch decoder and one-document decoder (``one_decoder``), from one
        working-out of the class."""
        layout = LAYOUTS.get(cls) or layout_of(cls)
        name = self._identity.identity_name(cls)
        keep, validate = keep_stored_identity, self._validate
        converters, defaults, new = layout.converters, layout.defaults, layout.new
        setter = None if layout.adopts else self._identity.identity_setter(cls, constructing=True)
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

"""Python objects ⇄ JSON documents for one store (SPEC D2, D3): ``EntityCodec``.

The codec is the one object the rest of rookdb talks to (a store makes one, its sessions,
materializer and bulk inserts share it). It is made of three parts, each in its own module:

* ``encoders.Encoder``: entities to JSON documents, the fast path used at every change check
  (``encode``, its fields as held; ``in_order`` for what differs from its snapshot) and the
  checked path used for what is written (``encode_checked``), the type hooks,
  query parameters as stored (``json_value``) and patch values (``written_value``);
* ``decoders.Decoder``: JSON documents to entities, by decoders made once per class
  (``batch_decoder``, ``one_decoder``, ``bytes_decoder``) and projections (``build``);
* ``identity.IdentityProperty``: which attribute of each class holds the document id, and how
  it is written (``set_identity``), read (``identity_of``) and kept.

The encoder and decoder ask the identity part for a class's identity property and setter once
per class. Every method of the codec is its part's own bound method, set on the codec when it
is made: a call to ``codec.encode`` is a call to ``Encoder.encode``, with no delegating call in
between (these are the per-entity hot paths of issue 18's benchmark).

What is worked out once per class, independent of any store (its kind, fields, converters, how
instances are built), is in ``layouts``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rookdb.serialization import models
from rookdb.serialization.decoders import Decoder
from rookdb.serialization.encoders import Encoder
from rookdb.serialization.identity import IdentityProperty

__all__ = ["EntityCodec"]


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
        identity = IdentityProperty(identity_name or models.default_identity_property_name)
        encoder = Encoder(identity.identity_name, encoders)
        decoder = Decoder(identity, validate)
        # Its parts; callers use their methods, set on the codec below.
        self._identity, self._encoder, self._decoder = identity, encoder, decoder

        # -- writing (encoders) -----------------------------------------------------------
        #: The JSON-level fields of one object.
        self.fields_of = encoder.fields_of
        #: The top-level JSON object of an entity, with ``@metadata``.
        self.document = encoder.document
        #: Canonical bytes of an entity's document, fast (``held``: as the entity holds its
        #: fields, the change check).
        self.encode = encoder.encode
        #: Canonical bytes from ``encode(..., held=True)``'s: what changed is written so.
        self.in_order = encoder.in_order
        #: Canonical bytes for writing, every value validated.
        self.encode_checked = encoder.encode_checked
        #: A plain JSON tree of a value, validating every value (the reference path).
        self.to_tree = encoder.to_tree
        #: The JSON a value is stored as, decoded (query parameters).
        self.json_value = encoder.json_value
        #: ``json_value`` with numbers' digits kept as ``orjson.Fragment`` s (patch values).
        self.written_value = encoder.written_value

        # -- reading (decoders) -----------------------------------------------------------
        #: One document body to an entity of a class.
        self.decode = decoder.decode
        #: ``decode`` for one class.
        self.decoder = decoder.decoder
        #: A batch of documents to entities of a class (every read of a session).
        self.batch_decoder = decoder.batch_decoder
        #: One document to an entity of a class (``load(id)``).
        self.one_decoder = decoder.one_decoder
        #: pydantic models of JSON-native fields from the stored bytes, or None.
        self.bytes_decoder = decoder.bytes_decoder
        #: A projection's object, with no identity.
        self.build = decoder.build

        # -- the identity property (identity) ---------------------------------------------
        #: The identity property's name for a class.
        self.identity_name = identity.identity_name
        #: The value of an entity's identity property, or None.
        self.identity_of = identity.identity_of
        #: Write the id to the identity property when the object allows it.
        self.set_identity = identity.set_identity
        #: ``set_identity``'s setter for a class, or None (``IdentityProperty.assigner``).
        self.assigner = identity.assigner
        #: Make an entity hold a fresh copy's state, keeping its identity.
        self.refresh_in_place = identity.refresh_in_place

"""Stored documents become a session's entities here, a batch at a time (issue 18).

Loads, queries, prefix reads, includes and lazy operations all hand their records to
``Materializer.materialize``; revisions, streams and ``refresh`` use ``decode``, which builds
the entities without tracking them. Per batch, and not per document: the class is registered
and its batch decoder found once (``EntityCodec.batch_decoder``: layout, identity property,
converters and validation worked out once per class, context variables set once per batch),
the states are built in one loop and tracked with one update of the identity map's dicts. A
loaded entity costs about a dozen Python calls this way, where one call chain per document
cost about fifty.

Decoding the whole batch before tracking any of it also means a batch with a document that
cannot be read (too deep, invalid JSON, a model it does not validate as) tracks none of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from rookdb._types import JsonDict
from rookdb.serialization.decimal_fields import decimal_keys
from rookdb.serialization.decoders import BatchDecoder, OneDecoder
from rookdb.serialization.encoding import MAX_DEPTH, check_depth, loads
from rookdb.serialization.entities import EntityCodec
from rookdb.serialization.exact_numbers import Finder, Notes, finder, reading
from rookdb.serialization.json_models import BytesDecoder
from rookdb.serialization.layouts import Extras
from rookdb.storage.records import DocumentRecord
from rookdb.tracking.identity_map import IdentityMap
from rookdb.tracking.state import DocumentState

if TYPE_CHECKING:
    from rookdb.serialization.type_registry import TypeRegistry
    from rookdb.store import DocumentStore

__all__ = ["Materializer", "parse"]


def parse(
    data: bytes,
    document_id: str,
    notes: Notes | None = None,
    exact: Finder | None = None,
) -> tuple[JsonDict, JsonDict]:
    """A stored document's body and its ``@metadata`` (a dict, empty when it has none),
    parsed once: the depth limit checked first, rookdb's error for what orjson refuses.
    (``Materializer._decode_each`` holds these steps inline, for the common document: a
    Python call per document is a few percent of a batch load.) With ``notes`` (the document
    is read into a class holding ``Decimal`` fields), numbers a float does not give back as
    written are noted there (``exact_numbers``) when ``exact``, the class's ``Finder``, finds
    the document may hold one."""
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH:  # check_depth's cheap test
        check_depth(data, document_id)
    if notes is not None and exact is not None and exact.may_lose(data):
        body = exact.read(data, notes)
    else:
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            body = loads(data)  # raises rookdb's error
    metadata = body.pop("@metadata", None)
    return body, metadata if type(metadata) is dict else {}


class Materializer:
    """Builds (and tracks) the entities of one session's stored documents."""

    __slots__ = (
        "_codec",
        "_decoders",
        "_from_bytes",
        "_last_metadata",
        "_map",
        "_ones",
        "_store",
        "_types",
    )

    def __init__(
        self, store: DocumentStore, codec: EntityCodec, types: TypeRegistry, tracked: IdentityMap
    ) -> None:
        self._store = store
        self._codec = codec
        self._types = types
        self._map = tracked
        # The metadata of the last document tracked: states whose metadata equals it share it.
        self._last_metadata: JsonDict = {}
        # The batch decoder of each class asked for by name (``object_type``), registered.
        self._decoders: dict[type, BatchDecoder] = {}
        # Of those, the pydantic models whose unknown fields the bytes tell (``json_models``).
        self._from_bytes: dict[type, BytesDecoder | None] = {}
        # Of those, the one-document decoder (``materialize_one``), the bytes decoder, and,
        # for a class holding ``Decimal`` fields, what finds the documents to read exactly
        # (``exact_numbers``).
        self._ones: dict[type, tuple[OneDecoder, BytesDecoder | None, Finder | None]] = {}

    def _decoder(self, cls: type) -> BatchDecoder:
        if cls is not dict:
            self._store.type_info(cls)  # registers it
        many = self._decoders[cls] = self._codec.batch_decoder(cls)
        from_bytes = self._from_bytes[cls] = None if cls is dict else self._codec.bytes_decoder(cls)
        self._ones[cls] = (self._codec.one_decoder(cls), from_bytes, _exact(cls))
        return many

    def decode(
        self, records: Sequence[DocumentRecord], object_type: type[Any] | None
    ) -> tuple[list[Any], list[JsonDict], dict[int, Extras]]:
        """The entities of ``records`` (in order), each one's metadata (a dict of its own),
        and the ``Extras`` of those that have any, by position. Without ``object_type``, each
        is of the class its ``Raven-Python-Type`` names if registered, else a dict (SPEC D3).

        A document deeper than rookdb writes is refused before it is decoded: the session could
        not write it back, nor walk it safely, so it is never tracked."""
        return self._decode(records, object_type, False)

    def _decode(
        self, records: Sequence[DocumentRecord], object_type: type[Any] | None, share: bool
    ) -> tuple[list[Any], list[JsonDict], dict[int, Extras]]:
        """``decode``; when ``share`` (``materialize``: tracked states share them, writing to
        a copy, and untracked entities keep none), documents with equal metadata may share one
        dict. Each document's own is then freed as soon as it is read, not when the batch is
        built: the garbage collector counts what is allocated less what is freed, but never
        below zero, so a batch's thousand dicts freed together after a collection had reset
        the count were counted and never discounted (10% of a plain tracked load's
        collections, 13% of a pydantic one's, whose full collection it was)."""
        if object_type is not None:
            many = self._decoders.get(object_type)
            if many is None:
                many = self._decoder(object_type)
            from_bytes = self._from_bytes[object_type]
            exact = self._ones[object_type][2]
            if from_bytes is not None:
                entities, metadatas, extras = self._decode_bytes(
                    from_bytes, many, exact, records, share
                )
                if not share:  # a dict of its own each (``BytesDecoder.read`` shares them)
                    metadatas = [dict(metadata) for metadata in metadatas]
                return entities, metadatas, extras
            return self._decode_each(records, many, exact, share)
        return self._decode_each(records, None, None, share)

    def _decode_bytes(
        self,
        from_bytes: BytesDecoder,
        many: BatchDecoder,
        exact: Finder | None,
        records: Sequence[DocumentRecord],
        share: bool,
    ) -> tuple[list[Any], list[JsonDict], dict[int, Extras]]:
        """``decode`` for a pydantic model of JSON-native fields (``json_models``): the
        documents that path does not take whole are decoded the ordinary way, in one batch."""
        entities, metadatas, misses = from_bytes.decode(records)
        if not misses:
            return entities, metadatas, {}
        got, got_metadatas, held = self._decode_each(
            [records[at] for at in misses], many, exact, share
        )
        extras = {}
        for place, at in enumerate(misses):
            entities[at] = got[place]
            metadatas[at] = got_metadatas[place]
            if place in held:
                extras[at] = held[place]
        return entities, metadatas, extras

    def _decode_each(
        self,
        records: Sequence[DocumentRecord],
        many: BatchDecoder | None,
        exact: Finder | None,
        share: bool,
    ) -> tuple[list[Any], list[JsonDict], dict[int, Extras]]:
        """``decode`` from each document decoded into a dict: into entities of one class by
        its batch decoder ``many`` (``exact``: ``_exact`` of its class), or,
        when None, each of the class its metadata names. When ``share``, a document whose
        metadata equals the one before takes that dict."""
        bodies: list[JsonDict] = []
        metadatas: list[JsonDict] = []
        ids: list[str] = []
        last = self._last_metadata
        notes: Notes = {}  # of the documents ``exact`` reads
        for record in records:
            data = record.data
            # ``parse``, inline.
            if data.count(b"{") + data.count(b"[") > MAX_DEPTH:
                check_depth(data, record.id)
            if exact is not None and exact.may_lose(data):
                body = exact.read(data, notes)
            else:
                try:
                    body = orjson.loads(data)
                except orjson.JSONDecodeError:
                    body = loads(data)  # raises rookdb's error
            metadata = body.pop("@metadata", None)
            if type(metadata) is not dict:
                metadata = {}
            if share:
                if metadata == last:
                    metadata = last
                else:
                    last = metadata
            bodies.append(body)
            metadatas.append(metadata)
            ids.append(record.id)
        if many is not None:
            entities, extras = reading(notes, many, bodies, ids)
            return entities, metadatas, extras
        # Each document's own class: decoded in runs of documents of one class.
        lookup = self._types.lookup
        classes = [lookup(metadata.get("Raven-Python-Type")) for metadata in metadatas]
        entities = []
        extras = {}
        start, count = 0, len(classes)
        while start < count:
            cls, end = classes[start], start + 1
            while end < count and classes[end] is cls:
                end += 1
            exact = None if cls is None else _exact(cls)
            if exact is not None:  # read again, noted
                for at in range(start, end):
                    if exact.may_lose(records[at].data):
                        bodies[at] = exact.read(records[at].data, notes)
                        bodies[at].pop("@metadata", None)
            decode = self._codec.batch_decoder(cls)
            got, held = reading(notes, decode, bodies[start:end], ids[start:end])
            entities.extend(got)
            for at, found in held.items():
                extras[start + at] = found
            start = end
        return entities, metadatas, extras

    def materialize_one(
        self, record: DocumentRecord, object_type: type[Any] | None, track: bool
    ) -> Any:
        """``materialize`` of one record (``load(id)``, the most common read): the same
        parse, by the class's one-document decoders (``EntityCodec.one_decoder``,
        ``BytesDecoder.read``) instead of its batch decoders, tracked without the batch's
        lists (issue 18: each Python call is about a twentieth of the floor's whole load)."""
        ones = self._ones.get(object_type) if object_type is not None else None
        if ones is None and object_type is not None:
            self._decoder(object_type)
            ones = self._ones[object_type]
        if ones is None:  # no class: the one its metadata names (``_decode_each``)
            (entity,), (metadata,), held = self._decode_each((record,), None, None, True)
            extras = held.get(0)
        elif ones[1] is not None and (found := ones[1].read(record.data, record.id)):
            entity, metadata = found
            extras = None
        else:
            # ``parse`` called, not inlined as in the batch loop: one call of a load(id)'s
            # ~80,000 instructions is not worth a third copy of its rule.
            exact = ones[2]
            notes: Notes | None = None if exact is None else {}
            body, metadata = parse(record.data, record.id, notes, exact)
            # ``reading`` only where there are notes: a load(id) counts its Python calls.
            entity, extras = (
                reading(notes, ones[0], body, record.id) if notes else ones[0](body, record.id)
            )
        if not track:
            return entity
        last = self._last_metadata
        if metadata is not last and metadata != last:
            self._last_metadata = last = metadata
        self._map.track_loaded(
            DocumentState(
                entity,
                record.id,
                record.collection,
                last,
                record.data,
                record.change_vector,
                record.last_modified,
                extras,
                True,
            )
        )
        return entity

    def materialize(
        self, records: Sequence[DocumentRecord], object_type: type[Any] | None, track: bool
    ) -> list[Any]:
        """The entities of ``records``, in order, tracked as loaded when ``track``."""
        entities, metadatas, extras = self._decode(records, object_type, True)
        if not track:
            return entities
        # Most documents of a collection carry the same metadata: their states share one dict
        # (copied by the first write to it), fewer objects for the garbage collector to walk.
        # (Those read from bytes mostly share one already: ``BytesDecoder.read``.)
        last = self._last_metadata
        count = len(records)
        held = map(extras.get, range(count)) if extras else itertools.repeat(None, count)
        states: list[DocumentState] = []
        append = states.append
        # Likewise the collection's name, and the modification time documents saved together
        # share: each row read them as strings of their own (~60-80 bytes a document kept).
        collection_was = modified_was = ""
        for entity, record, metadata, extra in zip(entities, records, metadatas, held, strict=True):
            # Unpacked (one step), not read by its five field names (five descriptor calls).
            document_id, data, change_vector, last_modified, collection = record
            if metadata is not last and metadata != last:
                last = metadata
            if collection == collection_was:
                collection = collection_was
            else:
                collection_was = collection
            if last_modified == modified_was:
                last_modified = modified_was
            else:
                modified_was = last_modified
            append(
                DocumentState(
                    entity,
                    document_id,
                    collection,
                    last,
                    data,
                    change_vector,
                    last_modified,
                    extra,
                    True,
                )
            )
        self._last_metadata = last
        self._map.track_loaded_many(states)
        return entities


def _exact(cls: type) -> Finder | None:
    """For a class holding ``Decimal`` fields, what tells the documents that may hold a number
    a float does not give back as written (``exact_numbers.finder``); None for another."""
    if cls is dict:
        return None
    keys = decimal_keys(cls)
    return None if keys == () else finder(keys)

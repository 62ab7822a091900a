"""pydantic models whose unknown fields are found from the stored bytes (issue 18).

A loaded pydantic model cost an ``orjson.loads`` of the document, a walk of rookdb's
converters over the decoded dict (to find fields the model does not declare, at every level,
and keep them), then ``model_validate``: about thirty Python calls, and the decoded dicts of a
whole batch held until the batch was built. For a model whose fields need no converter, the
walk only looks for unknown fields, and the bytes can say whether there are any:

* **Which models** (``eligible``, once per class): those whose core schema is made of
  JSON-native parts, str, int, float, bool, None, lists, defaults, and nested models of the
  same kind, without aliases, validators, a custom ``__init__``, ``model_post_init`` or
  private attributes, ``strict`` or ``extra="allow"``. Nothing in them is converted before
  validation, and every JSON object in their documents is a model. (A datetime, enum,
  Decimal or UUID field is rebuilt by rookdb's converters first; a dict or ``Any`` field
  holds objects that are no model's: such models take the decoded-dict path.)
* **Unknown fields** (written back at save, SPEC S5, where pydantic ignores them). Every key
  of such a document is a field some model took, or one no model declares: the fields set
  at every level of the validated model (``_keys``) are counted against the keys of the text
  (``'":'`` ends every key of a text without escapes). A document with one key more is read
  by the decoded-dict path (``decoders.Decoder.batch_decoder``), which keeps it. (A
  validator closed to extra fields cannot be built instead: pydantic-core reuses a model's
  own validator wherever the model appears in a schema.)

``BytesDecoder.read`` reads a document this way (``decode``, a batch).
The metadata is found at the end, where rookdb writes it, so that its keys are left out of the
count: outside a string a ``,"`` starts a key, and inside one a quote is escaped, so
``,"@metadata":`` is always a key; its value parsing alone up to the last byte (``}``) means
nothing but the end of the document follows it, which is so only for the last member of the
top-level object. The body before it, closed, with the document id added as the identity
field's member, is validated by pydantic's own JSON reader (``validate_json``, what
``model_validate_json`` calls), which reads the text straight into the models; for a model
that reads numbers into strings or holds lists of lists (``_from_text``), ``orjson.loads``
(the id in the identity field's place) and ``validate_python`` instead. Then the count, which
also looks at every number: pydantic's reader takes what rookdb's refuses (NaN, infinities,
numbers past the largest float) and reads integers past 64 bits exactly where orjson makes
them floats, and a number can only land in a number field (``_keys`` says why). A document
this path does not take whole (written by another client, holding an unknown field, an
escape, a stored identity field, such a number, or not valid) is read by the decoded-dict
path, which also says precisely why a document does not validate, and refuses what rookdb's
reader refuses. (pydgc measured ``validate_json`` at 27.6k instructions per bench document
against 39.5k for ``orjson.loads`` and ``validate_python``, where an earlier round had timed
it slower, 5.2 µs against 3.4 µs; a whole ``read`` of the bench's document, count included:
~47,200 instructions against ~50,800, and a tracked batch load ~95,500 per document against
~99,100. The validator parses without pydantic's string cache: ``BytesDecoder.__init__``.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from rookdb._types import JsonDict
from rookdb.serialization import models
from rookdb.serialization.encoding import INT64_MAX, MAX_DEPTH

__all__ = ["BytesDecoder", "Stored", "eligible"]


class Stored(Protocol):
    """What ``BytesDecoder.decode`` reads of a stored document (storage's ``DocumentRecord``
    is one): serialization stays below storage (SPEC §9), so it names only these two."""

    @property
    def id(self) -> str: ...

    @property
    def data(self) -> bytes: ...


# Core schema types whose validation of JSON text and of its decoded dict agree, and which
# hold no JSON object of their own (every key of a document is then a field of a model).
_PLAIN = frozenset({"str", "int", "float", "bool", "none"})
_WRAPPERS = frozenset({"nullable", "default", "list"})

#: Per model class read from bytes, for ``_keys``: its fields holding a number (an int or a
#: float, or None), those holding a nested model (or None) of a class with neither a nested
#: model nor a number of its own, those holding one of another class, those holding a list of
#: either kind, and those holding a list of numbers:
#: ``(numbers, leaves, singles, leaf_lists, lists, number_lists)``.
_NESTED: dict[type, tuple[tuple[str, ...], ...]] = {}
_ELIGIBLE: dict[type, bool] = {}
#: The model classes read from bytes holding a list of lists (``_from_text``).
_LISTS_OF_LISTS: set[type] = set()


def eligible(cls: type) -> bool:
    """Whether the pydantic model ``cls`` is read from its stored bytes: a model of
    JSON-native fields (see the module docstring). Worked out once per class."""
    found = _ELIGIBLE.get(cls)
    if found is None:
        schema = getattr(cls, "__pydantic_core_schema__", None)
        found = _ELIGIBLE[cls] = bool(
            models.is_pydantic_model(cls)
            and isinstance(schema, dict)
            and not models.has_aliases(cls)
            and _json_native(schema)
        )
    return found


def _json_native(schema: Any) -> bool:
    """Whether the core schema ``schema`` validates JSON text as it validates the text decoded,
    every JSON object in it being a model (whose nested models it records in ``_NESTED``).
    Iterative, and each shared definition checked once: models may nest recursively."""
    definitions: dict[str, Any] = {}
    if isinstance(schema, Mapping) and schema.get("type") == "definitions":
        for definition in schema.get("definitions", ()):
            if not isinstance(definition, Mapping) or "ref" not in definition:
                return False
            definitions[definition["ref"]] = definition
        schema = schema.get("schema")

    def resolve(node: Any) -> Any:
        while isinstance(node, Mapping) and node.get("type") in ("nullable", "default"):
            node = node["schema"]
        if isinstance(node, Mapping) and node.get("type") == "definition-ref":
            return resolve(definitions.get(str(node.get("schema_ref")), {}))
        return node if isinstance(node, Mapping) else {}

    seen: set[str] = set()
    stack = [schema]
    # Per model class met: its fields holding a model, and a list of models, with the class.
    nested: dict[type, tuple[list[tuple[str, type]], list[tuple[str, type]]]] = {}
    # Per model class met: its fields holding a number, and a list of numbers.
    numbers: dict[type, tuple[list[str], list[str]]] = {}
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            return False
        kind = node.get("type")
        if kind in _PLAIN:
            if node.get("strict"):
                return False
        elif kind in _WRAPPERS:
            if node.get("strict"):
                return False
            stack.append(node["items_schema"] if kind == "list" else node["schema"])
        elif kind == "definition-ref":
            ref = node.get("schema_ref")
            if ref not in definitions:
                return False
            if ref not in seen:
                seen.add(ref)
                stack.append(definitions[ref])
        elif kind == "model":
            config = node.get("config") or {}
            fields = node.get("schema") or {}
            if (
                node.get("custom_init")
                or node.get("root_model")
                or node.get("post_init")
                or config.get("strict")
                or config.get("extra_fields_behavior") == "allow"
                or fields.get("type") != "model-fields"
                or fields.get("extra_behavior") == "allow"
                or fields.get("extras_schema")
                or fields.get("strict")
            ):
                return False
            singles: list[tuple[str, type]] = []
            lists: list[tuple[str, type]] = []
            held: tuple[list[str], list[str]] = ([], [])  # numbers, lists of numbers
            for name, field in fields.get("fields", {}).items():
                if field.get("type") != "model-field" or field.get("validation_alias"):
                    return False
                inner = resolve(field["schema"])
                kind = inner.get("type")
                if kind == "model":
                    singles.append((name, inner["cls"]))
                elif kind in ("int", "float"):
                    held[0].append(name)
                elif kind == "list":
                    items = resolve(inner.get("items_schema"))
                    if items.get("type") == "model":
                        lists.append((name, items["cls"]))
                    elif items.get("type") in ("int", "float"):
                        held[1].append(name)
                    elif items.get("type") == "list":
                        _LISTS_OF_LISTS.add(node["cls"])
                stack.append(field["schema"])
            nested[node["cls"]] = (singles, lists)
            numbers[node["cls"]] = held
        else:
            return False  # dicts, Any, validators, datetimes, enums, unions, ...
    # Of a class with neither a nested model nor a number, a value's keys are its fields set:
    # no call.
    leaf = {
        held
        for held, (inner, inner_lists) in nested.items()
        if not inner and not inner_lists and not any(numbers[held])
    }
    for cls, (singles, lists) in nested.items():
        _NESTED[cls] = (
            tuple(numbers[cls][0]),
            tuple(name for name, held in singles if held in leaf),
            tuple(name for name, held in singles if held not in leaf),
            tuple(name for name, held in lists if held in leaf),
            tuple(name for name, held in lists if held not in leaf),
            tuple(numbers[cls][1]),
        )
    return True


def _from_text(schema: Any) -> bool:
    """Whether documents of the eligible model of core schema ``schema`` may be validated from
    their text (``BytesDecoder.read``): no part of it reads numbers into strings
    (``coerce_numbers_to_str``: from JSON text the number is kept as written, ``1.0`` becomes
    "1" where the decoded float gives "1.0"), and every number of its models is where
    ``_keys`` looks (no list of lists)."""
    stack = [schema]
    seen: set[int] = set()  # a default value may hold itself
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping | list | tuple):
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, Mapping):
            if node.get("coerce_numbers_to_str"):
                return False
            if node.get("type") == "model" and node.get("cls") in _LISTS_OF_LISTS:
                return False
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return True


def _depth(cls: Any) -> int | None:
    """How many levels of JSON objects and arrays a document of the eligible model ``cls``
    can nest at most once validated as it, the document itself the first; None when that is
    unbounded (a model that holds itself) or past ``MAX_DEPTH``. In such a model every object
    of the document is a model and every array a list of the schema (``_json_native``), so a
    document that validates and whose every key a model took (``_keys``) nests no deeper."""
    schema = cls.__pydantic_core_schema__
    definitions: dict[str, Any] = {}
    if schema.get("type") == "definitions":
        definitions = {definition["ref"]: definition for definition in schema["definitions"]}
        schema = schema["schema"]

    def depth(node: Any, refs: frozenset[str], level: int) -> int | None:
        # Levels below ``node``'s value, ``level`` levels above it; None when unbounded.
        if level > MAX_DEPTH:
            return None
        kind = node.get("type")
        if kind in ("nullable", "default"):
            return depth(node["schema"], refs, level)
        if kind == "definition-ref":
            ref = node["schema_ref"]
            if ref in refs:  # recursive: as deep as a document makes it
                return None
            return depth(definitions[ref], refs | {ref}, level)
        if kind == "list":
            inner = depth(node["items_schema"], refs, level + 1)
            return None if inner is None else inner + 1
        if kind == "model":
            deepest = 0
            for field in node["schema"]["fields"].values():
                inner = depth(field["schema"], refs, level + 1)
                if inner is None:
                    return None
                deepest = max(deepest, inner)
            return deepest + 1
        return 0  # str, int, float, bool, None

    found = depth(schema, frozenset(), 1)
    return found if found is not None and found <= MAX_DEPTH else None


class _ReadOtherwise(ValueError):
    """``_keys`` met a number rookdb's reader would not read as pydantic's did."""


def _keys(model: Any) -> int:
    """How many keys of the JSON text ``model`` was validated from it took: the fields set
    from it, at every level. Fewer than the text holds means pydantic ignored some.

    Raises ``_ReadOtherwise`` (a ValueError) for a number, at any level, that rookdb's reader
    (orjson, ``encoding.loads``) might not have read as pydantic's JSON reader did: NaN, an
    infinity (orjson refuses ``NaN``, ``Infinity`` and numbers past the largest float, which
    pydantic's reader takes), or a magnitude past ``INT64_MAX`` (orjson reads an integer past
    64 bits as a float, which an int field refuses or rounds, pydantic's reader as an exact
    int). A number can land nowhere else: a key no model takes is counted here, and a str,
    bool or list field refuses one. Otherwise both read numbers alike (both round correctly),
    and everything else pydantic's reader takes that orjson refuses it refuses too (invalid
    UTF-8, control characters, other whitespace, malformed numbers, trailing bytes):
    ``tests/test_json_models.py`` holds the cases. A float past ``INT64_MAX``, or an int
    orjson reads exactly just past it (to ``2**64 - 1``), only sends the document the other
    way, which reads it the same. (Looking at the bytes instead, for the words, long digit
    runs and long exponents, cost 10,000 to 12,000 instructions for the bench's document,
    more than ``validate_json`` saves; these comparisons, one per number, cost ~2,000.)"""
    count = len(model.__pydantic_fields_set__)
    numbers, leaves, singles, leaf_lists, lists, number_lists = _NESTED[type(model)]
    if numbers or leaves or singles or leaf_lists or lists or number_lists:
        values = model.__dict__
        for name in numbers:  # a NaN fails both comparisons
            value = values[name]
            if value is not None and not -INT64_MAX <= value <= INT64_MAX:
                raise _ReadOtherwise(name)
        for name in leaves:  # validated from a dict: of the class the schema names
            value = values[name]
            if value is not None:
                count += len(value.__pydantic_fields_set__)
        for name in singles:
            value = values[name]
            if value is not None:
                count += _keys(value)
        for name in leaf_lists:
            for value in values[name] or ():  # a list, or None
                if value is not None:
                    count += len(value.__pydantic_fields_set__)
        for name in lists:
            for value in values[name] or ():  # a list, or None
                if value is not None:
                    count += _keys(value)
        for name in number_lists:
            for value in values[name] or ():  # a list, or None
                if value is not None and not -INT64_MAX <= value <= INT64_MAX:
                    raise _ReadOtherwise(name)
    return count


#: The top-level ``@metadata`` member as rookdb writes it: last, after a comma.
_METADATA = b',"@metadata":'
_CUT = len(_METADATA)


class BytesDecoder:
    """Reads documents into one model class, its unknown fields found from the bytes
    (``decode``)."""

    __slots__ = (
        "_bounded",
        "_from_text",
        "_key",
        "_member",
        "_suffixes",
        "_validate",
        "_validate_json",
    )

    def __init__(self, cls: Any, identity: str | None) -> None:
        if not eligible(cls):  # (which also records its nested models, for ``_keys``)
            raise TypeError(f"{cls.__qualname__} is not a model read from its stored bytes")
        self._validate = cls.__pydantic_validator__.validate_python
        # pydantic's JSON reader without its cache of short strings (``cache_strings``, on by
        # default): the cache hands each load the string objects of documents read long
        # before, kept alive and scattered over the heap, and every later walk over the
        # entities (has_changes, save) ran slower for it (bench.ab, pydantic, SQLite: W4
        # 1.17x, has_changes 1.33x with it). The model's own validator still validates
        # (pydantic-core reuses a model's validator wherever the model is in a schema): the
        # cache is the top-level validator's, where the text is parsed.
        from pydantic_core import SchemaValidator  # pydantic is optional: only models come here

        self._validate_json = SchemaValidator(
            cls.__pydantic_core_schema__, {"cache_strings": False}
        ).validate_json
        # Whether a document's text may be validated as it is (``read``, ``_from_text``).
        self._from_text = _from_text(cls.__pydantic_core_schema__)
        # Whether a document this path takes is known to nest no deeper than ``MAX_DEPTH``
        # (its body by the model, ``_depth``; its metadata checked once per suffix), so that
        # only models holding themselves need ``check_depth``'s cheap test of every document.
        self._bounded = _depth(cls) is not None
        # The identity property, when the model declares it: the document id is validated
        # in its place, as the decoded-dict path does; a document storing it is read there
        # (the count of keys tells, ``read``).
        self._key = identity
        # The identity member ``read`` adds to the text (the document id its value).
        self._member = b"" if identity is None else b"," + orjson.dumps(identity) + b":"
        # The metadata ends of documents already read (``,"@metadata":{...}}``), known to be
        # the last member of the top-level object: how many keys each holds, and its metadata
        # when every value of it is a string, a number, a boolean or null (``_flat``), for
        # the documents that end so to share.
        self._suffixes: dict[bytes, tuple[int, JsonDict | None]] = {}

    def _suffix_keys(self, suffix: bytes) -> tuple[int, JsonDict | None] | None:
        """How many keys ``suffix`` (the bytes from the last ``,"@metadata":`` on) holds, the
        ``@metadata`` key included, and its metadata when flat (else None), when it is the
        top-level object's last member; else None. Parsed once per distinct suffix: most
        documents of a collection share theirs."""
        try:
            metadata = orjson.loads(suffix[_CUT:-1])
        except ValueError:
            return None
        if type(metadata) is not dict or suffix[-1] != 125:  # "}"
            return None
        if suffix.count(b"{") + suffix.count(b"[") >= MAX_DEPTH:  # the cheap test, once
            return None
        if len(self._suffixes) > 256:  # documents each with metadata of its own
            self._suffixes.clear()
        found = self._suffixes[suffix] = (
            suffix.count(b'":'),
            metadata if _flat(metadata) else None,
        )
        return found

    def decode(self, records: Sequence[Stored]) -> tuple[list[Any], list[JsonDict], list[int]]:
        """The entities and metadata of ``records``, in order, and the positions of those this
        path does not take whole (their entity and metadata are None: the decoded-dict path
        reads them). Each is ``read``: documents with the same flat metadata share one dict,
        not to be written to."""
        read = self.read
        entities: list[Any] = []
        metadatas: list[Any] = []
        misses: list[int] = []
        for at, record in enumerate(records):
            found = read(record.data, record.id)
            if found is None:
                misses.append(at)
                entities.append(None)
                metadatas.append(None)
            else:
                entities.append(found[0])
                metadatas.append(found[1])
        return entities, metadatas, misses

    def read(self, data: bytes, document_id: str) -> tuple[Any, JsonDict] | None:
        """The entity and metadata of the stored document ``data`` (of ``document_id``), or
        None when this path does not take it whole (the decoded-dict path reads it). The
        metadata of a document whose metadata is flat is the dict every document ending the
        same way shares (the session's states share it anyway, and write to a copy): the
        document's own is never made, or, parsed with the body, is freed at once instead of
        living as long as the batch.

        The body is validated from its text (``validate_json``) unless the model reads numbers
        into strings or holds lists of lists (``_from_text``); otherwise it is decoded by
        ``orjson.loads`` and validated (``validate_python``). Either way ``_keys`` then tells
        whether every key was a field and every number one orjson reads alike.

        Byte searches are ``find`` and ``count``: ``in`` on bytes first tries its operand as an
        integer, and raising that TypeError costs more than the search."""
        cut = data.rfind(_METADATA)
        if (
            cut < 0
            # No escape: every '":' ends a key, and every key is spelled out.
            or data.find(b"\\") >= 0
            # check_depth's cheap test, for a model whose documents may nest any deeper.
            or (not self._bounded and data.count(b"{") + data.count(b"[") > MAX_DEPTH)
        ):
            return None
        suffix = data[cut:]
        known = self._suffixes.get(suffix)
        if known is None:
            known = self._suffix_keys(suffix)
            if known is None:
                return None
        in_metadata, shared = known
        # The keys of the body (before the metadata), the identity key not yet counted.
        own = data.count(b'":') - in_metadata
        key = self._key
        if self._from_text:
            # ``{,"@metadata":...}`` is no JSON, though its body closed is (``{}``): a body
            # with no key is left to the decoded-dict path, which refuses it.
            if own <= 0:
                return None
            try:
                if key is None:
                    entity = self._validate_json(data[:cut] + b"}")
                else:
                    # The identity key last, the document id its value (escaped by orjson).
                    entity = self._validate_json(
                        b"".join((data[:cut], self._member, orjson.dumps(document_id), b"}"))
                    )
                    own += 1
                # Every key of the body is a field some model took, or the document holds one
                # no model declares; every number is one orjson reads as pydantic's reader
                # did, or ``_keys`` raises (the other way refuses it, or reads it as orjson).
                if _keys(entity) != own:
                    return None
            except (ValueError, TypeError):  # not valid (pydantic's ValidationError is a
                return None  # ValueError): read (and said) the other way
            return entity, shared if shared is not None else orjson.loads(suffix[_CUT:-1])
        try:
            body = orjson.loads(data)
            metadata = body.pop("@metadata")
            if key is not None:
                # The identity key, validated with the body: one key more than the text holds.
                # A document that stores it as well (kept apart, on the decoded-dict path) has
                # it once in the fields set, so its count falls one short below.
                body[key] = document_id
                own += 1
            entity = self._validate(body)
            if _keys(entity) != own:  # as above
                return None
        except (ValueError, KeyError):  # not valid: read (and said) the other way
            return None
        return entity, metadata if shared is None else shared


def _flat(metadata: JsonDict) -> bool:
    """Whether every value of ``metadata`` is a string, a number, a boolean or null: a dict
    shared by many documents that no one can change but by a key of its own (which the
    session's states do on a copy, ``DocumentState.writable_metadata``)."""
    return all(
        value is None or type(value) in (str, int, float, bool) for value in metadata.values()
    )

"""A loaded pydantic model is the model validation of its decoded document, unknown fields kept.

Models whose fields are all JSON-native (str, int, float, bool, None, lists, nested models of
the same kind) are validated without rookdb's converter walk, their unknown fields found by
counting the keys of the stored bytes (``serialization.json_models``); every other model, and
every document such a model cannot take whole (fields it does not declare, at any level; a
stored identity field; an escape; ``@metadata`` not last), takes the decoded-dict path.
Whichever path a document takes, the entity must be the same: these tests compare each load
with ``model_validate`` of the decoded document, values, their types, ``model_fields_set`` and
extras included, and check that nothing is lost. Such models are validated from the text by
pydantic's own JSON reader (``validate_json``), which takes documents rookdb's reader (orjson)
refuses and reads some numbers otherwise: those documents must still be refused with rookdb's
error, or read as orjson reads them (the tests after ``_GOOD``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb import DocumentStore, DocumentValidationError, SerializationError
from rookdb.serialization import json_models
from rookdb.storage.commands import PutCommand
from rookdb.storage.records import DocumentRecord


class Spot(pydantic.BaseModel):
    city: str
    zip: str = ""


class Member(pydantic.BaseModel):
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    spot: Spot
    stops: list[Spot] = []
    note: str | None = None
    id: str | None = None


class Loose(pydantic.BaseModel):
    """Free-form fields: read from decoded dicts."""

    name: str
    extra: dict[str, Any] = {}
    anything: Any = None
    id: str | None = None


class Frozen(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    name: str
    Id: str | None = None


class Open(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    name: str


class Checked(pydantic.BaseModel):
    n: int

    @pydantic.field_validator("n")
    @classmethod
    def positive(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must not be negative")
        return v


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[DocumentStore]:
    store = DocumentStore(urls=f"sqlite:///{tmp_path}/data", database="db").initialize()
    try:
        yield store
    finally:
        store.close()


def _put_raw(store: DocumentStore, document_id: str, data: bytes, collection: str) -> None:
    """Bytes as another client could have written them (rookdb writes ``@metadata`` last)."""
    store._storage(store.database).apply([PutCommand(document_id, collection, data)])


def _raw(store: DocumentStore, document_id: str) -> dict[str, Any]:
    with store.open_session() as session:
        raw: dict[str, Any] = session.load(document_id, dict)
        return raw


def _same(a: Any, b: Any) -> None:
    """``a`` and ``b`` are equal models, with values of the same types, the same fields set and
    the same extras, at every level."""
    assert type(a) is type(b)
    if isinstance(a, pydantic.BaseModel):
        assert list(a.__dict__) == list(b.__dict__)
        assert a.model_fields_set == b.model_fields_set
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        assert a.__pydantic_private__ == b.__pydantic_private__
        for key, value in a.__dict__.items():
            _same(value, b.__dict__[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key, value in a.items():
            _same(value, b[key])
    elif type(a) is float:  # NaN too, and the sign of zero
        assert repr(a) == repr(b)
    else:
        assert a == b


def _fills_defaults(body: dict[str, Any]) -> bool:
    """Whether loading ``body`` gives the model fields it lacks: a change (new fields)."""
    return bool(set(Member.model_fields) - {"id"} - set(body))


BODIES: list[dict[str, Any]] = [
    {
        "name": "Ann",
        "age": 31,
        "score": 2.5,
        "active": True,
        "tags": ["a", "b"],
        "spot": {"city": "Oslo", "zip": "0150"},
    },
    {  # a float field stored as an integer, an int field as 7.0, defaults left out
        "name": "Bo",
        "age": 7.0,
        "score": 3,
        "active": False,
        "tags": [],
        "spot": {"city": "Lima", "zip": ""},
    },
    {  # every optional field, nested lists and free-form values, non-ASCII text
        "name": "Çé 🐍",
        "age": -1,
        "score": 1e300,
        "active": True,
        "tags": ["x"],
        "spot": {"city": "Kyoto", "zip": "1"},
        "stops": [{"city": "A", "zip": ""}, {"city": "B", "zip": "2"}],
        "note": None,
    },
]


@pytest.mark.parametrize("body", BODIES, ids=["plain", "coerced", "full"])
def test_a_loaded_model_is_the_validation_of_its_document(
    sqlite_store: DocumentStore, body: dict[str, Any]
) -> None:
    with sqlite_store.open_session() as session:
        session.store(dict(body), "members/1")
        session.save_changes()
    expected = Member.model_validate({**body, "id": "members/1"})
    with sqlite_store.open_session() as session:
        one = session.load("members/1", Member)
        _same(one, expected)
        assert session.advanced.has_changes is _fills_defaults(body)
    with sqlite_store.open_session() as session:  # the same through a batch
        many = session.load(["members/1", "members/2"], Member)
        _same(many["members/1"], expected)
        assert session.advanced.has_changes is _fills_defaults(body)


def test_the_bench_models_are_read_from_bytes() -> None:
    """The fast path is taken where it can be: models of JSON-native fields only."""
    assert json_models.eligible(Member) and json_models.eligible(Frozen)
    assert not json_models.eligible(Loose)  # objects that are no model's: keys not counted
    assert not json_models.eligible(Open)  # extras must land in __pydantic_extra__
    assert not json_models.eligible(Checked)  # a validator of its own


@pytest.mark.parametrize(
    "data",
    [
        # @metadata first: the decoded-dict path
        b'{"@metadata":{"@collection":"Members"},"name":"N","age":1,"score":1.5,"active":true,'
        b'"tags":[],"spot":{"city":"C"}}',
        # an escaped key: never taken from the bytes
        b'{"name":"N","age":1,"score":1.5,"active":true,"tags":[],"spot":{"city":"C"},'
        b'"\\u006eote":"x","@metadata":{"@collection":"Members"}}',
        # whitespace, as other clients write it
        b'{ "name" : "N", "age" : 1, "score" : 1.5, "active" : true, "tags" : [ ],\n'
        b' "spot" : { "city" : "C" } , "@metadata" : { "@collection" : "Members" } }',
        # no @metadata at all
        b'{"name":"N","age":1,"score":1.5,"active":true,"tags":[],"spot":{"city":"C"}}',
    ],
    ids=["metadata-first", "escaped-key", "whitespace", "no-metadata"],
)
def test_documents_other_clients_wrote_load_the_same(
    sqlite_store: DocumentStore, data: bytes
) -> None:
    _put_raw(sqlite_store, "members/1", data, "Members")
    body = orjson.loads(data)
    metadata = body.pop("@metadata", {})
    with sqlite_store.open_session() as session:
        member = session.load("members/1", Member)
        _same(member, Member.model_validate({**body, "id": "members/1"}))
        assert session.advanced.get_metadata_for(member).get("@collection") == metadata.get(
            "@collection"
        )
        # The fields the document lacks take their defaults: new fields (schema evolution);
        # a document without metadata gets it.
        changes = {c.field_name for c in session.advanced.what_changed()["members/1"]}
        assert changes - {"@metadata"} == {"stops", "note", "zip"} - set(body)


def test_unknown_fields_at_any_level_and_a_stored_id_are_kept(sqlite_store: DocumentStore) -> None:
    body = {
        "name": "N",
        "age": 1,
        "score": 1.5,
        "active": True,
        "tags": [],
        "spot": {"city": "C", "zip": "", "planet": "Earth"},
        "stops": [{"city": "D", "zip": "", "pier": 3}],
        "legacy": {"kept": [1]},
        "note": None,
        "id": "the id it had",
    }
    with sqlite_store.open_session() as session:
        session.store(dict(body), "members/1")
        session.store({"name": "F", "added_later": 1}, "frozens/1")
        session.save_changes()
    with sqlite_store.open_session() as session:
        member = session.load("members/1", Member)
        assert member.id == "members/1" and member.spot.city == "C"
        frozen = session.load("frozens/1", Frozen)
        assert (frozen.name, frozen.Id) == ("F", "frozens/1")
        assert session.advanced.has_changes is False
        member.name = "M"
        session.save_changes()
    assert _raw(sqlite_store, "members/1") == {**body, "name": "M"}
    assert _raw(sqlite_store, "frozens/1") == {"name": "F", "added_later": 1}


def test_a_document_that_does_not_validate_names_its_field(sqlite_store: DocumentStore) -> None:
    good = {"name": "N", "age": 1, "score": 1.5, "active": True, "tags": [], "spot": {"city": "C"}}
    with sqlite_store.open_session() as session:
        session.store(dict(good), "members/1")
        session.store({**good, "spot": {"city": 5}}, "members/2")
        session.save_changes()
    with sqlite_store.open_session() as session:
        with pytest.raises(DocumentValidationError) as caught:
            session.load(["members/1", "members/2"], Member)
        assert caught.value.document_id == "members/2"
        assert "spot.city" in [path for path, _ in caught.value.errors]
        assert session.advanced.has_changes is False  # nothing of the batch was tracked
        assert session.load("members/1", Member).name == "N"


def test_a_document_nested_too_deep_is_refused(sqlite_store: DocumentStore) -> None:
    deep: Any = 1
    for _ in range(200):
        deep = {"a": deep}
    good = {"name": "N", "age": 1, "score": 1.5, "active": True, "tags": [], "spot": {"city": "C"}}
    data = orjson.dumps({**good, "anything": deep, "@metadata": {"@collection": "Members"}})
    storage = sqlite_store._storage(sqlite_store.database)
    command = PutCommand.prechecked("members/1", "Members", data, None)  # as another client
    storage.apply([command])
    with sqlite_store.open_session() as session, pytest.raises(SerializationError):
        session.load("members/1", Member)


class Node(pydantic.BaseModel):
    """A model holding itself: its documents may nest as deep as they like."""

    name: str
    children: list[Node] = []


def _nested_lists(levels: int) -> Any:
    kind: Any = str
    for _ in range(levels):
        kind = list[kind]
    return kind


#: A model whose documents may nest past ``MAX_DEPTH`` (lists of lists, 130 levels deep).
Lists = pydantic.create_model("Lists", name=(str, ...), grid=(_nested_lists(130), []))


def _deep(value: Any, levels: int, wrap: Any) -> Any:
    for _ in range(levels):
        value = wrap(value)
    return value


@pytest.mark.parametrize(
    ("cls", "body"),
    [
        (Node, {"name": "n", "children": _deep([], 70, lambda v: [{"name": "m", "children": v}])}),
        (Lists, {"name": "n", "grid": _deep([], 129, lambda v: [v])}),
        (Member, {**BODIES[0], "stops": [], "note": None}),  # deep metadata (below)
    ],
)
def test_a_document_deeper_than_the_limit_is_refused_whatever_its_model_allows(
    sqlite_store: DocumentStore, cls: type, body: dict[str, Any]
) -> None:
    """Documents of models that bound their depth below ``MAX_DEPTH`` are read from bytes
    without counting brackets (``json_models._depth``); the others, and metadata, are still
    checked: a document nesting deeper is refused as ``check_depth`` refuses it, and one
    that does not is read."""
    metadata: dict[str, Any] = {"@collection": "Things"}
    if cls is Member:
        metadata["deep"] = _deep(1, 128, lambda v: {"a": v})
    data = orjson.dumps({**body, "@metadata": metadata})
    storage = sqlite_store._storage(sqlite_store.database)
    storage.apply([PutCommand.prechecked("things/1", "Things", data, None)])  # another client
    shallow = {**body, "children": []} if cls is Node else {**body, "grid": [[[]]]}
    if cls is Member:
        shallow = body
    _put_raw(
        sqlite_store,
        "things/2",
        orjson.dumps({**shallow, "@metadata": {"@collection": "Things"}}),
        "Things",
    )
    with sqlite_store.open_session() as session:
        with pytest.raises(SerializationError):
            session.load("things/1", cls)
        with pytest.raises(SerializationError):
            session.load(["things/1"], cls)
        loaded = session.load("things/2", cls)
        _same(loaded, cls.model_validate({**shallow, "id": "things/2"}))
        assert session.advanced.has_changes is False


def test_models_with_free_form_fields_load_the_same(sqlite_store: DocumentStore) -> None:
    body = {"name": "L", "extra": {"k": [1, 2.5, None, {"deep": True}]}, "anything": {"a": [1]}}
    with sqlite_store.open_session() as session:
        session.store(dict(body), "looses/1")
        session.save_changes()
    with sqlite_store.open_session() as session:
        loose = session.load("looses/1", Loose)
        _same(loose, Loose.model_validate({**body, "id": "looses/1"}))
        assert session.advanced.has_changes is False


def test_the_bytes_say_which_documents_the_model_takes_whole() -> None:
    """``BytesDecoder`` takes a document rookdb wrote, and leaves every other (to the
    decoded-dict path) rather than lose or guess anything."""
    good = b'{"name":"N","age":1,"score":1.5,"active":true,"tags":["t"],"spot":{"city":"C"}'
    metadata = b',"@metadata":{"@collection":"Members","@flags":{"a":[1]}}}'
    others = [
        good + b',"planet":"X"' + metadata,  # unknown, top level
        good.replace(b'"city":"C"', b'"city":"C","pier":3') + metadata,  # unknown, nested
        good + b',"id":"other"' + metadata,  # a stored identity field
        good.replace(b'"N"', b'"N\\\\"') + metadata,  # an escape (a name ending in a backslash)
        b'{"@metadata":{},' + good[1:] + b"}",  # metadata first
        good.replace(b'"age":1', b'"age":"old"') + metadata,  # does not validate
        good + b',"@metadata":{"x":1},"more":1}',  # a nested-looking end that is not last
    ]
    records = [
        DocumentRecord(f"members/{i}", data, "cv", "lm", "Members")
        for i, data in enumerate([good + metadata, *others, good + metadata])
    ]
    decoder = json_models.BytesDecoder(Member, "id")
    entities, metadatas, misses = decoder.decode(records)
    assert misses == list(range(1, len(others) + 1))
    for at in (0, len(records) - 1):
        _same(
            entities[at],
            Member.model_validate({**orjson.loads(good + b"}"), "id": f"members/{at}"}),
        )
        assert metadatas[at] == {"@collection": "Members", "@flags": {"a": [1]}}


def test_documents_sharing_flat_metadata_keep_each_its_own_writes(
    sqlite_store: DocumentStore,
) -> None:
    """Documents read from bytes whose flat metadata is the same share one dict
    (``BytesDecoder.read``): a write to one document's metadata, or a refresh, changes no
    other's, now or for documents read later in the session; ``decode`` gives dicts of their
    own; a document whose metadata holds an object or a list is read from bytes too."""
    with sqlite_store.open_session() as session:
        for number in range(4):
            session.store(Member.model_validate(BODIES[0]), f"members/{number}")
        session.save_changes()
    _put_raw(
        sqlite_store,
        "members/9",
        b'{"name":"N","age":1,"score":1.5,"active":true,"tags":[],"spot":{"city":"C","zip":""},'
        b'"stops":[],"note":null,"@metadata":{"@collection":"Members","@flags":{"a":[1]}}}',
        "Members",
    )
    with sqlite_store.open_session() as session:
        loaded = session.load(["members/0", "members/1"], Member)
        first, second = loaded["members/0"], loaded["members/1"]
        written = session.advanced.get_metadata_for(first)
        written["mark"] = "first"
        assert "mark" not in session.advanced.get_metadata_for(second)
        third = session.load("members/2", Member)
        assert "mark" not in session.advanced.get_metadata_for(third)
        session.advanced.refresh(second)
        session.advanced.get_metadata_for(second)["mark"] = "second"
        fourth = session.load("members/3", Member)
        assert "mark" not in session.advanced.get_metadata_for(fourth)
        assert session.advanced.get_metadata_for(first)["mark"] == "first"
        nested = session.load("members/9", Member)
        assert session.advanced.get_metadata_for(nested)["@flags"] == {"a": [1]}
        changes = session.advanced.what_changed()
        assert sorted(changes) == ["members/0", "members/1"]
        session.save_changes()
    with sqlite_store.open_session() as session:
        loaded = session.load([f"members/{number}" for number in range(4)], Member)
        marks = [session.advanced.get_metadata_for(e).get("mark") for e in loaded.values()]
        assert marks == ["first", "second", None, None]


class Inner(pydantic.BaseModel):
    x: int


class Mid(pydantic.BaseModel):
    inner: Inner
    inners: list[Inner] = []


class Outer(pydantic.BaseModel):
    mid: Mid | None
    mids: list[Mid] = []
    inner: Inner | None = None


def test_unknown_fields_are_found_at_every_level_of_nested_models() -> None:
    """``_keys`` counts the fields set of nested models with none of their own without a
    call, and recurses into the others: a key no model takes, at any level, is found."""
    good = (
        b'{"mid":{"inner":{"x":1},"inners":[{"x":2}]},'
        b'"mids":[{"inner":{"x":3}},{"inner":{"x":4},"inners":[]}],"inner":null'
    )
    metadata = b',"@metadata":{"@collection":"Outers"}}'
    others = [
        good.replace(b'{"x":1}', b'{"x":1,"y":0}'),
        good.replace(b'{"x":2}', b'{"x":2,"y":0}'),
        good.replace(b'{"x":3}', b'{"x":3,"y":0}'),
        good.replace(b'"inners":[]', b'"inners":[],"y":0'),
        good.replace(b'"inner":null', b'"inner":{"x":5,"y":0}'),
    ]
    assert json_models.eligible(Outer)
    decoder = json_models.BytesDecoder(Outer, None)
    for at, data in enumerate([good, *others]):
        found = decoder.read(data + metadata, f"outers/{at}")
        assert (found is None) == (at > 0), data
    entity, _ = decoder.read(good + metadata, "outers/0") or (None, None)
    _same(entity, Outer.model_validate(orjson.loads(good + b"}")))


class Part(pydantic.BaseModel):
    id: str
    size: int = 0


class Machine(pydantic.BaseModel):
    name: str
    part: Part
    parts: list[Part] = []
    id: str | None = None


def test_a_nested_model_with_an_id_field_is_read_from_bytes_as_a_field() -> None:
    """Only the top-level identity field is the document id: a nested model's ``id`` is one of
    its fields, read from the bytes (the stored top-level one still sends the document to the
    decoded-dict path, by the key count)."""
    assert json_models.eligible(Machine)
    decoder = json_models.BytesDecoder(Machine, "id")
    body = b'{"name":"M","part":{"id":"p1","size":2},"parts":[{"id":"p2","size":3}]'
    metadata = b',"@metadata":{"@collection":"Machines"}}'
    found = decoder.read(body + metadata, "machines/1")
    assert found is not None
    _same(found[0], Machine.model_validate({**orjson.loads(body + b"}"), "id": "machines/1"}))
    assert decoder.read(body + b',"id":"other"' + metadata, "machines/1") is None


# -- pydantic's own JSON reader (``validate_json``) where it reads as rookdb's does ----------------

#: A document ``Member`` takes whole, with one value left to fill (``_with``).
_GOOD = (
    b'{"name":"N","age":1,"score":1.5,"active":true,"tags":["t"],"spot":{"city":"C","zip":""}'
    b',"stops":[],"note":null,"@metadata":{"@collection":"Members"}}'
)


def _with(field: bytes, text: bytes) -> bytes:
    """``_GOOD`` with the value of ``field`` (a top-level one, or the nested ``city``) spelled
    ``text``."""
    old = {b"age": b'"age":1', b"score": b'"score":1.5', b"name": b'"name":"N"'}
    if field == b"city":
        return _GOOD.replace(b'"city":"C"', b'"city":' + text)
    return _GOOD.replace(old[field], b'"' + field + b'":' + text)


def _put_bytes(folder: Path, document_id: str, data: bytes) -> None:
    """``data`` stored as it is in the SQLite file under ``folder``, even bytes that are not
    UTF-8 (which the SQLite backend never writes itself): a file another program wrote."""
    store = DocumentStore(urls=f"sqlite:///{folder}", database="db").initialize()
    try:
        _put_raw(store, document_id, _GOOD, "Members")
    finally:
        store.close()
    (path,) = folder.glob("*.rookdb")
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "UPDATE documents SET data = CAST(? AS TEXT) WHERE id = ?", (data, document_id)
        )
    connection.close()


#: Stored documents rookdb's reader (orjson, ``encoding.loads``) refuses, which pydantic's own
#: JSON reader would take: refused the same way whichever path the model could take.
REFUSED = {
    "nan": _with(b"score", b"NaN"),
    "infinity": _with(b"score", b"Infinity"),
    "minus-infinity": _with(b"score", b"-Infinity"),
    "nan-in-a-list": _GOOD.replace(b'"tags":["t"]', b'"tags":["t",NaN]'),
    "overflowing-float": _with(b"score", b"1e400"),
    "overflowing-float-plus": _with(b"score", b"1.8E+308"),
    "not-utf-8": _with(b"name", b'"\xff"'),
    "not-utf-8-nested": _with(b"city", b'"\xc0\xaf"'),
    "utf-8-surrogate": _with(b"name", b'"\xed\xa0\x80"'),
    "control-character": _with(b"name", b'"a\nb"'),
    "form-feed": _with(b"age", b"\x0c1"),
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_documents_rookdbs_reader_refuses_are_refused(tmp_path: Path, data: bytes) -> None:
    """A real SQLite file holding the document: ``load(id)`` and a batch both raise rookdb's
    ``SerializationError`` (never a model silently holding NaN, infinity or a guess), and
    nothing of the batch is tracked."""
    _put_bytes(tmp_path / "data", "members/1", data)
    store = DocumentStore(urls=f"sqlite:///{tmp_path}/data", database="db").initialize()
    try:
        _put_raw(store, "members/2", _GOOD, "Members")
        with store.open_session() as session:
            with pytest.raises(SerializationError):
                session.load("members/1", Member)
            with pytest.raises(SerializationError):
                session.load(["members/2", "members/1"], Member)
            assert session.advanced.has_changes is False
            assert session.load("members/2", Member).name == "N"
    finally:
        store.close()


#: Stored documents both readers take, where pydantic's own could read a value differently
#: (integers beyond 64 bits, which orjson reads as floats; long digit runs; duplicate keys;
#: exponents): each loads as ``model_validate`` of what orjson reads, or is refused as that is.
READ_AS_ORJSON = {
    "int-past-64-bits": _with(b"age", str(2**70 + 1).encode()),
    "int-below-64-bits": _with(b"age", str(-(2**64) - 3).encode()),
    "largest-unsigned-64": _with(b"age", str(2**64 - 1).encode()),
    "past-signed-64": _with(b"age", str(2**63).encode()),
    "float-from-a-long-int": _with(b"score", str(2**70 + 1).encode()),
    "long-mantissa": _with(b"score", b"0.1000000000000000055511151231257827021181583404541015625"),
    "long-digit-string": _with(b"name", b'"12345678901234567890123"'),
    "large-exponent": _with(b"score", b"1.7976931348623157e308"),
    "tiny-exponent": _with(b"score", b"4.9e-324"),
    "underflow": _with(b"score", b"1e-400"),
    "minus-zero": _with(b"score", b"-0.0"),
    "int-as-exponent": _with(b"age", b"1e18"),
    "int-as-large-exponent": _with(b"age", b"1e19"),
    "duplicate-key": _GOOD.replace(b'"age":1', b'"age":1,"age":2'),
    "duplicate-nested-key": _GOOD.replace(b'"city":"C"', b'"city":"C","city":"D"'),
    "nan-as-a-string": _with(b"score", b'"NaN"'),
    "infinity-in-text": _with(b"name", b'"Infinity and NaN"'),
    "whitespace": _GOOD.replace(b'"age":1', b'"age": \r\n\t1'),
}


@pytest.mark.parametrize("data", READ_AS_ORJSON.values(), ids=READ_AS_ORJSON.keys())
def test_documents_load_as_rookdbs_reader_reads_them(
    sqlite_store: DocumentStore, data: bytes
) -> None:
    _put_raw(sqlite_store, "members/1", data, "Members")
    body = orjson.loads(data)
    body.pop("@metadata")
    try:
        expected: Any = Member.model_validate({**body, "id": "members/1"})
    except pydantic.ValidationError:
        expected = None
    with sqlite_store.open_session() as session:
        if expected is None:
            with pytest.raises(DocumentValidationError):
                session.load("members/1", Member)
            with pytest.raises(DocumentValidationError):
                session.load(["members/1"], Member)
            return
        _same(session.load("members/1", Member), expected)
    with sqlite_store.open_session() as session:
        _same(session.load(["members/1"], Member)["members/1"], expected)


class Measured(pydantic.BaseModel):
    label: str
    count: int
    ratio: float
    flag: bool
    ratios: list[float] = []
    id: str | None = None


_VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: orjson.dumps(x)),
    st.integers().map(lambda i: str(i).encode()),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda i: str(i).encode()),
    st.builds(
        lambda digits, point, exponent: (
            digits[:point] + (b"." + digits[point:] if digits[point:] else b"") + exponent
        ),
        st.text("0123456789", min_size=1, max_size=25).map(
            lambda s: s.lstrip("0").encode() or b"0"
        ),
        st.integers(min_value=1, max_value=25),
        st.sampled_from([b"", b"e5", b"E-5", b"e+17", b"e308", b"e309", b"e-320", b"e400", b"e99"]),
    ),
    st.sampled_from(
        [b"NaN", b"Infinity", b"-Infinity", b"true", b"false", b"null", b'"1.5"', b'"NaN"', b"-0"]
    ),
    st.text(max_size=8).map(lambda s: orjson.dumps(s)),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["count", "ratio", "flag", "label", "ratios"]), _VALUES, st.booleans())
def test_read_from_bytes_is_what_rookdbs_reader_validates(
    field: str, value: bytes, negative: bool
) -> None:
    """Property: whatever number or literal a field holds, ``BytesDecoder.read`` either leaves
    the document (None: the decoded-dict path reads it, or says why not) or gives exactly
    ``model_validate`` of what orjson reads, never a model of a document orjson refuses."""
    if negative and value[:1].isdigit():
        value = b"-" + value
    values = {"label": b'"L"', "count": b"1", "ratio": b"0.5", "flag": b"true", "ratios": b"[]"}
    values[field] = b"[" + value + b"]" if field == "ratios" else value
    data = (
        b"{"
        + b",".join(b'"' + key.encode() + b'":' + text for key, text in values.items())
        + b',"@metadata":{"@collection":"Measureds"}}'
    )
    assert json_models.eligible(Measured)
    decoder = json_models.BytesDecoder(Measured, "id")
    found = decoder.read(data, "measureds/1")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        assert found is None
        return
    body.pop("@metadata")
    try:
        expected = Measured.model_validate({**body, "id": "measureds/1"})
    except pydantic.ValidationError:
        assert found is None
        return
    if found is not None:
        _same(found[0], expected)
        assert found[1] == {"@collection": "Measureds"}


class Coercing(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(coerce_numbers_to_str=True)

    label: str
    id: str | None = None


def test_the_common_document_is_read_by_pydantics_json_reader() -> None:
    """The bench's kind of document takes ``validate_json`` (not ``orjson.loads`` and
    ``validate_python``): metadata cut off, the id validated in the identity field's place,
    a model closed to extra fields included. A model that reads numbers into strings is not
    (``coerce_numbers_to_str``: the JSON text ``1.0`` would become ``"1"``, not ``"1.0"``)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read by orjson.loads and validate_python")

    assert json_models.eligible(Member) and json_models.eligible(Frozen)
    member = json_models.BytesDecoder(Member, "id")
    object.__setattr__(member, "_validate", refuse)
    found = member.read(_GOOD, 'members/"ü\\1')
    body = orjson.loads(_GOOD)
    assert found is not None and found[1] == body.pop("@metadata")
    _same(found[0], Member.model_validate({**body, "id": 'members/"ü\\1'}))
    # Without pydantic's cache of short strings: each entity holds strings of its own (shared
    # ones, kept alive from the documents read first, slowed every later walk of the entities).
    named = _with(b"name", b'"Nora Nell"')
    first, again = member.read(named, "members/2"), member.read(named, "members/3")
    assert first is not None and again is not None and again[0].name == first[0].name
    assert again[0].name is not first[0].name
    frozen = json_models.BytesDecoder(Frozen, "Id")
    object.__setattr__(frozen, "_validate", refuse)
    got = frozen.read(b'{"name":"F","@metadata":{"@collection":"Frozens"}}', "frozens/1")
    assert got is not None and (got[0].name, got[0].Id) == ("F", "frozens/1")
    assert json_models.eligible(Coercing)
    coercing = json_models.BytesDecoder(Coercing, "id")
    read = coercing.read(b'{"label":1.0,"@metadata":{"@collection":"Coercings"}}', "coercings/1")
    assert read is not None and read[0].label == "1.0"


def test_an_empty_body_is_not_made_valid_by_cutting_its_metadata() -> None:
    """``{,"@metadata":{}}`` is not JSON; the body before the metadata, closed, would be
    ``{}``, which a model of defaults takes: left to the decoded-dict path, which refuses it."""

    class Defaults(pydantic.BaseModel):
        name: str = ""
        id: str | None = None

    assert json_models.eligible(Defaults)
    for identity in ("id", None):
        decoder = json_models.BytesDecoder(Defaults, identity)
        assert decoder.read(b'{,"@metadata":{"@collection":"Defaults"}}', "defaults/1") is None


class Reading(pydantic.BaseModel):
    value: float
    count: int | None = 0
    values: list[float] = []
    counts: list[int | None] = []


class Station(pydantic.BaseModel):
    name: str
    first: Reading | None = None
    readings: list[Reading] = []


class Network(pydantic.BaseModel):
    """Numbers two models down, in fields, lists and lists of models."""

    station: Station
    stations: list[Station] = []
    id: str | None = None


class Grid(pydantic.BaseModel):
    rows: list[list[float]] = []


_NETWORK = (
    b'{"station":{"name":"S","first":{"value":1.5,"count":2,"values":[0.5],"counts":[1,null]},'
    b'"readings":[{"value":2.5}]},"stations":[{"name":"T","readings":[{"value":3.5,'
    b'"values":[4.5,5.5],"counts":[6]}]}],"@metadata":{"@collection":"Networks"}}'
)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"value":1.5', b'"value":NaN'),
        (b'"value":2.5', b'"value":Infinity'),
        (b"[4.5,5.5]", b"[4.5,-Infinity]"),
        (b"[0.5]", b"[1e400]"),
        (b'"count":2', b'"count":%d' % 2**70),
        (b"[1,null]", b"[1,%d]" % -(2**64)),
        (b'"counts":[6]', b'"counts":[%d]' % 2**65),
    ],
)
def test_numbers_are_looked_at_in_every_model_of_a_document(
    sqlite_store: DocumentStore, old: bytes, new: bytes
) -> None:
    """The numbers ``validate_json`` reads where orjson refuses or reads otherwise, in nested
    models and lists of them, send the document the other way, which refuses it or reads it
    as ``model_validate`` of what orjson reads; the same document with ordinary numbers is
    read from its text."""
    assert json_models.eligible(Network) and json_models.eligible(Grid)
    decoder = json_models.BytesDecoder(Network, "id")
    found = decoder.read(_NETWORK, "networks/1")
    assert found is not None and found[0].stations[0].readings[0].values == [4.5, 5.5]
    data = _NETWORK.replace(old, new)
    assert data != _NETWORK
    assert decoder.read(data, "networks/1") is None
    _put_raw(sqlite_store, "networks/1", data, "Networks")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        with sqlite_store.open_session() as session, pytest.raises(SerializationError):
            session.load("networks/1", Network)
        return
    body.pop("@metadata")
    try:
        expected: Any = Network.model_validate({**body, "id": "networks/1"})
    except pydantic.ValidationError:
        with sqlite_store.open_session() as session, pytest.raises(DocumentValidationError):
            session.load("networks/1", Network)
        return
    with sqlite_store.open_session() as session:
        _same(session.load("networks/1", Network), expected)
    # Numbers in lists of lists are not looked at: such a model is never read from its text.
    assert not json_models.BytesDecoder(Grid, None)._from_text


class Route(pydantic.BaseModel):
    name: str
    stops: list[Spot] | None = None
    hops: list[Inner] | None = None
    counts: list[int] | None = None
    id: str | None = None


def test_optional_lists_holding_null_are_read_from_bytes(sqlite_store: DocumentStore) -> None:
    """A list field that may be None and is (of models, of models with models, of numbers):
    the document is read whole from bytes, and loads as ``model_validate`` of it (``_keys``
    once iterated the None and raised a TypeError out of the session)."""
    assert json_models.eligible(Route)
    data = (
        b'{"name":"R","stops":null,"hops":null,"counts":null,"@metadata":{"@collection":"Routes"}}'
    )
    found = json_models.BytesDecoder(Route, "id").read(data, "routes/1")
    expected = Route.model_validate(
        {"name": "R", "stops": None, "hops": None, "counts": None, "id": "routes/1"}
    )
    assert found is not None
    _same(found[0], expected)
    _put_raw(sqlite_store, "routes/1", data, "Routes")
    with sqlite_store.open_session() as session:
        _same(session.load("routes/1", Route), expected)
        _same(session.load(["routes/1"], Route)["routes/1"], expected)
        assert session.advanced.has_changes is False

"""Patches in a batch (``PatchCommand``), on every backend: run in the batch's transaction,
RavenDB's patch statuses, ``put``/``del``/``load`` from a script, and nothing of the batch
written when a patch fails (its error typed, with the script's line)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rookdb import DocumentStore
from rookdb.errors import ConcurrencyError, PatchError, PatchScriptError, PatchScriptLimitError
from rookdb.patches import ArrayAdd, ArrayRemoveAt, Increment, SetValue
from rookdb.storage.base import Storage
from rookdb.storage.commands import DeleteCommand, PatchCommand, PatchRequest, PutCommand


def _storage(store: DocumentStore) -> Storage:
    return store._storage(store.database)


def _doc(**fields: Any) -> bytes:
    return orjson.dumps({**fields, "@metadata": {"@collection": "Users"}})


def _put(storage: Storage, key: str, **fields: Any) -> str:
    return storage.apply([PutCommand(key, "Users", _doc(**fields))]).puts[0].change_vector


def _get(storage: Storage, key: str) -> dict[str, Any] | None:
    record = storage.get([key]).documents.get(key.lower())
    return None if record is None else orjson.loads(record.data)


def _script(script: str, **values: Any) -> PatchRequest:
    return PatchRequest(script, values)


def test_a_script_patches_the_document(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", name="Ann", visits=1)
    result = storage.apply(
        [PatchCommand("users/1", _script("this.visits += args.by; this.seen = true;", by=2))]
    )
    assert result.puts == []
    (reply,) = result.replies
    assert reply.status == "Patched" and reply.id == "users/1"
    stored = storage.get(["users/1"]).documents["users/1"]
    assert reply.document is not None
    assert reply.document.change_vector == stored.change_vector
    assert orjson.loads(reply.document.data) == orjson.loads(stored.data)
    assert orjson.loads(stored.data)["visits"] == 3
    assert stored.collection == "Users"


def test_patch_that_changes_nothing_is_not_modified(store: DocumentStore) -> None:
    storage = _storage(store)
    before = _put(storage, "users/1", name="Ann")
    (reply,) = storage.apply([PatchCommand("users/1", _script("this.name = 'Ann';"))]).replies
    assert reply.status == "NotModified"
    assert storage.get(["users/1"]).documents["users/1"].change_vector == before


def test_missing_document(store: DocumentStore) -> None:
    storage = _storage(store)
    (reply,) = storage.apply([PatchCommand("users/9", _script("this.a = 1;"))]).replies
    assert reply.status == "DocumentDoesNotExist" and reply.document is None
    assert _get(storage, "users/9") is None


def test_create_if_missing_is_stored_as_it_is(store: DocumentStore) -> None:
    storage = _storage(store)
    command = PatchCommand("users/9", _script("this.a = 1;"), create_if_missing=_doc(name="New"))
    (reply,) = storage.apply([command]).replies
    assert reply.status == "Created"
    assert _get(storage, "users/9") == {"name": "New", "@metadata": {"@collection": "Users"}}
    (again,) = storage.apply([command]).replies  # now it exists: the patch runs
    assert again.status == "Patched"
    assert _get(storage, "users/9")["a"] == 1  # type: ignore[index]


def test_patch_if_missing_runs_on_an_empty_document(store: DocumentStore) -> None:
    storage = _storage(store)
    command = PatchCommand(
        "users/9",
        _script("this.a = 1;"),
        patch_if_missing=_script(
            "this.made = args.v; this['@metadata']['@collection'] = 'Users';", v=7
        ),
    )
    (reply,) = storage.apply([command]).replies
    assert reply.status == "Created"
    record = storage.get(["users/9"]).documents["users/9"]
    assert orjson.loads(record.data)["made"] == 7 and record.collection == "Users"


def test_change_vector_mismatch(store: DocumentStore) -> None:
    storage = _storage(store)
    cv = _put(storage, "users/1", n=1)
    stale = PatchCommand("users/1", _script("this.n = 2;"), expected_change_vector="A:1-nope")
    with pytest.raises(ConcurrencyError):
        storage.apply([PutCommand("users/2", "Users", _doc(n=0)), stale])
    assert _get(storage, "users/2") is None  # nothing of the batch
    stale.skip_patch_if_change_vector_mismatch = True
    (reply,) = storage.apply([stale]).replies
    assert reply.status == "Skipped" and _get(storage, "users/1")["n"] == 1  # type: ignore[index]
    good = PatchCommand("users/1", _script("this.n = 2;"), expected_change_vector=cv)
    assert storage.apply([good]).replies[0].status == "Patched"


def test_load_put_and_del_in_the_same_transaction(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", name="Ann", friend="users/2")
    _put(storage, "users/2", name="Bo")
    _put(storage, "users/3", name="Cy")
    script = (
        "var f = load(this.friend); this.friendName = f.name;"
        "put('logs/1', { who: id(this), '@metadata': { '@collection': 'Logs' } });"
        "del('users/3');"
    )
    result = storage.apply(
        [PutCommand("users/4", "Users", _doc()), PatchCommand("users/1", _script(script))]
    )
    assert len(result.puts) == 1 and result.puts[0].id == "users/4"  # the session's own puts
    assert _get(storage, "users/1")["friendName"] == "Bo"  # type: ignore[index]
    log = storage.get(["logs/1"]).documents["logs/1"]
    assert orjson.loads(log.data)["who"] == "users/1" and log.collection == "Logs"
    assert _get(storage, "users/3") is None


def test_put_answers_the_id_storage_completes(store: DocumentStore) -> None:
    # RavenDB's put('logs/', doc) answers the id it made; the script may use it at once.
    storage = _storage(store)
    _put(storage, "users/1", name="Ann")
    _put(storage, "users/2", name="Bo")
    script = (
        "var meta = { '@collection': 'Logs' };\n"
        "var first = put('logs/', { n: 1, '@metadata': meta });\n"
        "var bo = load('users/2');\n"  # the script runs again, the ids it got the same
        "var second = put('logs/', { n: 2, of: first, '@metadata': meta });\n"
        "var counted = put('tallies|', { who: bo.name });\n"
        "this.made = [first, second, counted, load(second).of];"
    )
    result = storage.apply([PatchCommand("users/1", _script(script))])
    assert result.replies[0].status == "Patched"
    first, second, counted, of = _get(storage, "users/1")["made"]  # type: ignore[index]
    assert first.startswith("logs/") and first[-2:] == "-A" and first != second
    assert of == first
    assert counted == "tallies/1"  # the identity
    found = storage.get([first, second, counted]).documents
    assert orjson.loads(found[first.lower()].data)["n"] == 1
    assert found[second.lower()].collection == "Logs"
    assert orjson.loads(found[counted.lower()].data)["who"] == "Bo"
    assert storage.next_identity("tallies") == 2  # one identity taken, not one per run


def test_a_patch_sees_what_the_batch_wrote_before_it(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", n=1)
    result = storage.apply(
        [
            PutCommand("users/1", "Users", _doc(n=10)),
            PatchCommand("users/1", _script("this.n += 1;")),
            DeleteCommand("users/2"),
            PatchCommand("users/2", _script("this.n = 1;")),
        ]
    )
    assert [r.status for r in result.replies] == ["Patched", "DocumentDoesNotExist"]
    assert _get(storage, "users/1")["n"] == 11  # type: ignore[index]


def test_a_failing_script_writes_nothing_of_its_batch(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", n=1)
    batch = [
        PutCommand("users/2", "Users", _doc(n=2)),
        PatchCommand("users/1", _script("put('logs/1', {});\nthis.n = this.missing.x;")),
    ]
    with pytest.raises(PatchScriptError) as info:
        storage.apply(batch)
    assert info.value.line == 2
    assert _get(storage, "users/2") is None and _get(storage, "logs/1") is None
    assert _get(storage, "users/1")["n"] == 1  # type: ignore[index]


def test_a_runaway_script_is_stopped_and_writes_nothing(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", n=1)
    with pytest.raises(PatchScriptLimitError) as info:
        storage.apply(
            [
                PutCommand("users/2", "Users", _doc()),
                PatchCommand("users/1", _script("while (true) {}")),
            ]
        )
    assert info.value.limit == "time"
    assert _get(storage, "users/2") is None
    _put(storage, "users/3", n=3)  # the database still writes


def test_a_patch_cannot_change_the_collection(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", n=1)
    with pytest.raises(PatchError, match="collection"):
        storage.apply([PatchCommand("users/1", _script("this['@metadata']['@collection'] = 'X';"))])


def test_typed_operations_need_no_script(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", name="Ann", address={"city": "Oslo"}, tags=["a", "b", "c"], n=1)
    operations = (
        SetValue("address.city", "Bergen"),
        Increment("n", 5),
        Increment("fresh", 2),
        ArrayAdd("tags", ("d", "e")),
        ArrayRemoveAt("tags", 0),
    )
    (reply,) = storage.apply([PatchCommand("users/1", PatchRequest(operations=operations))]).replies
    assert reply.status == "Patched"
    stored = _get(storage, "users/1")
    assert stored is not None
    assert stored["address"] == {"city": "Bergen"}
    assert stored["n"] == 6 and stored["fresh"] == 2
    assert stored["tags"] == ["b", "c", "d", "e"]


def test_typed_operation_on_the_wrong_type_writes_nothing(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", name="Ann")
    bad = PatchCommand("users/1", PatchRequest(operations=(ArrayAdd("name", (1,)),)))
    with pytest.raises(PatchError, match="not an array"):
        storage.apply([PutCommand("users/2", "Users", _doc()), bad])
    assert _get(storage, "users/2") is None


#: A value set over a stored one that Python finds equal (``True == 1``, ``1 == 1.0``) and
#: JSON writes otherwise, and its JSON.
EQUAL_IN_PYTHON_ONLY = {
    "true over 1": (1, True, b"true"),
    "1 over true": (True, 1, b"1"),
    "false over 0": (0, False, b"false"),
    "0 over false": (False, 0, b"0"),
    "1.0 over 1": (1, 1.0, b"1.0"),
    "1 over 1.0": (1.0, 1, b"1"),
    "-0.0 over 0.0": (0.0, -0.0, b"-0.0"),
    "[true] over [1]": ([1], [True], b"[true]"),
    "{false} over {0}": ({"a": 0}, {"a": False}, b'{"a":false}'),
}


@pytest.mark.parametrize(
    ("stored", "value", "written"), EQUAL_IN_PYTHON_ONLY.values(), ids=list(EQUAL_IN_PYTHON_ONLY)
)
def test_a_typed_patch_writes_a_value_json_tells_from_the_stored_one(
    store: DocumentStore, stored: Any, value: Any, written: bytes
) -> None:
    # Patched, not NotModified: in JSON these are other values (a bool is no number) or
    # other texts (1 and 1.0), as RavenDB's blittable documents tell them apart.
    storage = _storage(store)
    before = _put(storage, "users/1", v=stored, w=[stored])
    patch = PatchRequest(operations=(SetValue("v", value),))
    (reply,) = storage.apply([PatchCommand("users/1", patch)]).replies
    assert reply.status == "Patched"
    record = storage.get(["users/1"]).documents["users/1"]
    assert b'{"v":' + written + b',"w":' in record.data and record.change_vector != before
    (again,) = storage.apply([PatchCommand("users/1", patch)]).replies  # now the same
    assert again.status == "NotModified"
    # An array's element, removed and added again.
    swap = PatchRequest(operations=(ArrayRemoveAt("w", 0), ArrayAdd("w", (value,))))
    (reply,) = storage.apply([PatchCommand("users/1", swap)]).replies
    assert reply.status == "Patched"
    assert b'"w":[' + written + b"]" in storage.get(["users/1"]).documents["users/1"].data


def test_a_script_tells_a_bool_from_a_number(store: DocumentStore) -> None:
    # A script's document goes through JavaScript, where true is no number; 1 and 1.0 are
    # one number there, so a script setting one over the other changes nothing.
    storage = _storage(store)
    _put(storage, "users/1", flag=1, ratio=1.0)

    def patched(script: str) -> tuple[str, Any]:
        (reply,) = storage.apply([PatchCommand("users/1", _script(script))]).replies
        flag = _get(storage, "users/1")["flag"]  # type: ignore[index]
        return reply.status, (type(flag), flag)

    assert patched("this.flag = true;") == ("Patched", (bool, True))
    assert patched("this.flag = 1;") == ("Patched", (int, 1))
    # (The patches above wrote the document back through JavaScript: ratio 1.0 as 1.)
    before = _put(storage, "users/1", flag=1, ratio=1.0)
    status, _ = patched("this.ratio = 1;")
    record = storage.get(["users/1"]).documents["users/1"]
    assert status == "NotModified" and record.change_vector == before
    assert b'"ratio":1.0' in record.data  # as stored


def test_an_increment_by_zero_of_false_writes_the_zero(store: DocumentStore) -> None:
    # RavenDB's increment, ``this.v = this.v ? this.v + 0 : 0``, makes a false 0: another
    # value (Patched); of a number it changes nothing, however the number is written.
    storage = _storage(store)
    _put(storage, "users/1", off=False, zero=0.0, minus=-0.0, one=1.0)
    for field in ("zero", "minus", "one"):
        patch = PatchRequest(operations=(Increment(field, 0),))
        (reply,) = storage.apply([PatchCommand("users/1", patch)]).replies
        assert reply.status == "NotModified", field
    patch = PatchRequest(operations=(Increment("off", 0),))
    (reply,) = storage.apply([PatchCommand("users/1", patch)]).replies
    assert reply.status == "Patched"
    data = storage.get(["users/1"]).documents["users/1"].data
    assert b'"off":0,"zero":0.0,"minus":-0.0,"one":1.0' in data


def test_must_not_exist_then_created_by_patch_if_missing(store: DocumentStore) -> None:
    storage = _storage(store)
    command = PatchCommand(
        "users/5",
        _script("this.n = 2;"),
        patch_if_missing=_script("this.n = 1;"),
        expected_change_vector="",
    )
    assert storage.apply([command]).replies[0].status == "Created"
    with pytest.raises(ConcurrencyError):  # now it exists
        storage.apply([command])
    assert _get(storage, "users/5")["n"] == 1  # type: ignore[index]

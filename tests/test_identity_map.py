"""The change-tracking engine keeps its own invariants (pure: no store, no I/O).

``IdentityMap`` and ``DocumentState`` are changed only through their methods; these tests hold
each method to the rule it keeps, and ``finalize_save`` to what a save leaves behind.
"""

from __future__ import annotations

import gc
from typing import Any, NamedTuple

import pytest

from rookdb.errors import NonUniqueObjectError
from rookdb.tracking.identity_map import IdentityMap
from rookdb.tracking.state import DocumentState
from rookdb.tracking.unit_of_work import (
    ChangeKind,
    Encoding,
    SentChanges,
    compute_changes,
    finalize_save,
)


class Entity:
    def __init__(self, name: str = "x") -> None:
        self.name = name


def _state(document_id: str, snapshot: bytes | None = None, cv: str | None = None) -> DocumentState:
    return DocumentState(
        Entity(), document_id, "Entities", {"@collection": "Entities"}, snapshot, cv
    )


def _loaded(document_id: str, cv: str = "A:1-x") -> DocumentState:
    return _state(document_id, b'{"name":"x"}', cv)


class Outcome(NamedTuple):
    id: str
    change_vector: str
    last_modified: str


def _changes(identity_map: IdentityMap, encode: Any = None) -> list[Any]:
    encode = encode or (
        lambda entity, metadata, extras: b'{"name":"' + entity.name.encode() + b'"}'
    )
    return compute_changes(
        identity_map,
        identity_map.pending_deletes(),
        Encoding(
            lambda entity, metadata, extras, held: encode(entity, metadata, extras),
            lambda entity, metadata, extras, data: data,
        ),
        lambda state, data: data,
        lambda state: False,
    )


# -- DocumentState: read-only fields, changed by methods that keep it whole -----------------


@pytest.mark.parametrize(
    "field",
    ["id", "key", "entity", "snapshot", "change_vector", "last_modified", "metadata", "deleted"],
)
def test_state_fields_are_read_only(field: str) -> None:
    state = _loaded("users/1")
    with pytest.raises(AttributeError):
        setattr(state, field, None)


def test_synced_records_what_storage_holds() -> None:
    state = _state("users/1")
    assert state.is_new
    state.synced(b"{}", "A:2-x", "2024-01-01")
    assert (state.snapshot, state.change_vector, state.last_modified) == (
        b"{}",
        "A:2-x",
        "2024-01-01",
    )
    assert not state.is_new


def test_saved_drops_the_change_vector_the_save_checked() -> None:
    state = _loaded("users/1")
    state.expect_change_vector("A:1-x")
    state.saved(b"{}", "A:2-x", "now")
    assert state.expected_change_vector is None and state.change_vector == "A:2-x"


def test_reloaded_drops_local_intentions_and_owns_its_metadata() -> None:
    shared = {"@collection": "Entities"}
    state = DocumentState(
        Entity(), "users/1", "Entities", shared, b"{}", "A:1", metadata_shared=True
    )
    state.mark_deleted()
    state.ignore()
    fresh = {"@collection": "Entities", "k": 1}
    state.reloaded(b'{"a":1}', "A:3", "then", fresh, None)
    assert not state.deleted and not state.ignore_changes
    assert state.metadata is fresh and not state.metadata_shared
    assert state.snapshot == b'{"a":1}' and state.change_vector == "A:3"


def test_writable_metadata_copies_a_shared_dict_once() -> None:
    shared = {"@collection": "Entities"}
    state = DocumentState(Entity(), "users/1", "Entities", shared, metadata_shared=True)
    own = state.writable_metadata()
    own["k"] = 1
    assert shared == {"@collection": "Entities"} and state.metadata is own
    assert state.writable_metadata() is own


def test_mark_deleted_keeps_an_expected_change_vector_unless_given_one() -> None:
    state = _loaded("users/1")
    state.expect_change_vector("A:1")
    state.mark_deleted()
    assert state.deleted and state.expected_change_vector == "A:1"
    state.mark_deleted("A:9")
    assert state.expected_change_vector == "A:9"


# -- IdentityMap ---------------------------------------------------------------------------


def test_states_are_found_by_entity_identity_and_case_folded_id() -> None:
    identity_map = IdentityMap()
    state = _loaded("Users/1")
    identity_map.track_loaded(state)
    assert identity_map.by_entity(state.entity) is state
    assert identity_map.by_entity(Entity()) is None
    assert identity_map.by_id("USERS/1") is state and identity_map.by_key("users/1") is state
    assert identity_map.known("users/1") == (True, state.entity)
    assert list(identity_map) == [state] and len(identity_map) == 1


def test_known_answers_for_missing_and_deleted_ids() -> None:
    identity_map = IdentityMap()
    assert identity_map.known("users/1") == (False, None)
    identity_map.mark_missing("users/1")
    assert identity_map.known("users/1") == (True, None)
    deleted = _loaded("users/2")
    identity_map.track_loaded(deleted)
    deleted.mark_deleted()
    assert identity_map.known("users/2") == (True, None)


def test_knows_nothing_until_it_knows_of_any_key() -> None:
    """``knows_nothing`` is ``knows_none`` of every key: a tracked state, a missing id and a
    delete-by-id each end it, and ``clear`` brings it back."""
    for learn in (
        lambda m: m.track_loaded(_loaded("users/1")),
        lambda m: m.mark_missing("users/1"),
        lambda m: m.delete_by_id("users/1", None),
    ):
        identity_map = IdentityMap()
        assert identity_map.knows_nothing() and identity_map.knows_none({"users/1": None})
        learn(identity_map)
        assert not identity_map.knows_nothing()
        assert not identity_map.knows_none({"users/1": None})
        identity_map.clear()
        assert identity_map.knows_nothing()


def test_track_new_refuses_an_id_another_object_holds_and_changes_nothing() -> None:
    identity_map = IdentityMap()
    first = _loaded("users/1")
    identity_map.track_loaded(first)
    second = _state("USERS/1")
    with pytest.raises(NonUniqueObjectError):
        identity_map.track_new(second)
    assert identity_map.by_id("users/1") is first
    assert identity_map.by_entity(second.entity) is None and len(identity_map) == 1


def test_track_new_replaces_a_deleted_state_and_overwrites_its_version() -> None:
    identity_map = IdentityMap()
    old = _loaded("users/1", cv="A:5-x")
    identity_map.track_loaded(old)
    old.mark_deleted()
    new = _state("users/1")
    identity_map.track_new(new)
    assert identity_map.by_id("users/1") is new and identity_map.by_entity(old.entity) is None
    assert new.change_vector == "A:5-x" and identity_map.states() == [new]


def test_track_new_takes_over_a_delete_by_id_and_the_missing_key() -> None:
    identity_map = IdentityMap()
    assert identity_map.delete_by_id("Users/1", "A:7-x") == "users/1"
    assert identity_map.is_missing("users/1") and identity_map.is_deleted_by_id("users/1")
    state = _state("users/1")
    identity_map.track_new(state)
    assert not identity_map.is_missing("users/1")
    assert not identity_map.is_deleted_by_id("users/1") and identity_map.pending_deletes() == []
    assert state.expected_change_vector == "A:7-x"
    other = _state("users/2")
    identity_map.delete_by_id("users/2", "A:8-x")
    identity_map.track_new(other, "A:9-x")  # the change vector store() was given wins
    assert other.expected_change_vector == "A:9-x"


def test_ids_storage_completes_are_tracked_by_entity_only_until_rekeyed() -> None:
    identity_map = IdentityMap()
    state = _state("users/")
    identity_map.track_new(state)
    assert state.completed_by_storage
    assert identity_map.by_entity(state.entity) is state and identity_map.by_id("users/") is None
    identity_map.mark_missing("users/0000000000000000001-a")
    identity_map.rekey(state, "users/0000000000000000001-A")
    assert state.id == "users/0000000000000000001-A"
    assert identity_map.by_id("users/0000000000000000001-a") is state
    assert not identity_map.is_missing(state.key)


def test_give_id_keys_a_waiting_state_under_track_new_rules() -> None:
    """The async session's entity waiting for its HiLo id (``users/``) takes its id as
    ``track_new`` would have taken it."""
    identity_map = IdentityMap()
    live = _loaded("users/1-A")
    identity_map.track_loaded(live)
    waiting = _state("users/")
    identity_map.track_new(waiting, "A:3-x")
    with pytest.raises(NonUniqueObjectError):  # another object holds it: nothing changes
        identity_map.give_id(waiting, "Users/1-A")
    assert waiting.id == "users/" and identity_map.by_id("users/1-A") is live
    gone = _loaded("users/2-A", cv="A:5-x")
    identity_map.track_loaded(gone)
    gone.mark_deleted()
    identity_map.mark_missing("users/4-a")
    identity_map.delete_by_id("users/3-A", "A:7-x")
    identity_map.give_id(waiting, "users/2-A")  # replaces the deleted one, keeps its own cv
    assert (
        identity_map.by_id("users/2-A") is waiting and identity_map.by_entity(gone.entity) is None
    )
    assert waiting.change_vector == "A:5-x" and waiting.expected_change_vector == "A:3-x"
    other = _state("users/")
    identity_map.track_new(other)
    identity_map.give_id(other, "users/3-A")  # takes over the delete-by-id of its id
    assert other.expected_change_vector == "A:7-x" and identity_map.pending_deletes() == []
    last = _state("users/")
    identity_map.track_new(last)
    identity_map.give_id(last, "users/4-A")
    assert not identity_map.is_missing("users/4-a") and identity_map.by_id("users/4-a") is last
    assert [s.id for s in identity_map.states()] == [
        "users/1-A",
        "users/2-A",
        "users/3-A",
        "users/4-A",
    ]


def test_rekey_never_leaves_a_state_under_two_keys() -> None:
    identity_map = IdentityMap()
    state = _loaded("users/1")
    identity_map.track_loaded(state)
    identity_map.rekey(state, "users/2")
    assert identity_map.by_id("users/1") is None and identity_map.by_id("users/2") is state


def test_forget_drops_the_state_and_what_was_known_of_its_id() -> None:
    identity_map = IdentityMap()
    state = _loaded("users/1")
    identity_map.track_loaded(state)
    identity_map.mark_missing("users/1")
    identity_map.forget(state)
    assert identity_map.by_entity(state.entity) is None and identity_map.by_id("users/1") is None
    assert identity_map.known("users/1") == (False, None)


def test_forget_leaves_another_state_of_the_same_key_alone() -> None:
    identity_map = IdentityMap()
    pending = _state("users/")  # completed by storage: never under its key
    identity_map.track_new(pending)
    keyed = _loaded("users/")
    identity_map.track_loaded(keyed)
    identity_map.forget(pending)
    assert identity_map.by_key("users/") is keyed


def test_clear_forgets_everything() -> None:
    identity_map = IdentityMap()
    identity_map.track_loaded(_loaded("users/1"))
    identity_map.mark_missing("users/2")
    identity_map.delete_by_id("users/3", None)
    identity_map.clear()
    assert len(identity_map) == 0 and identity_map.missing_keys() == []
    assert identity_map.pending_deletes() == [] and identity_map.known("users/2") == (False, None)


def test_the_questions_hand_out_copies() -> None:
    identity_map = IdentityMap()
    identity_map.mark_missing("users/2")
    identity_map.missing_keys().append("users/9")
    identity_map.pending_deletes().append(None)  # type: ignore[arg-type]
    identity_map.states().append(_loaded("users/9"))
    assert identity_map.missing_keys() == ["users/2"]
    assert identity_map.pending_deletes() == [] and identity_map.states() == []


# -- the unit of work and its one finalize step -----------------------------------------------


def test_same_json_in_other_bytes_is_clean_and_the_snapshot_takes_the_bytes() -> None:
    identity_map = IdentityMap()
    state = DocumentState(Entity(), "users/1", "Entities", {}, b'{"n":1.0}')
    identity_map.track_loaded(state)
    assert _changes(identity_map, lambda entity, metadata, extras: b'{"n":1}') == []
    assert state.snapshot == b'{"n":1}'


def test_finalize_save_records_what_storage_holds() -> None:
    identity_map = IdentityMap()
    loaded = _loaded("users/1")
    identity_map.track_loaded(loaded)
    loaded.entity.name = "changed"
    loaded.expect_change_vector("A:1-x")
    new = _state("users/")
    identity_map.track_new(new)
    doomed = _loaded("users/3")
    identity_map.track_loaded(doomed)
    doomed.mark_deleted()
    identity_map.delete_by_id("users/4", None)

    changes = _changes(identity_map)
    kinds = [(c.kind, c.document_id) for c in changes]
    assert kinds == [
        (ChangeKind.MODIFIED, "users/1"),
        (ChangeKind.NEW, "users/"),
        (ChangeKind.DELETED, "users/3"),
        (ChangeKind.DELETED, "users/4"),
    ]
    identities: list[tuple[Any, str]] = []
    written = [
        Outcome("users/1", "A:2-x", "t1"),
        Outcome("users/0000000000000000002-A", "A:3-x", "t2"),
    ]
    sent = SentChanges.of(changes)
    assert sent.ids == ["users/1", "users/", "users/3", "users/4"]
    assert sent.datas[2:] == [None, None] and sent.states[3] is None  # deletes, one by id
    saved = finalize_save(
        identity_map, sent, written, lambda entity, id_: identities.append((entity, id_))
    )

    assert saved == [loaded, new]
    assert loaded.snapshot == b'{"name":"changed"}' and loaded.change_vector == "A:2-x"
    assert loaded.expected_change_vector is None and loaded.last_modified == "t1"
    assert new.id == "users/0000000000000000002-A" and not new.is_new
    assert identities == [(new.entity, "users/0000000000000000002-A")]
    assert identity_map.by_id("users/0000000000000000002-a") is new
    assert identity_map.by_entity(doomed.entity) is None
    assert identity_map.known("users/3") == (True, None) and identity_map.is_missing("users/4")
    assert identity_map.pending_deletes() == []
    assert _changes(identity_map) == []  # nothing left to write


def test_a_save_keeps_no_object_per_document_through_its_write(tmp_path: Any) -> None:
    """While storage writes a save's batch, the session holds what it sent column-wise
    (``SentChanges``), not a ``Change`` per document: objects alive through the write are
    moved by the garbage collector's passes to its oldest generation, and a save of many
    documents paid full collections for them. What the save then records is unchanged."""
    from rookdb import DocumentStore
    from rookdb.tracking.unit_of_work import Change

    alive: list[int] = []
    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="db").initialize() as store:
        storage: Any = store._storage("db")
        apply = storage.apply

        def counting(batch: Any) -> Any:
            commands = list(batch)  # every change found and encoded
            gc.collect()
            alive.append(sum(1 for obj in gc.get_objects() if type(obj) is Change))
            return apply(commands)

        storage.apply = counting
        with store.open_session() as session:
            entities = [Entity() for _ in range(200)]
            for at, entity in enumerate(entities):
                entity.name = f"n{at}"
                session.store(entity, f"entities/{at}")
            session.save_changes()
            loaded = session.load("entities/7")
            assert loaded is entities[7] and not session.advanced.has_changes
            entities[3].name = "changed"
            session.delete(entities[4])
            session.save_changes()
        with store.open_session() as session:
            assert session.load("entities/3").name == "changed"
            assert session.load("entities/4") is None
            assert session.load("entities/5").name == "n5"
    assert alive[0] <= 1 and alive[1] <= 1, alive

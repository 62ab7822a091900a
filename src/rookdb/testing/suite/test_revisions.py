"""Revisions on every backend: RavenDB's configuration (``ConfigureRevisionsOperation``),
a revision of every put and a delete revision kept in the write's transaction, trimmed by
the configuration, and read with ``session.advanced.revisions`` without tracking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rookdb import (
    ConcurrencyError,
    ConfigurationError,
    DocumentStore,
    InvalidOperationError,
    OptimisticConcurrencyMode,
    RookError,
    SessionOptions,
)
from rookdb.operations import ConfigureRevisionsOperation
from rookdb.revisions import RevisionsCollectionConfiguration as Collection
from rookdb.revisions import RevisionsConfiguration
from rookdb.serialization.scalars import decode_datetime

pytestmark = pytest.mark.rookdb_requires("revisions")


def _configure(store: DocumentStore, default: Collection | None = None, **collections: Any) -> None:
    configuration = RevisionsConfiguration(default_config=default, collections=collections)
    result = store.maintenance.send(ConfigureRevisionsOperation(configuration))
    assert result.raft_command_index > 0


def _save(store: DocumentStore, document_id: str, collection: str = "Users", **fields: Any) -> None:
    with store.open_session() as session:
        session.store({**fields, "@metadata": {"@collection": collection}}, document_id)
        session.save_changes()


def _flags(store: DocumentStore, document_id: str) -> str | None:
    with store.open_session() as session:
        metadata = session.advanced.get_metadata_for(session.load(document_id))
        flags: str | None = metadata.get("@flags")
        return flags


def test_every_put_keeps_a_revision_newest_first(store: DocumentStore) -> None:
    _configure(store, Collection())
    for i in range(4):
        _save(store, "users/1", name=f"user{i + 1}")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert [r["name"] for r in revisions.get_for("users/1")] == [
            "user4",
            "user3",
            "user2",
            "user1",
        ]
        assert [r["name"] for r in revisions.get_for("users/1", start=1, page_size=2)] == [
            "user3",
            "user2",
        ]
        assert revisions.get_count_for("USERS/1") == 4  # ids are case-insensitive
        metadata = revisions.get_metadata_for("users/1", 1)
        assert len(metadata) == 3
        assert metadata[0]["@flags"] == "HasRevisions, Revision"
        assert metadata[0]["@id"] == "users/1"
        newest = revisions.get_metadata_for("users/1", 0, 1)[0]
        assert newest["@change-vector"] == session.advanced.get_change_vector_for(
            session.load("users/1")
        )
    assert _flags(store, "users/1") == "HasRevisions"


def test_collections_without_a_configuration_keep_none(store: DocumentStore) -> None:
    _save(store, "users/1", name="before")  # no configuration at all yet
    _configure(store, None, orders=Collection())
    _save(store, "users/1", name="a")
    _save(store, "orders/1", "Orders", total=1)
    with store.open_session() as session:
        assert session.advanced.revisions.get_for("users/1") == []
        assert session.advanced.revisions.get_count_for("orders/1") == 1
    assert _flags(store, "users/1") is None


def test_a_collection_configuration_overrides_the_default(store: DocumentStore) -> None:
    # Collection names are case-insensitive: "uSErs" configures Users.
    _configure(store, Collection(), uSErs=Collection(disabled=True))
    _save(store, "users/1", name="a")
    _save(store, "orders/1", "Orders", total=1)
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 0
        assert session.advanced.revisions.get_for("users/1") == []
        assert session.advanced.revisions.get_bin_entries() == []  # nothing kept to list
        assert session.advanced.revisions.get_count_for("orders/1") == 1


def test_revisions_are_trimmed_to_minimum_revisions_to_keep(store: DocumentStore) -> None:
    _configure(store, Collection(minimum_revisions_to_keep=2))
    for i in range(5):
        _save(store, "users/1", name=f"v{i}")
    with store.open_session() as session:
        assert [r["name"] for r in session.advanced.revisions.get_for("users/1")] == ["v4", "v3"]
        assert session.advanced.revisions.get_count_for("users/1") == 2


def test_young_revisions_stay_past_the_count(store: DocumentStore) -> None:
    # With an age too, a revision goes only when it is beyond the count AND older than it.
    age = dt.timedelta(days=1)
    _configure(store, Collection(minimum_revisions_to_keep=1, minimum_revision_age_to_keep=age))
    for i in range(3):
        _save(store, "users/1", name=f"v{i}")
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 3


def test_a_delete_keeps_a_delete_revision(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    with store.open_session() as session:
        session.delete("users/1")
        session.save_changes()
    with store.open_session() as session:
        metadata = session.advanced.revisions.get_metadata_for("users/1")
        assert [m["@flags"] for m in metadata] == [
            "HasRevisions, DeleteRevision",
            "HasRevisions, Revision",
        ]
        assert metadata[0]["@change-vector"] != metadata[1]["@change-vector"]


def test_purge_on_delete_drops_the_revisions(store: DocumentStore) -> None:
    _configure(store, Collection(purge_on_delete=True))
    _save(store, "users/1", name="a")
    _save(store, "users/1", name="b")
    with store.open_session() as session:
        session.delete("users/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 0
        assert session.advanced.revisions.get_for("users/1") == []
        assert session.advanced.revisions.get_bin_entries() == []  # nothing kept to list


def _delete(store: DocumentStore, *document_ids: str) -> None:
    for document_id in document_ids:  # one save each: the deletes' order is the bin's
        with store.open_session() as session:
            session.delete(document_id)
            session.save_changes()


def test_a_deleted_document_keeps_its_revisions_and_is_in_the_bin(store: DocumentStore) -> None:
    _configure(store, Collection())
    for document_id in ("users/1", "users/2", "users/3"):
        _save(store, document_id, name=document_id)
    _delete(store, "users/1", "users/2")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert session.load("users/1") is None
        # Its revisions read as before, the delete revision (metadata alone) the newest.
        assert revisions.get_count_for("users/1") == 2
        assert revisions.get_for("users/1") == [{}, {"name": "users/1"}]
        deleted_at = decode_datetime(revisions.get_metadata_for("users/1")[0]["@last-modified"])
        tick = dt.timedelta(microseconds=1)
        assert revisions.get_by_before_date("users/1", deleted_at - tick) == {"name": "users/1"}
        assert revisions.get_by_before_date("users/1", deleted_at) == {}
        entries = revisions.get_bin_entries()
        assert [m["@id"] for m in entries] == ["users/2", "users/1"]  # the newest delete first
        assert entries[0]["@flags"] == "HasRevisions, DeleteRevision"
        assert (
            entries[1]["@change-vector"]
            == revisions.get_metadata_for("users/1")[0]["@change-vector"]
        )
        assert [m["@id"] for m in revisions.get_bin_entries(1, 5)] == ["users/1"]
        assert [m["@id"] for m in revisions.get_bin_entries(0, 1)] == ["users/2"]
        assert revisions.get_bin_entries(0, 0) == []
    _save(store, "users/1", name="again")  # written again: out of the bin
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert [m["@id"] for m in revisions.get_bin_entries()] == ["users/2"]
        assert revisions.get_count_for("users/1") == 3


def test_a_delete_that_keeps_no_revision_is_not_in_the_bin(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    _configure(store, None, orders=Collection())  # users keep no more revisions
    _delete(store, "users/1")
    with store.open_session() as session:
        assert session.advanced.revisions.get_bin_entries() == []
        assert session.advanced.revisions.get_count_for("users/1") == 1


def test_revisions_by_change_vector(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    _save(store, "users/1", name="b")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        older, newer = reversed(
            [m["@change-vector"] for m in revisions.get_metadata_for("users/1")]
        )
        assert revisions.get(older) == {"name": "a"}
        assert revisions.get("no-such-change-vector") is None
        assert revisions.get("A:1\x00x") is None  # none could have it (the fuzzer's NUL)
        found = revisions.get([newer, "no-such-change-vector"])
        assert found == {newer: {"name": "b"}, "no-such-change-vector": None}


def _times(store: DocumentStore, document_id: str) -> list[dt.datetime]:
    """The times of a document's revisions, the newest first."""
    with store.open_session() as session:
        metadata = session.advanced.revisions.get_metadata_for(document_id)
    return [decode_datetime(m["@last-modified"]) for m in metadata]


def test_a_revision_by_date_is_the_newest_at_or_before_it(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    _save(store, "users/1", name="b")
    newer, older = _times(store, "users/1")
    tick = dt.timedelta(microseconds=1)
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert revisions.get_by_before_date("users/1", older) == {"name": "a"}  # at: included
        assert revisions.get_by_before_date("USERS/1", newer - tick) == {"name": "a"}
        assert revisions.get_by_before_date("users/1", newer) == {"name": "b"}
        assert revisions.get_by_before_date("users/1", older - tick) is None  # none that old
        assert revisions.get_by_before_date("users/2", newer) is None
        # A naive datetime is UTC (RavenDB's client sends datetime.utcnow()).
        naive = newer.astimezone(dt.timezone.utc).replace(tzinfo=None)
        assert revisions.get_by_before_date("users/1", naive) == {"name": "b"}
        paris = dt.timezone(dt.timedelta(hours=1))
        assert revisions.get_by_before_date("users/1", older.astimezone(paris)) == {"name": "a"}
        assert session.advanced.number_of_requests == 7
        with pytest.raises(TypeError):
            revisions.get_by_before_date("users/1", "2020-01-01")  # type: ignore[arg-type]


def test_revisions_are_not_tracked(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    with store.open_session() as session:
        revision = session.advanced.revisions.get_for("users/1")[0]
        revision["name"] = "changed"
        assert not session.advanced.has_changes
        session.save_changes()
    with store.open_session() as session:
        assert session.load("users/1")["name"] == "a"
        assert session.advanced.revisions.get_count_for("users/1") == 1


def test_a_failed_batch_keeps_no_revision(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    with store.open_session() as session:
        session.store({"name": "b", "@metadata": {"@collection": "Users"}}, "users/2")
        session.store(
            {"name": "c", "@metadata": {"@collection": "Users"}}, "users/1", change_vector="A:1-x"
        )
        with pytest.raises(ConcurrencyError):
            session.save_changes()
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 1
        assert session.advanced.revisions.get_count_for("users/2") == 0


@pytest.mark.parametrize(
    "configuration",
    [
        RevisionsConfiguration(collections={"users": Collection(), "USERS": Collection()}),
        RevisionsConfiguration(Collection(minimum_revisions_to_keep=-1)),
    ],
    ids=["same-collection-twice", "negative-count"],
)
def test_a_bad_configuration_is_refused_and_the_old_one_stays(
    store: DocumentStore, configuration: RevisionsConfiguration
) -> None:
    _configure(store, None, users=Collection(disabled=True))
    with pytest.raises(ConfigurationError):
        store.maintenance.send(ConfigureRevisionsOperation(configuration))
    _save(store, "users/1", name="a")
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 0
        assert session.advanced.revisions.get_for("users/1") == []
        assert session.advanced.revisions.get_bin_entries() == []  # nothing kept to list


def test_a_configuration_replaces_the_one_before(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a")
    _configure(store, None)
    _save(store, "users/1", name="b")
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 1


# -- forced revisions (RavenDB's ForceRevisionCreation) ------------------------------------------

_WRITES = SessionOptions(optimistic_concurrency_mode=OptimisticConcurrencyMode.WRITES)


def test_a_forced_revision_needs_no_configuration(store: DocumentStore) -> None:
    _save(store, "users/1", name="a")
    with store.open_session() as session:
        session.advanced.revisions.force_revision_creation_for("users/1")
        assert not session.advanced.has_changes  # as RavenDB counts them
        session.save_changes()
        assert session.advanced.revisions.get_count_for("users/1") == 1
        session.advanced.revisions.force_revision_creation_for("users/1")
        session.save_changes()  # a revision of this version exists: no other
        assert session.advanced.revisions.get_count_for("users/1") == 1
    assert _flags(store, "users/1") == "HasRevisions"


def test_a_forced_revision_of_a_changed_entity_keeps_what_storage_had(
    store: DocumentStore,
) -> None:
    _save(store, "users/1", name="before")
    with store.open_session(_WRITES) as session:
        user = session.load("users/1")
        user["name"] = "after"
        session.advanced.revisions.force_revision_creation_for(user)
        session.save_changes()
        assert [r["name"] for r in session.advanced.revisions.get_for("users/1")] == ["before"]
        assert not session.advanced.has_changes  # the session knows the flag storage wrote
        user["name"] = "again"  # the session holds the version storage has
        session.save_changes()
    with store.open_session() as session:
        assert session.load("users/1")["name"] == "again"
    assert _flags(store, "users/1") == "HasRevisions"


def test_a_forced_revision_updates_the_change_vector_the_session_holds(
    store: DocumentStore,
) -> None:
    _save(store, "users/1", name="a")
    with store.open_session(_WRITES) as session:
        user = session.load("users/1")
        before = session.advanced.get_change_vector_for(user)
        session.advanced.revisions.force_revision_creation_for(user)
        session.save_changes()
        assert session.advanced.get_change_vector_for(user) != before  # HasRevisions came
        assert not session.advanced.has_changes
        user["name"] = "b"
        session.save_changes()  # no ConcurrencyError: the session knows the new version


def test_forcing_a_revision_of_a_document_storage_lacks_fails_the_save(
    store: DocumentStore,
) -> None:
    with store.open_session() as session:
        user = {"name": "new", "@metadata": {"@collection": "Users"}}
        session.store(user, "users/9")
        session.store({"name": "other", "@metadata": {"@collection": "Users"}}, "users/8")
        session.advanced.revisions.force_revision_creation_for(user)
        with pytest.raises(RookError, match="not saved on the server yet"):
            session.save_changes()
    with store.open_session() as session:
        assert session.load(["users/8", "users/9"]) == {"users/8": None, "users/9": None}


def test_forcing_a_revision_of_an_untracked_entity_is_refused(store: DocumentStore) -> None:
    with store.open_session() as session, pytest.raises(InvalidOperationError, match="not tracked"):
        session.advanced.revisions.force_revision_creation_for({"name": "x"})


def test_a_forced_revision_in_a_writes_and_reads_session(store: DocumentStore) -> None:
    _save(store, "users/1", name="a")
    _save(store, "users/2", name="b")
    options = SessionOptions(optimistic_concurrency_mode=OptimisticConcurrencyMode.WRITES_AND_READS)
    with store.open_session(options) as session:
        session.load("users/1")
        other = session.load("users/2")
        other["name"] = "c"
        session.advanced.revisions.force_revision_creation_for("users/1")
        session.save_changes()
        assert session.advanced.revisions.get_count_for("users/1") == 1


def test_a_bulk_insert_keeps_revisions_as_saves_do(store: DocumentStore) -> None:
    _configure(store, None, users=Collection())
    with store.bulk_insert() as bulk:
        for i in range(3):
            bulk.store({"name": f"u{i}", "@metadata": {"@collection": "Users"}}, id=f"users/{i}")
        bulk.store({"total": 1, "@metadata": {"@collection": "Orders"}}, id="orders/1")
    with store.open_session() as session:
        assert [session.advanced.revisions.get_count_for(f"users/{i}") for i in range(3)] == [
            1,
            1,
            1,
        ]
        assert session.advanced.revisions.get_count_for("orders/1") == 0
    assert _flags(store, "users/2") == "HasRevisions"
    assert _flags(store, "orders/1") is None


def test_a_patched_document_keeps_a_revision(store: DocumentStore) -> None:
    _configure(store, Collection())
    _save(store, "users/1", name="a", visits=1)
    with store.open_session() as session:
        session.advanced.increment("users/1", "visits", 1)  # a typed patch: no engine
        session.save_changes()
    with store.open_session() as session:
        assert [r["visits"] for r in session.advanced.revisions.get_for("users/1")] == [2, 1]
    assert _flags(store, "users/1") == "HasRevisions"

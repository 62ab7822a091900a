"""RavenDB's own client (``ravendb`` 7.2) against ``rookdb serve``: revisions (issue 15).

``ConfigureRevisionsOperation`` (``POST admin/revisions/config``), then the client's session
reads: ``get_for``, ``get_metadata_for``, ``get_by_change_vector(s)``, ``get_count_for``
(``GET /revisions``, ``GET /revisions/count``) and ``GetRevisionsOperation``; a bad
configuration is a 400 that changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.official_client import official_store

ravendb = pytest.importorskip("ravendb")
from ravendb import RevisionsCollectionConfiguration, RevisionsConfiguration  # noqa: E402
from ravendb.documents.commands.revisions import GetRevisionsBinEntryCommand  # noqa: E402
from ravendb.documents.operations.revisions import (  # noqa: E402
    ConfigureRevisionsOperation,
    GetRevisionsOperation,
)


class User:
    def __init__(self, name: str | None = None, Id: str | None = None) -> None:
        self.name, self.Id = name, Id


@pytest.fixture
def store() -> Iterator[Any]:
    with official_store("Revisions") as store:
        yield store


def _configure(store: Any, keep: int | None = None, **collections: Any) -> None:
    configuration = RevisionsConfiguration()
    default = RevisionsCollectionConfiguration()
    default.minimum_revisions_to_keep = keep
    configuration.default_config = default
    configuration.collections = collections or None
    result = store.maintenance.send(ConfigureRevisionsOperation(configuration))
    assert result.raft_command_index > 0


def _save(store: Any, name: str, document_id: str = "users/1") -> None:
    with store.open_session() as session:
        session.store(User(name), document_id)
        session.save_changes()


def test_the_client_reads_revisions_newest_first_with_paging(store: Any) -> None:
    _configure(store, keep=3)
    for i in range(5):
        _save(store, f"v{i}")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert [u.name for u in revisions.get_for("users/1", User)] == ["v4", "v3", "v2"]
        assert [u.name for u in revisions.get_for("users/1", User, 1, 1)] == ["v3"]
        assert revisions.get_count_for("users/1") == 3
        metadata = revisions.get_metadata_for("users/1")
        assert [m["@flags"] for m in metadata] == ["HasRevisions, Revision"] * 3
        user = session.load("users/1", User)
        assert session.advanced.get_metadata_for(user)["@flags"] == "HasRevisions"


def test_the_client_reads_revisions_by_change_vector(store: Any) -> None:
    _configure(store)
    _save(store, "a")
    _save(store, "b")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        vectors = [m["@change-vector"] for m in revisions.get_metadata_for("users/1")]
        assert revisions.get_by_change_vector(vectors[1], User).name == "a"
        assert revisions.get_by_change_vector("NotExistsChangeVector", User) is None
        found = revisions.get_by_change_vectors([vectors[0], "NotExistsChangeVector"], User)
        assert found[vectors[0]].name == "b"
        assert found.get("NotExistsChangeVector") is None


def test_get_revisions_operation_counts_them_all(store: Any) -> None:
    _configure(store)
    _save(store, "a")
    _save(store, "b")
    result = store.operations.send(GetRevisionsOperation("users/1", User, 0, 1))
    assert result.total_results == 2
    assert [u.name for u in result.results] == ["b"]


def test_a_bad_configuration_is_a_400_and_changes_nothing(store: Any) -> None:
    twice = RevisionsConfiguration()
    twice.collections = {
        "users": RevisionsCollectionConfiguration(),
        "USERS": RevisionsCollectionConfiguration(),
    }
    with pytest.raises(RuntimeError, match="400"):
        store.maintenance.send(ConfigureRevisionsOperation(twice))
    _save(store, "a")
    with store.open_session() as session:
        assert session.advanced.revisions.get_count_for("users/1") == 0


def test_lazy_revisions_go_in_one_multi_get(store: Any) -> None:
    _configure(store)
    _save(store, "a")
    _save(store, "b")
    _save(store, "c", "users/2")
    with store.open_session() as session:
        lazily = session.advanced.revisions.lazily
        first = lazily.get_for("users/1", User)
        metadata = lazily.get_metadata_for("users/2")
        assert [u.name for u in first.value] == ["b", "a"]
        assert [m["@id"] for m in metadata.value] == ["users/2"]
        assert session.advanced.number_of_requests == 1


def test_forced_revisions_without_a_configuration(store: Any) -> None:
    _save(store, "v1")
    _save(store, "w1", "users/2")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        revisions.force_revision_creation_for_id("users/1")  # a ForceRevisionCreation command
        other = session.load("users/2", User)
        other.name = "w2"
        revisions.force_revision_creation_for(other)  # a PUT with the strategy Before
        session.save_changes()
        assert revisions.get_count_for("users/1") == 1
        assert [u.name for u in revisions.get_for("users/2", User)] == ["w1"]  # as before
        revisions.force_revision_creation_for_id("users/1")  # the same version: no new one
        session.save_changes()
        assert revisions.get_count_for("users/1") == 1
    with store.open_session() as session:
        for document_id in ("users/1", "users/2"):
            user = session.load(document_id, User)
            assert session.advanced.get_metadata_for(user)["@flags"] == "HasRevisions"
        assert session.load("users/2", User).name == "w2"


def test_forcing_a_revision_of_a_new_document_fails_the_batch(store: Any) -> None:
    with store.open_session() as session:
        user = User("new")
        session.store(user, "users/9")
        session.advanced.revisions.force_revision_creation_for(user)
        with pytest.raises(RuntimeError, match="not saved on the server yet"):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("users/9", User) is None


def test_the_client_reads_a_revision_by_date(store: Any) -> None:
    # The client sends "&before<time>" (no "="), a naive UTC time; the server reads it so.
    _configure(store)
    _save(store, "first")
    with store.open_session() as session:
        metadata = session.advanced.revisions.get_metadata_for("users/1")
    first = dt.datetime.fromisoformat(metadata[0]["@last-modified"][:26])
    _save(store, "second")
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert revisions.get_by_before_date("users/1", dt.datetime.utcnow(), User).name == "second"
        assert revisions.get_by_before_date("users/1", first, User).name == "first"
        early = first - dt.timedelta(seconds=1)
        assert revisions.get_by_before_date("users/1", early, User) is None  # the 404
        lazy = revisions.lazily.get_by_before_date("users/1", first, User)
        missing = revisions.lazily.get_by_before_date("users/2", dt.datetime.utcnow(), User)
        assert lazy.value.name == "first"
        assert missing.value is None
        assert session.advanced.number_of_requests == 4


def test_the_client_lists_the_revisions_bin(store: Any) -> None:
    _configure(store)
    _save(store, "one")
    _save(store, "two", "users/2")
    with store.open_session() as session:
        session.delete("users/1")
        session.save_changes()
    command = GetRevisionsBinEntryCommand(0, 20)
    store.get_request_executor().execute_command(command)
    assert [r["@metadata"]["@id"] for r in command.result.results] == ["users/1"]
    assert "DeleteRevision" in command.result.results[0]["@metadata"]["@flags"]
    with store.open_session() as session:  # its revisions read on, the delete revision first
        assert session.advanced.revisions.get_count_for("users/1") == 2
        assert [u.name for u in session.advanced.revisions.get_for("users/1", User)] == [
            None,
            "one",
        ]

"""RavenDB's own client (``ravendb`` 7.2) against ``rookdb serve``: the batch commands it sends
beyond PUT and DELETE, and HiLo as it expects it (issue 14).

- ``BatchTrackChanges``: sessions in ``OptimisticConcurrencyMode.WRITES_AND_READS`` send the
  change vectors of what they read (``""`` for what they found missing); a batch whose reads
  changed is refused with ``ConcurrencyException`` and writes nothing.
- ``JsonPatch``: ``session.advanced.patch`` sends RFC 6902 operations the server applies in the
  batch; a patch that does not apply (a failed ``test``) refuses the whole batch.
- HiLo: the client's generator, ``Raven/Hilo/<tag>`` documents, capacity doubling and the range
  given back on close, as the client's own HiLo tests expect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")
from ravendb import (  # noqa: E402
    JsonPatchCommandData,
    JsonPatchDocument,
    OptimisticConcurrencyMode,
    SessionOptions,
)
from ravendb.documents.identity.hilo import HiLoIdGenerator  # noqa: E402
from ravendb.exceptions.raven_exceptions import (  # noqa: E402
    ConcurrencyException,
    RavenException,
)

DATABASE = "Batches"


class User:
    def __init__(self, name: str | None = None, age: int = 0, Id: str | None = None) -> None:
        self.name, self.age, self.Id = name, age, Id


class HiLoDocument:
    def __init__(self, Max: int = 0) -> None:
        self.Max = Max


@pytest.fixture
def store() -> Iterator[Any]:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    store = ravendb.DocumentStore(urls=[url], database=DATABASE)
    store.initialize()
    try:
        yield store
    finally:
        store.close()
        spec.clean_up(url)


def _reads_and_writes(store: Any) -> Any:
    options = SessionOptions(
        database=DATABASE, optimistic_concurrency_mode=OptimisticConcurrencyMode.WRITES_AND_READS
    )
    return store.open_session(session_options=options)


def _save(store: Any, *users: User) -> None:
    with store.open_session() as session:
        for user in users:
            session.store(user, user.Id)
        session.save_changes()


def _names(store: Any, *ids: str) -> list[str | None]:
    with store.open_session() as session:
        loaded = [session.load(i, User) for i in ids]
        return [None if user is None else user.name for user in loaded]


def _raw(store: Any, document_id: str) -> Any:
    """The stored document, as rookdb's own client reads it."""
    from rookdb import DocumentStore

    with (
        DocumentStore(urls=store.urls, database=DATABASE) as ours,
        ours.open_session() as session,
    ):
        return session.load(document_id)


# -- BatchTrackChanges ---------------------------------------------------------------------------


def test_writes_and_reads_saves_when_nothing_read_changed(store: Any) -> None:
    _save(store, User("A", Id="users/a"), User("B", Id="users/b"))
    with _reads_and_writes(store) as session:
        a = session.load("users/a", User)
        session.load("users/b", User)  # read, not written: its change vector goes along
        assert session.load("users/missing", User) is None  # read as missing
        a.name = "A2"
        session.store(User("C", Id="users/c"))
        session.save_changes()
        before = session.advanced.get_change_vector_for(a)
        a.name = "A3"  # the session goes on with the change vectors the server answered
        session.save_changes()
        assert session.advanced.get_change_vector_for(a) != before
    assert _names(store, "users/a", "users/b", "users/c") == ["A3", "B", "C"]


def test_writes_and_reads_refuses_a_batch_whose_read_changed(store: Any) -> None:
    _save(store, User("A", Id="users/a"), User("B", Id="users/b"))
    with _reads_and_writes(store) as session:
        a = session.load("users/a", User)
        session.load("users/b", User)
        _save(store, User("B by another", Id="users/b"))
        a.name = "A2"
        session.store(User("C", Id="users/c"))
        with pytest.raises(ConcurrencyException):
            session.save_changes()
    assert _names(store, "users/a", "users/b", "users/c") == ["A", "B by another", None]


def test_writes_and_reads_refuses_when_a_document_read_as_missing_appears(store: Any) -> None:
    _save(store, User("A", Id="users/a"))
    with _reads_and_writes(store) as session:
        a = session.load("users/a", User)
        assert session.load("users/late", User) is None
        _save(store, User("Late", Id="users/late"))
        a.name = "A2"
        with pytest.raises(ConcurrencyException):
            session.save_changes()
    assert _names(store, "users/a", "users/late") == ["A", "Late"]


def test_writes_and_reads_refuses_when_a_document_read_is_deleted(store: Any) -> None:
    _save(store, User("A", Id="users/a"), User("B", Id="users/b"))
    with _reads_and_writes(store) as session:
        session.load("users/b", User)
        with store.open_session() as other:
            other.delete("users/b")
            other.save_changes()
        session.store(User("C", Id="users/c"))
        with pytest.raises(ConcurrencyException):
            session.save_changes()
    assert _names(store, "users/b", "users/c") == [None, None]


# -- JsonPatch -----------------------------------------------------------------------------------


def test_session_patch_sends_a_json_patch_the_server_applies(store: Any) -> None:
    _save(store, User("A", 30, Id="users/a"))
    with store.open_session() as session:
        session.advanced.patch("users/a", "name", "Patched")
        session.advanced.patch("users/a", "age", 31)
        session.save_changes()
    with store.open_session() as session:
        user = session.load("users/a", User)
        assert (user.name, user.age) == ("Patched", 31)


def test_a_patch_of_a_tracked_entity_refreshes_it(store: Any) -> None:
    _save(store, User("A", 30, Id="users/a"))
    with store.open_session() as session:
        user = session.load("users/a", User)
        before = session.advanced.get_change_vector_for(user)
        session.advanced.patch(user, "age", 40)
        session.save_changes()  # ReturnDocument: the server sends the patched document back
        assert user.age == 40
        assert session.advanced.get_change_vector_for(user) != before
        assert not session.advanced.has_changes()


def test_json_patch_operations_in_a_batch_with_other_commands(store: Any) -> None:
    _save(store, User("A", 30, Id="users/a"))
    with store.open_session() as session:
        session.store(User("B", Id="users/b"))
        patch = JsonPatchDocument().test("/name", "A").add("/tags", ["x"]).copy("/name", "/alias")
        session.advanced.defer(JsonPatchCommandData("users/a", patch.move("/age", "/years")))
        session.save_changes()
    raw = _raw(store, "users/a")
    assert (raw["alias"], raw["tags"], raw["years"]) == ("A", ["x"], 30)
    assert "age" not in raw
    assert _names(store, "users/b") == ["B"]


def test_a_failing_patch_fails_the_whole_batch(store: Any) -> None:
    _save(store, User("A", 30, Id="users/a"))
    with store.open_session() as session:
        session.store(User("B", Id="users/b"))
        failing = JsonPatchDocument().replace("/age", 99).test("/name", "not A")
        session.advanced.defer(JsonPatchCommandData("users/a", failing))
        with pytest.raises(RavenException) as raised:
            session.save_changes()
        assert "test" in str(raised.value).lower() or "patch" in str(raised.value).lower()
    assert _names(store, "users/a", "users/b") == ["A", None]
    with store.open_session() as session:
        assert session.load("users/a", User).age == 30


def test_a_patch_of_a_path_that_is_not_there_fails_the_batch(store: Any) -> None:
    _save(store, User("A", Id="users/a"))
    with store.open_session() as session:
        session.advanced.defer(
            JsonPatchCommandData("users/a", JsonPatchDocument().remove("/nothing"))
        )
        with pytest.raises(RavenException):
            session.save_changes()


def test_a_patch_of_a_missing_document_patches_nothing(store: Any) -> None:
    with store.open_session() as session:
        session.advanced.patch("users/none", "name", "X")
        session.store(User("B", Id="users/b"))
        session.save_changes()
    assert _names(store, "users/none", "users/b") == [None, "B"]


def test_a_patch_after_a_put_or_delete_in_the_batch_sees_what_they_left(store: Any) -> None:
    # The official session refuses to patch what it writes; the protocol does not.
    import httpx

    _save(store, User("Gone", Id="users/gone"))
    patch = {"Operations": [{"op": "replace", "path": "/age", "value": 2}]}
    commands = [
        {"Type": "PUT", "Id": "users/n", "Document": {"name": "New", "age": 1}},
        {"Type": "JsonPatch", "Id": "USERS/N", "JsonPatch": patch, "ReturnDocument": True},
        {"Type": "DELETE", "Id": "users/gone"},
        {"Type": "JsonPatch", "Id": "users/gone", "JsonPatch": patch},
    ]
    answer = httpx.post(
        f"{store.urls[0]}/databases/{DATABASE}/bulk_docs", json={"Commands": commands}
    )
    assert answer.status_code == 201, answer.text
    put, patched, deleted, missing = answer.json()["Results"]
    assert (put["Type"], deleted["Type"]) == ("PUT", "DELETE")
    assert (patched["Type"], patched["PatchStatus"], patched["Id"]) == (
        "JsonPatch",
        "Patched",
        "users/n",
    )
    assert patched["ModifiedDocument"]["age"] == 2
    assert patched["ModifiedDocument"]["@metadata"]["@change-vector"] == patched["ChangeVector"]
    assert missing["PatchStatus"] == "DocumentDoesNotExist"
    assert _raw(store, "users/n") == {"name": "New", "age": 2}
    assert _names(store, "users/gone") == [None]


def test_malformed_batch_commands_are_400_and_write_nothing(store: Any) -> None:
    import httpx

    url = f"{store.urls[0]}/databases/{DATABASE}/bulk_docs"
    put = {"Type": "PUT", "Id": "users/x", "Document": {"name": "X"}}
    for bad in [
        {"Type": "JsonPatch", "Id": "users/x", "JsonPatch": {"Operations": "no"}},
        {"Type": "JsonPatch", "Id": "users/x", "JsonPatch": {"Operations": [5]}},
        {"Type": "JsonPatch", "Id": "users/", "JsonPatch": {"Operations": []}},
        {"Type": "JsonPatch", "Id": "users/x", "JsonPatch": {"Operations": [{"op": "jump"}]}},
        {"Type": "BatchTrackChanges", "TrackedEntities": ["users/x"]},
        {"Type": "BatchTrackChanges", "TrackedEntities": {"users/x": 5}},
        {"Type": "BatchTrackChanges", "TrackedEntities": {"a\u0000": ""}},
    ]:
        answer = httpx.post(url, json={"Commands": [put, bad]})
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["Message"]
    assert _names(store, "users/x") == [None]


# -- HiLo ----------------------------------------------------------------------------------------


def _max(store: Any, tag: str = "users") -> int:
    with store.open_session() as session:
        return int(session.load(f"Raven/Hilo/{tag}", HiLoDocument).Max)


def test_hilo_documents_as_the_client_expects(store: Any) -> None:
    _save(store, User("A"))
    assert _max(store) == 32
    with store.open_session() as session:
        session.store(HiLoDocument(64), "Raven/Hilo/users")
        session.save_changes()
    generator = HiLoIdGenerator("users", store, DATABASE, "/")
    ids = [generator.generate_document_id(User()) for _ in range(32)]
    assert ids[0] == "users/65-A" and _max(store) == 96
    generator.generate_document_id(User())  # the next range, soon after: twice as big
    assert _max(store) == 160
    generator.return_unused_range()
    assert _max(store) == 97


def test_hilo_does_not_go_down_when_the_document_is_set_back(store: Any) -> None:
    generator = HiLoIdGenerator("users", store, DATABASE, "/")
    ids = [generator.next_id() for _ in range(20)]
    with store.open_session() as session:
        session.store(HiLoDocument(12), "Raven/Hilo/users")
        session.save_changes()
    ids += [generator.next_id() for _ in range(100)]
    assert len(set(ids)) == len(ids)


def test_hilo_across_two_client_stores_and_rookdb(store: Any) -> None:
    url = store.urls[0]
    other = ravendb.DocumentStore(urls=[url], database=DATABASE)
    other.initialize()
    ids: list[str] = []
    try:
        for _ in range(3):
            for each in (store, other):
                users = [User(f"U{i}") for i in range(40)]
                _save(each, *users)
                ids += [u.Id for u in users]
    finally:
        other.close()  # gives its unused range back
    from rookdb import DocumentStore

    with DocumentStore(urls=[url], database=DATABASE) as ours, ours.open_session() as session:
        rookdb_users = [User(f"R{i}") for i in range(50)]  # rookdb's HiLo: the same ranges
        for user in rookdb_users:
            session.store(user)
        session.save_changes()
    ids += [u.Id for u in rookdb_users if u.Id is not None]
    numbers = [int(i.split("/")[1].split("-")[0]) for i in ids]
    assert _raw(store, "Raven/Hilo/users")["Max"] >= max(numbers)
    assert len(set(ids)) == len(ids) == 290
    assert all(re.fullmatch(r"users/\d+-A", i) for i in ids)

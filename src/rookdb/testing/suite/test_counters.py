"""Counters on every backend (``CountersCommand`` in a batch, ``Storage.get_counters``):
atomic increments, RavenDB's ``@counters`` and ``HasCounters`` owned by storage (kept by every
put, gone with the last counter, a new document version only when the names change), counters
deleted with their document, and nothing of a batch written when any part of it fails."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from rookdb import DocumentStore
from rookdb.errors import ConcurrencyError, ConfigurationError, DocumentNotFoundError, RookError
from rookdb.storage.base import Storage
from rookdb.storage.commands import (
    AttachmentPutCommand,
    CounterOperation,
    CountersCommand,
    DeleteCommand,
    PatchCommand,
    PatchRequest,
    PutCommand,
)
from rookdb.storage.records import CountersReply

pytestmark = pytest.mark.rookdb_requires("counters")


def _storage(store: DocumentStore) -> Storage:
    return store._storage(store.database)


def _put(storage: Storage, key: str, metadata: dict[str, Any] | None = None, **fields: Any) -> str:
    data = orjson.dumps({**fields, "@metadata": {"@collection": "Users", **(metadata or {})}})
    return storage.apply([PutCommand(key, "Users", data)]).puts[0].change_vector


def _metadata(storage: Storage, key: str) -> dict[str, Any]:
    record = storage.get([key]).documents[key.lower()]
    metadata: dict[str, Any] = orjson.loads(record.data)["@metadata"]
    return metadata


def _change_vector(storage: Storage, key: str) -> str:
    return storage.get([key]).documents[key.lower()].change_vector


def _inc(document_id: str, name: str, delta: int = 1) -> CountersCommand:
    return CountersCommand(document_id, (CounterOperation("Increment", name, delta),))


def _delete(document_id: str, name: str) -> CountersCommand:
    return CountersCommand(document_id, (CounterOperation("Delete", name),))


def _reply(storage: Storage, command: CountersCommand) -> CountersReply:
    (reply,) = storage.apply([command]).replies
    assert isinstance(reply, CountersReply)
    return reply


def test_increments_add_up_and_a_new_counter_starts_at_zero(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", name="Ann")
    assert _reply(storage, _inc("users/1", "likes", 0)).counters == [("likes", 0)]
    assert _reply(storage, _inc("users/1", "likes", 10)).counters == [("likes", 10)]
    assert _reply(storage, _inc("users/1", "likes", -3)).counters == [("likes", 7)]
    assert storage.get_counters("users/1") == {"likes": 7}
    assert storage.get_counters("users/1", ["likes"]) == {"likes": 7}
    assert storage.get_counters("users/1", ["dislikes"]) == {}
    assert storage.get_counters("users/2") == {}  # no such document: no counters


def test_names_are_case_insensitive_and_keep_their_first_spelling(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1")
    command = CountersCommand(
        "USERS/1",
        (
            CounterOperation("Increment", "Likes", 2),
            CounterOperation("Increment", "LIKES", 3),
            CounterOperation("Get", "likes"),
            CounterOperation("Get", "Missing"),
        ),
    )
    reply = _reply(storage, command)
    assert reply.id == "users/1"  # the document's id as stored
    assert reply.counters == [("Likes", 2), ("Likes", 5), ("Likes", 5), ("Missing", None)]
    assert storage.get_counters("users/1", ["LIKES"]) == {"LIKES": 5}  # by the name asked
    assert storage.get_counters("users/1") == {"Likes": 5}


def test_counters_are_in_the_documents_metadata_sorted(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", {"@flags": "Custom"})
    storage.apply(
        [CountersCommand("users/1", tuple(CounterOperation("Increment", n, 1) for n in "cab"))]
    )
    metadata = _metadata(storage, "users/1")
    assert metadata["@counters"] == ["a", "b", "c"]
    assert metadata["@flags"] == "Custom, HasCounters"
    storage.apply([_delete("users/1", "a"), _delete("users/1", "B")])
    assert _metadata(storage, "users/1")["@counters"] == ["c"]
    storage.apply([_delete("users/1", "c")])
    metadata = _metadata(storage, "users/1")
    assert "@counters" not in metadata  # the last one gone: no @counters, no HasCounters
    assert metadata["@flags"] == "Custom"
    assert storage.get_counters("users/1") == {}


def test_a_new_name_gives_the_document_a_new_version_a_new_value_does_not(
    store: DocumentStore,
) -> None:
    storage = _storage(store)
    first = _put(storage, "users/1")
    reply = _reply(storage, _inc("users/1", "likes"))
    assert reply.change_vector != first
    assert reply.change_vector == _change_vector(storage, "users/1")
    again = _reply(storage, _inc("users/1", "likes"))
    assert again.change_vector == reply.change_vector == _change_vector(storage, "users/1")
    deleted = _reply(storage, _delete("users/1", "likes"))
    assert deleted.change_vector not in (first, reply.change_vector)
    # Deleting a counter that does not exist changes nothing.
    assert _reply(storage, _delete("users/1", "likes")).change_vector == deleted.change_vector


def test_a_put_keeps_the_documents_counters_whatever_its_body_says(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", name="Ann")
    storage.apply([_inc("users/1", "likes", 5)])
    _put(storage, "users/1", name="Bob")  # a body without @counters
    metadata = _metadata(storage, "users/1")
    assert (metadata["@counters"], metadata["@flags"]) == (["likes"], "HasCounters")
    _put(storage, "users/1", {"@counters": ["stale"], "@flags": "HasCounters"}, name="Cy")
    assert _metadata(storage, "users/1")["@counters"] == ["likes"]
    assert storage.get_counters("users/1") == {"likes": 5}
    # A body claiming counters the document does not have does not give it any.
    _put(storage, "users/2", {"@counters": ["ghost"], "@flags": "HasCounters, Other"})
    metadata = _metadata(storage, "users/2")
    assert "@counters" not in metadata and metadata["@flags"] == "Other"


def test_a_patch_keeps_the_documents_counters(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1", visits=1)
    storage.apply([_inc("users/1", "likes")])
    request = PatchRequest("this.visits += 1; delete this['@metadata']['@counters'];")
    try:
        storage.apply([PatchCommand("users/1", request)])
    except RookError as exc:  # no JavaScript engine here: the typed operations do as well
        pytest.skip(f"no patch engine: {exc}")
    assert _metadata(storage, "users/1")["@counters"] == ["likes"]


def test_a_batch_puts_then_counts_then_puts_again(store: DocumentStore) -> None:
    storage = _storage(store)
    doc = orjson.dumps({"@metadata": {"@collection": "Users"}})
    result = storage.apply(
        [
            PutCommand("users/1", "Users", doc),
            _inc("users/1", "likes", 2),
            PutCommand("users/1", "Users", orjson.dumps({"v": 2, "@metadata": {}})),
            _inc("users/1", "likes", 3),
        ]
    )
    assert len(result.puts) == 2
    assert [r.counters for r in result.replies if isinstance(r, CountersReply)] == [
        [("likes", 2)],
        [("likes", 5)],
    ]
    assert _metadata(storage, "users/1")["@counters"] == ["likes"]
    last = result.replies[-1]
    assert isinstance(last, CountersReply)
    assert last.change_vector == _change_vector(storage, "users/1")


@pytest.mark.rookdb_requires("attachments")
def test_a_batch_of_puts_keeps_counters_and_attachments_as_its_commands_leave_them(
    store: DocumentStore,
) -> None:
    # A put sees what the batch's commands before it did to the document: a counter and an
    # attachment added, a document deleted (its counters and attachments gone with it).
    storage = _storage(store)
    _put(storage, "users/2")
    storage.apply([_inc("users/2", "old")])
    stale = orjson.dumps({"v": 1, "@metadata": {"@counters": ["stale"], "@flags": "HasCounters"}})
    storage.apply(
        [
            PutCommand("users/1", "Users", stale),
            _inc("users/1", "likes"),
            AttachmentPutCommand("users/1", "a.txt", b"x", "text/plain"),
            PutCommand("users/1", "Users", stale),
            DeleteCommand("users/2"),
            PutCommand("users/2", "Users", stale),
        ]
    )
    one = _metadata(storage, "users/1")
    assert one["@counters"] == ["likes"]
    assert [a["Name"] for a in one["@attachments"]] == ["a.txt"]
    assert one["@flags"] == "HasCounters, HasAttachments"
    two = _metadata(storage, "users/2")
    assert "@counters" not in two and "@flags" not in two and "@attachments" not in two
    assert storage.get_counters("users/2") == {}


def test_deleting_a_document_deletes_its_counters(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1")
    storage.apply([_inc("users/1", "likes", 4)])
    storage.apply([DeleteCommand("users/1")])
    assert storage.get_counters("users/1") == {}
    _put(storage, "users/1")  # the same id again: a new document, no counters
    assert "@counters" not in _metadata(storage, "users/1")
    assert storage.get_counters("users/1") == {}


def test_counters_of_a_missing_document_fail_the_batch(store: DocumentStore) -> None:
    storage = _storage(store)
    doc = orjson.dumps({"@metadata": {"@collection": "Users"}})
    with pytest.raises(DocumentNotFoundError):
        storage.apply([PutCommand("users/1", "Users", doc), _inc("users/404", "likes")])
    assert storage.get(["users/1"]).documents == {}  # nothing of the batch written


def test_a_failing_batch_writes_no_increment(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1")
    storage.apply([_inc("users/1", "likes", 1)])
    with pytest.raises(ConcurrencyError):
        storage.apply(
            [
                _inc("users/1", "likes", 10),
                _inc("users/1", "new"),
                DeleteCommand("users/1", "A:1-x"),
            ]
        )
    assert storage.get_counters("users/1") == {"likes": 1}
    assert _metadata(storage, "users/1")["@counters"] == ["likes"]


def test_an_increment_past_64_bits_fails_and_writes_nothing(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1")
    storage.apply([_inc("users/1", "big", 2**63 - 1), _inc("users/1", "small", -(2**63))])
    with pytest.raises(RookError, match="overflows"):
        storage.apply([_inc("users/1", "other"), _inc("users/1", "big", 1)])
    with pytest.raises(RookError, match="overflows"):
        storage.apply([_inc("users/1", "small", -1)])
    assert storage.get_counters("users/1") == {"big": 2**63 - 1, "small": -(2**63)}


def test_bad_counter_operations_are_refused_before_storage(store: DocumentStore) -> None:
    with pytest.raises(ConfigurationError):
        CounterOperation("Increment", "", 1)
    with pytest.raises(ConfigurationError):
        CounterOperation("Put", "likes", 1)
    with pytest.raises(ConfigurationError):
        CounterOperation("Increment", "likes", 2**63)
    with pytest.raises(ConfigurationError):
        CountersCommand("users/1", ())
    with pytest.raises(RookError):
        CountersCommand("users/", (CounterOperation("Increment", "likes", 1),))


def test_concurrent_increments_never_lose_one(store: DocumentStore) -> None:
    storage = _storage(store)
    _put(storage, "users/1")
    threads, increments = 4, 25

    def work() -> None:
        for _ in range(increments):
            storage.apply([_inc("users/1", "hits")])

    running = [threading.Thread(target=work) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert storage.get_counters("users/1") == {"hits": threads * increments}

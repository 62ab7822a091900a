"""Attachments on every backend: stored, read, copied, moved and deleted in the session's one
atomic batch, their content streamed in chunks, ``@attachments`` and ``HasAttachments`` kept
by storage, and RavenDB's hash and change-vector rules."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import pytest

from rookdb import (
    ConcurrencyError,
    DocumentStore,
    InvalidOperationError,
    OptimisticConcurrencyMode,
    RookError,
    SessionOptions,
)
from rookdb.storage.commands import AttachmentDeleteCommand, AttachmentPutCommand, PutCommand
from rookdb.storage.relational.attachments import CHUNK_SIZE

pytestmark = pytest.mark.rookdb_requires("attachments")


def _user(store: DocumentStore, document_id: str = "users/1", **fields: Any) -> None:
    with store.open_session() as session:
        session.store(
            {"name": "Fitz", **fields, "@metadata": {"@collection": "Users"}}, document_id
        )
        session.save_changes()


def _metadata(store: DocumentStore, document_id: str = "users/1") -> dict[str, Any]:
    with store.open_session() as session:
        return dict(session.advanced.get_metadata_for(session.load(document_id)))


def _read(store: DocumentStore, document_id: str, name: str) -> bytes | None:
    with store.open_session() as session:
        result = session.advanced.attachments.get(document_id, name)
        if result is None:
            return None
        with result:
            return result.data


def _hash(data: bytes) -> str:
    return base64.b64encode(hashlib.blake2b(data, digest_size=32).digest()).decode()


def test_store_with_its_document_and_read_back(store: DocumentStore) -> None:
    with store.open_session() as session:
        user = {"name": "Fitz", "@metadata": {"@collection": "Users"}}
        session.store(user, "users/1")
        session.advanced.attachments.store(user, "profile.png", bytes([1, 2, 3]), "image/png")
        session.advanced.attachments.store("users/1", "notes.txt", io.BytesIO(b"hello"))
        session.save_changes()
    with store.open_session() as session:
        user = session.load("users/1")
        with session.advanced.attachments.get(user, "profile.png") as result:
            details = result.details
            assert result.data == bytes([1, 2, 3])
        # RavenDB's hash of these three bytes.
        assert details.hash == "EcDnm3HDl2zNDALRMQ4lFsCO3J2Lb1fM1oDWOk2Octo="
        assert (details.name, details.content_type, details.size) == ("profile.png", "image/png", 3)
        assert details.document_id == "users/1"
        assert details.change_vector
        names = session.advanced.attachments.get_names(user)
        assert [(n.name, n.size, n.content_type) for n in names] == [
            ("notes.txt", 5, ""),
            ("profile.png", 3, "image/png"),
        ]
        assert session.advanced.attachments.exists("users/1", "PROFILE.PNG")  # case-insensitive
        assert not session.advanced.attachments.exists("users/1", "other")
        assert not session.advanced.attachments.exists("users/2", "profile.png")
        assert session.advanced.attachments.get("users/1", "other") is None


def test_metadata_lists_them_in_name_order_with_the_flag(store: DocumentStore) -> None:
    _user(store)
    with store.open_session() as session:
        for name in ("profile.png", "background-photo.jpg", "fileNAME_#$1^%_בעברית.txt"):
            session.advanced.attachments.store("users/1", name, name.encode(), "text/plain")
        session.save_changes()
    metadata = _metadata(store)
    assert metadata["@flags"] == "HasAttachments"
    assert [a["Name"] for a in metadata["@attachments"]] == [
        "background-photo.jpg",
        "fileNAME_#$1^%_בעברית.txt",
        "profile.png",
    ]
    first = metadata["@attachments"][0]
    assert first == {
        "Name": "background-photo.jpg",
        "Hash": _hash(b"background-photo.jpg"),
        "ContentType": "text/plain",
        "Size": len(b"background-photo.jpg"),
    }


def test_a_put_of_the_document_keeps_them_and_the_last_delete_removes_them(
    store: DocumentStore,
) -> None:
    _user(store)
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"1")
        session.save_changes()
    _user(store, name="again")  # a new session's put, knowing nothing of attachments
    metadata = _metadata(store)
    assert [a["Name"] for a in metadata["@attachments"]] == ["a"]
    assert metadata["@flags"] == "HasAttachments"
    with store.open_session() as session:
        user = session.load("users/1")
        user["name"] = "edited"  # the session's copy learned nothing it should not keep
        session.advanced.attachments.delete(user, "a")
        session.save_changes()
        assert "@attachments" not in session.advanced.get_metadata_for(user)
    metadata = _metadata(store)
    assert "@attachments" not in metadata and "@flags" not in metadata
    with store.open_session() as session:  # a put claiming attachments it has not: dropped
        session.store(
            {"@metadata": {"@collection": "Users", "@flags": "HasAttachments", "@attachments": []}},
            "users/2",
        )
        session.save_changes()
    assert "@flags" not in _metadata(store, "users/2")


def test_an_attachment_change_gives_the_document_a_new_change_vector(
    store: DocumentStore,
) -> None:
    _user(store)
    options = SessionOptions(optimistic_concurrency_mode=OptimisticConcurrencyMode.WRITES)
    with store.open_session(session_options=options) as session:
        user = session.load("users/1")
        before = session.advanced.get_change_vector_for(user)
        session.advanced.attachments.store(user, "a", b"1")
        session.save_changes()
        after = session.advanced.get_change_vector_for(user)
        assert after != before
        assert session.advanced.attachments.get_names(user)[0].name == "a"
        user["name"] = "next"  # the session learned the new version: its check passes
        session.save_changes()
    with store.open_session(session_options=options) as stale:
        user = stale.load("users/1")
        with store.open_session() as other:
            other.advanced.attachments.store("users/1", "b", b"2")
            other.save_changes()
        user["name"] = "stale"
        with pytest.raises(ConcurrencyError):
            stale.save_changes()
    with store.open_session() as session, session.advanced.attachments.get("users/1", "b") as got:
        assert got.details.change_vector == _metadata(store)["@change-vector"]


def test_deleting_the_document_deletes_its_attachments(store: DocumentStore) -> None:
    _user(store)
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"content")
        session.save_changes()
    with store.open_session() as session:
        session.delete("users/1")
        session.advanced.attachments.delete("users/1", "a")  # a no-op, as RavenDB's
        session.save_changes()
    _user(store)
    with store.open_session() as session:
        assert not session.advanced.attachments.exists("users/1", "a")
    assert "@attachments" not in _metadata(store)


def test_copy_move_and_rename(store: DocumentStore) -> None:
    _user(store, "users/1")
    _user(store, "users/2")
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"alpha", "text/plain")
        session.save_changes()
    with store.open_session() as session:
        one, two = session.load("users/1"), session.load("users/2")
        session.advanced.attachments.copy(one, "a", two, "copied")
        session.advanced.attachments.rename(one, "a", "b")
        session.save_changes()
        assert [n.name for n in session.advanced.attachments.get_names(one)] == ["b"]
        assert [n.name for n in session.advanced.attachments.get_names(two)] == ["copied"]
    assert _read(store, "users/2", "copied") == b"alpha"
    assert _read(store, "users/1", "a") is None
    with store.open_session() as session:
        one, two = session.load("users/1"), session.load("users/2")
        session.advanced.attachments.move(one, "b", two, "moved")
        session.save_changes()
        assert session.advanced.attachments.get_names(one) == []
        assert [n.name for n in session.advanced.attachments.get_names(two)] == [
            "copied",
            "moved",
        ]
        one["x"] = 1  # both documents' change vectors were learned
        two["x"] = 1
        session.save_changes()
    assert "@flags" not in _metadata(store, "users/1")
    with store.open_session() as session:  # a move never overwrites, as RavenDB's
        session.advanced.attachments.rename("users/2", "moved", "copied")
        with pytest.raises(ConcurrencyError):
            session.save_changes()
    assert [a["Name"] for a in _metadata(store, "users/2")["@attachments"]] == ["copied", "moved"]
    assert _read(store, "users/2", "moved") == b"alpha"


def test_a_failure_anywhere_in_the_batch_writes_none_of_it(store: DocumentStore) -> None:
    _user(store, "users/1")
    with store.open_session() as session:
        session.store({"name": "new", "@metadata": {"@collection": "Users"}}, "users/2")
        session.advanced.attachments.store("users/2", "a", b"x" * (CHUNK_SIZE + 10))
        session.store({"name": "must not exist"}, "users/1", change_vector="")  # fails
        with pytest.raises(ConcurrencyError):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("users/2") is None
        assert not session.advanced.attachments.exists("users/2", "a")
    with store.open_session() as session:  # an attachment to a document that does not exist
        session.store({"name": "new", "@metadata": {"@collection": "Users"}}, "users/3")
        session.advanced.attachments.store("users/404", "a", b"x")
        with pytest.raises(RookError):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("users/3") is None


class _Failing(io.RawIOBase):
    """A stream that fails (an injected I/O error) after ``good`` bytes."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise OSError("injected: the disk went away")
        n = min(len(buffer), self.left)
        buffer[:n] = b"z" * n
        self.left -= n
        return n


def test_a_stream_failing_midway_writes_nothing_of_the_batch(store: DocumentStore) -> None:
    _user(store, "users/1")
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "kept", b"before")
        session.save_changes()
    before = store.maintenance.get_statistics()
    with store.open_session() as session:
        session.store({"name": "new", "@metadata": {"@collection": "Users"}}, "users/2")
        session.advanced.attachments.store("users/1", "other", b"small")
        session.advanced.attachments.store("users/2", "big", _Failing(3 * CHUNK_SIZE + 5))
        with pytest.raises((OSError, RookError)):
            session.save_changes()
    after = store.maintenance.get_statistics()
    assert after.count_of_attachments == before.count_of_attachments == 1
    assert after.count_of_unique_attachments == before.count_of_unique_attachments == 1
    assert after.count_of_documents == before.count_of_documents
    assert [a["Name"] for a in _metadata(store)["@attachments"]] == ["kept"]
    assert _read(store, "users/1", "kept") == b"before"


def test_the_expected_change_vector_of_an_attachment(store: DocumentStore) -> None:
    _user(store)
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"1")
        session.save_changes()
    with store.open_session() as session, session.advanced.attachments.get("users/1", "a") as got:
        change_vector = got.details.change_vector
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"2", change_vector="A:1-nope")
        with pytest.raises(ConcurrencyError):
            session.save_changes()
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"2", change_vector=change_vector)
        session.save_changes()
    assert _read(store, "users/1", "a") == b"2"


def test_big_contents_stream_in_chunks_and_are_kept_once(store: DocumentStore) -> None:
    _user(store)
    size = 2 * CHUNK_SIZE + 12345
    pattern = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    class Trickle(io.RawIOBase):  # a stream giving fewer bytes than asked
        def __init__(self) -> None:
            self.at = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), 100_000, size - self.at)
            buffer[:n] = pattern[self.at : self.at + n]
            self.at += n
            return n

    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "big", Trickle(), "application/x")
        session.advanced.attachments.store("users/1", "same", io.BytesIO(pattern))
        session.save_changes()
    with store.open_session() as session:
        with session.advanced.attachments.get("users/1", "big") as result:
            assert result.details.size == size
            assert result.details.hash == _hash(pattern)
            chunks = list(result.stream.chunks())
        assert b"".join(chunks) == pattern
        assert len(chunks) >= 3
        session.advanced.attachments.delete("users/1", "big")
        session.save_changes()
    assert _read(store, "users/1", "same") == pattern  # the shared content stays


def test_session_rules(store: DocumentStore) -> None:
    _user(store)
    with store.open_session() as session:
        user = session.load("users/1")
        session.advanced.attachments.store(user, "a", b"1")
        with pytest.raises(InvalidOperationError):
            session.advanced.attachments.store(user, "a", b"2")
        with pytest.raises(InvalidOperationError):
            session.advanced.attachments.delete(user, "a")
        with pytest.raises(InvalidOperationError):
            session.advanced.attachments.store({"not": "tracked"}, "a", b"1")
        with pytest.raises(TypeError):
            session.advanced.attachments.get_names("users/1")  # type: ignore[arg-type]
        stream = io.BytesIO(b"once")
        session.advanced.attachments.store(user, "s1", stream)
        with pytest.raises(InvalidOperationError):  # as RavenDB's client: one stream, once
            session.advanced.attachments.store(user, "s2", stream)
        session.delete(user)
        with pytest.raises(InvalidOperationError):
            session.save_changes()  # its attachment is stored in the same save
    with store.open_session() as session:
        user = session.load("users/1")
        session.delete(user)
        with pytest.raises(InvalidOperationError):
            session.advanced.attachments.store(user, "b", b"1")
        with pytest.raises(InvalidOperationError):
            session.advanced.attachments.copy("users/1", "a", "users/2", "b")


def test_attachment_commands_through_storage_reply_in_batch_order(store: DocumentStore) -> None:
    storage = store._storage(store.database)
    result = storage.apply(
        [
            PutCommand("docs/1", "Docs", b'{"@metadata":{"@collection":"Docs"}}'),
            AttachmentPutCommand("docs/1", "f", b"data", "text/plain"),
        ]
    )
    assert len(result.puts) == 1
    (reply,) = result.replies
    assert reply.type == "AttachmentPUT" and reply.details.size == 4  # type: ignore[union-attr]
    found = storage.read_attachment("docs/1", "F")
    assert found is not None
    details, chunks = found
    assert b"".join(chunks) == b"data" and details.document_id == "docs/1"
    assert [d.name for d in storage.get_attachments("docs/1")] == ["f"]


def test_a_bulk_insert_over_a_document_keeps_its_attachments(store: DocumentStore) -> None:
    _user(store)
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a", b"1")
        session.save_changes()
    with store.bulk_insert() as bulk:
        bulk.store({"name": "bulk", "@metadata": {"@collection": "Users"}}, id="users/1")
        for i in range(2, 5):
            bulk.store({"name": f"u{i}", "@metadata": {"@collection": "Users"}}, id=f"users/{i}")
    metadata = _metadata(store)
    assert [a["Name"] for a in metadata["@attachments"]] == ["a"]
    assert _read(store, "users/1", "a") == b"1"


def test_deferred_attachment_commands(store: DocumentStore) -> None:
    _user(store)
    with store.open_session() as session:
        session.advanced.defer(AttachmentPutCommand("users/1", "d.txt", b"deferred", "text/plain"))
        session.save_changes()
    assert _read(store, "users/1", "d.txt") == b"deferred"
    with store.open_session() as session:
        session.advanced.defer(AttachmentDeleteCommand("users/1", "d.txt"))
        session.save_changes()
    assert _read(store, "users/1", "d.txt") is None


@pytest.mark.rookdb_requires("revisions")
def test_an_attachment_change_keeps_a_revision_where_the_collection_asks(
    store: DocumentStore,
) -> None:
    from rookdb.operations import ConfigureRevisionsOperation
    from rookdb.revisions import RevisionsCollectionConfiguration, RevisionsConfiguration

    configuration = RevisionsConfiguration(default_config=RevisionsCollectionConfiguration())
    store.maintenance.send(ConfigureRevisionsOperation(configuration))
    _user(store)
    with store.open_session() as session:
        session.advanced.attachments.store("users/1", "a.txt", b"1")
        session.save_changes()
    with store.open_session() as session:
        revisions = session.advanced.revisions
        assert revisions.get_count_for("users/1") == 2
        newest = revisions.get_metadata_for("users/1", page_size=1)[0]
        assert newest["@flags"] == "HasRevisions, HasAttachments, Revision"
        assert [a["Name"] for a in newest["@attachments"]] == ["a.txt"]
        assert newest["@change-vector"] == _metadata(store)["@change-vector"]
        assert _metadata(store)["@flags"] == "HasRevisions, HasAttachments"


def test_the_attachment_operations(store: DocumentStore) -> None:
    from rookdb.attachments import (
        DeleteAttachmentOperation,
        GetAttachmentOperation,
        PutAttachmentOperation,
    )

    _user(store)
    details = store.operations.send(PutAttachmentOperation("users/1", "op.txt", b"by op", "a/b"))
    assert (details.name, details.size, details.content_type) == ("op.txt", 5, "a/b")
    result = store.operations.send(GetAttachmentOperation("users/1", "op.txt"))
    assert result is not None
    with result:
        assert result.data == b"by op"
        assert result.details.change_vector == details.change_vector
    store.operations.send(DeleteAttachmentOperation("users/1", "op.txt"))
    assert store.operations.send(GetAttachmentOperation("users/1", "op.txt")) is None


def test_a_bulk_insert_stores_attachments(store: DocumentStore) -> None:
    with store.bulk_insert() as bulk:
        for i in range(3):
            bulk.store({"n": i, "@metadata": {"@collection": "Files"}}, id=f"files/{i}")
            bulk.attachments_for(f"files/{i}").store("f.bin", bytes([i]) * 10, "x/y")
        with pytest.raises(ValueError):
            bulk.attachments_for("")
    for i in range(3):
        assert _read(store, f"files/{i}", "f.bin") == bytes([i]) * 10
    assert [a["Name"] for a in _metadata(store, "files/2")["@attachments"]] == ["f.bin"]

"""RavenDB's own client (``ravendb`` 7.2) against ``rookdb serve``: attachments (issue 15).

The client's session (``session.advanced.attachments``: multipart ``bulk_docs`` batches with
``AttachmentPUT``/``DELETE``/``COPY``/``MOVE``), its operations (``PutAttachmentOperation``,
``GetAttachmentOperation``, ``DeleteAttachmentOperation``: ``PUT``/``GET``/``DELETE
/attachments``), ``HEAD /attachments`` (``exists``), ``@attachments`` in metadata, and the
statistics' attachment counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.official_client import official_store

ravendb = pytest.importorskip("ravendb")
from ravendb.data.operation import AttachmentType  # noqa: E402
from ravendb.documents.operations.attachments import (  # noqa: E402
    DeleteAttachmentOperation,
    GetAttachmentOperation,
    PutAttachmentOperation,
)
from ravendb.documents.operations.statistics import GetStatisticsOperation  # noqa: E402


class User:
    def __init__(self, name: str | None = None, Id: str | None = None) -> None:
        self.name, self.Id = name, Id


@pytest.fixture
def store() -> Iterator[Any]:
    with official_store("Attach") as store:
        yield store


def test_session_store_get_and_metadata(store: Any) -> None:
    with store.open_session() as session:
        user = User("Fitz")
        session.store(user, "users/1")
        session.advanced.attachments.store(user, "profile.png", bytes([1, 2, 3]), "image/png")
        session.advanced.attachments.store("users/1", "notes.txt", b"x" * 100_000, "text/plain")
        session.save_changes()
    with store.open_session() as session:
        user = session.load("users/1", User)
        metadata = session.advanced.get_metadata_for(user)
        assert metadata["@flags"] == "HasAttachments"
        assert [a["Name"] for a in metadata["@attachments"]] == ["notes.txt", "profile.png"]
        with session.advanced.attachments.get(user, "profile.png") as result:
            assert result.data == bytes([1, 2, 3])
            assert result.details.hash == "EcDnm3HDl2zNDALRMQ4lFsCO3J2Lb1fM1oDWOk2Octo="
            assert result.details.content_type == "image/png"
            assert int(result.details.size) == 3
        with session.advanced.attachments.get("users/1", "notes.txt") as result:
            assert result.data == b"x" * 100_000
        assert session.advanced.attachments.exists("users/1", "profile.png")
        assert not session.advanced.attachments.exists("users/1", "nope")
        names = session.advanced.attachments.get_names(user)
        assert sorted(n.name for n in names) == ["notes.txt", "profile.png"]


def test_copy_move_rename_delete_and_statistics(store: Any) -> None:
    with store.open_session() as session:
        one, two = User("one"), User("two")
        session.store(one, "users/1")
        session.store(two, "users/2")
        session.advanced.attachments.store(one, "a", b"alpha")
        session.save_changes()
    with store.open_session() as session:
        one, two = session.load("users/1", User), session.load("users/2", User)
        session.advanced.attachments.copy(one, "a", two, "copied")
        session.advanced.attachments.rename(one, "a", "b")
        session.save_changes()
        one.name = "still saves"  # the session learned the new change vectors
        session.save_changes()
    statistics = store.maintenance.send(GetStatisticsOperation())
    assert (statistics.count_of_attachments, statistics.count_of_unique_attachments) == (2, 1)
    with store.open_session() as session:
        assert session.advanced.attachments.exists("users/1", "b")
        assert not session.advanced.attachments.exists("users/1", "a")
        assert session.advanced.attachments.exists("users/2", "copied")
        session.advanced.attachments.move("users/1", "b", "users/2", "moved")
        session.save_changes()
    with store.open_session() as session:
        assert session.advanced.attachments.get_names(session.load("users/1", User)) == []
        session.advanced.attachments.delete("users/2", "copied")
        session.save_changes()
    with store.open_session() as session:
        metadata = session.advanced.get_metadata_for(session.load("users/2", User))
        assert [a["Name"] for a in metadata["@attachments"]] == ["moved"]


def test_operations_put_get_delete(store: Any) -> None:
    with store.open_session() as session:
        session.store(User("Fitz"), "users/1")
        session.save_changes()
    details = store.operations.send(
        PutAttachmentOperation("users/1", "photo.jpg", b"\xff\xd8data", "image/jpeg")
    )
    assert (details.name, details.document_id, int(details.size)) == ("photo.jpg", "users/1", 6)
    result = store.operations.send(
        GetAttachmentOperation("users/1", "photo.jpg", AttachmentType.document, None)
    )
    with result:
        assert result.data == b"\xff\xd8data"
        assert result.details.change_vector == details.change_vector
    store.operations.send(DeleteAttachmentOperation("users/1", "photo.jpg"))
    with store.open_session() as session:
        assert not session.advanced.attachments.exists("users/1", "photo.jpg")
        metadata = session.advanced.get_metadata_for(session.load("users/1", User))
        assert "@attachments" not in metadata


def test_an_attachment_to_a_missing_document_fails_the_whole_batch(store: Any) -> None:
    with store.open_session() as session:
        session.store(User("new"), "users/9")
        session.advanced.attachments.store("users/404", "a", b"1")
        with pytest.raises(Exception):  # noqa: B017 (the client raises its own types)
            session.save_changes()
    with store.open_session() as session:
        assert session.load("users/9", User) is None


def _fresh() -> Any:
    # The client's store_as has a mutable default metadata, which keeps the first entity's
    # @collection for every later call in the process: each call gets its own here.
    from ravendb.json.metadata_as_dictionary import MetadataAsDictionary

    return MetadataAsDictionary()


def test_bulk_insert_with_attachments(store: Any) -> None:
    big = bytes(range(256)) * 9000  # the content crosses the body's chunks; the last command
    # (RavenDB's client then leaves out the closing "]")
    with store.bulk_insert() as bulk:
        for i in range(5):
            bulk.store_as(User(f"u{i}"), f"users/{i}", _fresh())
            bulk.attachments_for(f"users/{i}").store("a.bin", bytes([i]) * i, "x/y")
        bulk.attachments_for("users/4").store("AttachmentPUT.txt", b'{"Type":"AttachmentPUT"}')
        bulk.store_as(User("AttachmentPUT"), "users/9", _fresh())  # a document saying the word
        bulk.attachments_for("users/4").store("big.bin", big)
    with store.open_session() as session:
        for i in range(5):
            with session.advanced.attachments.get(f"users/{i}", "a.bin") as result:
                assert result.data == bytes([i]) * i
                assert result.details.content_type == "x/y"
        with session.advanced.attachments.get("users/4", "big.bin") as result:
            assert result.data == big
        with session.advanced.attachments.get("users/4", "AttachmentPUT.txt") as result:
            assert result.data == b'{"Type":"AttachmentPUT"}'
        assert session.load("users/9", User).name == "AttachmentPUT"
        metadata = session.advanced.get_metadata_for(session.load("users/4", User))
        assert [a["Name"] for a in metadata["@attachments"]] == [
            "a.bin",
            "AttachmentPUT.txt",
            "big.bin",
        ]

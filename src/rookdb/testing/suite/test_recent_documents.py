"""Every document, the most recently written first (``RecentRead``): RavenDB's ``GET /docs``
with neither ids nor a prefix, which its clients and tools page through."""

from __future__ import annotations

import pytest

from rookdb import DocumentStore
from rookdb.storage.records import RecentRead


def _recent(store: DocumentStore, start: int, page_size: int) -> list[str]:
    (found,) = store._storage(store.database).read_many([RecentRead(start, page_size)])
    assert isinstance(found, list)
    return [record.id for record in found]


def test_documents_come_most_recently_written_first(store: DocumentStore) -> None:
    for document_id in ["products/101", "products/10", "Orders/1", "products/102"]:
        with store.open_session() as session:
            session.store({"Name": document_id}, document_id)
            session.save_changes()
    with store.open_session() as session:  # a rewrite makes a document the most recent
        session.load("products/10")["Name"] = "changed"
        session.save_changes()
    assert _recent(store, 0, 10) == ["products/10", "products/102", "Orders/1", "products/101"]
    assert _recent(store, 1, 2) == ["products/102", "Orders/1"]
    assert _recent(store, 2, 1) == ["Orders/1"]
    assert _recent(store, 4, 10) == []
    assert _recent(store, 0, 0) == []


def test_a_deleted_document_is_not_listed(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"v": 1}, "a/1")
        session.store({"v": 2}, "a/2")
        session.save_changes()
    with store.open_session() as session:
        session.delete("a/2")
        session.save_changes()
    assert _recent(store, 0, 10) == ["a/1"]


@pytest.mark.parametrize("page_size", [1, 3, 1000])
def test_pages_cover_every_document_once(store: DocumentStore, page_size: int) -> None:
    with store.open_session() as session:
        for i in range(7):
            session.store({"i": i}, f"n/{i}")
        session.save_changes()
    seen: list[str] = []
    start = 0
    while page := _recent(store, start, page_size):
        seen.extend(page)
        start += len(page)
    assert sorted(seen) == sorted(f"n/{i}" for i in range(7))

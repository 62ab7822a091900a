"""Attachments under concurrent writers (issue 15): several threads store attachments to one
document while another keeps putting the document from stale sessions; at the end the
document's ``@attachments`` names every attachment stored, each reads back, and none is lost,
on a SQLite file, PostgreSQL and through ``rookdb serve``. (The document's row is the lock:
SQLite's batch holds the write lock, PostgreSQL's attachment commands and puts lock the row.)
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rookdb import DocumentStore

pytestmark = pytest.mark.rookdb_backends("sqlite", "postgres", "http")

WRITERS = 4
EACH = 10
PUTS = 20


def test_concurrent_attachments_and_puts_lose_nothing(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"n": 0, "@metadata": {"@collection": "Docs"}}, "docs/1")
        session.save_changes()
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS + 1)

    def writer(w: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                with store.open_session() as session:
                    session.advanced.attachments.store("docs/1", f"w{w}-{i}", f"{w}/{i}".encode())
                    session.save_changes()
        except BaseException as exc:  # pragma: no cover (reported below)
            errors.append(exc)

    def putter() -> None:
        try:
            start.wait()
            for n in range(PUTS):
                with store.open_session() as session:  # knows nothing of the attachments
                    session.store({"n": n, "@metadata": {"@collection": "Docs"}}, "docs/1")
                    session.save_changes()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    threads.append(threading.Thread(target=putter))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    expected = sorted(f"w{w}-{i}" for w in range(WRITERS) for i in range(EACH))
    with store.open_session() as session:
        document: Any = session.load("docs/1")
        metadata = session.advanced.get_metadata_for(document)
        assert sorted(a["Name"] for a in metadata["@attachments"]) == expected
        for name in expected[:: EACH - 1]:
            result = session.advanced.attachments.get("docs/1", name)
            assert result is not None
            with result:
                w, i = name[1:].split("-")
                assert result.data == f"{w}/{i}".encode()
    statistics = store.maintenance.get_statistics()
    assert statistics.count_of_attachments == WRITERS * EACH
    print(
        f"\nconcurrent attachments ({store.backend.capabilities.name}): {WRITERS} threads x "
        f"{EACH} attachments to one document, {PUTS} stale puts of it meanwhile: "
        f"{len(metadata['@attachments'])} of {WRITERS * EACH} in its @attachments, 0 lost"
    )

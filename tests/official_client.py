"""RavenDB's official client on the run's ``rookdb serve``, for the tests that drive it."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rookdb.testing.backends import BACKENDS

__all__ = ["official_store", "wait_for_indexing"]


@contextlib.contextmanager
def official_store(prefix: str) -> Iterator[Any]:
    """An initialized ``ravendb.DocumentStore`` on the test server, on a database of its own
    (``prefix`` and a random suffix: tests never see each other's documents); closed after."""
    import ravendb

    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    store = ravendb.DocumentStore(urls=[url], database=f"{prefix}{uuid.uuid4().hex[:8]}")
    store.initialize()
    try:
        yield store
    finally:
        store.close()


def wait_for_indexing(store: Any, timeout_s: float = 30.0) -> None:
    """Wait until no index of ``store``'s database is stale: ``rookdb serve`` answers an index
    put at once and builds in the background, as RavenDB does (RavenDB's own tests wait so)."""
    from ravendb.documents.operations.indexes import GetIndexesStatisticsOperation

    def stale(stats: Any) -> bool:
        # The client (7.2.7) hands this operation's items back as the server's JSON.
        return bool(stats["IsStale"] if isinstance(stats, dict) else stats.stale)

    deadline = time.monotonic() + timeout_s
    while any(stale(s) for s in store.maintenance.send(GetIndexesStatisticsOperation())):
        if time.monotonic() > deadline:
            raise TimeoutError(f"indexes still stale after {timeout_s} s")
        time.sleep(0.05)

"""RavenDB's official client on the run's ``rookdb serve``, for the tests that drive it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rookdb.testing.backends import BACKENDS

__all__ = ["official_store"]


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

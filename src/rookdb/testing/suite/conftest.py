"""The suite's short fixture names (``store``, ``new_store``, ``store_url``, ``backend``), over
the plugin's prefixed ones: they hold below this directory only, so a project running the
suite keeps its own fixtures of those names.

The suite's stores use their backend through ``RecordingBackend``, the recording middleware
(``rookdb.testing.recording``): ``record_requests(store)`` then sees every storage call, and
every test also shows that a middleware passes everything through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rookdb.storage.registry import open_backend
from rookdb.store import DocumentStore
from rookdb.testing.backends import BackendSpec
from rookdb.testing.recording import RecordingBackend

# No ``pytest_plugins`` here: pytest refuses it in a conftest that is not at the root of the
# run, and ``--rookdb-url`` must exist before any conftest is read. The plugin is named on the
# command line (``pytest -p rookdb.testing``), or by the project's own root conftest.


@pytest.fixture
def backend(rookdb_backend: BackendSpec) -> BackendSpec:
    return rookdb_backend


@pytest.fixture
def store_url(rookdb_store_url: str) -> str:
    return rookdb_store_url


@pytest.fixture
def new_store(
    rookdb_new_store: Callable[..., DocumentStore], rookdb_store_url: str
) -> Callable[..., DocumentStore]:
    """Make stores (as ``rookdb_new_store``) whose backend is wrapped in a ``RecordingBackend``
    unless the test gives ``urls`` or ``backend``."""

    def make(**kwargs: Any) -> DocumentStore:
        if "urls" not in kwargs and "backend" not in kwargs:
            kwargs["backend"] = RecordingBackend(open_backend(rookdb_store_url))
        return rookdb_new_store(**kwargs)

    return make


@pytest.fixture
def store(new_store: Callable[..., DocumentStore]) -> DocumentStore:
    return new_store().initialize()

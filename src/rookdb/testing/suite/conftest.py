"""The suite's short fixture names (``store``, ``new_store``, ``store_url``, ``backend``), over
the plugin's prefixed ones: they hold below this directory only, so a project running the
suite keeps its own fixtures of those names.

The suite's stores use their backend through ``RecordingBackend``, the recording middleware
(``rookdb.testing.recording``): ``record_requests(store)`` then sees every storage call, and
every test also shows that a middleware passes everything through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rookdb.storage.registry import open_backend
from rookdb.store import DocumentStore
from rookdb.testing.async_mode import EventLoopThread, async_mode
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


#: The suite's files whose tests also run in async mode: their sessions are async sessions
#: behind a blocking facade (``rookdb.testing.async_mode``), so each behaviour test exercises
#: the async session's code paths too. Every file that tests sessions is here. Sync-only, as
#: they test no session (their few sessions only seed or read back what they check):
#: ``test_counters`` (storage's counter commands), ``test_query_differential`` (storage's SQL
#: against the reference evaluator), ``test_patch_operations`` (operations),
#: ``test_bulk_insert`` (a bulk insert, which has no async variant). ``test_databases`` and
#: ``test_client_configuration`` test operations but also sessions on another database or under
#: a server's configuration: they run in async mode too.
ASYNC_MODE_MODULES = frozenset(
    {
        "test_tracking",
        "test_store_load_delete",
        "test_query",
        "test_what_changed",
        "test_starting_with",
        "test_conditional_load",
        "test_lazy",
        "test_session_counters",
        "test_attachments",
        "test_streaming",
        "test_patches",
        "test_revisions",
        "test_counter_scripts",
        "test_rql",
        "test_bad_input",
        "test_client_configuration",
        "test_concurrency",
        "test_counter_projections",
        "test_databases",
        "test_hilo",
        "test_identities",
        "test_indexes",
        "test_limits",
        "test_models",
        "test_properties",
        "test_recent_documents",
        "test_rql_client_forms",
        "test_rql_ordering_and_aliases",
        "test_seeds",
        "test_serialization",
        "test_session_patches",
        "test_typed_values",
        "test_group_by",
        "test_facets",
    }
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "session_mode" in metafunc.fixturenames:
        name = metafunc.module.__name__.rpartition(".")[2]
        modes = ["sync", "async"] if name in ASYNC_MODE_MODULES else ["sync"]
        metafunc.parametrize("session_mode", modes, ids=lambda mode: mode)


@pytest.fixture
def event_loop_thread() -> Iterator[EventLoopThread]:
    loop = EventLoopThread()
    yield loop
    loop.close()


@pytest.fixture
def new_store(
    rookdb_new_store: Callable[..., DocumentStore],
    rookdb_store_url: str,
    session_mode: str,
    request: pytest.FixtureRequest,
) -> Callable[..., DocumentStore]:
    """Make stores (as ``rookdb_new_store``) whose backend is wrapped in a ``RecordingBackend``
    unless the test gives ``urls`` or ``backend``; in async mode (``session_mode``), stores
    whose sessions are async sessions behind a blocking facade."""
    loop = request.getfixturevalue("event_loop_thread") if session_mode == "async" else None

    def make(**kwargs: Any) -> DocumentStore:
        if "urls" not in kwargs and "backend" not in kwargs:
            kwargs["backend"] = RecordingBackend(open_backend(rookdb_store_url))
        made = rookdb_new_store(**kwargs)
        return made if loop is None else async_mode(made, loop)

    return make


@pytest.fixture
def store(new_store: Callable[..., DocumentStore]) -> DocumentStore:
    return new_store().initialize()

"""The pytest plugin of the conformance kit. Opt-in: installing rookdb changes no one's pytest.

Turn it on in a ``conftest.py`` with ``pytest_plugins = ["rookdb.testing"]``, or for one run
with ``pytest -p rookdb.testing``. It adds, all prefixed so that they cannot collide with a
project's own names:

- the fixtures ``rookdb_store`` (an initialized ``DocumentStore`` on an empty database),
  ``rookdb_new_store`` (makes stores, closed after the test), ``rookdb_store_url``,
  ``rookdb_database`` and ``rookdb_backend``; a test that uses any of them runs once per
  selected backend;
- the option ``--rookdb-backend memory|sqlite|postgres|http|all`` (repeatable; default all);
- the option ``--rookdb-url URL``: run those tests on that URL instead (any scheme, a
  registered one included), each on a database of its own there, deleted afterwards;
- the marker ``rookdb_requires(*flags, **values)``: skip a test, saying why, on a backend whose
  ``Capabilities`` lack a flag (``rookdb_requires("multi_process")``) or have another value
  (``rookdb_requires(remote=False)``);
- the marker ``rookdb_backends(*names)``: run a test only on the backends named (for tests of
  one backend's own insides; a test that needs a capability uses ``rookdb_requires``).

PostgreSQL tests use ``$ROOKDB_TEST_POSTGRES_URL`` (default the local server), in schemas of
their own that are dropped after each test. Where PostgreSQL does not answer they are skipped
with a message saying how to enable them, except under ``CI=true``, where that is a failure:
CI must not pass by skipping a backend. ``http`` tests run against one ``rookdb serve`` process
for each pytest process (started on first use, on a free loopback port, over SQLite files): one
for the run, or one for each worker of a parallel run (pytest-xdist).
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.storage.registry import open_backend
from rookdb.storage.statistics import Capabilities
from rookdb.store import DocumentStore
from rookdb.testing.backends import BACKENDS, BackendSpec

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_logreport",
    "pytest_terminal_summary",
    "rookdb_backend",
    "rookdb_database",
    "rookdb_new_store",
    "rookdb_store",
    "rookdb_store_url",
]

_OPTION = "--rookdb-backend"
_URL_OPTION = "--rookdb-url"
_MARKER = "rookdb_backends"
_REQUIRES = "rookdb_requires"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rookdb")
    group.addoption(
        _OPTION,
        action="append",
        default=None,
        choices=[*BACKENDS, "all"],
        help="rookdb backend(s) to run tests using the rookdb_* fixtures on (default: all)",
    )
    group.addoption(
        _URL_OPTION,
        default=None,
        metavar="URL",
        help="run tests using the rookdb_* fixtures on this URL instead of the built-in "
        "backends, each on a database of its own there (deleted afterwards)",
    )


@functools.cache  # one spec per URL: capabilities are read once for it
def _url_spec(url: str) -> BackendSpec:
    """The backend under test when ``--rookdb-url`` names one: tests share its URL, so each
    gets a database of its own."""
    name = url.split("://", 1)[0].lower() if "://" in url else url
    return BackendSpec(name, lambda tmp: url, fresh_database=True)


def _selected(config: pytest.Config) -> list[BackendSpec]:
    url = config.getoption(_URL_OPTION)
    chosen = config.getoption(_OPTION)
    if url is not None:
        if chosen:
            raise pytest.UsageError(f"give {_OPTION} or {_URL_OPTION}, not both")
        return [_url_spec(url)]
    chosen = chosen or ["all"]
    if "all" in chosen:
        return list(BACKENDS.values())
    return [BACKENDS[name] for name in dict.fromkeys(chosen)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every rookdb_* fixture depends on rookdb_backend, so it is in the closure of them all.
    if "rookdb_backend" in metafunc.fixturenames:
        specs = _selected(metafunc.config)
        marker = metafunc.definition.get_closest_marker(_MARKER)
        if marker is not None:
            specs = [s for s in specs if s.name in marker.args]
        metafunc.parametrize("rookdb_backend", specs, ids=[s.name for s in specs], indirect=True)


_OUTCOMES: dict[str, Counter[str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A test's outcome is its call's, or its setup's when setup skipped or failed it.
    if report.when == "call" or (report.when == "setup" and not report.passed):
        for key, name in report.user_properties:
            if key == "rookdb_backend":
                _OUTCOMES.setdefault(str(name), Counter())[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many tests ran on each backend: a skipped backend must be visible."""
    if _OUTCOMES:
        terminalreporter.section("rookdb backends")
        for name, outcomes in _OUTCOMES.items():
            counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
            terminalreporter.write_line(f"{name}: {counts}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{_MARKER}(*names): run this test only on the named rookdb backends"
    )
    config.addinivalue_line(
        "markers",
        f"{_REQUIRES}(*flags, **values): skip this test on a rookdb backend whose "
        "Capabilities lack the flags (or have other values)",
    )


_CAPABILITIES: dict[BackendSpec, Capabilities] = {}


def _capabilities(spec: BackendSpec, tmp: Path) -> Capabilities:
    """What the backend under test declares: its backend's own ``Capabilities``, read once."""
    found = _CAPABILITIES.get(spec)
    if found is None:
        url = spec.make_url(tmp)
        backend = open_backend(url)
        try:
            found = _CAPABILITIES[spec] = backend.capabilities
        finally:
            if not backend.shared:
                backend.close()
            if not spec.fresh_database:
                spec.clean_up(url)
    return found


def _lacking(marker: pytest.Mark, capabilities: Capabilities) -> list[str]:
    """What ``marker`` asks of ``capabilities`` and they do not have, as ``flag=value``."""
    flags = Capabilities.flags()
    asked = {**dict.fromkeys(marker.args, True), **marker.kwargs}
    unknown = [name for name in asked if name not in flags]
    if unknown:
        raise pytest.UsageError(
            f"{_REQUIRES}: unknown capability {', '.join(map(repr, unknown))}; "
            f"Capabilities has {', '.join(flags)}"
        )
    return [f"{n}={v}" for n, v in asked.items() if getattr(capabilities, n) != v]


@pytest.fixture
def rookdb_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> BackendSpec:
    """The backend under test (one of ``rookdb.testing.BACKENDS``, or ``--rookdb-url``'s).
    Skips a test marked ``rookdb_requires`` that the backend's capabilities do not meet."""
    spec: BackendSpec = request.param
    request.node.user_properties.append(("rookdb_backend", spec.name))  # for the summary
    marker = request.node.get_closest_marker(_REQUIRES)
    if marker is not None:
        spec.require()
        lacking = _lacking(marker, _capabilities(spec, tmp_path_factory.mktemp("capabilities")))
        if lacking:
            pytest.skip(
                f"the {spec.name} backend's capabilities are not what this test needs "
                f"({', '.join(lacking)})"
            )
    return spec


@pytest.fixture
def rookdb_database(rookdb_backend: BackendSpec) -> str:
    """The name of the empty database the test's stores use: ``default`` on the fresh URL a
    built-in backend makes; on a ``--rookdb-url``, a new name of the test's own."""
    if rookdb_backend.fresh_database:
        return f"rookdb_test_{uuid.uuid4().hex[:12]}"
    return "default"


@pytest.fixture
def rookdb_store_url(rookdb_backend: BackendSpec, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of the backend under test; what the test made there is
    removed afterwards."""
    rookdb_backend.require()
    url = rookdb_backend.make_url(tmp_path)
    if not rookdb_backend.fresh_database:
        yield url
        rookdb_backend.clean_up(url)
        return
    # A URL shared by every test: delete the databases this test made, and nothing else.
    before = set(_databases(url))
    yield url
    backend = open_backend(url)
    try:
        for name in _databases(url, backend):
            if name not in before:
                backend.delete_database(name)
    finally:
        if not backend.shared:
            backend.close()


def _databases(url: str, backend: Any = None) -> list[str]:
    opened = backend if backend is not None else open_backend(url)
    try:
        return [name.lower() for name in opened.list_databases()]
    finally:
        if backend is None and not opened.shared:
            opened.close()


@pytest.fixture
def rookdb_new_store(
    rookdb_store_url: str, rookdb_database: str
) -> Iterator[Callable[..., DocumentStore]]:
    """Make stores on the backend under test (not initialized: conventions can still be set),
    on the test's database unless told another. Every store made is closed at the end of the
    test."""
    made: list[DocumentStore] = []

    def make(**kwargs: Any) -> DocumentStore:
        if "backend" not in kwargs:
            kwargs.setdefault("urls", rookdb_store_url)
        kwargs.setdefault("database", rookdb_database)
        store = DocumentStore(**kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def rookdb_store(rookdb_new_store: Callable[..., DocumentStore]) -> DocumentStore:
    """An initialized store on the backend under test."""
    return rookdb_new_store().initialize()

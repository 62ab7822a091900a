"""The pytest plugin of the conformance kit. Opt-in: installing rookdb changes no one's pytest.

Turn it on in a ``conftest.py`` with ``pytest_plugins = ["rookdb.testing"]``, or for one run
with ``pytest -p rookdb.testing``. It adds, all prefixed so that they cannot collide with a
project's own names:

- the fixtures ``rookdb_store`` (an initialized ``DocumentStore`` on an empty database),
  ``rookdb_new_store`` (makes stores, closed after the test), ``rookdb_store_url`` and
  ``rookdb_backend``; a test that uses any of them runs once per selected backend;
- the option ``--rookdb-backend memory|sqlite|postgres|http|all`` (repeatable; default all);
- the marker ``rookdb_backends(*names)``: run a test only on the backends named.

PostgreSQL tests use ``$ROOKDB_TEST_POSTGRES_URL`` (default the local server), in schemas of
their own that are dropped after each test. Where PostgreSQL does not answer they are skipped
with a message saying how to enable them, except under ``CI=true``, where that is a failure:
CI must not pass by skipping a backend. ``http`` tests run against one ``rookdb serve`` process
for the whole run (started on first use, on a free loopback port, over SQLite files).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.store import DocumentStore
from rookdb.testing.backends import BACKENDS, BackendSpec

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_logreport",
    "pytest_terminal_summary",
    "rookdb_backend",
    "rookdb_new_store",
    "rookdb_store",
    "rookdb_store_url",
]

_OPTION = "--rookdb-backend"
_MARKER = "rookdb_backends"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rookdb")
    group.addoption(
        _OPTION,
        action="append",
        default=None,
        choices=[*BACKENDS, "all"],
        help="rookdb backend(s) to run tests using the rookdb_* fixtures on (default: all)",
    )


def _selected(config: pytest.Config) -> list[str]:
    chosen = config.getoption(_OPTION) or ["all"]
    if "all" in chosen:
        return list(BACKENDS)
    return list(dict.fromkeys(chosen))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every rookdb_* fixture depends on rookdb_backend, so it is in the closure of them all.
    if "rookdb_backend" in metafunc.fixturenames:
        names = _selected(metafunc.config)
        marker = metafunc.definition.get_closest_marker(_MARKER)
        if marker is not None:
            names = [n for n in names if n in marker.args]
        metafunc.parametrize(
            "rookdb_backend", [BACKENDS[n] for n in names], ids=names, indirect=True
        )


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


@pytest.fixture
def rookdb_backend(request: pytest.FixtureRequest) -> BackendSpec:
    """The backend under test (one of ``rookdb.testing.BACKENDS``)."""
    spec: BackendSpec = request.param
    request.node.user_properties.append(("rookdb_backend", spec.name))  # for the summary
    return spec


@pytest.fixture
def rookdb_store_url(rookdb_backend: BackendSpec, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of the backend under test; removed afterwards."""
    rookdb_backend.require()
    url = rookdb_backend.make_url(tmp_path)
    yield url
    rookdb_backend.clean_up(url)


@pytest.fixture
def rookdb_new_store(rookdb_store_url: str) -> Iterator[Callable[..., DocumentStore]]:
    """Make stores on the backend under test (not initialized: conventions can still be set).
    Every store made is closed at the end of the test."""
    made: list[DocumentStore] = []

    def make(**kwargs: Any) -> DocumentStore:
        store = DocumentStore(urls=kwargs.pop("urls", rookdb_store_url), **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def rookdb_store(rookdb_new_store: Callable[..., DocumentStore]) -> DocumentStore:
    """An initialized store on the backend under test."""
    return rookdb_new_store().initialize()

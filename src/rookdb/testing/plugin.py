"""pytest plugin: every test that uses ``store``, ``new_store`` or ``store_url`` runs on every
selected backend (``--backend memory|sqlite|postgres|http|all``, repeatable; default: all).

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

_FIXTURES = ("store", "new_store", "store_url", "backend")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rookdb")
    group.addoption(
        "--backend",
        action="append",
        default=None,
        choices=[*BACKENDS, "all"],
        help="rookdb backend(s) to run the conformance tests on (default: all)",
    )


def _selected(config: pytest.Config) -> list[str]:
    chosen = config.getoption("--backend") or ["all"]
    if "all" in chosen:
        return list(BACKENDS)
    return list(dict.fromkeys(chosen))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if any(name in metafunc.fixturenames for name in _FIXTURES):
        names = _selected(metafunc.config)
        marker = metafunc.definition.get_closest_marker("backends")
        if marker is not None:
            names = [n for n in names if n in marker.args]
        metafunc.parametrize("backend", [BACKENDS[n] for n in names], ids=names, indirect=True)


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
    config.addinivalue_line("markers", "backends(*names): run this test only on the named backends")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> BackendSpec:
    spec: BackendSpec = request.param
    request.node.user_properties.append(("rookdb_backend", spec.name))  # for the summary
    return spec


@pytest.fixture
def store_url(backend: BackendSpec, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of the backend under test; removed afterwards."""
    backend.require()
    url = backend.make_url(tmp_path)
    yield url
    backend.clean_up(url)


@pytest.fixture
def new_store(store_url: str) -> Iterator[Callable[..., DocumentStore]]:
    """Make stores on the backend under test (not initialized: conventions can still be set).
    Every store made is closed at the end of the test."""
    made: list[DocumentStore] = []

    def make(**kwargs: Any) -> DocumentStore:
        store = DocumentStore(urls=kwargs.pop("urls", store_url), **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(new_store: Callable[..., DocumentStore]) -> DocumentStore:
    """An initialized store on the backend under test."""
    return new_store().initialize()

"""The suite takes rookdb's pytest plugin as any project would (it is opt-in), and gives its
fixtures the short names every test here uses: a test taking ``store`` runs on every backend."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported by pytest_plugins, not before (pytest rewrites a plugin's asserts)
    from rookdb.store import DocumentStore
    from rookdb.testing import BackendSpec

pytest_plugins = ["rookdb.testing"]


@pytest.fixture
def backend(rookdb_backend: BackendSpec) -> BackendSpec:
    return rookdb_backend


@pytest.fixture
def store_url(rookdb_store_url: str) -> str:
    return rookdb_store_url


@pytest.fixture
def new_store(rookdb_new_store: Callable[..., DocumentStore]) -> Callable[..., DocumentStore]:
    return rookdb_new_store


@pytest.fixture
def store(rookdb_store: DocumentStore) -> DocumentStore:
    return rookdb_store


@pytest.fixture
def in_tmp_dir(tmp_path: os.PathLike[str]) -> Iterator[None]:
    """Run in an empty directory, so ``DocumentStore()`` uses ./rookdb-data there."""
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(old)


# -- reliability figures (SPEC §11): tests record them, the run prints them at the end --------

#: The key of a figure in a test report's ``user_properties``. A report carries them to the
#: process that prints the summary: under pytest-xdist (``make test``) the tests run in worker
#: processes, and a list of figures kept in a worker would never reach the controller's summary.
_FIGURE = "rookdb_reliability_figure"
_FIGURES: list[str] = []


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line of reliability figures for the end-of-run summary."""

    def record(line: str) -> None:
        request.node.user_properties.append((_FIGURE, line))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # The teardown report holds every property the test recorded (setup and call too), once.
    if report.when == "teardown":
        _FIGURES.extend(str(value) for key, value in report.user_properties if key == _FIGURE)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)

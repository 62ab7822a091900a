"""Run the official RavenDB Python client's own tests against ``rookdb serve``.

Usage::

    python tools/official_client_tests.py PATH_TO_CLIENT_CHECKOUT [--test-timeout S] \
        [--reasons FILE] [pytest args / test paths...]

PATH_TO_CLIENT_CHECKOUT is a checkout of ravendb-python-client (for instance
``git -C MIRROR archive HEAD | tar -x -C /tmp/ravendb-client``). Test paths are taken
relative to the checkout when they exist there (``ravendb/tests/jvm_migrated_tests/crud_tests``);
without any, all of ``ravendb/tests/jvm_migrated_tests`` runs.

How it works, without editing a file of the checkout:

* ``rookdb serve`` starts on a free loopback port over a temporary SQLite directory, without
  ``--create-databases``: databases are made as against RavenDB, by the tests themselves.
* The client is the installed ``ravendb`` package (the pinned one), imported first; only the
  checkout's ``ravendb/tests`` package is grafted onto it as ``ravendb.tests``, so the
  checkout's ``ravendb/`` never shadows the installed client.
* ``ravendb_embedded`` (which would download and start a RavenDB server) is replaced, when
  not installed, by stand-ins, and ``RavenTestDriver._run_embedded_server_internal`` returns a
  ``DocumentStore`` on the rookdb server instead. ``TestBase.get_document_store`` then runs as
  written: a fresh database per test through ``CreateDatabaseOperation``, deleted through
  ``DeleteDatabaseOperation`` when the test's store closes.
* Each test's setup, call and teardown get ``--test-timeout`` seconds each (default 60,
  SIGALRM; 0: none); a test file that does not import (a test of a newer client than the
  installed one) counts as an error and the run goes on. Then a summary
  prints passed / failed / error / skipped per test file and the most common failure reasons;
  ``--reasons FILE`` writes every failing test with its reason (tab-separated).
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import re
import signal
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.testing.backends import start_server

DEFAULT_TESTS = "ravendb/tests/jvm_migrated_tests"
DEFAULT_TEST_TIMEOUT = 60.0


class _NoEmbeddedServer:
    """Stands for ravendb_embedded's classes: nothing to start, nothing to close."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def close(self) -> None:
        pass


def _stub_ravendb_embedded() -> None:
    """Stand-ins for ``ravendb_embedded`` when it is not installed: the tests' driver imports
    it, but here no RavenDB server is ever started."""
    if importlib.util.find_spec("ravendb_embedded") is not None:
        return
    names = {
        "ravendb_embedded": [],
        "ravendb_embedded.embedded_server": ["EmbeddedServer"],
        "ravendb_embedded.options": ["ServerOptions", "SecurityOptions"],
        "ravendb_embedded.provide": ["ExternalServerProvider"],
    }
    for name, classes in names.items():
        module = types.ModuleType(name)
        module.__path__ = []  # a package, so its submodules import
        for cls in classes:
            setattr(module, cls, type(cls, (_NoEmbeddedServer,), {}))
        sys.modules[name] = module


def _graft_checkout_tests(checkout: Path) -> None:
    """Import the installed ``ravendb`` and make the checkout's ``ravendb/tests`` its
    ``ravendb.tests`` package."""
    import ravendb

    installed = Path(ravendb.__file__).resolve().parent
    if installed.is_relative_to(checkout):
        raise SystemExit(f"ravendb is imported from the checkout ({installed}), not installed")
    tests = checkout / "ravendb" / "tests"
    spec = importlib.util.spec_from_file_location(
        "ravendb.tests", tests / "__init__.py", submodule_search_locations=[str(tests)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ravendb.tests"] = module
    spec.loader.exec_module(module)
    ravendb.tests = module  # type: ignore[attr-defined]


def _point_test_driver_at(url: str) -> None:
    """Make ``TestBase``'s global server store one on ``url``; the rest of the official
    ``get_document_store`` (create a database per test, delete it after) runs unchanged."""
    from ravendb import DocumentStore
    from ravendb.tests.driver.raven_test_driver import RavenTestDriver

    def run_server(locator: object) -> tuple[DocumentStore, _NoEmbeddedServer]:
        store = DocumentStore([url], "test.manager")
        store.conventions.disable_topology_updates = True
        store.initialize()
        return store, _NoEmbeddedServer()

    RavenTestDriver._run_embedded_server_internal = staticmethod(run_server)


class _TestTimeout(BaseException):
    """Raised in a test that ran past ``--test-timeout``."""


class SummaryPlugin:
    """Counts outcomes per test file and the first lines of failure reasons; bounds each
    test's time."""

    def __init__(self, test_timeout: float) -> None:
        self.test_timeout = test_timeout
        self.counts: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self.reasons: collections.Counter[str] = collections.Counter()
        # Every failing test with its reason, for --reasons FILE.
        self.failures: list[tuple[str, str]] = []

    def _bounded(self) -> Iterator[None]:
        """Run one phase of a test (setup, call or teardown) within ``test_timeout`` seconds.

        Each phase is bounded on its own, and the timer is off again before pytest makes the
        phase's report: an alarm inside pytest's own report making (formatting a long
        traceback) would be an INTERNALERROR that ends the whole run."""
        if self.test_timeout <= 0:
            yield
            return

        def expire(signum: int, frame: object) -> None:
            raise _TestTimeout(f"test ran past --test-timeout {self.test_timeout:g}s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.test_timeout)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        yield from self._bounded()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        yield from self._bounded()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        yield from self._bounded()

    def _reason(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(report.longrepr)
        first = text.strip().splitlines()[0] if text.strip() else "(no message)"
        # One reason for every test's database: /databases/NorthWindTest_12/ -> /databases/DB/
        first = re.sub(r"/databases/[^/\s]+", "/databases/DB", first)
        self.reasons[first[:200]] += 1
        self.failures.append((report.nodeid, first))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        file = report.nodeid.split("::", 1)[0]
        if report.when == "call":
            outcome = "failed" if report.failed else report.outcome
            if report.failed:
                self._reason(report)
        elif report.failed:
            outcome = "error"
            self._reason(report)
        elif report.skipped:
            outcome = "skipped"
        else:
            return
        self.counts[file][outcome] += 1

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.counts[report.nodeid.split("::", 1)[0]]["error"] += 1
            self._reason(report)

    def print_summary(self) -> None:
        columns = ("passed", "failed", "error", "skipped")
        width = max([len(file) for file in self.counts] + [5])
        print(f"\n{'file':<{width}} " + " ".join(f"{c:>7}" for c in columns))
        total: collections.Counter[str] = collections.Counter()
        for file in sorted(self.counts):
            total.update(self.counts[file])
            print(f"{file:<{width}} " + " ".join(f"{self.counts[file][c]:>7}" for c in columns))
        print(f"{'total':<{width}} " + " ".join(f"{total[c]:>7}" for c in columns))
        if self.reasons:
            print("\nmost common failure reasons:")
            for reason, count in self.reasons.most_common(15):
                print(f"{count:>5}  {reason}")


def _test_arguments(checkout: Path, arguments: list[str]) -> list[str]:
    """Test paths made absolute (relative to the checkout when they exist there)."""
    resolved = []
    has_path = False
    for argument in arguments:
        path, _, node = argument.partition("::")
        if not argument.startswith("-") and path:
            for base in (checkout, Path.cwd()):
                if (base / path).exists():
                    argument = str((base / path).resolve()) + (f"::{node}" if node else "")
                    has_path = True
                    break
        resolved.append(argument)
    if not has_path:
        resolved.append(str(checkout / DEFAULT_TESTS))
    return resolved


def _split_options(arguments: list[str]) -> tuple[float, Path | None, list[str]]:
    """This tool's own options (--test-timeout S, --reasons FILE), and pytest's arguments."""
    timeout = DEFAULT_TEST_TIMEOUT
    reasons = None
    rest = []
    iterator = iter(arguments)
    for argument in iterator:
        name, equals, value = argument.partition("=")
        if name in ("--test-timeout", "--reasons"):
            value = value if equals else next(iterator)
            if name == "--test-timeout":
                timeout = float(value)
            else:
                reasons = Path(value)
        else:
            rest.append(argument)
    return timeout, reasons, rest


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    checkout = Path(argv[0]).resolve()
    if not (checkout / "ravendb" / "tests" / "test_base.py").is_file():
        print(f"{checkout} is not a ravendb-python-client checkout", file=sys.stderr)
        return 2
    test_timeout, reasons_file, rest = _split_options(argv[1:])
    pytest_arguments = _test_arguments(checkout, rest)

    _stub_ravendb_embedded()
    _graft_checkout_tests(checkout)

    with tempfile.TemporaryDirectory(prefix="rookdb-official-") as tmp:
        process, url, start_line = start_server("--data", str(Path(tmp) / "data"))
        print(start_line)
        try:
            _point_test_driver_at(url)
            plugin = SummaryPlugin(test_timeout)
            # TestBase.tearDown deletes *topology files in the working directory: use tmp.
            with contextlib.chdir(tmp):
                code = pytest.main(
                    [
                        "-p",
                        "no:cacheprovider",
                        "--continue-on-collection-errors",
                        # pytest's own tracebacks of a test the timeout interrupted inside the
                        # client can crash its report making (INTERNALERROR, tb_lineno None):
                        # Python's never do, and the test is counted. A later --tb wins.
                        "--tb=native",
                        "--rootdir",
                        str(checkout),
                        *pytest_arguments,
                    ],
                    plugins=[plugin],
                )
            plugin.print_summary()
            if reasons_file is not None:
                reasons_file.write_text(
                    "".join(f"{node}\t{reason}\n" for node, reason in plugin.failures)
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

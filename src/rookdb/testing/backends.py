"""How the conformance suite makes a fresh database URL for each backend."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

__all__ = [
    "BACKENDS",
    "POSTGRES_URL_VARIABLE",
    "BackendSpec",
    "Served",
    "postgres_url",
    "serve_on",
    "server_data_directory",
    "start_server",
]

#: The PostgreSQL database the suite uses (each test in schemas of its own).
POSTGRES_URL_VARIABLE = "ROOKDB_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)


@dataclasses.dataclass(frozen=True)
class BackendSpec:
    """A backend under test: its name, a fresh URL in a temporary directory, why it cannot
    run here (None: it can), and how to remove what a test left behind. What the backend can
    do is its ``Capabilities``, not declared here again. A backend that is not rookdb's own
    needs no spec: ``--rookdb-url`` runs the tests on any URL."""

    name: str
    make_url: Callable[[Path], str]
    unavailable: Callable[[], str | None] = lambda: None
    clean_up: Callable[[str], None] = lambda url: None
    #: True when every test gets the same URL (``--rookdb-url``): each then works in a
    #: database of its own there, and the databases it made are deleted afterwards.
    fresh_database: bool = False

    def require(self) -> None:
        """Skip the running test, with the reason, if this backend cannot run here; under
        ``CI=true`` fail it instead: CI must not pass by skipping a backend."""
        reason = self.unavailable()
        if reason is None:
            return
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and the {self.name} backend cannot run: {reason}")
        pytest.skip(f"{self.name} backend: {reason}")


@functools.cache
def _postgres_unavailable() -> str | None:
    how = (
        f"start PostgreSQL or point {POSTGRES_URL_VARIABLE} at a database "
        f"(default {DEFAULT_POSTGRES_URL}) to run them"
    )
    try:
        import psycopg
    except ImportError:
        return f"psycopg is not installed (pip install 'rookdb[postgres]'); {how}"
    try:
        psycopg.connect(postgres_url(), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {postgres_url()} ({exc}); {how}"
    return None


def _postgres_test_url(tmp: Path) -> str:
    # A schema prefix per test: its databases are its own, and dropped afterwards.
    separator = "&" if "?" in postgres_url() else "?"
    return f"{postgres_url()}{separator}schema_prefix=t{uuid.uuid4().hex[:12]}_"


def _drop_postgres_schemas(url: str) -> None:
    from rookdb.storage.postgres import PostgresBackend

    backend = PostgresBackend(url)
    try:
        backend.drop_all()
    finally:
        backend.close()


class Served(NamedTuple):
    """A ``rookdb serve`` process started by ``start_server``."""

    process: subprocess.Popen[str]
    url: str  # the address its start line names
    start_line: str


def start_server(*options: str) -> Served:
    """Start ``rookdb serve --port 0 OPTIONS``. The caller terminates the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rookdb", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the start line names the address
    found = re.search(r"listening on (https?://\S+),", line)
    if found is None:
        process.kill()
        raise RuntimeError(f"rookdb serve did not start: {line}{process.stdout.read()}")
    # Keep draining its output so a chatty server never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return Served(process, found.group(1), line.rstrip("\n"))


@contextlib.contextmanager
def serve_on(name: str, tmp: Path) -> Iterator[str]:
    """A ``rookdb serve`` process of its own over a fresh ``sqlite`` directory in ``tmp`` or
    ``postgres`` schemas (dropped afterwards); its base URL. Skips (or under CI fails) as
    ``BackendSpec.require`` does. It creates databases on first use for every client
    (``--create-databases``): tests speaking the protocol by hand need not create them."""
    spec = BACKENDS[name]
    spec.require()
    url = spec.make_url(tmp)
    option = ["--data", str(tmp / "data")] if name == "sqlite" else ["--postgres", url]
    process, base, _ = start_server(*option, "--create-databases")
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        spec.clean_up(url)


class _TestServer:
    """One ``rookdb serve`` process (SQLite files in a temporary directory) for the pytest
    process (the run, or one worker of a parallel run: each has its own), on a free loopback
    port, started by the first test that needs it and stopped at exit. A pytest process runs
    its tests one at a time, so each test's clean-up deletes every database it made. It
    creates databases on first use for every client (``--create-databases``), so that tests
    speaking the protocol by hand need not create them (rookdb's client does so anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url: str | None = None
        self._process: subprocess.Popen[str] | None = None
        self._directory: str | None = None
        self.data: str | None = None

    def url(self) -> str:
        with self._lock:
            if self._url is None or self._process is None or self._process.poll() is not None:
                self._url = self._start()
            return self._url

    def _start(self) -> str:
        self._directory = tempfile.mkdtemp(prefix="rookdb-test-server-")
        self.data = os.path.join(self._directory, "data")
        self._process, url, _ = start_server("--data", self.data, "--create-databases")
        atexit.register(self.stop)
        return url

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


_TEST_SERVER = _TestServer()


def server_data_directory() -> str:
    """The data directory of the test run's ``rookdb serve`` (for tests that look inside)."""
    _TEST_SERVER.url()
    assert _TEST_SERVER.data is not None
    return _TEST_SERVER.data


@functools.cache
def _http_unavailable() -> str | None:
    try:
        import httpx  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed: pip install 'rookdb[server,http]' to run them"
    return None


def _delete_server_databases(url: str) -> None:
    from rookdb.storage.http import HttpBackend

    backend = HttpBackend(url)
    try:
        for name in backend.list_databases():
            backend.delete_database(name)
    finally:
        backend.close()


BACKENDS: dict[str, BackendSpec] = {
    "memory": BackendSpec("memory", lambda tmp: "memory://"),
    "sqlite": BackendSpec("sqlite", lambda tmp: f"sqlite:///{tmp / 'data'}"),
    "postgres": BackendSpec(
        "postgres", _postgres_test_url, _postgres_unavailable, _drop_postgres_schemas
    ),
    "http": BackendSpec(
        "http", lambda tmp: _TEST_SERVER.url(), _http_unavailable, _delete_server_databases
    ),
}

"""A backend rookdb does not ship, as a third party would write one: its own URL scheme,
registered only through the public API (``register_backend``) in a pytest plugin module of a
project of its own, and held to the shipped suite run as its author would run it::

    pytest -p rookdb.testing -p wrapped_backend --pyargs rookdb.testing.suite \\
        --rookdb-url wrapped://sqlite:///DIR

The backend is a full wrapping middleware written against ``rookdb.storage.base`` alone: it
hands every call to the backend of the URL after ``wrapped://`` and counts them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rookdb import ConfigurationError, DocumentStore, register_backend
from rookdb.storage.middleware import MiddlewareBackend
from rookdb.storage.registry import open_backend

PLUGIN = '''
"""wrapped://INNER-URL: every call handed to INNER-URL's backend, and counted."""

import collections
import dataclasses
import threading

from rookdb import register_backend
from rookdb.storage.base import Backend, Storage
from rookdb.storage.registry import open_backend

CALLS = collections.Counter()


class WrappedStorage(Storage):
    def __init__(self, inner):
        self.inner = inner
        self.capabilities = inner.capabilities

    def get(self, ids, includes=()):
        CALLS["get"] += 1
        return self.inner.get(ids, includes)

    def get_prefix(self, prefix, start=0, page_size=25, matches="", exclude="", start_after=""):
        CALLS["get_prefix"] += 1
        return self.inner.get_prefix(prefix, start, page_size, matches, exclude, start_after)

    def read_many(self, reads):
        CALLS["read_many"] += 1
        return self.inner.read_many(reads)

    def apply(self, batch):
        CALLS["apply"] += 1
        return self.inner.apply(batch)

    def query(self, query):
        CALLS["query"] += 1
        return self.inner.query(query)

    def reserve_ids(self, prefix, capacity, last_max=0):
        return self.inner.reserve_ids(prefix, capacity, last_max)

    def return_ids(self, prefix, last_used, high):
        self.inner.return_ids(prefix, last_used, high)

    def next_identity(self, name):
        return self.inner.next_identity(name)

    def seed_identity(self, name, value, force_update=False):
        return self.inner.seed_identity(name, value, force_update)

    def get_identities(self):
        return self.inner.get_identities()

    def get_client_configuration(self):
        return self.inner.get_client_configuration()

    def put_client_configuration(self, configuration):
        return self.inner.put_client_configuration(configuration)

    def stream(self, collection=None):
        return self.inner.stream(collection)

    def configure_revisions(self, configuration):
        return self.inner.configure_revisions(configuration)

    def get_revisions(self, document_id, start=0, page_size=25):
        return self.inner.get_revisions(document_id, start, page_size)

    def get_revisions_by_change_vector(self, change_vectors):
        return self.inner.get_revisions_by_change_vector(change_vectors)

    def get_counters(self, document_id, names=None):
        return self.inner.get_counters(document_id, names)

    def get_attachment(self, document_id, name):
        return self.inner.get_attachment(document_id, name)

    def get_attachments(self, document_id):
        return self.inner.get_attachments(document_id)

    def read_attachment(self, document_id, name):
        return self.inner.read_attachment(document_id, name)
    def get_revision_before(self, document_id, before):
        return self.inner.get_revision_before(document_id, before)

    def get_revisions_configuration(self):
        return self.inner.get_revisions_configuration()

    def import_revisions(self, revisions):
        return self.inner.import_revisions(revisions)

    def get_revisions_bin(self, start=0, page_size=25):
        return self.inner.get_revisions_bin(start, page_size)

    def put_indexes(self, definitions):
        return self.inner.put_indexes(definitions)

    def get_index(self, name):
        return self.inner.get_index(name)

    def get_indexes(self, start=0, page_size=25):
        return self.inner.get_indexes(start, page_size)

    def get_index_names(self, start=0, page_size=25):
        return self.inner.get_index_names(start, page_size)

    def delete_index(self, name):
        self.inner.delete_index(name)

    def reset_index(self, name):
        self.inner.reset_index(name)

    def index_statistics(self, name=None):
        return self.inner.index_statistics(name)

    def index_errors(self, names=None):
        return self.inner.index_errors(names)

    def delete_index_errors(self, names=None):
        return self.inner.delete_index_errors(names)

    def store_indexes(self, definitions):
        return self.inner.store_indexes(definitions)

    def build_indexes(self, stopped=None):
        return self.inner.build_indexes(stopped)

    def set_index_options(self, names, lock_mode=None, priority=None):
        self.inner.set_index_options(names, lock_mode, priority)

    def index_has_changed(self, definition):
        return self.inner.index_has_changed(definition)

    def set_indexing_running(self, running, name=None):
        self.inner.set_indexing_running(running, name)

    def set_index_enabled(self, name, enabled):
        self.inner.set_index_enabled(name, enabled)

    def index_terms(self, name, field, from_value=None, page_size=1024):
        return self.inner.index_terms(name, field, from_value, page_size)

    def indexing_status(self):
        return self.inner.indexing_status()

    def facets(self, query, facets):
        CALLS["facets"] += 1
        return self.inner.facets(query, facets)

    def stream_query(self, query):
        return self.inner.stream_query(query)

    def close(self):
        self.inner.close()


class WrappedBackend(Backend):
    def __init__(self, url):
        self.inner = open_backend(url[len("wrapped://"):])
        self.capabilities = dataclasses.replace(self.inner.capabilities, name="wrapped")
        self.shared = self.inner.shared
        self._lock = threading.Lock()
        self._open = {}

    def database(self, name):
        with self._lock:
            if name.lower() not in self._open:
                self._open[name.lower()] = WrappedStorage(self.inner.database(name))
            return self._open[name.lower()]

    def create_database(self, name):
        self.inner.create_database(name)

    def delete_database(self, name):
        with self._lock:
            self._open.pop(name.lower(), None)
        self.inner.delete_database(name)

    def list_databases(self):
        return self.inner.list_databases()

    def statistics(self, name):
        return self.inner.statistics(name)

    def close(self):
        self.inner.close()


register_backend("wrapped", WrappedBackend)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"wrapped backend calls: {sum(CALLS.values())}")
'''


def test_the_shipped_suite_passes_on_a_backend_registered_through_the_public_api(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "wrapped_backend.py").write_text(textwrap.dedent(PLUGIN))
    env = {**os.environ, "PYTHONPATH": str(project)}
    env.pop("CI", None)  # the suite on one URL: no built-in backend to insist on
    started = time.monotonic()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-p", "rookdb.testing", "-p", "wrapped_backend"),
            *("--pyargs", "rookdb.testing.suite"),
            *("--rookdb-url", f"wrapped://sqlite:///{tmp_path / 'data'}"),
            # The tests on the backend (their id names it: wrapped), in sync mode: the async
            # mode's sessions call the same Storage methods (from threads: a backend without
            # async I/O of its own, as this one, is not run natively), and the async session's
            # code runs on every built-in backend already; the suite's tests of no backend
            # (parsers, encoders) run in rookdb's own run and would test nothing more here.
            *("-k", "wrapped and not async"),
        ],
        cwd=project,  # a project of its own: not rookdb's configuration, conftest or tests/
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.monotonic() - started
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    passed = re.search(r"^wrapped: (\d+) passed", done.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) > 300, tail
    assert not re.search(r"\d+ (failed|error)", done.stdout), tail
    calls = re.search(r"^wrapped backend calls: (\d+)", done.stdout, re.MULTILINE)
    assert calls is not None and int(calls.group(1)) > 1000, tail  # it was used, not bypassed
    # What each test made is deleted: only directories of databases no test kept remain.
    assert list((tmp_path / "data").glob("*.rookdb")) == [], tail
    print(f"shipped suite on wrapped://sqlite: {passed.group(1)} passed in {seconds:.0f} s")


# -- register_backend and backend= refuse bad input with typed errors --------------------------


@pytest.mark.parametrize("scheme", ["", "1db", "my db", "db://", None])
def test_a_bad_scheme_is_a_configuration_error(scheme: object) -> None:
    with pytest.raises(ConfigurationError, match="scheme"):
        register_backend(scheme, open_backend)  # type: ignore[arg-type]


def test_rookdbs_own_schemes_and_a_non_callable_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="rookdb's own"):
        register_backend("sqlite", open_backend)
    with pytest.raises(ConfigurationError, match="callable"):
        register_backend("notcallable", "open")  # type: ignore[arg-type]


def test_a_scheme_taken_needs_replace_and_a_factory_must_make_a_backend(tmp_path: Path) -> None:
    def inner(url: str) -> object:
        return open_backend(f"sqlite:///{tmp_path}")

    def other(url: str) -> object:
        return "not a backend"

    register_backend("tpb-test", inner)  # type: ignore[arg-type]
    register_backend("tpb-test", inner)  # type: ignore[arg-type]  # the same again: nothing
    with pytest.raises(ConfigurationError, match="already registered"):
        register_backend("tpb-test", other)  # type: ignore[arg-type]
    with DocumentStore(urls="TPB-Test://anything") as store, store.open_session() as session:
        session.store({"a": 1}, "docs/1")
        session.save_changes()
    register_backend("tpb-test", other, replace=True)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"not a rookdb\.storage\.base\.Backend"):
        DocumentStore(urls="tpb-test://anything").initialize()


class _Closing(MiddlewareBackend):
    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def test_an_injected_backend_is_the_stores_and_closed_with_it(tmp_path: Path) -> None:
    backend = _Closing(open_backend(f"sqlite:///{tmp_path}"))
    with pytest.raises(ConfigurationError, match="not both"):
        DocumentStore(urls=f"sqlite:///{tmp_path}", backend=backend)
    with pytest.raises(ConfigurationError, match="Backend"):
        DocumentStore(backend="sqlite:///x")  # type: ignore[arg-type]
    with DocumentStore(backend=backend, database="Given") as store:
        assert store.backend is backend and store.urls == []
        with store.open_session() as session:
            session.store({"a": 1}, "docs/1")
            session.save_changes()
    assert backend.closed  # as a backend the store opened itself
    shared = _Closing(open_backend("memory://tpb-shared"))
    assert shared.shared
    DocumentStore(backend=shared).close()
    assert not shared.closed  # other stores use it: its maker closes it
    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="given") as again:
        assert again.open_session().load("docs/1") == {"a": 1}


def test_a_backend_importing_the_values_from_records_gets_the_ones_rookdb_uses() -> None:
    """``rookdb.storage.records`` held every value of the interface before the commands and the
    statistics moved out (``docs/extend.md``): a backend importing them from there still gets
    the very classes the session sends and the suite checks, not copies."""
    from rookdb.storage import commands, records, statistics

    moved = [*commands.__all__, *statistics.__all__]
    assert set(moved) <= set(records.__all__)
    for name in commands.__all__:
        assert getattr(records, name) is getattr(commands, name), name
    for name in statistics.__all__:
        assert getattr(records, name) is getattr(statistics, name), name

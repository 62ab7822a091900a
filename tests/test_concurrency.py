"""Processes sharing a database (the rest of the concurrency tests are in the shipped suite,
``rookdb.testing.suite.test_concurrency``)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.testing.suite.test_concurrency import _save
from tests.test_reliability import _increment


@pytest.mark.rookdb_requires("multi_process")
def test_processes_share_a_database(store_url: str, tmp_path: Path) -> None:
    """Fresh interpreters (spawn, not fork) share one database (a SQLite directory, or a
    PostgreSQL schema); the reliability suite has the same worker at scale, under fork."""
    with DocumentStore(urls=store_url) as store:
        _save(store, {"value": 0}, "counters/1")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_increment, args=(store_url, 25, True, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with DocumentStore(urls=store_url) as store, store.open_session() as session:
        assert session.load("counters/1")["value"] == 75  # no lost update

"""Reliability of patches (issue 15), with figures: processes incrementing one field through
patches never lose an increment, with no optimistic concurrency and no retry, because a patch
reads and writes its document inside the batch's transaction (``rookdb.storage.patching``).
The negative control is ``test_reliability``'s: the same increments done read-modify-write in
the session lose updates."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any

import pytest

from rookdb import DocumentStore, PatchCommand, PatchRequest, SessionOptions

FULL = os.environ.get("ROOKDB_FULL") == "1"
PROCESSES = 4
INCREMENTS = 250 if FULL else 40  # per process

Report = Callable[[str], None]
_fork = multiprocessing.get_context("fork")


def _increment(url: str, times: int, worker: int) -> None:
    with DocumentStore(urls=url) as store:
        for i in range(times):
            with store.open_session() as session:
                if (i + worker) % 2:  # typed, applied in Python
                    session.advanced.increment("counters/1", "value", 1)
                else:  # a script, run by the engine
                    request = PatchRequest("this.value += args.by;", {"by": 1})
                    session.advanced.defer(PatchCommand("counters/1", request))
                session.save_changes()


@pytest.mark.rookdb_requires("multi_process")
def test_concurrent_patch_increments_lose_nothing(store_url: str, report: Report) -> None:
    with DocumentStore(urls=store_url) as store, store.open_session() as session:
        session.store({"value": 0}, "counters/1")
        session.save_changes()
    workers = [
        _fork.Process(target=_increment, args=(store_url, INCREMENTS, w)) for w in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0, f"a worker failed with exit code {worker.exitcode}"
    options: Any = SessionOptions(no_tracking=True)
    with DocumentStore(urls=store_url) as store, store.open_session(session_options=options) as s:
        final = s.load("counters/1")["value"]
    expected = PROCESSES * INCREMENTS
    report(
        f"patch increments ({store_url.split(':', 1)[0]}): {PROCESSES} processes x {INCREMENTS} "
        f"increments (typed and script patches, no retries), {expected - final} lost"
    )
    assert final == expected

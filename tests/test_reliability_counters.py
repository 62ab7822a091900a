"""Reliability of counters (issue 15), with figures: processes incrementing one counter never
lose an increment, with no optimistic concurrency and no retry, because storage adds
(``value = value + delta`` in SQL, in the batch's transaction: ``storage.relational.counters``).
Each increment is a batch of its own, so the figure is also the cost of a small counter batch
under contention. The negative control is ``test_reliability``'s: read-modify-write in the
session loses updates."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable

import pytest

from rookdb import DocumentStore
from rookdb.storage.commands import CounterOperation, CountersCommand

FULL = os.environ.get("ROOKDB_FULL") == "1"
PROCESSES = 4
INCREMENTS = 250 if FULL else 50  # per process

Report = Callable[[str], None]
_fork = multiprocessing.get_context("fork")


def _increment(url: str, times: int) -> None:
    with DocumentStore(urls=url) as store:
        storage = store._storage(store.database)
        for i in range(times):
            # Deltas of 1 and 2 (and one of another counter in the same batch): the sum
            # checks that every delta landed once.
            operations = [CounterOperation("Increment", "hits", 1 + i % 2)]
            if i % 5 == 0:
                operations.append(CounterOperation("Increment", "other", 1))
            storage.apply([CountersCommand("pages/1", tuple(operations))])


@pytest.mark.rookdb_requires("multi_process", "counters")
def test_concurrent_counter_increments_lose_nothing(store_url: str, report: Report) -> None:
    with DocumentStore(urls=store_url) as store, store.open_session() as session:
        session.store({"title": "home"}, "pages/1")
        session.save_changes()
    workers = [
        _fork.Process(target=_increment, args=(store_url, INCREMENTS)) for _ in range(PROCESSES)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0, f"a worker failed with exit code {worker.exitcode}"
    elapsed = time.perf_counter() - started
    with DocumentStore(urls=store_url) as store:
        storage = store._storage(store.database)
        counters = storage.get_counters("pages/1")
        record = storage.get(["pages/1"]).documents["pages/1"]
    expected = PROCESSES * sum(1 + i % 2 for i in range(INCREMENTS))
    others = PROCESSES * len(range(0, INCREMENTS, 5))
    report(
        f"counter increments ({store_url.split(':', 1)[0]}): {PROCESSES} processes x "
        f"{INCREMENTS} increments of one counter (a batch each, no retries) in "
        f"{elapsed:.1f} s, {expected - counters['hits']} lost"
    )
    assert counters == {"hits": expected, "other": others}
    assert b'"@counters":["hits","other"]' in record.data

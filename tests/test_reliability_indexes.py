"""Reliability of user-defined indexes (issue 16), with figures: processes writing orders at
once (new orders, orders moved from one company to another, deletes) leave a map-reduce
index's counts and totals exactly those of the documents, and a query right after each
``save_changes()`` sees that writer's order, because entries and reduce results are written
in the batch's transaction and each touched group is reduced again from every entry committed
before it (``rookdb.storage.relational.index_maintenance``)."""

from __future__ import annotations

import multiprocessing
import os
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from rookdb import DocumentStore, SessionOptions
from rookdb.indexes import AbstractIndexCreationTask

FULL = os.environ.get("ROOKDB_FULL") == "1"
PROCESSES = 4
WRITES = 200 if FULL else 40  # per process

Report = Callable[[str], None]
_fork = multiprocessing.get_context("fork")
_COMPANIES = "abcdef"


class Orders_ByCompany(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from o in docs.Orders select new { o.Company, Count = 1, o.Total }"
        self.reduce = (
            "from r in results group r by r.Company into g select new "
            "{ Company = g.Key, Count = g.Sum(x => x.Count), Total = g.Sum(x => x.Total) }"
        )


class Orders_ByWriter(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from o in docs.Orders select new { o.Writer, o.Step }"


def _write(url: str, writes: int, worker: int, stale: Any) -> None:
    rng = random.Random(worker)
    with DocumentStore(urls=url) as store:
        for step in range(writes):
            document_id = f"orders/{worker}-{rng.randrange(10)}"
            with store.open_session() as session:
                if rng.random() < 0.2:
                    session.delete(document_id)
                else:
                    order = {
                        "Company": rng.choice(_COMPANIES),
                        "Total": rng.randrange(100),
                        "Writer": worker,
                        "Step": step,
                        "@metadata": {"@collection": "Orders"},
                    }
                    session.store(order, document_id)
                session.save_changes()
                if not session.advanced.is_loaded(document_id):
                    continue
            with store.open_session() as session:  # never stale: this write is in the index
                query = session.query_index("Orders/ByWriter").where_equals("Step", step)
                if not list(query.where_equals("Writer", worker)):
                    with stale.get_lock():
                        stale.value += 1


@pytest.mark.rookdb_requires("multi_process", "indexes")
def test_concurrent_writers_leave_exact_reduce_results(store_url: str, report: Report) -> None:
    with DocumentStore(urls=store_url) as store:
        store.execute_indexes([Orders_ByCompany(), Orders_ByWriter()])
    stale = _fork.Value("i", 0)
    workers = [
        _fork.Process(target=_write, args=(store_url, WRITES, w, stale)) for w in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0, f"a worker failed with exit code {worker.exitcode}"
    options: Any = SessionOptions(no_tracking=True)
    with DocumentStore(urls=store_url) as store, store.open_session(session_options=options) as s:
        expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for order in s.query(collection_name="Orders"):
            expected[order["Company"]][0] += 1
            expected[order["Company"]][1] += order["Total"]
        found = {r["Company"]: [r["Count"], r["Total"]] for r in s.query_index("Orders/ByCompany")}
    wrong = sum(1 for c in set(expected) | set(found) if expected.get(c) != found.get(c))
    report(
        f"map-reduce under concurrent writers ({store_url.split(':', 1)[0]}): {PROCESSES} "
        f"processes x {WRITES} writes (puts moving orders between groups, deletes): "
        f"{wrong} groups wrong, {stale.value} reads after a write that missed it"
    )
    assert found == dict(expected)
    assert stale.value == 0

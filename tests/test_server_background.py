"""The server's background operations (``rookdb.server.background``): a few workers, states
from InProgress to Completed or Faulted (typed), and a by-query operation killed between its
batches (issue 15)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from rookdb import DocumentStore
from rookdb.by_query import CHUNK, delete_by_query
from rookdb.errors import InvalidOperationError, QueryError, StorageError
from rookdb.server.background import Background
from rookdb.server.bulk_insert import Operations
from rookdb.server.indexes import IndexBuilds
from rookdb.storage.commands import PutCommand


def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_operations_wait_for_a_worker_and_end_completed_or_faulted() -> None:
    operations, background = Operations(), Background(workers=1)
    release = threading.Event()

    def blocked(killed: Callable[[], bool]) -> int:
        release.wait(10)
        return 7

    def query_error(killed: Callable[[], bool]) -> int:
        raise QueryError("no such field", position=3)

    def bug(killed: Callable[[], bool]) -> int:
        raise KeyError("oops")

    first, second, third = (operations.start(operations.next_id()) for _ in range(3))
    try:
        background.start(first, blocked)
        background.start(second, query_error)
        background.start(third, bug)
        time.sleep(0.1)
        # One worker: the others wait their turn, InProgress.
        assert [s.status for s in (first, second, third)] == ["InProgress"] * 3
        release.set()
        _wait(lambda: third.status != "InProgress")
    finally:
        release.set()
        background.close()
    assert (first.status, first.written) == ("Completed", 7)
    assert second.status == "Faulted" and second.error is not None
    assert second.error["RookdbError"] == "QueryError" and second.error["StatusCode"] == 400
    assert third.status == "Faulted" and third.error is not None  # a bug: typed, logged
    assert third.error["StatusCode"] == 500 and "oops" in third.error["Message"]


def test_a_bug_is_faulted_with_its_type_and_the_head_of_its_message() -> None:
    operations, background = Operations(), Background(workers=1)

    def bug(killed: Callable[[], bool]) -> int:
        raise RuntimeError("no good: " + "x" * 100_000)

    state = operations.start(operations.next_id())
    try:
        background.start(state, bug)
        _wait(lambda: state.status != "InProgress")
    finally:
        background.close()
    assert state.error is not None
    message = state.error["Message"]
    # Its type and the head of its message, not a repr cut in the middle, nor 100,000 x's.
    assert message.startswith("the operation failed: RuntimeError: no good: xxx"), message[:200]
    assert message.endswith("... (100,023 characters)") and len(message) < 600, message[:600]


def test_a_killed_by_query_operation_stops_before_its_next_batch() -> None:
    with DocumentStore(urls="memory://") as store:
        storage = store._storage(store.database)
        data = orjson.dumps({"@metadata": {"@collection": "Users"}})
        storage.apply([PutCommand(f"users/{i}", "Users", data) for i in range(CHUNK + 5)])
        batches = iter([False, True])  # the first batch goes, then the operation is killed
        with pytest.raises(InvalidOperationError, match="killed after 1,000 of 1,005"):
            delete_by_query(storage, "from Users", None, lambda: next(batches))
        assert len(storage.get_prefix("users/", 0, 10_000)) == 5  # the first batch stays


def test_close_kills_running_operations_and_waits_for_them() -> None:
    """As the server stops (``rookdb.server.run``): a running operation is told it is killed
    and is waited for, so that the storage it writes closes after it; queued ones are
    dropped."""
    operations, background = Operations(), Background(workers=1)
    started = threading.Event()
    batches: list[int] = []

    def long_running(killed: Callable[[], bool]) -> int:
        started.set()
        while not killed():  # a batch at a time, as a by-query operation
            batches.append(1)
            time.sleep(0.01)
            assert len(batches) < 1000, "never told it was killed"
        return len(batches)

    ran_queued = threading.Event()

    def queued_work(killed: Callable[[], bool]) -> int:
        ran_queued.set()
        return 0

    running, queued = (operations.start(operations.next_id()) for _ in range(2))
    background.start(running, long_running)
    background.start(queued, queued_work)
    assert started.wait(10)
    background.close()
    assert running.killed and running.status == "Completed"  # it ended before close returned
    assert running.written == len(batches) >= 1
    assert not ran_queued.is_set() and queued.status == "InProgress"  # dropped, never run


class _ClosedUnderTheBuild:
    """A backend whose database was deleted (``listed``: False) or not while its indexes were
    being built: the build meets the closed storage."""

    def __init__(self, listed: bool) -> None:
        self.listed = listed

    def database(self, name: str) -> Any:
        class Closed:
            def build_indexes(self, killed: Callable[[], bool]) -> int:
                raise StorageError("the storage is closed")

        return Closed()

    def list_databases(self) -> list[str]:
        return ["Db"] if self.listed else []


def test_a_build_stopped_by_its_database_deleted_is_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Deleting a database ends its index build (the storage closes under it): logged at
    INFO, not as the ERROR (with a traceback) that stands for a bug; a build that fails on a
    database still there is one."""
    background = Background(workers=1)
    builds = IndexBuilds(background)
    try:
        with caplog.at_level(logging.INFO, logger="rookdb.server"):
            builds.start(_ClosedUnderTheBuild(listed=False), "db")  # type: ignore[arg-type]
            _wait(lambda: "deleted" in caplog.text)
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
            builds.start(_ClosedUnderTheBuild(listed=True), "db")  # type: ignore[arg-type]
            _wait(lambda: any(r.levelno >= logging.ERROR for r in caplog.records))
    finally:
        background.close()

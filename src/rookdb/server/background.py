"""Operations the server runs after it has answered, as RavenDB runs its by-query operations.

``PATCH`` / ``DELETE /queries`` answer at once with the operation's id; the work runs on one
of a few worker threads of the server (``WORKERS``: a burst of operations waits its turn
rather than taking every core from the requests), its state ``InProgress`` until it ends
``Completed`` (with its result) or ``Faulted`` (with the error, typed as any answer's:
``Type``, ``Message``, ``RookdbError``, and its ``StatusCode``). RavenDB's client polls
``/operations/state`` for it (``wait_for_completion``). An operation killed
(``/operations/kill``) stops before its next batch of writes and is ``Faulted`` with
``InvalidOperationError``; the batches before it stay written, as RavenDB's do.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from rookdb import protocol
from rookdb.errors import RookError

__all__ = ["WORKERS", "Background", "State"]

log = logging.getLogger("rookdb.server")

#: Worker threads for background operations, per server.
WORKERS = 2
#: The most characters of a failed operation's ``Type: message`` its state carries.
_BUG_MESSAGE = 400


class State(Protocol):
    """An operation's state as ``/operations/state`` answers it (``bulk_insert.Operations``)."""

    status: str
    error: dict[str, Any] | None
    killed: bool
    written: int


class Background:
    """The server's background operations: ``start`` queues one, a worker runs it."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._running: set[State] = set()  # started and not ended: what close() stops

    def start(self, state: State, work: Callable[[Callable[[], bool]], int]) -> None:
        """Run ``work(killed)`` on a worker (``killed()``: whether the operation was killed,
        for it to check between batches); ``state`` follows it: ``Completed`` with the count
        it answers as ``written``, or ``Faulted``."""
        with self._lock:
            if self._pool is None:  # the first operation: no threads for a server with none
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self._workers, thread_name_prefix="rookdb-operation"
                )
            self._running.add(state)
            self._pool.submit(self._run, state, work)

    def _run(self, state: State, work: Callable[[Callable[[], bool]], int]) -> None:
        try:
            _run(state, work)
        finally:
            with self._lock:
                self._running.discard(state)

    def close(self) -> None:
        """Stop, as the server stops: queued operations are dropped, running ones are
        killed (they stop before their next batch, as by ``/operations/kill``) and waited
        for, so that the storage they write is closed after them."""
        with self._lock:
            pool, self._pool = self._pool, None
            for state in self._running:
                state.killed = True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _run(state: State, work: Callable[[Callable[[], bool]], int]) -> None:
    try:
        written = work(lambda: state.killed)
    except RookError as exc:
        state.error = {**protocol.error_body(exc), "StatusCode": protocol.error_status(exc)}
        state.status = "Faulted"
    except Exception as exc:  # a bug: the operation fails, the worker and the server go on
        log.exception("a background operation failed")
        state.error = {
            **protocol.raven_error("RavenException", f"the operation failed: {_described(exc)}"),
            "StatusCode": 500,
        }
        state.status = "Faulted"
    else:
        state.written = written
        state.status = "Completed"


def _described(exc: Exception) -> str:
    """``Type: message`` of an operation's unexpected failure (logged whole), its head only
    past ``_BUG_MESSAGE`` characters: what an answer says of it, not a repr cut in the middle."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # its __str__ fails too
        text = type(exc).__name__
    if len(text) <= _BUG_MESSAGE:
        return text
    return f"{text[:_BUG_MESSAGE]}... ({len(text):,} characters)"

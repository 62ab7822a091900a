"""The async session against the sync one (issue 17): ``python -m bench.async_sessions --n 2000``
(``make bench-async``).

N sessions, each loading one document, changing one field and saving it, on one store:

- ``sync, 16 threads``: the sync session in 16 threads (a ``ThreadPoolExecutor``), the way a
  threaded web server would use rookdb; the baseline of the ratios;
- ``async, 1 task`` and ``async, 16 tasks``: async sessions on one event loop, one after the
  other or 16 at a time, on the backend's native async I/O where it has it (PostgreSQL, the
  http backend; ``rookdb.storage.bridge``; asked for with ``conventions.async_native_io =
  True``, the default being threads there today) and its threads otherwise (SQLite);
- ``async in threads, 16 tasks``: the same with the native I/O turned off (every call in the
  storage's worker threads, ``AsyncStorage``), where the backend has native I/O.

For each async run, the longest the event loop was blocked: a heartbeat task sleeps 1 ms at a
time and records how late it wakes (asyncio's own latency included). Backends: a SQLite file
(WAL, synchronous=FULL), PostgreSQL (``$ROOKDB_BENCH_POSTGRES_URL``), and with ``--http`` a
``rookdb serve`` process on loopback (over SQLite). Times are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import platform
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.data import documents, ids
from bench.places import Place
from bench.rook import Rook
from rookdb import DocumentStore
from rookdb.testing.backends import start_server

TASKS = 16
HEARTBEAT_S = 0.001
#: The values written: each save writes a new one (a value already there is no change).
_values = itertools.count(1)


def change_one(store: DocumentStore, document_id: str, value: int) -> None:
    with store.open_session() as session:
        session.load(document_id)["Salary"] = value
        session.save_changes()


async def change_one_async(store: DocumentStore, document_id: str, value: int) -> None:
    async with store.open_async_session() as session:
        (await session.load(document_id))["Salary"] = value
        await session.save_changes()


def run_sync(store: DocumentStore, keys: list[str], threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda key: change_one(store, key, next(_values)), keys))
    return time.perf_counter() - started


async def _heartbeat(longest: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(HEARTBEAT_S)
        longest[0] = max(longest[0], time.perf_counter() - before - HEARTBEAT_S)


def run_async(
    loop: asyncio.AbstractEventLoop, store: DocumentStore, keys: list[str], tasks: int
) -> tuple[float, float]:
    """Seconds, and the event loop's longest blocked interval in seconds."""

    async def main() -> tuple[float, float]:
        work: Iterator[str] = iter(keys)

        async def worker() -> None:
            for document_id in work:
                await change_one_async(store, document_id, next(_values))

        longest, stop = [0.0], asyncio.Event()
        beat = asyncio.create_task(_heartbeat(longest, stop))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        elapsed = time.perf_counter() - started
        stop.set()
        await beat
        return elapsed, longest[0]

    return loop.run_until_complete(main())


def measure(rook: Rook, n: int, repeat: int) -> dict[str, Any]:
    """Each run ``repeat`` times, interleaved (the machine's load drifts), the best kept. The
    async runs share one event loop, as a server's requests do (its connections stay open)."""
    keys = ids(n)
    store = rook.store
    # Native I/O asked for (the default is the backend's faster way: threads, today).
    native_store = DocumentStore(urls=store.urls, database=rook.database)
    native_store.conventions.async_native_io = True
    native_store.initialize()
    threaded = DocumentStore(urls=store.urls, database=rook.database)
    threaded.conventions.async_native_io = False
    threaded.initialize()
    loop = asyncio.new_event_loop()
    runs: list[tuple[str, Any]] = [
        ("sync, 16 threads", lambda: (run_sync(store, keys, TASKS), None)),
        ("async, 1 task", lambda: run_async(loop, native_store, keys, 1)),
        (f"async, {TASKS} tasks", lambda: run_async(loop, native_store, keys, TASKS)),
    ]
    native = native_store.open_async_session()._storage.native
    if native:
        runs.append(
            (
                f"async in threads, {TASKS} tasks",
                lambda: run_async(loop, threaded, keys, TASKS),
            )
        )
    found: dict[str, Any] = {}
    try:
        for _ in range(repeat):
            for label, run in runs:
                result = run()
                if label not in found or result[0] < found[label][0]:
                    found[label] = result
    finally:
        native_store.close()
        threaded.close()
        loop.close()
    return found


def seeded(rook: Rook, n: int) -> DocumentStore:
    with rook.store.open_session() as session:
        for document_id, doc in zip(ids(n), documents(n), strict=True):
            session.store(doc, document_id)
        session.save_changes()
    return rook.store


def report(backend: str, n: int, results: dict[str, Any]) -> str:
    base = results["sync, 16 threads"][0]
    lines = [
        f"\n### {backend}, N = {n:,} sessions (load one, change one field, save)\n",
        "| run | seconds | sessions/s | ratio to sync in 16 threads | loop blocked at most |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, (seconds, blocked) in results.items():
        blocked_cell = "" if blocked is None else f"{blocked * 1000:.1f} ms"
        lines.append(
            f"| {label} | {seconds:.3f} | {n / seconds:,.0f} | {seconds / base:.2f}x | "
            f"{blocked_cell} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="sessions per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres", "http"], default=None
    )
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgres", "http"]
    print(f"Python {platform.python_version()}, {platform.machine()}, best of {args.repeat}")
    for backend in backends:
        server = None
        if backend == "http":
            server, url, _ = start_server(
                "--data", str(Place.fresh("sqlite").directory), "--create-databases"
            )
            rook = Rook(Place.fresh("sqlite"), url=url, database=f"bench{uuid.uuid4().hex[:8]}")
        else:
            rook = Rook(Place.fresh(backend))
        try:
            seeded(rook, args.n)
            results = measure(rook, args.n, args.repeat)
            print(report(backend, args.n, results), flush=True)
        finally:
            rook.close()
            if server is not None:
                server.terminate()
                server.wait()


if __name__ == "__main__":
    main()

"""rookdb through ``rookdb serve`` on loopback against rookdb embedded, in one run (issue 5).

``python -m bench.server --n 10000`` (``make bench-server``). Both sides are the same session
code on the same SQLite settings (WAL, synchronous=FULL): embedded opens the database file in
this process; through the server each request crosses HTTP to a ``rookdb serve`` process
started here. Times are the best of ``--repeat`` runs; ratios are server / embedded.

Then lazy operations (issue 14): N reads, half loads of one document and half queries for the
first document of a level, made one by one (N requests) or lazily and run together (one
``read_many``: one ``/multi_get`` through the server). ``--lazy-only`` runs just that table.

Then throughput with concurrent clients: 1 and 4 processes, each for ``--seconds``, doing
either loads (a session loading one random document) or saves (a session changing one random
document and saving it), against the same database embedded (the processes share the SQLite
file) and through the server.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid

from bench.data import Employee, documents, ids
from bench.places import Place
from bench.rook import Rook
from bench.run import best_of
from rookdb import DocumentStore
from rookdb.testing.backends import start_server

WORKLOADS = [
    ("W1 store N + one save", "w1_store"),
    ("W2 load N one by one", "w2_one_by_one"),
    ("W2 load N in batches of 100", "w2_batches"),
    ("W3 N tracked, 10 changed, save", "w3_change_ten"),
    ("W5 query 1%, steady state", "w5_query"),
]


def contender(side: str, server_url: str) -> Rook:
    place = Place.fresh("sqlite")
    if side == "embedded":
        return Rook(place)
    return Rook(place, url=server_url, database=f"bench{uuid.uuid4().hex[:10]}")


def run_n(n: int, repeat: int, server_url: str) -> dict[str, dict[str, float]]:
    docs = documents(n)
    results: dict[str, dict[str, float]] = {}
    for side in ("embedded", "server"):
        timings: dict[str, float] = {}
        w1 = []
        for i in range(repeat):  # W1 into an empty database each time; the last one stays
            rook = contender(side, server_url)
            prepared = rook.prepare(docs)
            start = time.perf_counter()
            rook.w1_store(prepared)
            w1.append(time.perf_counter() - start)
            if i < repeat - 1:
                rook.close()
        timings["w1_store"] = min(w1)
        rook.w5_query(n)  # the first query builds the automatic index; W5 is the steady state
        for _, method in WORKLOADS[1:]:
            timings[method] = best_of(repeat, lambda r=rook, m=method: getattr(r, m)(n))
        rook.close()
        results[side] = timings
        print(f"  N={n:>7,} {side:<8} done", file=sys.stderr)
    return results


# -- lazy operations --------------------------------------------------------------------------


def _lazy_reads(rook: Rook, n: int, lazily: bool) -> int:
    """``n`` reads in one session: loads of distinct documents and queries for a level's first
    document, alternately; one by one, or lazily and then run together."""
    all_ids = ids(n)
    with rook._session() as session:
        values: list[object] = []
        for i in range(n):
            if i % 2 == 0:
                if lazily:
                    values.append(session.advanced.lazily.load(all_ids[i], Employee))
                else:
                    values.append(session.load(all_ids[i], Employee))
            else:
                query = session.query(object_type=Employee).where_equals("level", i % 97).take(1)
                values.append(query.lazily() if lazily else query.to_list())
        if lazily:
            session.advanced.eagerly.execute_all_pending_lazy_operations()
            values = [lazy.value for lazy in values]  # type: ignore[attr-defined]
        return session.advanced.number_of_requests


def lazy_table(server_url: str, n: int, repeat: int) -> None:
    print(f"\n### Lazy operations (N = {n:,} reads: loads and queries)\n")
    print("| side | one by one (s) | lazily, together (s) | requests | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for side in ("embedded", "server"):
        rook = contender(side, server_url)
        rook.w1_store(rook.prepare(documents(n)))
        _lazy_reads(rook, n, False)  # the automatic index on level, then steady state
        one_by_one = best_of(repeat, lambda r=rook: _lazy_reads(r, n, False))
        together = best_of(repeat, lambda r=rook: _lazy_reads(r, n, True))
        requests = f"{_lazy_reads(rook, n, False):,} / {_lazy_reads(rook, n, True)}"
        rook.close()
        print(
            f"| {side} | {one_by_one:.3f} | {together:.3f} | {requests} | "
            f"{one_by_one / together:.1f}x |"
        )


# -- throughput of concurrent clients ---------------------------------------------------------


def _client(url: str, database: str, n: int, kind: str, seconds: float, seed: int) -> int:
    """One client process: sessions of one load (or one change + save) until time is up."""
    rng = random.Random(seed)
    all_ids = ids(n)
    done = 0
    with DocumentStore(urls=url, database=database) as store:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            with store.open_session() as session:
                employee = session.load(rng.choice(all_ids), Employee)
                if kind == "save":
                    employee.level = rng.randrange(1000)
                    session.save_changes()
            done += 1
    return done


def throughput(url: str, database: str, n: int, seconds: float) -> dict[str, float]:
    out = {}
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a real client
    for kind in ("load", "save"):
        for processes in (1, 4):
            with context.Pool(processes) as pool:
                args = [(url, database, n, kind, seconds, s) for s in range(processes)]
                counts = pool.starmap(_client, args)
            out[f"{kind} x{processes}"] = sum(counts) / seconds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, action="append", help="documents (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument("--lazy-only", action="store_true", help="only the lazy operations")
    args = parser.parse_args()
    sizes = args.n or [10_000]
    data = tempfile.mkdtemp(prefix="rookdb-bench-server-")
    process, url, _ = start_server("--data", data)
    try:
        header = (
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{platform.machine()}, best of {args.repeat}; server: rookdb serve on loopback"
        )
        print(header)
        if args.lazy_only:
            for n in sizes:
                lazy_table(url, n, args.repeat)
            return
        for n in sizes:
            results = run_n(n, args.repeat, url)
            embedded, served = results["embedded"], results["server"]
            print(f"\n### N = {n:,}\n")
            print("| workload | embedded (s) | server (s) | server / embedded |")
            print("|---|---:|---:|---:|")
            for label, method in WORKLOADS:
                ratio = served[method] / embedded[method]
                print(f"| {label} | {embedded[method]:.3f} | {served[method]:.3f} | {ratio:.2f}x |")
        for n in sizes:
            lazy_table(url, n, args.repeat)
        n = sizes[0]
        print(f"\n### Concurrent clients (N = {n:,}, {args.seconds:g} s per run)\n")
        print("| sessions per second | embedded (shared file) | server | server / embedded |")
        print("|---|---:|---:|---:|")
        rates: dict[str, dict[str, float]] = {}
        for side in ("embedded", "server"):
            rook = contender(side, url)
            rook.w1_store(rook.prepare(documents(n)))
            rates[side] = throughput(rook.store.urls[0], rook.database, n, args.seconds)
            rook.close()
            print(f"  throughput {side} done", file=sys.stderr)
        for key, embedded_rate in rates["embedded"].items():
            served_rate = rates["server"][key]
            kind, processes = key.split(" x")
            what = "load 1 document" if kind == "load" else "change 1 + save"
            label = f"{what}, {processes} process" + ("es" if processes != "1" else "")
            print(
                f"| {label} | {embedded_rate:,.0f} | {served_rate:,.0f} | "
                f"{served_rate / embedded_rate:.2f}x |"
            )
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()

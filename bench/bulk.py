"""Bulk insert against ``save_changes()`` and the floor (issue 14):
``python -m bench.bulk --n 10000 --n 100000 [--backend postgres]`` (``make bench-bulk``).

Loading N new documents, each contender on a fresh SQLite file (WAL, synchronous=FULL) or a
fresh PostgreSQL schema, from objects built before the clock starts:

- floor: the raw driver, every document in one ``executemany`` INSERT in one transaction
  (the floor of ``bench.run``'s W1);
- ``save_changes()``: one session, ``store`` N objects with their ids, one save (W1);
- ``bulk_insert()``: ``with store.bulk_insert() as bulk: bulk.store(obj, id=...)`` for N,
  in its default chunks (5,000 documents, one transaction each; on PostgreSQL by ``COPY``);
- on PostgreSQL, the same bulk insert with its chunks written by the batch path (``apply``, the
  array upsert ``save_changes()`` uses), as before the ``COPY`` path: the two compared in one
  run.

Times are the best of ``--repeat`` runs, the contenders taking turns in each round so that a
busy machine weighs on all of them alike; ratios are to the floor of the same run. Peak memory
(tracemalloc, one more run) shows what each holds: a session tracks every entity until its
save, a bulk insert one chunk.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sqlite3
import sys
import time
import tracemalloc
from typing import Any

from bench.data import Employee, documents, ids
from bench.floor import Floor
from bench.places import Place
from bench.rook import Rook


class RookBulk(Rook):
    name = "rookdb bulk_insert"

    def w1_store(self, employees: list[Employee]) -> None:
        with self.store.bulk_insert() as bulk:
            for document_id, employee in zip(ids(len(employees)), employees, strict=True):
                bulk.store(employee, id=document_id)


class RookBulkBatchPath(RookBulk):
    name = "bulk_insert, batch path"

    def w1_store(self, employees: list[Employee]) -> None:
        storage = self.store._storage(self.store.database)
        # For the comparison only: each chunk through apply(), as before the COPY path.
        storage.bulk_write = storage.apply  # type: ignore[method-assign]
        super().w1_store(employees)


class RookSave(Rook):
    name = "rookdb save_changes"


def _floor(backend: str) -> Any:
    if backend == "postgres":
        from bench.floor_pg import FloorPg

        return FloorPg
    return Floor


def _run(cls: Any, backend: str, docs: list[dict[str, Any]]) -> tuple[float, Any]:
    contender = cls(Place.fresh(backend))
    prepared = contender.prepare(docs)
    gc.collect()
    start = time.perf_counter()
    contender.w1_store(prepared)
    elapsed = time.perf_counter() - start
    return elapsed, contender


def measure(n: int, repeat: int, backend: str) -> dict[str, dict[str, float]]:
    docs = documents(n)
    out: dict[str, dict[str, float]] = {}
    contenders: list[Any] = [_floor(backend), RookSave, RookBulk]
    if backend == "postgres":
        contenders.append(RookBulkBatchPath)
    times: dict[Any, list[float]] = {cls: [] for cls in contenders}
    for _ in range(repeat):  # in turns: a busy machine slows every contender alike
        for cls in contenders:
            elapsed, contender = _run(cls, backend, docs)
            times[cls].append(elapsed)
            contender.close()
    for cls in contenders:
        gc.collect()
        tracemalloc.start()
        _, contender = _run(cls, backend, docs)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        contender.close()
        out[cls.name] = {"seconds": min(times[cls]), "peak_mb": peak / 2**20}
        print(f"  N={n:>7,} {cls.name:<20} done", file=sys.stderr)
    return out


def report(results: dict[int, dict[str, dict[str, float]]], backend: str, repeat: int) -> str:
    lines = [
        f"bulk insert vs save_changes, {backend}, best of {repeat} "
        f"(Python {platform.python_version()}, SQLite {sqlite3.sqlite_version})",
        "",
        "| N | contender | seconds | ratio to floor | docs/s | peak MB (with the objects) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n, by_name in results.items():
        floor = next(iter(by_name.values()))["seconds"]
        for name, row in by_name.items():
            seconds = row["seconds"]
            lines.append(
                f"| {n:,} | {name} | {seconds:.3f} | {seconds / floor:.2f}x | "
                f"{n / seconds:,.0f} | {row['peak_mb']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args(argv)
    sizes: list[int] = args.n or [10_000, 100_000]
    results = {n: measure(n, args.repeat, args.backend) for n in sizes}
    print(report(results, args.backend, args.repeat))


if __name__ == "__main__":
    main()

"""Run the benchmarks: ``python -m bench.run --n 10000 --n 100000`` (or ``make bench``).

Every workload of SPEC §10 (W1-W6), for each N, for the floor, rookdb with each entity kind
(``--kind plain --kind dataclass --kind pydantic``, default all three: ``bench.data.KINDS``) and
SQLAlchemy 2 ORM, in the same process and run. ``--backend sqlite`` (default): each on a fresh
SQLite file in WAL mode with synchronous=FULL, the floor raw sqlite3 + orjson.
``--backend postgres``: each in a fresh PostgreSQL schema, the floor raw psycopg + orjson +
JSONB. Times are the best of ``--repeat`` runs; ratios are to the floor of the same run (and
the targets are issue 18's). Memory per tracked entity comes from tracemalloc, the GC's share
of W4 from ``gc.callbacks``. Results also go to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sqlite3
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.data import KINDS, documents
from bench.floor import Floor
from bench.places import Place
from bench.rook import Rook
from bench.sqla import Sqla

CONTENDERS: list[Any] = [Floor, Rook, Sqla]
#: The floor, rookdb and SQLAlchemy of each backend.
BACKENDS: dict[str, list[Any]] = {"sqlite": CONTENDERS}


def _contenders(backend: str) -> list[Any]:
    if backend == "postgres" and backend not in BACKENDS:
        from bench.floor_pg import FloorPg

        BACKENDS["postgres"] = [FloorPg, Rook, Sqla]
    return BACKENDS[backend]


WORKLOADS = [
    ("W1 store N + one save", "w1_store"),
    ("W2 load N one by one", "w2_one_by_one"),
    ("W2 load N in batches of 100", "w2_batches"),
    ("W3 N tracked, 10 changed, save", "w3_change_ten"),
    ("W4 N tracked, nothing changed, has_changes + save", "w4_nothing_changed"),
]
#: Issue 18's targets, ratios to the floor on either backend; also: ahead of SQLAlchemy.
TARGETS = {
    "w1_store": 2.5,
    "w2_one_by_one": 2.5,
    "w2_batches": 2.5,
    "w3_change_ten": 2.0,
    "w4_nothing_changed": 2.0,
    "w5_query": 2.5,
}
#: W6: a tracking load at most this much slower than an untracked one.
W6_TARGET = 1.3


def _targets(backend: str) -> dict[str, float]:
    return TARGETS


def best_of(repeat: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _label(cls: Any, kind: str | None) -> str:
    return cls.name if kind is None else f"{cls.name} {kind}"


def _runs(backend: str, kinds: list[str]) -> list[tuple[Any, str | None]]:
    """(contender class, entity kind) in running order: rookdb once per kind."""
    floor, rook, sqla = _contenders(backend)
    return [(floor, None), *((rook, kind) for kind in kinds), (sqla, None)]


def run_n(n: int, repeat: int, backend: str, kinds: list[str]) -> dict[str, Any]:
    docs = documents(n)
    results: dict[str, dict[str, float]] = {}
    for cls, kind in _runs(backend, kinds):
        timings: dict[str, float] = {}
        # W1 on a fresh file each time; the last run leaves the data for the reads.
        w1 = []
        for _ in range(repeat):
            place = Place.fresh(backend)
            contender = cls(place) if kind is None else cls(place, kind=kind)
            prepared = contender.prepare(docs)
            gc.collect()
            start = time.perf_counter()
            contender.w1_store(prepared)
            w1.append(time.perf_counter() - start)
            if len(w1) < repeat:
                contender.close()
        timings["w1_store"] = min(w1)
        # The stored objects are the user's, not the workloads': held through W2-W6 they would
        # add N objects to every collection the garbage collector makes there, for each
        # contender alike, and hide the share that is the workload's own.
        del prepared
        for _, method in WORKLOADS[1:]:
            timings[method] = best_of(repeat, lambda c=contender, m=method: getattr(c, m)(n))
        timings.update(w5(contender, n, repeat))
        if cls is Rook:
            timings["w4_gc_share"] = gc_share(lambda c=contender: c.w4_nothing_changed(n))
            timings["w6_tracked"] = best_of(repeat, lambda c=contender: c.w6_load(n, True))
            timings["w6_untracked"] = best_of(repeat, lambda c=contender: c.w6_load(n, False))
            timings.update(memory_per_entity(contender, n))
        contender.close()
        results[_label(cls, kind)] = timings
        print(f"  N={n:>7,} {_label(cls, kind):<18} done", file=sys.stderr)
    return results


def w5(contender: Any, n: int, repeat: int) -> dict[str, float]:
    """W5: a where_equals matching 1% of N. rookdb: its scan (auto-indexes capped at 0), then
    the first query (which builds the index), then steady state. The floor: an unindexed scan,
    then a hand-made expression index (not timed) and the query."""
    out = {}
    if hasattr(contender, "w5_scan"):
        out["w5_scan"] = best_of(repeat, lambda: contender.w5_scan(n))
    if isinstance(contender, Rook):
        out["w5_first"] = best_of(1, lambda: contender.w5_query(n))
    if hasattr(contender, "w5_index"):
        contender.w5_index()
    out["w5_query"] = best_of(repeat, lambda: contender.w5_query(n))
    assert contender.w5_query(n) == n // 100
    return out


def gc_share(fn: Callable[[], Any]) -> float:
    """The share of one run of ``fn``'s wall time spent in the garbage collector."""
    spent = [0.0]
    started = [0.0]

    def callback(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]

    gc.collect()
    gc.callbacks.append(callback)
    try:
        start = time.perf_counter()
        fn()
        total = time.perf_counter() - start
    finally:
        gc.callbacks.remove(callback)
    return spent[0] / total


def memory_per_entity(rook: Rook, n: int) -> dict[str, float]:
    """Bytes per loaded entity, tracked and untracked; the difference is the session's cost."""
    out = {}
    for label, tracking in (("mem_tracked", True), ("mem_untracked", False)):
        gc.collect()
        tracemalloc.start()
        session = rook._session(no_tracking=not tracking)
        held = rook.load_batches(session, n, 1000)
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[label] = size / n
        del held
        session.close()
    return out


def _ratio(value: float, floor: float) -> str:
    return (
        f"{value:.3f} ({value / floor:.2f}x)"
        if value >= 0.01
        else (f"{value:.4f} ({value / floor:.2f}x)")
    )


def report(all_results: dict[int, dict[str, Any]], backend: str, kinds: list[str]) -> str:
    """Per N: each workload's seconds and ratio to the floor, for rookdb's entity kinds and
    SQLAlchemy; then the targets missed, per-entity costs and memory."""
    floor_cls, rook_cls, sqla_cls = _contenders(backend)
    targets = _targets(backend)
    lines = []
    for n, results in all_results.items():
        floor, sqla = results[floor_cls.name], results[sqla_cls.name]
        rooks = {kind: results[_label(rook_cls, kind)] for kind in kinds}
        lines.append(f"\n### N = {n:,}: seconds (ratio to the floor)\n")
        lines.append(
            "| workload | floor (s) | "
            + " | ".join(f"rookdb {kind}" for kind in kinds)
            + " | target | SQLAlchemy |"
        )
        lines.append("|---|---:|" + "---:|" * len(kinds) + "---|---:|")
        rows = [(label, method, method) for label, method in WORKLOADS]
        rows.append(("W5 query 1%, first (index build)", "w5_first", "w5_query"))
        rows.append(("W5 query 1%, steady state", "w5_query", "w5_query"))
        rows.append(("W5 un-indexed scan (rookdb: auto-indexes off)", "w5_scan", "w5_scan"))
        missed = []
        for label, method, floor_method in rows:
            base = floor[floor_method]
            target = targets.get(method)
            cells = []
            for kind in kinds:
                value = rooks[kind][method]
                cells.append(_ratio(value, base))
                if target is not None and value / base > target:
                    missed.append(f"{label} ({kind}: {value / base:.2f}x > {target}x)")
                if method in TARGETS and value > sqla[method]:
                    missed.append(f"{label} ({kind}: behind SQLAlchemy)")
            sqla_value = sqla.get(floor_method) if method != "w5_first" else None
            sqla_cell = "" if sqla_value is None else _ratio(sqla_value, base)
            lines.append(
                f"| {label} | {base:.4f} | "
                + " | ".join(cells)
                + f" | {'<= ' + str(target) + 'x' if target else ''} | {sqla_cell} |"
            )
        w6 = [rooks[kind]["w6_tracked"] / rooks[kind]["w6_untracked"] for kind in kinds]
        lines.append(
            "| W6 load N tracked / untracked | | "
            + " | ".join(
                f"{rooks[k]['w6_tracked']:.3f} / {rooks[k]['w6_untracked']:.3f} ({r:.2f}x)"
                for k, r in zip(kinds, w6, strict=True)
            )
            + f" | <= {W6_TARGET}x | |"
        )
        missed += [f"W6 ({k}: {r:.2f}x)" for k, r in zip(kinds, w6, strict=True) if r > W6_TARGET]
        lines.append("")
        for kind in kinds:
            rook = rooks[kind]
            lines.append(
                f"- {kind}: W3 {rook['w3_change_ten'] / n * 1e6:.2f} µs and W4 "
                f"{rook['w4_nothing_changed'] / n * 1e6:.2f} µs per tracked entity (floor "
                f"{floor['w4_nothing_changed'] / n * 1e6:.2f} µs); memory per loaded entity "
                f"{rook['mem_tracked']:.0f} B tracked, {rook['mem_untracked']:.0f} B untracked; "
                f"the GC's share of W4 {rook['w4_gc_share'] * 100:.0f}%."
            )
        lines.append(f"- SQLAlchemy W3: {sqla['w3_change_ten'] / n * 1e6:.2f} µs per entity.")
        lines.append("- missed: " + ("; ".join(missed) if missed else "none"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, action="append", help="documents (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--kind", action="append", choices=list(KINDS), help="rookdb entity kinds (repeatable)"
    )
    args = parser.parse_args()
    sizes = args.n or [10_000, 100_000]
    kinds = args.kind or list(KINDS)
    all_results = {n: run_n(n, args.repeat, args.backend, kinds) for n in sizes}
    if args.backend == "postgres":
        import psycopg

        from bench.places import POSTGRES_URL

        with psycopg.connect(POSTGRES_URL) as conn:
            engine = (
                f"PostgreSQL {conn.info.server_version // 10000} (psycopg {psycopg.__version__})"
            )
    else:
        engine = f"SQLite {sqlite3.sqlite_version}"
    header = (
        f"Python {platform.python_version()}, {engine}, {platform.machine()}, best of {args.repeat}"
    )
    print(header)
    print(report(all_results, args.backend, kinds))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}-{args.backend}.json").write_text(
        json.dumps({"header": header, "results": all_results})
    )


if __name__ == "__main__":
    main()

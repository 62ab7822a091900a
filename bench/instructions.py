"""Instructions per entity of one workload, for commits side by side: an A/B that does not move.

    python -m bench.instructions HEAD~1 HEAD --work w4_nothing_changed --kind dataclass
    python -m bench.instructions --work w6_tracked --contender floor --contender rookdb

CPU time on a shared machine moves by 5-10% from run to run (``bench.ab`` takes medians of
rounds for that); the instructions a workload executes do not. Each commit (default: the
working tree) runs the workload of ``bench.rook`` (or of the floor, ``--contender floor``) on the
bench's documents under valgrind's callgrind twice, after the same setup and two warm-up runs:
once ``--reps`` more times, once not at all. The difference over ``--reps`` x N is the count per
entity (per query for ``w5_query``), setup and interpreter start excluded. Runs use
``PYTHONHASHSEED=0``: string hashes are drawn per process, and the dict lookups of one and the
same code differed by up to ~3,000 instructions per entity between two runs without it. Where a
full garbage collection falls still moves a count by a few thousand (it walks every live
object): compare workloads of the same N, and repeat a surprising result.

``--parts`` also says where each count goes (``bench.parts``: Python bytecode, dicts,
allocation, orjson, SQLite, ...). ``--mypyc FILE`` (repeatable, paths under ``src/``) adds, for
each commit, a row of the same source with those modules compiled by mypyc (mypy's compiler,
a dev dependency): what compiling rookdb's own Python would gain, measured, not guessed.

    python -m bench.instructions --work w4_nothing_changed --contender floor --contender rookdb \
        --parts
    python -m bench.instructions --work w4_nothing_changed --mypyc rookdb/materializer.py

Needs valgrind (Debian: ``apt install valgrind``). Under it a run is ~50 times slower: the
default N is 2,000, and two runs go at a time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.parts import PARTS, by_function, parts
from bench.worktrees import ROOT, checked_out

#: The workloads: the bench's method names (``bench.rook.Rook``, ``bench.floor.Floor``), and
#: three of rookdb's alone: W6 tracked and untracked, and a change check of N clean entities.
WORKS = (
    "w1_store",
    "w2_one_by_one",
    "w2_batches",
    "w3_change_ten",
    "w4_nothing_changed",
    "w5_query",
    "w6_tracked",
    "w6_untracked",
    "has_changes",
)

# The child: one commit's rookdb (PYTHONPATH), the current tree's bench. Setup does not depend
# on how many times the workload runs (W1 makes a fresh contender for each run up front).
_CHILD = r"""
import sys
from bench.data import documents
from bench.places import Place, POSTGRES_URL

work, contender, kind, backend, n, reps, most = sys.argv[1:8]
n, reps, most = int(n), int(reps), int(most)
docs = documents(n)

def make():
    place = Place.fresh(backend)
    if contender == "floor":
        if backend == "postgres":
            from bench.floor_pg import FloorPg
            return FloorPg(place)
        from bench.floor import Floor
        return Floor(place)
    from bench.rook import Rook
    return Rook(place, kind=kind)

if work == "w1_store":
    made = [(c, c.prepare(docs)) for c in (make() for _ in range(2 + most))]
    runs = [lambda c=c, objs=objs: c.w1_store(objs) for c, objs in made]
    everyone = [c for c, _ in made]
else:
    c = make()
    everyone = [c]
    c.w1_store(c.prepare(docs))
    if work == "w5_query":
        if contender == "floor":
            c.w5_index()
        run = lambda: c.w5_query(n)
    elif work in ("w6_tracked", "w6_untracked"):
        run = lambda: c.w6_load(n, work == "w6_tracked")
    elif work == "has_changes":
        session = c._session()
        c.load_batches(session, n, 1000)
        run = session.has_changes
    else:
        run = lambda: getattr(c, work)(n)
    runs = [run] * (2 + most)
import gc
for run in runs[:2]:
    run()
gc.collect()
for run in runs[2 : 2 + reps]:
    run()
if work == "has_changes":
    session.close()
for c in everyone:  # (PostgreSQL: drops the schemas)
    c.close()
"""

_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


#: One measured run: its instructions, and by function when ``--parts`` asked for them.
Run = tuple[int, "Counter[tuple[str, str, str]] | None"]


def instructions(
    source: Path,
    work: str,
    contender: str,
    kind: str,
    backend: str,
    n: int,
    reps: tuple[int, int],
    by_part: bool = False,
) -> Run:
    """The instructions of one child run under callgrind, rookdb imported from ``source`` (a
    directory holding the ``rookdb`` package): ``reps`` is (the measured runs, the most any run
    of the comparison makes), the second for a setup all runs share."""
    env = dict(os.environ, PYTHONPATH=f"{source}{os.pathsep}{ROOT}", PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        child = [work, contender, kind, backend, str(n), str(reps[0]), str(reps[1])]
        try:
            done = subprocess.run(
                [*valgrind, sys.executable, "-c", _CHILD, *child],
                cwd=ROOT,
                env=env,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            sys.exit("bench.instructions needs valgrind (Debian: apt install valgrind)")
        if done.returncode != 0:
            sys.exit(done.stderr.decode(errors="replace")[-3000:])
        found = _TOTALS.search(out.read_bytes())
        if found is None:
            sys.exit(f"no totals in callgrind's output for {work}")
        return int(found.group(1)), by_function(out) if by_part else None


def compiled(source: Path, files: list[str], into: Path) -> Path:
    """A copy of ``source`` (holding the ``rookdb`` package) in ``into``, with ``files`` (paths
    under it) compiled by mypyc next to their sources, which Python then imports instead."""
    copy = into / "src"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "mypyc", *files], cwd=copy, capture_output=True, check=False
    )
    if done.returncode != 0:
        sys.exit("mypyc failed:\n" + done.stdout.decode(errors="replace")[-3000:])
    return copy


def _short(revision: str) -> str:
    """``revision`` as given, with its commit's short hash when that is not what was given."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", revision],
        capture_output=True,
        text=True,
        check=False,
    )
    short = done.stdout.strip()
    return revision if not short or revision.startswith(short) else f"{revision} ({short})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revisions", nargs="*", help="commits (default: the working tree)")
    parser.add_argument("--work", choices=WORKS, action="append")
    parser.add_argument("--contender", choices=["rookdb", "floor"], action="append")
    parser.add_argument("--kind", choices=["plain", "dataclass", "pydantic"], default="plain")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--parts", action="store_true", help="where the instructions go")
    parser.add_argument(
        "--mypyc",
        action="append",
        default=[],
        metavar="FILE",
        help="also measure each commit with this module compiled (a path under src/)",
    )
    args = parser.parse_args()
    works = args.work or ["w4_nothing_changed"]
    contenders = args.contender or ["rookdb"]
    for work in works:
        if work in ("w6_tracked", "w6_untracked", "has_changes") and "floor" in contenders:
            parser.error(f"{work} is rookdb's alone")
    with checked_out(args.revisions) as trees, tempfile.TemporaryDirectory() as tmp:
        names = [_short(revision) for revision in args.revisions]
        labels = [(name, tree / "src") for name, tree in zip(names, trees, strict=True)]
        if not labels:
            labels = [("working tree", ROOT / "src")]
        if args.mypyc and "rookdb" in contenders:
            labels += [
                (f"{name} + mypyc", compiled(source, args.mypyc, Path(tmp) / str(at)))
                for at, (name, source) in enumerate(labels)
            ]
        # Each row: (label, source, contender, work); each needs a run with and without its
        # reps. The floor does not import rookdb: it runs once per commit, uncompiled.
        rows = [
            (label, source, contender, work)
            for work in works
            for contender in contenders
            for label, source in labels
            if contender == "rookdb" or not label.endswith(" + mypyc")
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = {
                (row[0], row[2], row[3], reps): pool.submit(
                    instructions,
                    row[1],
                    row[3],
                    row[2],
                    args.kind,
                    args.backend,
                    args.n,
                    (reps, args.reps),
                    args.parts,
                )
                for row in rows
                for reps in (0, args.reps)
            }
            results = {key: future.result() for key, future in counts.items()}
    unit = {"w5_query": "query"}
    print(
        f"{args.backend}, {args.kind} entities, N = {args.n:,}, {args.reps} measured runs: "
        "instructions per entity (callgrind, PYTHONHASHSEED=0)\n"
    )
    print("| workload | contender | commit | instructions | ratio to the first row |")
    print("|---|---|---|---:|---:|")
    found: dict[tuple[str, str, str], dict[str, float]] = {}
    for work in works:
        first = None
        for label, _, contender, row_work in rows:
            if row_work != work:
                continue
            spent, functions = results[(label, contender, work, args.reps)]
            spent_without, functions_without = results[(label, contender, work, 0)]
            times = args.reps * (1 if work in unit else args.n)
            per = (spent - spent_without) / times
            first = first or per
            print(
                f"| {work} (per {unit.get(work, 'entity')}) | {contender} | {label} | "
                f"{per:,.0f} | {per / first:.3f} |"
            )
            if functions is not None and functions_without is not None:
                found[(work, contender, label)] = parts(functions_without, functions, times)
    if found:
        _print_parts(found)


def _print_parts(found: dict[tuple[str, str, str], dict[str, float]]) -> None:
    """A table of where each row's instructions go: a column per row, a line per part."""
    columns = list(found)
    print("\n| part | " + " | ".join(" / ".join(column) for column in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for part in PARTS:
        if all(abs(found[column][part]) < 50 for column in columns):
            continue
        cells = []
        for column in columns:
            spent = found[column][part]
            cells.append(f"{spent:,.0f} ({spent / sum(found[column].values()):.0%})")
        print(f"| {part} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

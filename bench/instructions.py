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

Needs valgrind (Debian: ``apt install valgrind``). Under it a run is ~50 times slower: the
default N is 2,000, and two runs go at a time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def instructions(
    tree: Path | None,
    work: str,
    contender: str,
    kind: str,
    backend: str,
    n: int,
    reps: tuple[int, int],
) -> int:
    """The instructions of one child run under callgrind: ``reps`` is (the measured runs, the
    most any run of the comparison makes), the second for a setup all runs share."""
    source = ROOT / "src" if tree is None else tree / "src"
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
        return int(found.group(1))


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
    args = parser.parse_args()
    works = args.work or ["w4_nothing_changed"]
    contenders = args.contender or ["rookdb"]
    for work in works:
        if work in ("w6_tracked", "w6_untracked", "has_changes") and "floor" in contenders:
            parser.error(f"{work} is rookdb's alone")
    with checked_out(args.revisions) as trees:
        names = [_short(revision) for revision in args.revisions]
        labels: list[tuple[str, Path | None]] = list(zip(names, trees, strict=True))
        if not labels:
            labels = [("working tree", None)]
        # Each row: (label, contender, work); each needs a run with and without its reps.
        rows = [
            (label, tree, contender, work)
            for work in works
            for contender in contenders
            for label, tree in labels
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
    for work in works:
        first = None
        for contender in contenders:
            for label, _ in labels:
                spent = results[(label, contender, work, args.reps)]
                spent -= results[(label, contender, work, 0)]
                per = spent / args.reps / (1 if work in unit else args.n)
                first = first or per
                print(
                    f"| {work} (per {unit.get(work, 'entity')}) | {contender} | {label} | "
                    f"{per:,.0f} | {per / first:.3f} |"
                )


if __name__ == "__main__":
    main()

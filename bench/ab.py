"""Two commits of rookdb side by side, in CPU time: did a change make the session slower?

    python -m bench.ab bc49693 HEAD --backend sqlite --rounds 6 --kind dataclass

Each commit is checked out in a temporary git worktree; the rounds run the workloads of
``bench.rook`` (N = 10,000 by default) in a fresh process per commit, alternating which goes
first. What is timed is the client process's CPU time (``time.process_time``): what a change to
rookdb's own code can move, and far steadier than wall time on a shared machine (fsync and other
processes do not count). The table gives the median of the rounds' best times and the ratio
after / before. The bench's own code and data are the current tree's, for both commits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench.worktrees import ROOT, checked_out

# The child: one commit's rookdb (PYTHONPATH), the current tree's bench data.
_CHILD = r"""
import gc, json, sys, tempfile, time, uuid
from bench.data import KINDS, documents, ids
from rookdb import DocumentStore, SessionOptions

n, kind, postgres = int(sys.argv[1]), sys.argv[2], sys.argv[3]
Employee, entity = KINDS[sys.argv[4]]
prefix = f"ab{uuid.uuid4().hex[:8]}_"
url = {
    "memory": "memory://",
    "sqlite": f"sqlite:///{tempfile.mkdtemp()}/data",
    "postgres": f"{postgres}?schema_prefix={prefix}",
}[kind]
docs, all_ids = documents(n), ids(n)

def cpu(fn, times):
    best = float("inf")
    for _ in range(times):
        gc.collect()
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best

def fresh():
    return DocumentStore(urls=url, database=f"b{uuid.uuid4().hex[:6]}").initialize()

def w1(store):
    entities = [entity(d) for d in docs]
    def run():
        with store.open_session() as session:
            for document_id, e in zip(all_ids, entities):
                session.store(e, document_id)
            session.save_changes()
    return cpu(run, 1)

out = {"W1 store N + one save": min(w1(store := fresh()) for _ in range(3))}

def load(no_tracking, size):
    session = store.open_session(session_options=SessionOptions(no_tracking=no_tracking))
    session.advanced.max_number_of_requests_per_session = 10**9
    found = []
    if size == 1:  # load(id), as bench.rook's W2 does (a list of one is load's other path)
        for document_id in all_ids:
            found.append(session.load(document_id, Employee))
        return session, found
    for at in range(0, n, size):
        found.extend(session.load(all_ids[at : at + size], Employee).values())
    return session, found

def w3():
    session, found = load(False, 1000)
    for i in range(0, n, n // 10):
        found[i].title = f"changed {time.time()}"
    session.save_changes()

def w4():
    session, _ = load(False, 1000)
    assert not session.advanced.has_changes
    session.save_changes()

def clean():
    session, _ = load(False, 1000)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        assert not session.advanced.has_changes
        best = min(best, time.process_time() - start)
    return best

def w5():
    with store.open_session() as session:
        session.query(object_type=Employee).where_equals("level", 1000).to_list()

w5()  # the automatic index is made once, outside the timing
out["W2 load N one by one"] = cpu(lambda: load(False, 1), 3)
out["W2 load N in batches of 100"] = cpu(lambda: load(False, 100), 5)
out["W3 N tracked, 10 changed, save"] = cpu(w3, 5)
out["W4 N tracked, nothing changed, save"] = cpu(w4, 5)
out["has_changes on N tracked clean entities"] = min(clean() for _ in range(3))
out["W5 query 1%, steady state"] = cpu(w5, 20)
out["W6 load N untracked"] = cpu(lambda: load(True, 1000), 5)
if kind == "postgres":
    from rookdb.storage.registry import open_backend
    backend = open_backend(url)
    backend.drop_all()
    backend.close()
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", help="a commit (what it was)")
    parser.add_argument("after", help="a commit (what it is now)")
    parser.add_argument("--backend", choices=["memory", "sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--kind", choices=["plain", "dataclass", "pydantic"], default="plain")
    args = parser.parse_args()
    from bench.places import POSTGRES_URL

    with checked_out([args.before, args.after]) as checked:
        trees = dict(zip(("before", "after"), checked, strict=True))
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for round_ in range(args.rounds):
            order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
            for label in order:
                env = dict(os.environ, PYTHONPATH=f"{trees[label] / 'src'}{os.pathsep}{ROOT}")
                done = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        _CHILD,
                        str(args.n),
                        args.backend,
                        POSTGRES_URL,
                        args.kind,
                    ],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    sys.exit(done.stderr[-3000:])
                runs[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  round {round_ + 1} of {args.rounds} done", file=sys.stderr)
    print(
        f"{args.backend}, {args.kind} entities, N = {args.n:,}, {args.rounds} rounds: "
        f"CPU milliseconds, median of the rounds' best ({args.before} -> {args.after})\n"
    )
    # Milliseconds to three places: a W5 query (under a millisecond) shows changes of 1%.
    print("| workload | before (ms) | after (ms) | after / before |")
    print("|---|---:|---:|---:|")
    for workload in runs["before"][0]:
        before = statistics.median(r[workload] for r in runs["before"])
        after = statistics.median(r[workload] for r in runs["after"])
        print(f"| {workload} | {before * 1000:.3f} | {after * 1000:.3f} | {after / before:.3f} |")


if __name__ == "__main__":
    main()

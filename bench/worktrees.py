"""Commits of rookdb checked out side by side, for the tools that compare them (``bench.ab``,
``bench.instructions``): each in a temporary git worktree, removed when the block ends."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

#: The repository's root (bench's parent): the bench's own code and data come from here.
ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def checked_out(revisions: Sequence[str]) -> Iterator[list[Path]]:
    """The source tree of each of ``revisions`` (a commit, a branch, ``HEAD~2``), in order.
    Revisions given twice are checked out once each time they are named."""
    with tempfile.TemporaryDirectory() as tmp:
        trees: list[Path] = []
        try:
            for at, revision in enumerate(revisions):
                path = Path(tmp) / f"tree{at}"
                add = ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q"]
                subprocess.run([*add, str(path), revision], check=True)
                trees.append(path)
            yield trees
        finally:
            for path in trees:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                    check=False,
                )

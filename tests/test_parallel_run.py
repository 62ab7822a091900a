"""``make test`` runs pytest in parallel (pytest-xdist): the tests run in worker processes and
the summary is printed by the controller, which runs none. What the end of a run says (the
reliability figures, the count of tests on each backend) must still reach it.

The test runs a few of rookdb's own tests in a new pytest process with two workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_summary_of_a_parallel_run_has_the_workers_figures_and_counts() -> None:
    pytest.importorskip("xdist")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-n", "2", "--rookdb-backend", "memory"),
            "tests/test_reliability.py::test_an_error_at_any_position_writes_nothing",
            "tests/test_reliability.py::test_disk_full_is_a_typed_error_and_writes_nothing",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.split("reliability figures", 1)[-1]
    assert "error injection (memory): a failure at each of" in summary, run.stdout
    assert "disk full (max_page_count)" in summary, run.stdout
    assert "memory: 1 passed" in summary, run.stdout  # the rookdb backends section

"""Installing rookdb changes no one's pytest (issue 12 §4): the plugin is opt-in.

Each test here writes a small user project in a temporary directory and runs pytest on it in a
new process, with rookdb installed as a user installs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# The most natural name for a user's own DocumentStore fixture is the one that collided.
USER_CONFTEST = """
import pytest

from rookdb import DocumentStore


@pytest.fixture
def store():
    with DocumentStore(urls="memory://") as store:
        yield store.initialize()
"""

USER_TEST = """
def test_the_app_saves_an_order(store):
    with store.open_session() as session:
        session.store({"total": 3}, "orders/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("orders/1")["total"] == 3
"""


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["CI"] = ""  # the user's machine: a missing backend may skip
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _project(tmp_path: Path, conftest: str, **tests: str) -> Path:
    project = tmp_path / "app"
    project.mkdir()
    (project / "conftest.py").write_text(textwrap.dedent(conftest))
    for name, text in tests.items():
        (project / f"{name}.py").write_text(textwrap.dedent(text))
    return project


def test_a_user_project_with_its_own_store_fixture_is_left_alone(tmp_path: Path) -> None:
    project = _project(tmp_path, USER_CONFTEST, test_app=USER_TEST)
    run = _pytest(project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert "rookdb backends" not in run.stdout  # no summary section of ours
    helped = _pytest(project, "--help")
    assert "rookdb" not in helped.stdout  # no option of ours either


def test_a_project_that_opts_in_gets_the_prefixed_fixtures(tmp_path: Path) -> None:
    conftest = USER_CONFTEST + '\npytest_plugins = ["rookdb.testing"]\n'
    on_every_backend = """
    def test_on_each_backend(rookdb_store):
        with rookdb_store.open_session() as session:
            session.store({"n": 1}, "things/1")
            session.save_changes()
        with rookdb_store.open_session() as session:
            assert session.load("things/1") == {"n": 1}
    """
    project = _project(tmp_path, conftest, test_app=USER_TEST, test_kit=on_every_backend)
    run = _pytest(project, "--rookdb-backend", "memory", "--rookdb-backend", "sqlite")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout  # the user's own test, and ours on two backends
    assert "memory: 1 passed" in run.stdout and "sqlite: 1 passed" in run.stdout


def test_the_plugin_can_be_named_for_one_run(tmp_path: Path) -> None:
    on_memory = """
    def test_kit(rookdb_store):
        assert rookdb_store.maintenance.list_databases() == []
    """
    project = _project(tmp_path, USER_CONFTEST, test_app=USER_TEST, test_kit=on_memory)
    run = _pytest(project, "-p", "rookdb.testing", "--rookdb-backend", "memory")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout

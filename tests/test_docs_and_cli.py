"""The README's code runs as written, and the ``rookdb`` command works from a shell."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rookdb.cli import main
from rookdb.testing.backends import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _readme_blocks() -> list[str]:
    return _PYTHON_BLOCK.findall((ROOT / "README.md").read_text())


@pytest.mark.parametrize("index", range(len(_readme_blocks())))
def test_readme_python_blocks_run(
    index: int, in_tmp_dir: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _readme_blocks()[index]
    postgres = BACKENDS["postgres"]
    url = None
    if "postgresql://" in code:  # the PostgreSQL example runs on the suite's PostgreSQL
        postgres.require()
        url = postgres.make_url(ROOT)
        monkeypatch.setenv("DATABASE_URL", url)
    try:
        # As a user's script runs: its own module, without this file's __future__ imports
        # (classes in it are resolved through sys.modules, as dataclasses and typing do).
        module = types.ModuleType("readme")
        monkeypatch.setitem(sys.modules, "readme", module)
        code_object = compile(code, f"README.md block {index}", "exec", dont_inherit=True)
        exec(code_object, module.__dict__)
    finally:
        if url is not None:
            postgres.clean_up(url)


def test_readme_gives_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_demo_command(in_tmp_dir: None) -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "field_changed" in result.output and "address.city" in result.output
    assert "has_changes after editing an ignored entity: False" in result.output
    assert "stored now: {'employees/a': None, 'employees/b': 'Alice'}" in result.output
    assert Path("rookdb-data/demo.rookdb").exists()
    again = CliRunner().invoke(main, ["demo"])  # repeatable
    assert again.exit_code == 0 and again.output == result.output


def test_the_installed_command_and_help(tmp_path: Path) -> None:
    env = {**os.environ, "ROOKDB_URL": f"sqlite:///{tmp_path}"}
    for args in (["--help"], ["demo", "--help"], ["--version"]):
        done = subprocess.run(
            [sys.executable, "-m", "rookdb", *args], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "rookdb", "demo"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo.rookdb").exists()


def _cli_reference() -> str:
    """docs/cli.md: the ``--help`` of ``rookdb`` and of each of its commands."""

    def help_text(command: click.Command, name: str, parent: click.Context | None) -> str:
        settings = {"terminal_width": 100, "max_content_width": 100, **command.context_settings}
        return command.get_help(click.Context(command, info_name=name, parent=parent, **settings))

    root = click.Context(main, info_name="rookdb", **main.context_settings)
    parts = [
        "# The `rookdb` command\n",
        "Generated from `--help` by `make docs`; a test fails when this file and the command "
        "disagree. Every command that works on documents takes `--url` (or `$ROOKDB_URL`) and "
        "`--database`.\n",
        f"```\n$ rookdb --help\n{help_text(main, 'rookdb', None)}\n```\n",
    ]
    for name in sorted(main.list_commands(root)):
        command = main.get_command(root, name)
        assert command is not None
        parts.append(
            f"## rookdb {name}\n\n```\n$ rookdb {name} --help\n"
            f"{help_text(command, name, root)}\n```\n"
        )
    return "\n".join(parts)


def test_the_cli_reference_is_generated_from_help() -> None:
    path = ROOT / "docs" / "cli.md"
    expected = _cli_reference()
    if os.environ.get("ROOKDB_UPDATE_DOCS") == "1":
        path.write_text(expected)
    assert path.exists(), "docs/cli.md is missing: run `make docs`"
    assert path.read_text() == expected, "docs/cli.md is out of date: run `make docs`"


def test_every_command_has_help_from_a_shell(tmp_path: Path) -> None:
    env = {**os.environ, "ROOKDB_URL": f"sqlite:///{tmp_path}"}
    for name in main.list_commands(click.Context(main)):
        done = subprocess.run(
            [sys.executable, "-m", "rookdb", name, "--help"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0 and f"Usage: rookdb {name}" in done.stdout, done.stderr


def test_the_readme_command_line_examples_run(in_tmp_dir: None) -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The command line") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    commands = [shlex.split(line.split("  #")[0]) for line in block.splitlines()]
    assert all(command[0] == "rookdb" for command in commands) and len(commands) >= 5
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0  # the examples use its data
    outputs = []
    for command in commands:
        result = CliRunner().invoke(main, command[1:])
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.output)
    assert '"last_name":"King"' in "".join(outputs)  # the query found Robert King


def test_the_license_is_the_one_pyproject_declares_and_is_packaged() -> None:
    """MIT in pyproject, the MIT text in LICENSE, and LICENSE named for the wheel and sdist
    (checked by building them once: dist-info/licenses/LICENSE and rookdb-*/LICENSE)."""
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the rookdb authors" in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## Unreleased" in changelog and "## 0.1.0" in changelog

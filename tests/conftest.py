from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def in_tmp_dir(tmp_path: os.PathLike[str]) -> Iterator[None]:
    """Run in an empty directory, so ``DocumentStore()`` uses ./rookdb-data there."""
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(old)


# -- reliability figures (SPEC §11): tests record them, the run prints them at the end --------

_FIGURES: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """Record one line of reliability figures for the end-of-run summary."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)

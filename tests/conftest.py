from __future__ import annotations

import os
from collections.abc import Iterator

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

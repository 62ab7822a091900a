"""The examples of docs/indexes.md's "Dynamic aggregation" section run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _blocks() -> list[str]:
    text = (ROOT / "docs" / "indexes.md").read_text()
    section = text.split("## Dynamic aggregation", 1)[1].split("\n## ", 1)[0]
    return _PYTHON_BLOCK.findall(section)


def test_the_section_has_examples() -> None:
    assert _blocks()


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_dynamic_aggregation_examples_run(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("indexes_doc")
    monkeypatch.setitem(sys.modules, "indexes_doc", module)
    code = compile(_blocks()[index], f"docs/indexes.md block {index}", "exec", dont_inherit=True)
    exec(code, module.__dict__)

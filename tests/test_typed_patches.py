"""The session's typed patches (rookdb.patches): applied in Python, they give the document the
script RavenDB's client would send for them gives in the engine, errors included."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import ConfigurationError, PatchError, PatchScriptError
from rookdb.patches import (
    ArrayAdd,
    ArrayRemoveAt,
    Increment,
    PatchOperation,
    SetValue,
    apply_operations,
    check_path,
    decode_operations,
    encode_operations,
    render_script,
)
from rookdb.scripting.engine import run_patch_script

DOC: dict[str, Any] = {
    "name": "Ann",
    "n": 2,
    "zero": 0,
    "address": {"city": "Oslo"},
    "tags": ["a", "b", "c"],
    "@metadata": {"@collection": "Users"},
}

SAME = [
    [SetValue("name", "Bo"), SetValue("address.city", {"x": [1, None]})],
    [Increment("n", 3), Increment("zero", 5), Increment("missing", 1.5)],
    [ArrayAdd("tags", ("d", {"k": 1})), ArrayRemoveAt("tags", 0), ArrayRemoveAt("tags", -1)],
    [ArrayRemoveAt("tags", 10), SetValue("fresh", [1, 2])],
]
FAIL = [
    [SetValue("nope.city", 1)],
    [ArrayAdd("name", (1,))],
    [ArrayRemoveAt("missing", 0)],
]


def _script(operations: list[PatchOperation]) -> dict[str, Any]:
    script, values = render_script(operations)
    return run_patch_script(script, values, DOC, lambda ids: {}).document


@pytest.mark.parametrize("operations", SAME)
def test_python_and_script_agree(operations: list[PatchOperation]) -> None:
    assert apply_operations(DOC, operations) == _script(operations)
    assert DOC["tags"] == ["a", "b", "c"]  # the input is not changed


@pytest.mark.parametrize("operations", FAIL)
def test_both_refuse(operations: list[PatchOperation]) -> None:
    with pytest.raises(PatchError):
        apply_operations(DOC, operations)
    with pytest.raises(PatchScriptError):
        _script(operations)


def test_encoding_round_trips_and_paths_are_checked() -> None:
    operations = [op for group in SAME for op in group]
    assert list(decode_operations(encode_operations(operations))) == operations
    for bad in ("", "a..b", "a b", "1a", "a[0]", None):
        with pytest.raises(ConfigurationError):
            check_path(bad)
    with pytest.raises(ConfigurationError):
        decode_operations([{"Op": "increment", "Path": "n", "Value": "1"}])

"""The session's typed patches (rookdb.patches): applied in Python, they give the document the
script RavenDB's client would send for them gives in the engine, errors included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
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
from rookdb.serialization import exact_numbers
from rookdb.serialization.entities import EntityCodec

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


def test_a_decimal_value_goes_over_the_wire_with_its_digits() -> None:
    # The session's values (``Encoder.written_value``): a number a float does not give back
    # as written is a Fragment, written so in the request's body (operations and script),
    # and read so by the server (``keep_digits``), an increment still read as a number.
    value = EntityCodec().written_value({"p": Decimal("9.50"), "q": [Decimal("1E+3"), 2.5]})
    operations = [SetValue("a", value), ArrayAdd("b", (value,)), Increment("n", 0.5)]
    script, values = render_script(operations)
    body = orjson.dumps({"Values": values, "RookdbOperations": encode_operations(operations)})
    assert body.count(b'{"p":9.50,"q":[1E+3,2.5]}') == 4
    raw = orjson.loads(body)
    kept = exact_numbers.keep_digits(body, raw)
    decoded = decode_operations(raw["RookdbOperations"], kept["RookdbOperations"])
    assert decoded[2] == Increment("n", 0.5)
    notes: exact_numbers.Notes = {}
    document = apply_operations({"b": [], "n": 1}, decoded, notes)
    assert document == {"a": raw["Values"]["val_0"], "b": [raw["Values"]["val_1"]], "n": 1.5}
    assert orjson.dumps(exact_numbers.written_back(document, notes)) == (
        b'{"b":[{"p":9.50,"q":[1E+3,2.5]}],"n":1.5,"a":{"p":9.50,"q":[1E+3,2.5]}}'
    )
    # The script a RavenDB server (or the engine) runs reads them as numbers.
    ran = run_patch_script(script, values, {"b": [], "n": 1}, lambda ids: {}).document
    assert ran["a"] == ran["b"][0] == {"p": 9.5, "q": [1000.0, 2.5]} and ran["n"] == 1.5
    # Without notes (a caller that writes no digits back): the numbers JSON reads.
    assert apply_operations({"b": []}, decoded[:1]) == {"b": [], "a": {"p": 9.5, "q": [1e3, 2.5]}}

"""The JSON rules of ``rookdb.serialization.encoding`` that guard input (issue 12 §2): how deep
a document may nest (``MAX_DEPTH``, one limit for every backend), and the strict decoding of
JSON from outside, which must never recurse."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb.errors import SerializationError
from rookdb.serialization.encoding import (
    MAX_DEPTH,
    check_depth,
    dumps,
    loads_strict,
    may_hide_invalid_values,
    nesting_depth,
    written_as_is,
)


def _nested(depth: int) -> object:
    value: object = 1
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def test_max_depth_is_within_what_orjson_writes() -> None:
    # orjson writes at most 254 levels: every document within the limit can be written.
    orjson.dumps(_nested(MAX_DEPTH))
    orjson.dumps(_nested(254))
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(_nested(255))


@pytest.mark.parametrize("depth", [0, 1, 2, 100, MAX_DEPTH])
def test_documents_up_to_max_depth_are_written(depth: int) -> None:
    value = _nested(depth)
    data = dumps(value)
    assert nesting_depth(data) == depth
    check_depth(data)
    assert orjson.loads(data) == value


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 254, 255, 1000, 1024])
def test_deeper_documents_are_a_serialization_error(depth: int) -> None:
    data = b"[" * depth + b"]" * depth
    with pytest.raises(SerializationError, match=f"at most {MAX_DEPTH}"):
        check_depth(data)
    if depth > 254:  # past what orjson writes: dumps says so in the same terms
        with pytest.raises(SerializationError, match=f"deeper than {MAX_DEPTH} levels"):
            dumps(orjson.loads(data))


def test_encoding_a_deep_tree_never_recurses() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(SerializationError):
        dumps(deep)


@pytest.mark.parametrize("depth", [1, 500, 1000, 1023])
def test_strict_decoding_never_recurses(depth: int) -> None:
    # A 65-bit integer sends the decoder down its slow, checking path, at any depth orjson reads.
    for leaf, ok in ((b"9223372036854775807", True), (b"9223372036854775808", False)):
        data = b"[" * depth + leaf + b"]" * depth
        if ok:
            loads_strict(data)
            assert nesting_depth(data) == depth
        else:
            with pytest.raises(SerializationError, match="64 bits"):
                loads_strict(data)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (b'{"a": -9223372036854775808, "b": 9223372036854775807}', True),
        (b'{"a": -9223372036854775809}', False),
        (b'{"a": 18446744073709551615}', False),  # orjson reads this one as an int
        (b'{"a": 1' + b"0" * 300 + b"}", False),  # and this one as an inexact float
        (b'{"a": "123456789012345678901234567890"}', True),  # digits in a string
        (b'{"a\\"": "x\\\\", "b": 12345678901234567890}', False),  # escapes end no string early
        (b'{"a": 1.12345678901234567890123, "b": 1e1234567890123456789}', None),  # orjson: inf
        (b'{"a": 1.12345678901234567890123, "b": 12345678901234567890.5e-3}', True),
    ],
)
def test_strict_decoding_refuses_integers_outside_64_bits(text: bytes, ok: bool | None) -> None:
    if ok:
        loads_strict(text)
    else:
        with pytest.raises(SerializationError):
            loads_strict(text)


def _as_is_by_parts(data: bytes) -> bool:
    """``written_as_is`` as the tests it stands for."""
    return not may_hide_invalid_values(data) and data.count(b"{") + data.count(b"[") <= MAX_DEPTH


@settings(max_examples=2000)
@given(st.lists(st.sampled_from([*b'nul{[]}0123456789 "aN:,', 200, 0]), max_size=400))
def test_written_as_is_is_its_parts_in_one_pass(data: list[int]) -> None:
    """The save's one test of a document's bytes (one mapping, three searches) says what
    ``may_hide_invalid_values`` and ``check_depth``'s count say, for any bytes."""
    assert written_as_is(bytes(data)) == _as_is_by_parts(bytes(data))


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":null}',
        b'{"a":"nul","b":"l"}',
        b'{"n":1234567890123456789}',
        b'{"n":123456789012345678}',
        b'{"n":"12345678901234567890"}',
        b"[" * MAX_DEPTH,
        b"[" * (MAX_DEPTH + 1),
        b"{" * 64 + b"[" * 64,
        b"{" * 64 + b"[" * 65,
        dumps(_nested(MAX_DEPTH)),
        b"{" * (MAX_DEPTH + 1),
    ],
)
def test_written_as_is_at_its_edges(data: bytes) -> None:
    assert written_as_is(data) == _as_is_by_parts(data)

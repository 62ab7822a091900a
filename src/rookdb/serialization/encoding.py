"""Canonical JSON: one encoder, one decoder and one equality for the whole of rookdb (SPEC D5).

The bytes produced here are what the session keeps as snapshots, what storage keeps and what goes
over the wire, so a loaded document's snapshot is exactly what was written. Keys keep document
order (the order the entity's fields have); there is no whitespace.

``json_equal`` is the JSON equality of SPEC S12, used by the diff, by the byte check of S5 and by
the tests: numbers are equal by value (``1 == 1.0``), booleans are not numbers, strings are not
numbers, objects compare without regard to key order.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from rookdb.errors import SerializationError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "OPTIONS",
    "check_depth",
    "dumps",
    "json_depth",
    "json_equal",
    "loads",
    "loads_strict",
    "may_hide_invalid_values",
    "may_hold_long_integers",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: The deepest a document (any JSON value rookdb stores) may nest, on every backend: each object
#: or array is a level (``{"a": [1]}`` is 2). It is the deepest orjson writes (255 levels raise),
#: so every document rookdb has written is within it and every writer refuses the same ones.
#: Readers have room to spare: SQLite's JSON functions read 1,000 levels (2,000 before 3.45),
#: PostgreSQL's jsonb more, and request bodies may nest 1,024 (orjson's parser) around it.
MAX_DEPTH = 254

# Datetimes are handed to the caller's ``default`` so that they are written in rookdb's
# fixed-width forms (``scalars``; SPEC D2), and dataclasses so that the identity property, unknown
# fields and missing attributes are handled the same way as for every other class.
OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

# orjson writes NaN and infinities as ``null`` and accepts integers up to 2**64 - 1, where
# rookdb wants an error. Bytes with neither a ``null`` nor a run of 19 digits cannot hide
# either, so only those need the slow, validating walk. Both checks are C-speed substring
# searches (after mapping every digit to "0"), far cheaper than a regex with an alternation.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def dumps(value: Any) -> bytes:
    """Encode a plain JSON tree (dicts, lists, str, int, float, bool, None) as canonical JSON
    bytes; a tree deeper than ``MAX_DEPTH`` is a ``SerializationError``. Entities go through
    ``EntityCodec.encode``, which calls orjson with ``OPTIONS``."""
    try:
        data = orjson.dumps(value, option=OPTIONS)
    except orjson.JSONEncodeError as exc:
        check_depth(value)  # orjson's own message for this says "Recursion limit reached"
        raise SerializationError(f"cannot serialize to JSON: {exc}") from exc
    check_depth(value, data)
    return data


def json_depth(value: Any, stop_past: int = MAX_DEPTH) -> int:
    """How deep ``value`` (a decoded JSON tree) nests, without recursion: 0 for a scalar, 1 for
    ``[]`` or ``{"a": 1}``. The walk stops as soon as the depth passes ``stop_past``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is dict:
            children = node.values()
        elif kind is list:
            children = node
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > stop_past:
                break
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return deepest


def check_depth(value: Any, encoded: bytes | None = None) -> None:
    """Raise ``SerializationError`` if ``value`` nests deeper than ``MAX_DEPTH``. Given its JSON
    (``encoded``), a value with few brackets in it is passed without a walk."""
    if encoded is not None and encoded.count(b"[") + encoded.count(b"{") <= MAX_DEPTH:
        return
    if json_depth(value) > MAX_DEPTH:
        raise SerializationError(f"a document nests deeper than {MAX_DEPTH} levels, the limit")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON text; malformed input raises ``SerializationError``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SerializationError(f"invalid JSON: {exc}") from exc


# In JSON already known to be valid: a string (skipped whole, so digits in it do not count), or
# an integer literal of 19 digits or more (one that may not fit in 64 bits), which is neither
# the fraction nor the exponent of a number. Captured: the integer.
_STRING_OR_LONG_INTEGER = re.compile(
    rb'"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\d.eE+-])(-?\d{19,})(?![\d.eE])'
)


def loads_strict(data: bytes) -> Any:
    """Decode JSON from outside rookdb (a request, an import file) as ``loads`` does, and also
    refuse an integer outside 64 bits, which orjson would read as an inexact float and the
    session refuses to write (SPEC D2). Either is a ``SerializationError``. Nothing here
    recurses, so input nested as deep as orjson reads (1,024 levels) is safe."""
    value = loads(data)
    # Only long digit runs matter here: orjson already refuses NaN in its input. (A test for
    # "null" too would send nearly every batch, whose ChangeVector is often null, the slow way.)
    if may_hold_long_integers(data):
        for text in _STRING_OR_LONG_INTEGER.findall(data):
            # 20 digits or more cannot fit (and may be more than int() takes): no int() then
            if text and (len(text.lstrip(b"-")) > 19 or not INT64_MIN <= int(text) <= INT64_MAX):
                raise SerializationError(
                    f"invalid number: integer outside 64 bits: {text[:30].decode()}"
                )
    return value


def may_hide_invalid_values(data: bytes) -> bool:
    """True when ``data`` might stand for a NaN/infinity or an integer outside 64 bits."""
    return b"null" in data or may_hold_long_integers(data)


def may_hold_long_integers(data: bytes) -> bool:
    """True when ``data`` has a run of 19 digits: it might hold an integer outside 64 bits."""
    return _NINETEEN_DIGITS in data.translate(_DIGITS_TO_ZERO)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality of two decoded values (SPEC S12): ``1 == 1.0``, ``True != 1``."""
    ta, tb = type(a), type(b)
    if ta is dict:
        if tb is not dict or len(a) != len(b):
            return False
        return all(key in b and json_equal(value, b[key]) for key, value in a.items())
    if ta is list:
        if tb is not list or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is bool or tb is bool:
        return ta is tb and a is b
    if ta in (int, float):
        return tb in (int, float) and a == b
    return ta is tb and a == b

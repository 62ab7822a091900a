"""Canonical JSON: one encoder, one decoder and one equality for the whole of rookdb (SPEC D5).

The bytes produced here are what the session keeps as snapshots, what storage keeps and what goes
over the wire, so a loaded document's snapshot is exactly what was written. Keys keep document
order (the order the entity's fields have); there is no whitespace.

``json_equal`` is the JSON equality of SPEC S12, used by the diff, by the byte check of S5 and by
the tests: numbers are equal by value (``1 == 1.0``), booleans are not numbers, strings are not
numbers, objects compare without regard to key order.

A document nests at most ``MAX_DEPTH`` levels of objects and arrays (the document itself is the
first). rookdb refuses to write a deeper one and to read one into a session
(``check_depth``), so every walk over a document (the entity codec, the diff, ``json_equal``)
stays far below Python's recursion limit.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import orjson

from rookdb.errors import SerializationError
from rookdb.ids import shown_id

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "MAX_MESSAGE_DEPTH",
    "OPTIONS",
    "check_depth",
    "dumps",
    "json_equal",
    "loads",
    "loads_strict",
    "may_hide_invalid_values",
    "may_hold_long_integers",
    "nesting_depth",
    "written_as_is",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: How many levels of objects and arrays a document may nest, the document itself included
#: (``{"a": {"b": [1]}}`` nests 3). MongoDB allows 100; orjson writes at most 254. Walks
#: over a document take two or three Python frames a level, so 128 levels stay far below
#: Python's recursion limit (1,000) even when called from a deep stack.
MAX_DEPTH = 128

#: How many levels the JSON of a valid request or answer may nest: a document's
#: ``MAX_DEPTH`` and the six levels a batch wraps a typed patch's value in (the batch's
#: object, its list, the command, its patch, the operations' list, the operation; a
#: document sits three deep in a batch, five in a multi_get's answer).
MAX_MESSAGE_DEPTH = MAX_DEPTH + 6

# Datetimes are handed to the caller's ``default`` so that they are written in rookdb's
# fixed-width forms (``scalars``; SPEC D2), and dataclasses so that the identity property, unknown
# fields and missing attributes are handled the same way as for every other class.
OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

# Bytes searches on hot paths are written ``data.find(needle) >= 0``, not ``needle in data``:
# on CPython 3.11, ``in`` on bytes first tries the needle as an integer (``65 in b"A"``), which
# raises and clears a TypeError, about 80 ns a search (issue 18: two per document a save
# writes). Other modules say "bytes searches" where they follow this.

# orjson writes NaN and infinities as ``null`` and accepts integers up to 2**64 - 1, where
# rookdb wants an error. Bytes with neither a ``null`` nor a run of 19 digits cannot hide
# either, so only those need the slow, validating walk. Both checks are C-speed substring
# searches (after mapping every digit to "0"), far cheaper than a regex with an alternation.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19
# ``written_as_is``'s one mapping for all three tests: every digit to "0", "[" to "{", the
# letters of "null" kept, every other byte a space. "null", a run of 19 "0" and each "{" of
# the result are exactly those of the input (only those bytes map to those letters), and the
# spaces let the substring searches skip ahead.
_WRITTEN_AS_IS = bytes(
    b if b in b"nul{" else 48 if 48 <= b <= 57 else 123 if b == 91 else 32 for b in range(256)
)


def dumps(value: Any) -> bytes:
    """Encode a plain JSON tree (dicts, lists, str, int, float, bool, None) as canonical JSON
    bytes. Entities go through ``encoders.Encoder.encode``, which calls orjson with ``OPTIONS``.
    (How deep a document may nest is ``check_depth``'s rule, applied where documents are
    written and read; orjson itself writes at most 254 levels.)"""
    try:
        return orjson.dumps(value, option=OPTIONS)
    except orjson.JSONEncodeError as exc:
        if "recursion" in str(exc).lower():  # orjson's words for nesting past 254 levels
            raise SerializationError(
                f"a document nests deeper than {MAX_DEPTH} levels, the limit"
            ) from exc
        raise SerializationError(f"cannot serialize to JSON: {exc}") from exc


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON text; malformed input raises ``SerializationError``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SerializationError(f"invalid JSON: {exc}") from exc


def _int64(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"integer outside 64 bits: {text[:30]}...")
    return value


# A JSON string (escapes included), and a JSON number: the tokens that can hold digits.
_STRING_OR_NUMBER = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')


def loads_strict(data: bytes) -> Any:
    """Decode JSON from outside rookdb (a request, an import file) as ``loads`` does, and also
    refuse an integer outside 64 bits, which orjson would read as an inexact float and the
    session refuses to write (SPEC D2). Either is a ``SerializationError``. Nothing here
    recurses, so input nested as deep as orjson reads (1,024 levels) is safe."""
    value = loads(data)
    # Only long digit runs matter here: orjson already refuses NaN in its input. (A test for
    # "null" too would send nearly every batch, whose ChangeVector is often null, the slow way.)
    if may_hold_long_integers(data):
        # The input is valid JSON (orjson read it): its numbers are the number tokens outside
        # strings. A scan, not a parse, so that no nesting (orjson allows 1,024) can recurse.
        for match in _STRING_OR_NUMBER.finditer(data):
            token = match.group()
            if len(token) >= 19 and token[0] != 34 and not any(c in token for c in b".eE"):
                try:
                    _int64(token.decode())
                except ValueError as exc:  # includes Python's own limit on digits
                    raise SerializationError(f"invalid number: {exc}") from None
    return value


_ESCAPES = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1, +1, -1, -1 as signed bytes
_STRINGS = re.compile(rb'"[^"]*"')


def nesting_depth(data: bytes) -> int:
    """How many levels of objects and arrays the JSON text ``data`` nests (a scalar: 0),
    found without parsing it or recursing: a few passes of C over the bytes."""
    if b"\\" in data:
        data = _ESCAPES.sub(b"", data)  # escapes live in strings: an escaped quote ends none
    data = data.translate(None, _NOT_STRUCTURE)  # brackets and the quotes around strings
    if b'"' in data:
        # Most strings hold no bracket and are now "": dropping every two adjacent quotes
        # removes them (or joins two strings into one, which changes nothing); a regular
        # expression removes the strings left, those holding brackets.
        data = data.replace(b'""', b"")
        if b'"' in data:
            data = _STRINGS.sub(b"", data)
    if not data:
        return 0
    return max(itertools.accumulate(memoryview(data.translate(_STEPS)).cast("b")))


def check_depth(data: bytes, document_id: str | None = None) -> None:
    """Raise ``SerializationError`` if the JSON text ``data`` (of the document ``document_id``)
    nests deeper than ``MAX_DEPTH``. Cheap for the common document, which has fewer than
    ``MAX_DEPTH`` brackets in all."""
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH:
        depth = nesting_depth(data)
        if depth > MAX_DEPTH:
            what = "a document" if document_id is None else f"document {shown_id(document_id)}"
            raise SerializationError(
                f"{what} nests {depth} levels of objects and arrays; rookdb reads and writes "
                f"at most {MAX_DEPTH}"
            )


def written_as_is(data: bytes) -> bool:
    """True when ``data`` can be written as it is, in one call for the common document:
    ``may_hide_invalid_values`` is False and ``check_depth`` has nothing to look at (at most
    ``MAX_DEPTH`` brackets). False asks for those two, in that order."""
    mapped = data.translate(_WRITTEN_AS_IS)  # one pass instead of four (see the table)
    # (``find``, not ``in``: see bytes searches, above)
    return (
        mapped.find(b"null") < 0
        and mapped.find(_NINETEEN_DIGITS) < 0
        and mapped.count(b"{") <= MAX_DEPTH
    )


def may_hide_invalid_values(data: bytes) -> bool:
    """True when ``data`` might stand for a NaN/infinity or an integer outside 64 bits."""
    return data.find(b"null") >= 0 or may_hold_long_integers(data)


def may_hold_long_integers(data: bytes) -> bool:
    """True when ``data`` has a run of 19 digits: it might hold an integer outside 64 bits."""
    return data.translate(_DIGITS_TO_ZERO).find(_NINETEEN_DIGITS) >= 0


#: The decoded JSON scalars: two of one type are JSON-equal when ``==`` says so.
_SCALARS = frozenset((str, int, float, bool, type(None)))
_ABSENT = object()


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality of two decoded values (SPEC S12): ``1 == 1.0``, ``True != 1``."""
    ta, tb = type(a), type(b)
    # Members and items of one scalar type are compared in the loops, not by a call each:
    # the change check asks this of every document whose bytes differ from its snapshot's
    # (issue 18: a float field holding a number written 9.50, read back 9.5, asks it at the
    # first check of every load; a Decimal field is read with its digits, exact_numbers).
    if ta is dict:
        if tb is not dict or len(a) != len(b):
            return False
        for key, value in a.items():
            other = b.get(key, _ABSENT)
            kind = type(value)
            if kind is type(other) and kind in _SCALARS:
                if value != other:
                    return False
            elif other is _ABSENT or not json_equal(value, other):
                return False
        return True
    if ta is list:
        if tb is not list or len(a) != len(b):
            return False
        for value, other in zip(a, b, strict=True):
            kind = type(value)
            if kind is type(other) and kind in _SCALARS:
                if value != other:
                    return False
            elif not json_equal(value, other):
                return False
        return True
    if ta is bool or tb is bool:
        return ta is tb and a is b
    if ta in (int, float):
        return tb in (int, float) and a == b
    return ta is tb and a == b

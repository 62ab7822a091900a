"""Array parameters in PostgreSQL's binary format, made a batch at a time: a put statement's,
and the key lists of reads (``key = ANY(%s)``, ``TextList``).

The put statements (``write_statements``) read six arrays of parameters (``unnest``), one
element per document. psycopg dumps a Python list in binary format element by element in
Python (a few calls per element: ~20 per document for the six arrays, and a quarter of the
client's CPU time writing 10,000 documents besides encoding them). ``text_array`` and
``bytea_array`` make the same bytes in C-level passes over the list (``map``, ``zip``,
``bytes.join``); the connection dumps them as they are (``register``, done for every
connection the pools open).

PostgreSQL's binary array (``array_send``): the number of dimensions, whether any element is
NULL, the element type, then for the one dimension its length and lower bound (1), then each
element as its length (-1: NULL) and its bytes. Text is sent as UTF-8, which is what psycopg
sends for a ``str`` on a UTF-8 connection: a list whose text cannot be written so, or holding
None, is left to psycopg (``text_array`` returns it as it is). A key list (``TextList``) is
packed when psycopg dumps it, in the connection's encoding, as psycopg sends a ``str``.
"""

from __future__ import annotations

import struct
from itertools import chain
from typing import Any

from psycopg.adapt import Buffer, Dumper
from psycopg.pq import Format

__all__ = [
    "BinaryArray",
    "TextList",
    "bytea_array",
    "null_text_array",
    "register",
    "text_array",
]

_TEXT_ARRAY_OID, _TEXT_OID = 1009, 25
_BYTEA_ARRAY_OID, _BYTEA_OID = 1001, 17
_HEADER = struct.Struct("!iiiii")  # dimensions, has NULLs, element type, length, lower bound
_LENGTH = struct.Struct("!i").pack
_NULL = _LENGTH(-1)


class BinaryArray:
    """An array parameter already in PostgreSQL's binary format (``data``)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class TextArray(BinaryArray):
    """A ``text[]``."""

    __slots__ = ()


class ByteaArray(BinaryArray):
    """A ``bytea[]``."""

    __slots__ = ()


def _packed(element_oid: int, items: list[bytes]) -> bytes:
    header = _HEADER.pack(1, 0, element_oid, len(items), 1)
    lengths = map(_LENGTH, map(len, items))
    return header + b"".join(chain.from_iterable(zip(lengths, items, strict=True)))


class TextList:
    """A ``text[]`` parameter of ``str`` values (never None), dumped in binary: the key list
    of every read of many documents (psycopg's own dumper spends a Python call and a pattern
    search per element)."""

    __slots__ = ("values",)

    def __init__(self, values: list[str]) -> None:
        self.values = values


def text_array(values: list[Any], utf8: bool) -> TextArray | list[Any]:
    """``values`` as a ``text[]`` parameter; ``values`` itself (psycopg dumps it) when the
    connection is not UTF-8, an element is not a ``str`` or cannot be encoded, or the list is
    empty."""
    if not utf8 or not values:
        return values
    try:
        encoded = list(map(str.encode, values))
    except (TypeError, UnicodeEncodeError):  # None, a lone surrogate: psycopg's to say
        return values
    return TextArray(_packed(_TEXT_OID, encoded))


def bytea_array(values: list[Any]) -> ByteaArray | list[Any]:
    """``values`` (every element ``bytes``) as a ``bytea[]`` parameter."""
    if not values or {*map(type, values)} != {bytes}:
        return values
    return ByteaArray(_packed(_BYTEA_OID, values))


def null_text_array(length: int) -> TextArray:
    """A ``text[]`` of ``length`` NULLs."""
    return TextArray(_HEADER.pack(1, 1, _TEXT_OID, length, 1) + _NULL * length)


class _TextArrayDumper(Dumper):
    format = Format.BINARY
    oid = _TEXT_ARRAY_OID

    def dump(self, obj: Any) -> Buffer:
        return obj.data  # type: ignore[no-any-return]


class _ByteaArrayDumper(Dumper):
    format = Format.BINARY
    oid = _BYTEA_ARRAY_OID

    def dump(self, obj: Any) -> Buffer:
        return obj.data  # type: ignore[no-any-return]


class _TextListDumper(Dumper):
    format = Format.BINARY
    oid = _TEXT_ARRAY_OID

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        connection = self.connection
        # The connection's Python codec name: what psycopg encodes a ``str`` parameter with.
        self._encoding = "utf-8" if connection is None else connection.info.encoding

    def dump(self, obj: Any) -> Buffer:
        values: list[str] = obj.values
        if self._encoding == "utf-8":
            encoded = list(map(str.encode, values))
        else:
            encoded = [value.encode(self._encoding) for value in values]
        return _packed(_TEXT_OID, encoded)


def register(conn: Any) -> None:
    """Let ``conn`` (a psycopg connection, sync or async) send ``BinaryArray`` and
    ``TextList`` parameters."""
    conn.adapters.register_dumper(TextArray, _TextArrayDumper)
    conn.adapters.register_dumper(ByteaArray, _ByteaArrayDumper)
    conn.adapters.register_dumper(TextList, _TextListDumper)

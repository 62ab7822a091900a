"""Typed scalar values as JSON: the one encoding of ``Decimal``, ``datetime``, ``date``,
``time`` and ``timedelta`` (SPEC D2), and the decoders that read them back.

Documents and query parameters are both written with these functions (query parameters go
through the same ``EntityCodec``), so a query compares a parameter with the very JSON a field of
the same value holds. The forms are RavenDB's, chosen so that comparing the JSON compares the
values' meaning, on every backend:

==================  =====================================  ======================================
value               stored as                              so that
==================  =====================================  ======================================
``Decimal``         a JSON number, the decimal's digits    ranges and sorting are numeric
                    (``9.50``, ``1E+3``)
aware ``datetime``  UTC, 7 fractional digits, ``Z``        text order is time order, whatever
                    (``"2024-01-01T11:30:00.0000000Z"``)   offset the value had
naive ``datetime``  7 fractional digits, no zone           text order is time order
                    (``"2024-01-01T12:00:00.0000000"``)
``date``            ``"2024-01-09"``                       text order is date order
``time``            ``"09:30:00.0000000"`` (an aware       text order is clock order (aware
                    time adds its offset, ``+01:00``)      times: for one offset)
``timedelta``       seconds, a JSON number                 ranges are numeric
==================  =====================================  ======================================

(``UUID`` values are written as lowercase hyphenated text and enums as their value, by orjson.)
Aware datetimes are written in UTC, so they load back equal (``==``) in UTC, not in the offset
they had. An aware and a naive datetime never compare meaningfully, in Python or in a query.

A JSON number is read back as a 64-bit float (or a 64-bit integer), by orjson and SQLite alike,
so a ``Decimal`` is written only when that reading gives it back exactly: an integer within
64 bits, or a decimal a float holds (any decimal of at most 15 significant digits). Others are a
``SerializationError``, as integers outside 64 bits are, rather than a value that comes back
different or compares wrongly.

Decoders accept the older forms too: decimals as strings, datetimes and times in any
``isoformat()`` form (with their own offset, 0, 3 or 6 fractional digits), RavenDB's ``Z``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

import orjson

from rookdb.errors import SerializationError, shown
from rookdb.serialization.encoding import INT64_MAX, INT64_MIN

__all__ = [
    "NEGATIVE_ZERO",
    "decimal_text",
    "decode_date",
    "decode_datetime",
    "decode_decimal",
    "decode_time",
    "decode_timedelta",
    "decoder_for",
    "encode_date",
    "encode_datetime",
    "encode_decimal",
    "encode_time",
    "encode_timedelta",
    "encoder_for",
]


# --------------------------------------------------------------------------- writing

_UTC = dt.timezone.utc
_fromisoformat = dt.datetime.fromisoformat


#: ``Decimal("-0")``'s JSON: ``-0`` is read as the integer 0 (by orjson, SQLite, Python's
#: ``json``: its sign lost), ``-0E+0`` as the float -0.0, and it holds the decimal's sign,
#: digits and exponent, which ``exact_numbers`` reads back.
NEGATIVE_ZERO = "-0E+0"
_NEGATIVE_ZERO = orjson.Fragment(NEGATIVE_ZERO)


def decimal_text(value: decimal.Decimal) -> str:
    """A finite decimal as a JSON number holding its digits: its ``str()`` (``9.50``,
    ``1E+3``), but ``NEGATIVE_ZERO`` for ``Decimal("-0")``."""
    text = str(value)
    return NEGATIVE_ZERO if text == "-0" else text


def encode_decimal(value: decimal.Decimal) -> orjson.Fragment:
    """A JSON number holding the decimal's own digits (``Decimal("9.50")`` -> ``9.50``)."""
    if not value.is_finite():
        raise SerializationError(f"{shown(value)} is not a finite number")
    text = str(value)  # valid JSON for a finite Decimal: "1E+3", "1.5E-7", "-0" (see below)
    integral = "." not in text and "E" not in text
    # At most 19 digits before int(), which refuses texts of more than 4,300.
    if integral and len(text.lstrip("-")) <= 19 and INT64_MIN <= int(text) <= INT64_MAX:
        # Read back as an exact integer; -0 as 0, so it is written to read back signed.
        return orjson.Fragment(text) if text != "-0" else _NEGATIVE_ZERO
    if decimal.Decimal(repr(float(value))) != value:
        raise SerializationError(
            f"{shown(value)} has more digits than a JSON number keeps (a 64-bit float: 15 "
            "significant digits are always kept); store it as a str, or as an int of the "
            "smallest unit"
        )
    # An integer literal outside 64 bits would be refused by every strict reader (SPEC D2):
    # written as a fraction, it reads as the float it is.
    return orjson.Fragment(text + ".0" if integral else text)


def encode_datetime(value: dt.datetime) -> str:
    """Fixed-width ISO 8601 with 7 fractional digits: aware values in UTC with ``Z``, naive
    values without a zone."""
    if type(value) is dt.datetime:
        # The common values, naive or in ``timezone.utc`` (what ``now(timezone.utc)`` and
        # rookdb's own reads give), from ``isoformat()`` as it is: half the time of the
        # general path below, which every change check of such a field paid (issue 18).
        zone = value.tzinfo
        if zone is None:
            return value.isoformat() + ("0" if value.microsecond else ".0000000")
        if zone is _UTC:
            return value.isoformat()[:-6] + ("0Z" if value.microsecond else ".0000000Z")
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "0"
    try:
        utc = (value - offset).replace(tzinfo=None)  # the wall clock in UTC
    except OverflowError:
        raise SerializationError(f"{shown(value)} is outside the years 1-9999 in UTC") from None
    return utc.isoformat(timespec="microseconds") + "0Z"


def encode_date(value: dt.date) -> str:
    """``YYYY-MM-DD``."""
    return value.isoformat()


def encode_time(value: dt.time) -> str:
    """``HH:MM:SS.fffffff``, followed by the offset of an aware time."""
    naive = value.replace(tzinfo=None)
    text = naive.isoformat(timespec="microseconds") + "0"
    if value.utcoffset() is not None:
        text += value.isoformat()[len(naive.isoformat()) :]  # "+01:00", as Python writes it
    return text


def encode_timedelta(value: dt.timedelta) -> float:
    """Seconds, as a JSON number."""
    return value.total_seconds()


def encoder_for(cls: type) -> Callable[[Any], Any] | None:
    """How values of ``cls`` are written, for the types of this module; None for others."""
    if issubclass(cls, dt.datetime):  # before date: a datetime is a date
        return encode_datetime
    if issubclass(cls, dt.date):
        return encode_date
    if issubclass(cls, dt.time):
        return encode_time
    if issubclass(cls, dt.timedelta):
        return encode_timedelta
    if issubclass(cls, decimal.Decimal):
        return encode_decimal
    return None


# --------------------------------------------------------------------------- reading


def _isoformat(text: str) -> str:
    """An ISO 8601 text in the one form ``fromisoformat`` takes on Python 3.10: ``+00:00`` for
    ``Z``, and 6 fractional digits (RavenDB and rookdb write 7, older forms 0 to 6)."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dot = text.find(".")
    if dot == -1:
        return text
    end = dot + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    digits = text[dot + 1 : end]
    return f"{text[: dot + 1]}{digits[:6].ljust(6, '0')}{text[end:]}"


def decode_datetime(value: Any) -> Any:
    """A ``datetime`` from its text; other values are returned as they are."""
    if type(value) is str and value.find(".") == 19:
        # The forms rookdb and RavenDB write (7 fractional digits, ``Z`` when aware) cut to
        # what ``fromisoformat`` takes, as ``_isoformat`` would, without its walk (issue 18).
        size = len(value)
        if size == 27 and value[20:].isdigit():
            return _fromisoformat(value[:26])
        if size == 28 and value[27] == "Z" and value[20:27].isdigit():
            return _fromisoformat(value[:26] + "+00:00")
    return _fromisoformat(_isoformat(value)) if isinstance(value, str) else value


def decode_date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def decode_time(value: Any) -> Any:
    return dt.time.fromisoformat(_isoformat(value)) if isinstance(value, str) else value


def decode_timedelta(value: Any) -> Any:
    return dt.timedelta(seconds=value) if type(value) in (int, float) else value


def decode_decimal(value: Any) -> Any:
    """A ``Decimal`` from a JSON number or from a string (the older form). A float gives its
    shortest repr's digits: ``9.5`` for a ``9.50`` read as a float, so a field typed ``Decimal``
    is read from the number's text where the two differ (``exact_numbers``)."""
    if type(value) is float:
        return decimal.Decimal(repr(value))
    if type(value) is int or isinstance(value, str):
        return decimal.Decimal(value)
    return value


_DECODERS: dict[type, Callable[[Any], Any]] = {
    dt.datetime: decode_datetime,
    dt.date: decode_date,
    dt.time: decode_time,
    dt.timedelta: decode_timedelta,
    decimal.Decimal: decode_decimal,
}


def decoder_for(hint: type) -> Callable[[Any], Any] | None:
    """How a field annotated ``hint`` is read, for the types of this module; None for others.
    A decoder raises ``ValueError`` or ``ArithmeticError`` on a value it cannot read."""
    return _DECODERS.get(hint)

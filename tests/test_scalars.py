"""The fast paths of ``rookdb.serialization.scalars`` agree with the general rules (issue 18).

``encode_datetime`` writes naive datetimes and those in ``timezone.utc`` from ``isoformat()``
as it is, and ``decode_datetime`` reads the forms rookdb and RavenDB write without
``_isoformat``'s walk; for every value, the result (or the error) is the general path's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb.errors import SerializationError
from rookdb.serialization import scalars


def general_encode(value: dt.datetime) -> str:
    """``encode_datetime``'s rule, written out: UTC wall clock and ``Z``, or no zone."""
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "0"
    return (value - offset).replace(tzinfo=None).isoformat(timespec="microseconds") + "0Z"


def outcome(function: Any, value: Any) -> Any:
    try:
        return function(value)
    except Exception as exc:  # the same kind of error from both paths
        return type(exc)


zones = st.none() | st.just(dt.timezone.utc) | st.timezones()
datetimes = st.datetimes(timezones=zones) | st.datetimes(
    timezones=zones, min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2000, 1, 2)
).map(lambda v: v.replace(microsecond=0))


@settings(max_examples=500, deadline=None)
@given(datetimes)
def test_datetimes_are_written_by_the_general_rule(value: dt.datetime) -> None:
    assert outcome(scalars.encode_datetime, value) == outcome(general_encode, value)


@settings(max_examples=500, deadline=None)
@given(st.datetimes(timezones=zones))
def test_written_datetimes_read_back(value: dt.datetime) -> None:
    try:
        text = scalars.encode_datetime(value)
    except SerializationError:
        return  # outside the years 1-9999 in UTC
    read = scalars.decode_datetime(text)
    offset = value.utcoffset()
    if offset is None:
        assert read == value and read.tzinfo is None
    else:  # in UTC (compared as wall clocks: PEP 495 makes a time in a gap unequal to all)
        assert read.tzinfo is dt.timezone.utc
        assert read.replace(tzinfo=None) == (value - offset).replace(tzinfo=None)


# Texts near the written forms: one or two characters replaced, dropped or added.
written = st.datetimes(timezones=zones).map(general_encode)
characters = st.sampled_from("0123456789.Z+-:T ²٣")


def _edit(text: str, at: int, new: str, how: int) -> str:
    at %= len(text) + 1
    return [
        text[:at] + new + text[at + 1 :],
        text[:at] + text[at + 1 :],
        text[:at] + new + text[at:],
    ][how]


edited = st.builds(_edit, written, st.integers(0, 40), characters, st.integers(0, 2))
near = edited | st.builds(_edit, edited, st.integers(0, 40), characters, st.integers(0, 2))


@settings(max_examples=1000, deadline=None)
@given(written | near | st.text(max_size=30))
def test_datetime_texts_are_read_as_the_general_rule_reads_them(text: str) -> None:
    def general(value: str) -> Any:
        return dt.datetime.fromisoformat(scalars._isoformat(value))

    assert outcome(scalars.decode_datetime, text) == outcome(general, text)

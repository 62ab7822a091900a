"""RQL's time functions, ``now()``, ``now('<offset>')`` and ``today()``, as RavenDB evaluates
them: the query's moment in UTC, written as every aware ``datetime`` is stored (fixed-width ISO
8601, 7 fractional digits, ``Z``: ``rookdb.serialization.scalars``), so that a field holding a
datetime compares with it as text, in time order.

An offset is RavenDB's: an optional sign, then amounts with units in descending order, spaces
allowed between them: ``'+1y6mo'``, ``'-2hours30minutes'``, ``'1 year 6 months'``, ``'15d'``.
Units: ``y``/``year(s)``, ``mo``/``month(s)``, ``d``/``day(s)``, ``h``/``hour(s)``,
``m``/``min``/``minute(s)``, ``s``/``sec``/``second(s)``. Months and years keep the day of the
month, clamped to the month's last day (January 31 + 1 month is the last day of February).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from rookdb.errors import QueryError, shown
from rookdb.serialization.scalars import encode_datetime

__all__ = ["now", "today"]

_UNITS = (
    ("years", r"y|years?"),
    ("months", r"mo|months?"),
    ("days", r"d|days?"),
    ("hours", r"h|hours?"),
    ("minutes", r"m|min|minutes?"),
    ("seconds", r"s|sec|seconds?"),
)


def _component(name: str, units: str) -> str:
    # Longest unit names first, so that "min" is not read as "m" followed by "in".
    spelled = "|".join(sorted(units.split("|"), key=len, reverse=True))
    return rf"(?:(?P<{name}>\d{{1,9}})\s*(?:{spelled})\s*)?"


_OFFSET = re.compile(
    r"\s*(?P<sign>[+-])?\s*" + "".join(_component(name, units) for name, units in _UNITS),
    re.IGNORECASE,
)


def now(offset: str | None = None, moment: dt.datetime | None = None) -> str:
    """``now()``: the current UTC time (or ``moment``), moved by ``offset`` if given."""
    current = moment if moment is not None else dt.datetime.now(dt.timezone.utc)
    if offset is not None:
        current = _apply(offset, current)
    return encode_datetime(current)


def today(moment: dt.datetime | None = None) -> str:
    """``today()``: midnight (UTC) of the current day."""
    current = moment if moment is not None else dt.datetime.now(dt.timezone.utc)
    return encode_datetime(current.replace(hour=0, minute=0, second=0, microsecond=0))


def _apply(offset: str, moment: dt.datetime) -> dt.datetime:
    match = _OFFSET.fullmatch(offset) if isinstance(offset, str) else None
    amounts = {name: int(match.group(name) or 0) for name, _ in _UNITS} if match else {}
    if match is None or not any(match.group(name) is not None for name, _ in _UNITS):
        raise QueryError(
            f"invalid offset {shown(offset)} for now(): expected [+|-]N(y|mo|d|h|m|s)..., units in "
            "descending order, e.g. '+1y6mo', '-2hours30minutes', '1 year 6 months', '15d'"
        )
    sign = -1 if match.group("sign") == "-" else 1
    try:
        months = moment.month - 1 + sign * (12 * amounts["years"] + amounts["months"])
        year = moment.year + months // 12
        month = months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        moved = moment.replace(year=year, month=month, day=day)
        return moved + sign * dt.timedelta(
            days=amounts["days"],
            hours=amounts["hours"],
            minutes=amounts["minutes"],
            seconds=amounts["seconds"],
        )
    except (ValueError, OverflowError, calendar.IllegalMonthError):
        raise QueryError(f"now({shown(offset)}) is outside the years 1-9999") from None

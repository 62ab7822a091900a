"""The values a LINQ index works on and RavenDB's null semantics over them.

Values are JSON values (``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``)
and ``Grouping`` (the ``g`` of ``group ... into g``: a list with a ``Key``). RavenDB runs
index code on dynamic documents in which a missing property, and anything taken from
``null``, is a *null object* that absorbs what is done to it; rookdb does the same:

- a member of ``null`` (or a property the object does not have) is ``null``; a method
  called on ``null`` is ``null``; ``x[i]`` of ``null`` or out of range is ``null``;
- arithmetic with ``null`` is ``null``, except ``+`` with a string, which concatenates
  ``null`` as the empty string (C#'s rule);
- ``==``/``!=`` compare ``null`` as a value (``null == null``); ``<``, ``>``, ``<=``,
  ``>=`` with ``null`` are false;
- in a condition (``where``, ``?:``, ``&&``, ``||``), ``null`` is false and ``!null`` is
  true; a value that is neither a boolean nor ``null`` there is an error;
- a ``from`` over ``null`` yields nothing; aggregates skip ``null`` values (``Sum`` of none
  is 0, ``Min``/``Max``/``Average`` of none are ``null``).

Dates are ISO 8601 strings in documents; as RavenDB reads such a string as a ``DateTime``
where one is used, ``a - b`` of two of them is their ``TimeSpan`` in .NET's text form
(``[-][d.]hh:mm:ss[.fffffff]``, what RavenDB stores for one), and ``.Year``, ``.Month``,
``.Day``, ``.Hour``, ``.Minute``, ``.Second`` and ``.Date`` (midnight, in the same form) of
one are its parts (``null`` for a string that is not a date).

What no rule covers (a string divided by a number, a condition that is a number) raises
``IndexEvaluationError``: RavenDB records such an error and skips the document.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from rookdb.errors import IndexEvaluationError
from rookdb.serialization.scalars import decode_datetime, encode_datetime

__all__ = [
    "Grouping",
    "arithmetic",
    "as_datetime",
    "cast",
    "compare",
    "equal",
    "group",
    "group_hash",
    "index",
    "is_number",
    "items",
    "kind",
    "member",
    "number",
    "text",
    "timespan",
    "truth",
]


class Grouping(list[Any]):
    """One group of ``group ... by key into g``: its elements, and ``Key``."""

    def __init__(self, key: Any, elements: Iterable[Any] = ()) -> None:
        super().__init__(elements)
        self.key = key


def kind(value: Any) -> str:
    """A value's kind as an error names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    return "a list"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def truth(value: Any, what: str) -> bool:
    """A condition's value: ``true`` is true, ``false`` and ``null`` are false."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    raise IndexEvaluationError(f"{what} is {kind(value)}, not a boolean")


_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
_DATE_PARTS = ("Year", "Month", "Day", "Hour", "Minute", "Second")


def as_datetime(value: Any) -> dt.datetime | None:
    """The ``datetime`` a date string stands for (None: not one)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        parsed = decode_datetime(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dt.datetime) else None


def timespan(delta: dt.timedelta) -> str:
    """.NET's ``TimeSpan`` text (its "c" format): ``[-][d.]hh:mm:ss[.fffffff]``."""
    sign = "-" if delta < dt.timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{f'{delta.days}.' if delta.days else ''}{hours:02}:{minutes:02}:{seconds:02}"
    return text + (f".{delta.microseconds:06}0" if delta.microseconds else "")


def _date_member(value: str, name: str) -> Any:
    moment = as_datetime(value)
    if moment is None:
        return None
    if name == "Date":
        return encode_datetime(moment.replace(hour=0, minute=0, second=0, microsecond=0))
    return getattr(moment, name.lower())


def member(value: Any, name: str) -> Any:
    """``value.name`` with the null object's rules; ``Length``/``Count`` of a string or
    list is its length, ``Key`` of a group its key, the parts of a date string."""
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, Grouping) and name == "Key":
        return value.key
    if isinstance(value, str | list) and name in ("Length", "Count"):
        return len(value)
    if isinstance(value, str) and (name in _DATE_PARTS or name == "Date"):
        return _date_member(value, name)
    return None


def index(value: Any, key: Any) -> Any:
    """``value[key]``: a list by a whole number, an object by a string; else ``null``."""
    if isinstance(value, list) and is_number(key) and key == int(key):
        position = int(key)
        return value[position] if 0 <= position < len(value) else None
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key)
    if isinstance(value, str) and is_number(key) and 0 <= int(key) < len(value):
        return value[int(key)]
    return None


def text(value: Any) -> str:
    """C#'s ``ToString()`` of a JSON value, for ``+`` with a string."""
    if value is None:
        return ""
    if value is True or value is False:
        return "True" if value else "False"
    if isinstance(value, float) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    return str(value)


_INT64 = 1 << 63


def number(value: float) -> Any:
    """``value``, when a JSON document can hold it: a finite float, a 64-bit integer (C#'s
    ``long``; rookdb's JSON limit)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise IndexEvaluationError("the arithmetic made a number JSON cannot hold")
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise IndexEvaluationError("the arithmetic made an integer past 64 bits")
    return value


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``left op right`` for ``+ - * / %``: numbers (integers stay integers, ``/`` of two
    integers truncates as C#'s does), ``+`` concatenates when one side is a string."""
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        return text(left) + text(right)
    if left is None:
        return None  # RavenDB's dynamic null absorbs what is done to it
    if right is None:
        # A value on the left is no dynamic null: C#'s binder finds no operator taking a
        # null on its right, and RavenDB records an index error for the document.
        raise IndexEvaluationError(f"{kind(left)} {op} null is not defined")
    if op == "-" and isinstance(left, str) and isinstance(right, str):
        start, end = as_datetime(right), as_datetime(left)
        if start is not None and end is not None:
            if (start.tzinfo is None) != (end.tzinfo is None):  # a naive one taken as UTC
                start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
            return timespan(end - start)
    if not (is_number(left) and is_number(right)):
        raise IndexEvaluationError(f"{kind(left)} {op} {kind(right)} is not defined")
    if op == "+":
        return number(left + right)
    if op == "-":
        return number(left - right)
    if op == "*":
        return number(left * right)
    if right == 0:
        raise IndexEvaluationError(f"{op} by zero")
    both_int = isinstance(left, int) and isinstance(right, int)
    if op == "/":
        if both_int:
            quotient = abs(left) // abs(right)
            return quotient if (left < 0) == (right < 0) else -quotient
        return number(left / right)
    remainder = math.fmod(left, right)  # C#'s %: the sign of the dividend
    return int(remainder) if both_int else remainder


def _ordering(left: Any, right: Any) -> tuple[Any, Any] | None:
    if is_number(left) and is_number(right):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def equal(left: Any, right: Any) -> bool:
    """``==``: numbers by value (``1 == 1.0``), booleans only with booleans, ``null`` only
    with ``null``, strings, lists and objects by content."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right) and not (isinstance(left, list) and isinstance(right, list)):
        return False
    return bool(left == right)


def compare(op: str, left: Any, right: Any) -> bool:
    """``== != < > <= >=`` with the null rules above; ordering two values of different
    kinds (a number and a string) is an error, with ``null`` it is false."""
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    if left is None or right is None:
        return False
    pair = _ordering(left, right)
    if pair is None:
        raise IndexEvaluationError(f"{kind(left)} {op} {kind(right)} is not defined")
    a, b = pair
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def items(value: Any, what: str) -> list[Any]:
    """The elements ``from`` or a list method goes over: a list (``null``: none)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise IndexEvaluationError(f"{what} is {kind(value)}, not a list")


def group_hash(value: Any) -> Any:
    """A hashable form of a group key, equal for equal keys (objects by their members)."""
    if isinstance(value, dict):
        return ("{}", *tuple(sorted((k, group_hash(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[]", *tuple(group_hash(v) for v in value))
    if is_number(value) and value == int(value):
        return int(value)  # 1 and 1.0 are one key, as they are one value
    return value


def group(elements: Iterable[Any], key: Callable[[Any], Any]) -> list[Grouping]:
    """``GroupBy``: groups in the order their first element came."""
    groups: dict[Any, Grouping] = {}
    for element in elements:
        value = key(element)
        found = groups.get(group_hash(value))
        if found is None:
            found = groups[group_hash(value)] = Grouping(value)
        found.append(element)
    return list(groups.values())


def cast(type_name: str, value: Any) -> Any:
    """``(type)value``: numbers converted (``(int)`` truncates), ``null`` stays ``null``
    (a cast to a non-nullable type of ``null`` is null too: RavenDB's null object); other
    types leave the value as it is."""
    if value is None:
        return None
    if type_name in ("int", "long", "short", "byte", "uint", "ulong"):
        if is_number(value):
            return number(int(value))
        raise IndexEvaluationError(f"({type_name}) of {kind(value)}")
    if type_name in ("double", "float", "decimal"):
        if is_number(value):
            return float(value)
        raise IndexEvaluationError(f"({type_name}) of {kind(value)}")
    if type_name == "string":
        return value if isinstance(value, str) else text(value)
    return value

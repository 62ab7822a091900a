"""The rules for arguments that many public calls share: a class to build results as, a
callback, a flag (exact, or truthy as RavenDB's client takes it), a change vector, a list, a
wait, an instance of a class, a choice of an enum.

Each is checked where the call enters rookdb, in the step the sync and the async session both
run (``rookdb.session_loading``'s ``_plan_one``, a ``LazyOperation``'s constructor, ...), so a
wrong argument is refused before any request and before anything is queued for a save. A
refusal is an ``InvalidArgumentError`` naming the argument and showing the value cut short
(``errors.shown``: a list nested 5,000 deep or a string of 10 MB is never repeated whole).
What an argument of the right type holds (an id, a field name, a count) has its own rule
where that thing is defined (``rookdb.ids``, ``rookdb.paths``, ``query_ast.check_count``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import numbers
from collections.abc import Iterable
from typing import Any, TypeVar

from rookdb.errors import InvalidArgumentError, shown

__all__ = [
    "check_callback",
    "check_change_vector",
    "check_choice",
    "check_class",
    "check_flag",
    "check_instance",
    "check_list",
    "check_truthy",
    "check_wait",
]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


def check_class(value: Any, what: str = "object_type", *, optional: bool = True) -> Any:
    """``value`` if it is a class (or None, when ``optional``): what results are built as."""
    if isinstance(value, type) or (value is None and optional):
        return value
    raise InvalidArgumentError(f"{what} is a class{' or None' * optional}, not {shown(value)}")


def check_callback(value: T, what: str, *, optional: bool = True) -> T:
    """``value`` if it can be called (or None, when ``optional``): a callback or a handler,
    refused when given rather than when it would be called."""
    if callable(value) or (value is None and optional):
        return value
    raise InvalidArgumentError(f"{what} is a function{' or None' * optional}, not {shown(value)}")


def check_flag(value: Any, what: str) -> bool:
    """``value`` if it is a bool: a flag takes True or False, not what is true of a list
    (``what_changed(entity)`` for ``what_changed_for(entity)`` is refused, not a patch)."""
    if type(value) is not bool:
        raise InvalidArgumentError(f"{what} is True or False, not {shown(value)}")
    return value


def check_instance(value: Any, cls: type[T], what: str, *, optional: bool = False) -> T:
    """``value`` if it is a ``cls`` (or None, when ``optional``): an argument of one of
    rookdb's or RavenDB's classes (a configuration, a definition, a mode)."""
    if isinstance(value, cls) or (value is None and optional):
        return value  # type: ignore[return-value]
    raise InvalidArgumentError(
        f"{what} is a {cls.__name__}{' or None' * optional}, not {shown(value)}"
    )


def check_choice(
    kind: type[E], value: Any, what: str, *, error: type[Exception] = InvalidArgumentError
) -> E:
    """``kind(value)``: a member of the enum ``kind``, or a member's value (a str enum's
    ``"Locked"``); anything else is ``error`` naming the choices. Only a str or an int is
    looked up: ``Enum`` would show any other value whole in a message (a list 5,000 deep)."""
    if isinstance(value, kind):
        return value
    try:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise TypeError
        return kind(value)
    except (ValueError, TypeError):
        choices = ", ".join(str(member.value) for member in kind)
        raise error(f"{what} is one of {choices}, not {shown(value)}") from None


def check_truthy(value: Any, what: str, *, optional: bool = False) -> bool:
    """``bool(value)`` for a flag that mirrors RavenDB's client, which takes any truthy value:
    a bool or an int (``use_optimistic_concurrency = 1``), and None (False) when
    ``optional``; not a list, a str or another object, whose truth says nothing."""
    if isinstance(value, int) or (value is None and optional):
        return bool(value)
    raise InvalidArgumentError(
        f"{what} is True or False (or 0 or 1){' or None' * optional}, not {shown(value)}"
    )


def check_change_vector(value: Any, what: str = "change_vector") -> str | None:
    """``value`` if it can be a change vector to check against (a str), or None: no check."""
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgumentError(f"{what} is a change vector (a str) or None, not {shown(value)}")


def check_list(value: Any, what: str) -> list[Any]:
    """The items of ``value``, a list (any iterable: a dict's keys), never a str or bytes,
    whose characters would be taken for items one by one (``get_many("likes")`` is not five
    counters); the items' own rule is the caller's."""
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Iterable):
        raise InvalidArgumentError(f"{what} is a list, not {shown(value)}")
    return list(value)


def check_wait(value: Any, what: str = "timeout") -> float:
    """A wait, in seconds: a ``timedelta`` (RavenDB's client's) or a real number of seconds
    (an int, a float, a ``Decimal``, a ``Fraction``, an ``IntEnum``; not a bool), not negative
    (infinity, or a number too large for a float: no limit)."""
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (numbers.Real, decimal.Decimal)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # (an int or a Fraction past a float's range)
            seconds = math.inf if value > 0 else -math.inf  # type: ignore[operator]
        except ValueError:  # (a signaling NaN Decimal)
            seconds = math.nan
    else:
        raise InvalidArgumentError(
            f"{what} is a timedelta or a number of seconds, not {shown(value)}"
        )
    if math.isnan(seconds) or seconds < 0:
        raise InvalidArgumentError(f"{what} is not negative, not {shown(value)}")
    return seconds

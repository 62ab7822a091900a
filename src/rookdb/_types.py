"""Type aliases shared across rookdb, in one place."""

from __future__ import annotations

from typing import Any, NoReturn

from rookdb.errors import shown

__all__ = ["JsonDict", "JsonValue", "assert_never"]

#: A decoded JSON value: None, bool, int, float, str, list or dict (not narrowed further:
#: documents are user data of any shape).
JsonValue = Any

#: A decoded JSON object, such as a document body or its ``@metadata``.
JsonDict = dict[str, Any]


def assert_never(value: NoReturn, what: str = "value") -> NoReturn:
    """The last case of a ``match`` over a union (``case _: assert_never(x, "predicate")``):
    mypy flags the call when a member of the union has no case of its own. At run time, a
    value no case knows (built by hand, not by rookdb) is a ``TypeError``.

    ``typing.assert_never`` from Python 3.11, with its ``TypeError`` kept and the 3.10 floor."""
    raise TypeError(f"unknown {what} {shown(value)}")

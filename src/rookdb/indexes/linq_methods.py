"""The methods a LINQ index may call: LINQ's on lists, .NET's on strings, ``Math`` and
``string``'s static ones.

Each method takes its receiver and its arguments, lambdas as Python callables; a method
called on ``null`` is ``null`` (the evaluator sees to it: RavenDB's null object). The
compiler refuses a method not in these tables when the index is put; a method called on a
value of the wrong kind (``Substring`` of a number) is an ``IndexEvaluationError``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

from rookdb.errors import IndexEvaluationError
from rookdb.indexes.linq_runtime import (
    arithmetic,
    compare,
    equal,
    group,
    is_number,
    kind,
    number,
    text,
    truth,
)

__all__ = ["LIST_METHODS", "STATIC_METHODS", "STRING_METHODS", "VALUE_METHODS", "call_method"]

Method = Callable[[Any, list[Any]], Any]


def _fn(args: list[Any], position: int, name: str) -> Callable[..., Any]:
    if position >= len(args) or not callable(args[position]):
        raise IndexEvaluationError(f"{name} needs a lambda as argument {position + 1}")
    return args[position]  # type: ignore[no-any-return]


def _selected(values: list[Any], args: list[Any], name: str) -> list[Any]:
    """The values an aggregate goes over: the list, or its lambda's values; nulls left out."""
    if args:
        function = _fn(args, 0, name)
        values = [function(v) for v in values]
    return [v for v in values if v is not None]


def _sum(values: list[Any], args: list[Any]) -> Any:
    total: Any = 0
    for value in _selected(values, args, "Sum"):
        if not is_number(value):
            raise IndexEvaluationError(f"Sum of {kind(value)}")
        total = arithmetic("+", total, value)
    return total


def _extreme(op: str) -> Method:
    def extreme(values: list[Any], args: list[Any]) -> Any:
        best: Any = None
        for value in _selected(values, args, "Min" if op == "<" else "Max"):
            if best is None or compare(op, value, best):
                best = value
        return best

    return extreme


def _average(values: list[Any], args: list[Any]) -> Any:
    chosen = _selected(values, args, "Average")
    if not chosen:
        return None
    total = _sum(chosen, [])
    return total / len(chosen)


def _where(values: list[Any], args: list[Any]) -> list[Any]:
    test = _fn(args, 0, "Where")
    return [v for v in values if truth(test(v), "the condition of Where")]


def _count(values: list[Any], args: list[Any]) -> int:
    return len(_where(values, args)) if args else len(values)


def _any(values: list[Any], args: list[Any]) -> bool:
    return bool(_where(values, args)) if args else bool(values)


def _all(values: list[Any], args: list[Any]) -> bool:
    return len(_where(values, args)) == len(values)


def _select_many(values: list[Any], args: list[Any]) -> list[Any]:
    collection = _fn(args, 0, "SelectMany")
    result = _fn(args, 1, "SelectMany") if len(args) > 1 else None
    out: list[Any] = []
    for value in values:
        inner = collection(value)
        if inner is None:
            continue
        if not isinstance(inner, list):
            raise IndexEvaluationError(f"SelectMany's lambda gave {kind(inner)}, not a list")
        out.extend(inner if result is None else [result(value, item) for item in inner])
    return out


def _first(default: bool, last: bool) -> Method:
    def first(values: list[Any], args: list[Any]) -> Any:
        chosen = _where(values, args) if args else values
        if not chosen:
            if default:
                return None
            raise IndexEvaluationError("First/Last of an empty list")
        return chosen[-1] if last else chosen[0]

    return first


def _distinct(values: list[Any], args: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not any(equal(value, seen) for seen in out):
            out.append(value)
    return out


def _ordering(left: Any, right: Any) -> int:
    """.NET's default comparer: ``null`` first, then values of one kind (ordering a number
    and a string is an error, as it is in ``compare``)."""
    if left is None or right is None:
        return (left is not None) - (right is not None)
    if equal(left, right):
        return 0
    return -1 if compare("<", left, right) else 1


def _order(descending: bool) -> Method:
    def order(values: list[Any], args: list[Any]) -> list[Any]:
        key = _fn(args, 0, "OrderBy")
        keyed: list[tuple[Any, Any]] = [(key(v), v) for v in values]

        def by_key(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
            return _ordering(a[0], b[0])

        keyed.sort(key=functools.cmp_to_key(by_key), reverse=descending)
        return [v for _, v in keyed]

    return order


def _whole(args: list[Any], position: int, name: str) -> int:
    if position >= len(args) or not is_number(args[position]):
        raise IndexEvaluationError(f"{name} needs a number as argument {position + 1}")
    return int(args[position])


LIST_METHODS: dict[str, Method] = {
    "Select": lambda v, a: [_fn(a, 0, "Select")(x) for x in v],
    "Where": _where,
    "SelectMany": _select_many,
    "Sum": _sum,
    "Count": _count,
    "LongCount": _count,
    "Min": _extreme("<"),
    "Max": _extreme(">"),
    "Average": _average,
    "Any": _any,
    "All": _all,
    "First": _first(False, False),
    "FirstOrDefault": _first(True, False),
    "Last": _first(False, True),
    "LastOrDefault": _first(True, True),
    "Contains": lambda v, a: any(equal(x, a[0]) for x in v),
    "Distinct": _distinct,
    "ToList": lambda v, a: list(v),
    "ToArray": lambda v, a: list(v),
    "OrderBy": _order(False),
    "OrderByDescending": _order(True),
    "Take": lambda v, a: v[: max(0, _whole(a, 0, "Take"))],
    "Skip": lambda v, a: v[max(0, _whole(a, 0, "Skip")) :],
    "Reverse": lambda v, a: v[::-1],
    "Concat": lambda v, a: list(v) + (a[0] if isinstance(a[0], list) else []),
    "DefaultIfEmpty": lambda v, a: list(v) if v else [a[0] if a else None],
    "GroupBy": lambda v, a: group(v, _fn(a, 0, "GroupBy")),
}


def _string_arg(args: list[Any], position: int, name: str) -> str:
    if position >= len(args) or not isinstance(args[position], str):
        raise IndexEvaluationError(f"{name} needs a string as argument {position + 1}")
    return str(args[position])


def _substring(value: str, args: list[Any]) -> str:
    start = _whole(args, 0, "Substring")
    length = _whole(args, 1, "Substring") if len(args) > 1 else len(value) - start
    if start < 0 or length < 0 or start + length > len(value):
        raise IndexEvaluationError("Substring out of the string's range")
    return value[start : start + length]


STRING_METHODS: dict[str, Method] = {
    "ToLower": lambda s, a: s.lower(),
    "ToLowerInvariant": lambda s, a: s.lower(),
    "ToUpper": lambda s, a: s.upper(),
    "ToUpperInvariant": lambda s, a: s.upper(),
    "Trim": lambda s, a: s.strip(),
    "TrimStart": lambda s, a: s.lstrip(),
    "TrimEnd": lambda s, a: s.rstrip(),
    "Substring": _substring,
    "Contains": lambda s, a: _string_arg(a, 0, "Contains") in s,
    "StartsWith": lambda s, a: s.startswith(_string_arg(a, 0, "StartsWith")),
    "EndsWith": lambda s, a: s.endswith(_string_arg(a, 0, "EndsWith")),
    "IndexOf": lambda s, a: s.find(_string_arg(a, 0, "IndexOf")),
    "LastIndexOf": lambda s, a: s.rfind(_string_arg(a, 0, "LastIndexOf")),
    "Replace": lambda s, a: s.replace(_string_arg(a, 0, "Replace"), _string_arg(a, 1, "Replace")),
    "Split": lambda s, a: s.split(_string_arg(a, 0, "Split")),
}

#: Methods any value has.
_ANY_METHODS: dict[str, Method] = {
    "ToString": lambda v, a: text(v),
    "Equals": lambda v, a: equal(v, a[0] if a else None),
}


def call_method(receiver: Any, name: str, args: list[Any]) -> Any:
    """``receiver.name(args)``; ``null`` for a ``null`` receiver."""
    if receiver is None:
        return None
    if isinstance(receiver, list) and name in LIST_METHODS:
        return LIST_METHODS[name](receiver, args)
    if isinstance(receiver, str):
        if name in STRING_METHODS:
            return STRING_METHODS[name](receiver, args)
        if name in ("Count", "Any"):
            return LIST_METHODS[name](list(receiver), args)
    if name in _ANY_METHODS:
        return _ANY_METHODS[name](receiver, args)
    raise IndexEvaluationError(f"{name}() is not defined on {kind(receiver)}")


def _math(function: Callable[..., Any], arity: tuple[int, ...]) -> Method:
    def call(_: Any, args: list[Any]) -> Any:
        if len(args) not in arity:
            raise IndexEvaluationError(f"a Math call takes {arity} arguments, not {len(args)}")
        if any(a is None for a in args):
            return None
        if not all(is_number(a) for a in args):
            raise IndexEvaluationError("Math's functions take numbers")
        try:
            return number(function(*args))
        except (OverflowError, ValueError, ZeroDivisionError) as exc:
            raise IndexEvaluationError(f"a Math call failed: {exc}") from None

    return call


def _round(value: float, digits: int = 0) -> float:
    result = round(value, int(digits))
    return float(result)


def _format(_: Any, args: list[Any]) -> str:
    """``string.Format("a/{0}", x)``: positional holes only (no format specifiers)."""
    template = _string_arg(args, 0, "string.Format")
    values = args[1:]

    def hole(match: re.Match[str]) -> str:
        position = int(match.group(1))
        if position >= len(values):
            raise IndexEvaluationError(f"string.Format has no argument {position}")
        return text(values[position])

    return re.sub(r"\{(\d+)\}", hole, template).replace("{{", "{").replace("}}", "}")


def _join(_: Any, args: list[Any]) -> str:
    separator = text(args[0]) if args else ""
    parts = args[1] if len(args) == 2 and isinstance(args[1], list) else args[1:]
    return separator.join(text(p) for p in parts if p is not None)


STATIC_METHODS: dict[str, Method] = {
    "Math.Abs": _math(abs, (1,)),
    "Math.Round": _math(_round, (1, 2)),
    "Math.Floor": _math(lambda v: float(math.floor(v)), (1,)),
    "Math.Ceiling": _math(lambda v: float(math.ceil(v)), (1,)),
    "Math.Truncate": _math(lambda v: float(math.trunc(v)), (1,)),
    "Math.Max": _math(max, (2,)),
    "Math.Min": _math(min, (2,)),
    "Math.Pow": _math(math.pow, (2,)),
    "Math.Sqrt": _math(lambda v: math.sqrt(v) if v >= 0 else None, (1,)),
    "Math.Sign": _math(lambda v: (v > 0) - (v < 0), (1,)),
    "string.Join": _join,
    "string.Concat": lambda _, a: "".join(text(v) for v in a),
    "string.Format": _format,
    "string.IsNullOrEmpty": lambda _, a: a[0] is None or a[0] == "",
    "string.IsNullOrWhiteSpace": lambda _, a: (
        a[0] is None or (isinstance(a[0], str) and not a[0].strip())
    ),
}

# .NET's ``String`` is C#'s ``string``.
STATIC_METHODS.update(
    {"String" + k[6:]: v for k, v in list(STATIC_METHODS.items()) if k.startswith("string.")}
)

#: Every method name a call on a value may use.
VALUE_METHODS = frozenset(LIST_METHODS) | frozenset(STRING_METHODS) | frozenset(_ANY_METHODS)

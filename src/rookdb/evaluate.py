"""The meaning of a query, in plain Python: the reference every backend is tested against.

A field path reaches zero or more values of a document (``rookdb.paths.values_at``); an array
reached at the end of the path stands for its elements (one level), so ``where_equals("tags",
"a")`` matches ``{"tags": ["a", "b"]}`` as in RavenDB. These are the field's *candidates*.
A field predicate matches when some candidate satisfies it:

* equality is JSON equality: numbers by value (``1 == 1.0``), booleans are not numbers, strings
  are compared exactly (case-sensitive), ``None`` matches null (not a missing field);
* ``<``, ``<=``, ``>``, ``>=`` and ``between`` compare numbers with numbers and strings with
  strings (by code point); a candidate of another type never matches;
* ``starts_with``, ``ends_with`` and ``regex`` (``re.search``) look at string candidates;
* ``exists`` holds when the path reaches any value at all (null and ``[]`` included);
* ``search`` tokenizes the field's strings (``rookdb.fulltext``) and holds when any (or, with
  ``and``, every) search term is among their tokens;
* strings compare up to their first NUL character: SQLite's JSON functions end a string there
  and PostgreSQL's jsonb cannot hold one, so no backend can see past it. (Documents keep their
  NULs; only comparisons stop at them.)

Logic is two-valued: ``Not(p)`` matches exactly the documents ``p`` does not match, including
those that lack the field, so ``|p| + |not p| = |all|`` (SPEC Q2).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from rookdb.fulltext import tokenize
from rookdb.paths import parse_field_path, values_at
from rookdb.query import (
    And,
    Between,
    Compare,
    ContainsAll,
    EndsWith,
    Equals,
    Exists,
    In,
    Not,
    Or,
    Predicate,
    Regex,
    Search,
    SearchOperator,
    StartsWith,
)
from rookdb.serialization.encoding import json_equal

__all__ = ["candidates", "cut", "matches", "project", "search_text"]


def candidates(document: Any, field: str) -> Iterator[Any]:
    """The values a predicate on ``field`` looks at (see the module docstring)."""
    for value in values_at(document, parse_field_path(field)):
        if type(value) is list:
            yield from value
        else:
            yield value


def cut(text: str) -> str:
    """A string as queries compare it: up to its first NUL character."""
    nul = text.find("\x00")
    return text if nul == -1 else text[:nul]


def _eq(candidate: Any, value: Any) -> bool:
    if type(candidate) is str and type(value) is str:
        return cut(candidate) == cut(value)
    return json_equal(candidate, value)


def _texts(values: Iterator[Any]) -> Iterator[str]:
    return (cut(c) for c in values if type(c) is str)


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _same_kind(candidate: Any, bound: Any) -> bool:
    """A candidate comparable with a range bound: number with number, string with string."""
    if type(bound) is str:
        return type(candidate) is str
    return _is_number(candidate)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _comparable(value: Any) -> Any:
    return cut(value) if type(value) is str else value


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches(document: Any, predicate: Predicate) -> bool:
    """Whether ``document`` (a decoded JSON object) matches ``predicate``."""
    if isinstance(predicate, And):
        return all(matches(document, p) for p in predicate.items)
    if isinstance(predicate, Or):
        return any(matches(document, p) for p in predicate.items)
    if isinstance(predicate, Not):
        return not matches(document, predicate.item)
    if isinstance(predicate, Exists):
        return bool(values_at(document, parse_field_path(predicate.field)))
    values = candidates(document, predicate.field)
    if isinstance(predicate, Equals):
        return any(_eq(c, predicate.value) for c in values)
    if isinstance(predicate, In):
        return any(_eq(c, v) for c in values for v in predicate.values)
    if isinstance(predicate, ContainsAll):
        held = list(values)
        return all(any(_eq(c, v) for c in held) for v in predicate.values)
    if isinstance(predicate, Compare):
        op, bound = _OPS[predicate.op], _comparable(predicate.value)
        return any(_same_kind(c, bound) and op(_comparable(c), bound) for c in values)
    if isinstance(predicate, Between):
        low, high = _comparable(predicate.low), _comparable(predicate.high)
        return any(_same_kind(c, low) and low <= _comparable(c) <= high for c in values)
    if isinstance(predicate, StartsWith):
        return any(c.startswith(cut(predicate.prefix)) for c in _texts(values))
    if isinstance(predicate, EndsWith):
        return any(c.endswith(cut(predicate.suffix)) for c in _texts(values))
    if isinstance(predicate, Regex):
        pattern = _regex(predicate.pattern)
        return any(pattern.search(c) is not None for c in _texts(values))
    if isinstance(predicate, Search):
        words = set(tokenize(search_text(document, predicate.field)))
        if predicate.operator is SearchOperator.AND:
            return all(term in words for term in predicate.terms)
        return any(term in words for term in predicate.terms)
    raise TypeError(f"unknown predicate {predicate!r}")


def project(document: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The projection of ``document`` on ``fields`` (``select``): each field path maps to its
    value (None when missing), or to the list of values an array path reaches."""
    out: dict[str, Any] = {}
    for field in fields:
        segments = parse_field_path(field)
        reached = values_at(document, segments)
        if any(segment.is_array for segment in segments):
            out[field] = reached
        else:
            out[field] = reached[0] if reached else None
    return out


def search_text(document: Any, field: str) -> str:
    """The text ``search`` looks at: the field's string candidates (cut at NUL), joined."""
    return " ".join(cut(c) for c in candidates(document, field) if type(c) is str)

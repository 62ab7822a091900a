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
* ``id()`` (RQL) has one candidate, the document's key: its id in lower case, as RavenDB
  compares ids (the parser lower-cases the values compared with it);
* ``exists`` holds when the path reaches any value at all (null and ``[]`` included);
* ``search`` tokenizes the field's strings (``rookdb.fulltext``) and holds when any (or, with
  ``and``, every) search term is among their tokens (a wildcard term: matches one of them);
* strings compare up to their first NUL character: SQLite's JSON functions end a string there
  and PostgreSQL's jsonb cannot hold one, so no backend can see past it. (Documents keep their
  NULs; only comparisons stop at them.)

Logic is two-valued: ``Not(p)`` matches exactly the documents ``p`` does not match, including
those that lack the field, so ``|p| + |not p| = |all|`` (SPEC Q2).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from rookdb._types import assert_never
from rookdb.fulltext import found, tokenize
from rookdb.paths import parse_field_path, values_at
from rookdb.query import (
    ID_FIELD,
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
from rookdb.query_ast import counter_of
from rookdb.serialization.encoding import json_equal

__all__ = [
    "between_test",
    "candidates",
    "compare_test",
    "cut",
    "matches",
    "project",
    "search_text",
]


def candidates(document: Any, field: str) -> Iterator[Any]:
    """The values a predicate on ``field`` looks at (see the module docstring)."""
    for value in values_at(document, parse_field_path(field)):
        if type(value) is list:
            yield from value
        else:
            yield value


def _candidates(document: Any, field: str, key: str | None) -> Iterator[Any]:
    if field == ID_FIELD:  # the document's key: ids compare case-insensitively
        return iter(() if key is None else (key,))
    return candidates(document, field)


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


def compare_test(op_name: str, value: Any) -> Callable[[Iterable[Any]], bool]:
    """Whether ``field <op> value`` holds, given the field's candidates: numbers compare
    with numbers, strings with strings by code point (the rule of every backend's SQL)."""
    op, bound = _OPS[op_name], _comparable(value)
    return lambda values: any(_same_kind(c, bound) and op(_comparable(c), bound) for c in values)


def between_test(low: Any, high: Any) -> Callable[[Iterable[Any]], bool]:
    """Whether ``field between low and high`` holds, given the field's candidates."""
    low, high = _comparable(low), _comparable(high)
    return lambda values: any(_same_kind(c, low) and low <= _comparable(c) <= high for c in values)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches(document: Any, predicate: Predicate, key: str | None = None) -> bool:
    """Whether ``document`` (a decoded JSON object) matches ``predicate``; ``key`` is its
    document key (the id in lower case), the one candidate of ``id()``."""
    match predicate:
        case And(items=items):
            return all(matches(document, p, key) for p in items)
        case Or(items=items):
            return any(matches(document, p, key) for p in items)
        case Not(item=item):
            return not matches(document, item, key)
        case Exists(field=field):
            return bool(values_at(document, parse_field_path(field)))
        case Equals(field=field, value=value):
            return any(_eq(c, value) for c in _candidates(document, field, key))
        case In(field=field, values=wanted):
            return any(_eq(c, v) for c in _candidates(document, field, key) for v in wanted)
        case ContainsAll(field=field, values=wanted):
            held = list(_candidates(document, field, key))
            return all(any(_eq(c, v) for c in held) for v in wanted)
        case Compare(field=field, op=op_name, value=value):
            return compare_test(op_name, value)(_candidates(document, field, key))
        case Between(field=field, low=low, high=high):
            return between_test(low, high)(_candidates(document, field, key))
        case StartsWith(field=field, prefix=prefix):
            return any(c.startswith(cut(prefix)) for c in _texts(_candidates(document, field, key)))
        case EndsWith(field=field, suffix=suffix):
            return any(c.endswith(cut(suffix)) for c in _texts(_candidates(document, field, key)))
        case Regex(field=field, pattern=pattern_text):
            pattern = _regex(pattern_text)
            texts = _texts(_candidates(document, field, key))
            return any(pattern.search(c) is not None for c in texts)
        case Search(field=field, terms=terms, operator=search_operator):
            words = set(tokenize(search_text(document, field)))
            if search_operator is SearchOperator.AND:
                return all(found(term, words) for term in terms)
            return any(found(term, words) for term in terms)
        case _:
            assert_never(predicate, "predicate")


def project(
    document: Any,
    fields: tuple[str, ...],
    keys: tuple[str, ...] = (),
    document_id: str | None = None,
    counters: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The projection of ``document`` on ``fields`` (``select``): each field path maps to its
    value (None when missing), or to the list of values an array path reaches; ``id()`` maps
    to ``document_id``, a counter (``counter('name')``) to its value in ``counters`` (the
    document's, by stored name; None: it has none). Each goes under its key in ``keys``
    (``select age as Id``), or under its path when ``keys`` is empty."""
    out: dict[str, Any] = {}
    for index, field in enumerate(fields):
        key = keys[index] if keys else field
        if field == ID_FIELD:
            out[key] = document_id
            continue
        name = counter_of(field)
        if name is not None:
            wanted = name.lower()  # (counter names compare case-insensitively)
            found = [v for n, v in (counters or {}).items() if n.lower() == wanted]
            out[key] = found[0] if found else None
            continue
        segments = parse_field_path(field)
        reached = values_at(document, segments)
        if any(segment.is_array for segment in segments):
            out[key] = reached
        else:
            out[key] = reached[0] if reached else None
    return out


def search_text(document: Any, field: str) -> str:
    """The text ``search`` looks at: the field's string candidates (cut at NUL), joined."""
    return " ".join(cut(c) for c in candidates(document, field) if type(c) is str)

"""The query AST compiled to SQL over JSON documents (SQLite dialect).

The SQL means what ``rookdb.evaluate`` means, and the differential test holds it to that. Each
field predicate becomes ``EXISTS`` over the field's *candidates*: ``json_each`` walks the array
segments of the path (``lines[].product``), and a value reached last stands for its elements if
it is an array. Candidate rows carry ``c.type`` (``json_each``'s type names) and ``c.value``.

Values are always bound parameters. Field names are validated by ``rookdb.paths`` before they
get here (letters, digits, ``_ - @``) and each segment is double-quoted in the JSON path, so a
path is safe to write into the statement: it must be a literal for SQLite to match an index on
it. Prefixes and suffixes compare UTF-8 bytes (a string prefix is a byte prefix), because
SQLite's ``length()`` stops at a NUL character; and since SQLite's JSON functions end a stored
string at its first NUL, bound strings are cut there too (``evaluate.cut``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from rookdb.errors import QueryError
from rookdb.paths import Segment, parse_field_path
from rookdb.query import (
    COMPARISONS,
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
    OrderBy,
    Predicate,
    Regex,
    Scalar,
    StartsWith,
)

__all__ = ["REGEXP_FUNCTION", "json_path", "order_clause", "regexp", "where_clause"]

#: The SQL function ``regexp(pattern, value)`` that connections register (``re.search``).
REGEXP_FUNCTION = "rook_regexp"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp(pattern: str, value: object) -> bool:
    """The implementation of ``rook_regexp`` (deterministic, so SQLite may cache it)."""
    return type(value) is str and _compiled(pattern).search(value) is not None


def _literal(segments: Sequence[Segment]) -> str:
    return "'$" + "".join(f'."{s.name}"' for s in segments) + "'"


def json_path(field: str) -> str:
    """The SQLite JSON path literal of a path without arrays: ``'$."address"."city"'``."""
    segments = parse_field_path(field)
    if any(s.is_array for s in segments):
        raise QueryError(f"{field!r} holds many values per document: it cannot be sorted on")
    return _literal(segments)


def _walk(field: str) -> tuple[list[str], str, str]:
    """FROM items walking the array segments of ``field``, and the (type, value) SQL
    expressions of what the path reaches last."""
    segments = parse_field_path(field)
    froms: list[str] = []
    source = "data"
    start = 0
    element = ""
    for index, segment in enumerate(segments):
        if not segment.is_array:
            continue
        path = _literal(segments[start : index + 1])
        element = f"a{len(froms)}"
        froms.append(
            f"json_each(CASE WHEN json_type({source}, {path}) = 'array' "
            f"THEN json_extract({source}, {path}) ELSE '[]' END) AS {element}"
        )
        # The rest of the path applies to elements that are objects.
        source = f"(CASE WHEN {element}.type = 'object' THEN {element}.value ELSE '{{}}' END)"
        start = index + 1
    rest = segments[start:]
    if not rest:  # the path ends with []: the elements themselves
        return froms, f"{element}.type", f"{element}.value"
    path = _literal(rest)
    return froms, f"json_type({source}, {path})", f"json_extract({source}, {path})"


def _candidates(field: str) -> str:
    """The FROM clause of the candidate rows ``c`` of ``field``."""
    froms, type_sql, value_sql = _walk(field)
    as_json_array = f"json_array({value_sql})"
    froms.append(
        f"json_each(CASE {type_sql} WHEN 'array' THEN {value_sql} "
        "WHEN 'true' THEN '[true]' WHEN 'false' THEN '[false]' WHEN 'null' THEN '[null]' "
        f"WHEN 'text' THEN {as_json_array} WHEN 'integer' THEN {as_json_array} "
        f"WHEN 'real' THEN {as_json_array} ELSE '[]' END) AS c"
    )
    return ", ".join(froms)


def _any(field: str, condition: str) -> str:
    return f"EXISTS (SELECT 1 FROM {_candidates(field)} WHERE {condition})"


def _bind(value: Any) -> Any:
    """A query value as SQLite compares it: strings up to their first NUL (``evaluate.cut``),
    because SQLite's JSON functions end the stored strings there."""
    if type(value) is str:
        nul = value.find("\x00")
        return value if nul == -1 else value[:nul]
    return value


def _equals(value: Scalar, params: list[Any]) -> str:
    """A condition on the candidate ``c``: JSON equality with ``value``."""
    if value is None:
        return "c.type = 'null'"
    if value is True or value is False:
        return f"c.type = '{'true' if value else 'false'}'"
    params.append(_bind(value))
    if isinstance(value, str):
        return "(c.type = 'text' AND c.value = ?)"
    return "(c.type IN ('integer', 'real') AND c.value = ?)"


def _kind(bound: int | float | str) -> str:
    return "c.type = 'text'" if isinstance(bound, str) else "c.type IN ('integer', 'real')"


_BYTES = "CAST({} AS BLOB)"


def where_clause(predicate: Predicate, params: list[Any]) -> str:
    """SQL for ``predicate``, appending its values to ``params``. Every piece is true or false,
    never NULL, so ``NOT p`` matches exactly what ``p`` does not (two-valued, SPEC Q2)."""
    if isinstance(predicate, And):
        return "(" + " AND ".join(where_clause(p, params) for p in predicate.items) + ")"
    if isinstance(predicate, Or):
        return "(" + " OR ".join(where_clause(p, params) for p in predicate.items) + ")"
    if isinstance(predicate, Not):
        return f"NOT {where_clause(predicate.item, params)}"
    if isinstance(predicate, Exists):
        froms, type_sql, _ = _walk(predicate.field)
        if not froms:
            return f"({type_sql} IS NOT NULL)"
        return f"EXISTS (SELECT 1 FROM {', '.join(froms)} WHERE {type_sql} IS NOT NULL)"
    field = predicate.field
    if isinstance(predicate, Equals):
        return _any(field, _equals(predicate.value, params))
    if isinstance(predicate, In):
        if not predicate.values:
            return "0"
        return _any(field, "(" + " OR ".join(_equals(v, params) for v in predicate.values) + ")")
    if isinstance(predicate, ContainsAll):
        if not predicate.values:
            return "1"
        return "(" + " AND ".join(_any(field, _equals(v, params)) for v in predicate.values) + ")"
    if isinstance(predicate, Compare):
        if predicate.op not in COMPARISONS:
            raise QueryError(f"unknown comparison {predicate.op!r}")
        params.append(_bind(predicate.value))
        return _any(field, f"{_kind(predicate.value)} AND c.value {predicate.op} ?")
    if isinstance(predicate, Between):
        params.extend((_bind(predicate.low), _bind(predicate.high)))
        return _any(field, f"{_kind(predicate.low)} AND c.value BETWEEN ? AND ?")
    if isinstance(predicate, StartsWith):
        prefix = _bind(predicate.prefix)
        if prefix == "":
            return _any(field, "c.type = 'text'")
        params.extend((prefix, prefix))
        value, prefix = _BYTES.format("c.value"), _BYTES.format("?")
        return _any(
            field,
            f"c.type = 'text' AND substr({value}, 1, length({prefix})) = {_BYTES.format('?')}",
        )
    if isinstance(predicate, EndsWith):
        suffix = _bind(predicate.suffix)
        if suffix == "":
            return _any(field, "c.type = 'text'")
        params.extend((suffix, suffix))
        value, suffix = _BYTES.format("c.value"), _BYTES.format("?")
        return _any(
            field,
            f"c.type = 'text' AND substr({value}, -length({suffix})) = {_BYTES.format('?')}",
        )
    if isinstance(predicate, Regex):
        params.append(predicate.pattern)
        return _any(field, f"c.type = 'text' AND {REGEXP_FUNCTION}(?, c.value)")
    raise TypeError(f"unknown predicate {predicate!r}")


def order_clause(order_by: tuple[OrderBy, ...]) -> str:
    """ORDER BY terms (SPEC Q1): by JSON type first (missing and null, then booleans, numbers,
    strings, arrays and objects), then by value: numbers numerically, strings by code point.
    ``ordering="long"``/``"double"`` orders numbers only and ``"string"`` strings only; other
    values sort with the missing ones. Ties break on the document id."""
    terms = []
    for order in order_by:
        path = json_path(order.field)
        kind = f"json_type(data, {path})"
        value = f"json_extract(data, {path})"
        direction = "DESC" if order.descending else "ASC"
        if order.ordering in ("long", "double"):
            terms.append(f"CASE WHEN {kind} IN ('integer', 'real') THEN {value} END {direction}")
        elif order.ordering == "string":
            terms.append(f"CASE WHEN {kind} = 'text' THEN {value} END {direction}")
        elif order.ordering is None:
            rank = (
                f"CASE {kind} WHEN 'false' THEN 1 WHEN 'true' THEN 1 WHEN 'integer' THEN 2 "
                "WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 4 "
                "ELSE 0 END"
            )
            terms.append(f"{rank} {direction}")
            terms.append(
                f"CASE WHEN {kind} IN ('false', 'true', 'integer', 'real', 'text') "
                f"THEN {value} END {direction}"
            )
        else:
            raise QueryError(f"unknown ordering {order.ordering!r}: use string, long or double")
    terms.append("key ASC")
    return ", ".join(terms)

"""The query AST compiled to SQL over JSON documents (SQLite dialect).

Values are always bound parameters. Field names are validated by ``rookdb.paths`` before they
get here (letters, digits, ``_ - @``), and each segment is double-quoted in the JSON path, so a
path is safe to write into the statement; it must be literal for SQLite to match an expression
index on it.
"""

from __future__ import annotations

from typing import Any

from rookdb.errors import QueryError
from rookdb.paths import parse_field_path
from rookdb.query import And, Equals, Not, Or, OrderBy, Predicate

__all__ = ["json_path", "order_clause", "where_clause"]


def json_path(field: str) -> str:
    """The SQLite JSON path literal of a scalar field path: ``'$."address"."city"'``."""
    segments = parse_field_path(field)
    if any(s.is_array for s in segments):
        # Array paths need json_each and a value table: the query issue (Q2, Q4) adds them.
        raise QueryError(f"array paths such as {field!r} are not supported by queries yet")
    return "'$" + "".join(f'."{s.name}"' for s in segments) + "'"


def where_clause(predicate: Predicate, params: list[Any]) -> str:
    """SQL for ``predicate``, appending its values to ``params``. Two-valued logic: every
    comparison is true or false (never NULL), so ``NOT p`` matches exactly what ``p`` does not."""
    if isinstance(predicate, Equals):
        path = json_path(predicate.field)
        value = predicate.value
        if value is None:
            return f"coalesce(json_type(data, {path}) = 'null', 0)"
        if value is True or value is False:
            return f"coalesce(json_type(data, {path}) = '{'true' if value else 'false'}', 0)"
        params.append(value)
        if isinstance(value, str):
            # A JSON string extracts as TEXT, which never equals a number: no type test needed.
            return f"coalesce(json_extract(data, {path}) = ?, 0)"
        # json_extract gives 1/0 for true/false: exclude booleans from numeric equality.
        return (
            f"coalesce(json_extract(data, {path}) = ? "
            f"AND json_type(data, {path}) IN ('integer', 'real'), 0)"
        )
    if isinstance(predicate, Not):
        return f"NOT ({where_clause(predicate.item, params)})"
    if isinstance(predicate, And):
        return "(" + " AND ".join(where_clause(p, params) for p in predicate.items) + ")"
    if isinstance(predicate, Or):
        return "(" + " OR ".join(where_clause(p, params) for p in predicate.items) + ")"
    raise TypeError(f"unknown predicate {predicate!r}")


def order_clause(order_by: tuple[OrderBy, ...]) -> str:
    """ORDER BY terms; documents missing the field (NULL) sort first, as SPEC Q1 says."""
    terms = []
    for order in order_by:
        expr = f"json_extract(data, {json_path(order.field)})"
        if order.ordering in ("long", "double"):
            expr = f"CAST({expr} AS REAL)"
        elif order.ordering == "string":
            expr = f"CAST({expr} AS TEXT)"
        terms.append(f"{expr} {'DESC' if order.descending else 'ASC'}")
    terms.append("key ASC")  # deterministic among equals
    return ", ".join(terms)

"""A field predicate's conditions on one value, for the SQLite compiler (``compiler``).

``alternatives`` writes them over two SQL expressions, the value's JSON type (as ``json_type``
names it: ``'text'``, ``'integer'``, ``'real'``...) and the value itself, so that one
definition serves every place a value is tested: the seeks of a path's expression index, the
value table of an array path, the candidates tested row by row, and the key of ``id()``. Each
alternative is a condition with its parameters; a value satisfies the predicate when it
satisfies any of them.

Values are always bound parameters. Since SQLite's JSON functions end a stored string at its
first NUL, bound strings are cut there too (``evaluate.cut``). Prefixes and suffixes compare
UTF-8 bytes (a string prefix is a byte prefix), because SQLite's ``length()`` stops at a NUL
character; a prefix is also a range, which an index seeks. Regular expressions call
``rook_regexp`` (``sql_functions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb._types import assert_never
from rookdb.errors import QueryError, shown
from rookdb.evaluate import cut
from rookdb.query import (
    COMPARISONS,
    Between,
    Compare,
    ContainsAll,
    EndsWith,
    Equals,
    Exists,
    FieldPredicate,
    In,
    Regex,
    Scalar,
    Search,
    StartsWith,
)
from rookdb.storage.relational.prefixes import successor
from rookdb.storage.sqlite.sql_functions import REGEXP_FUNCTION

__all__ = ["Alternative", "alternatives"]


def _bind(value: Any) -> Any:
    """A query value as SQLite compares it: strings up to their first NUL (``evaluate.cut``),
    because SQLite's JSON functions end the stored strings there."""
    return cut(value) if type(value) is str else value


#: A condition and its parameters.
Alternative = tuple[str, list[Any]]
_NUMBER = "IN ('integer', 'real')"


def alternatives(predicate: FieldPredicate, kind: str, value: str) -> list[Alternative]:
    """Conditions, any of which makes one value satisfy ``predicate``, over the SQL expressions
    ``kind`` (a JSON type name, as ``json_type`` gives it) and ``value`` (the SQL value), each
    with its parameters. One definition serves the index seeks, the value table and the
    row-by-row fallback."""
    match predicate:
        case Equals(value=value_):
            return _equal_alternatives((value_,), kind, value)
        case In(values=values):
            return _equal_alternatives(values, kind, value)
        case Compare(op=op, value=bound):
            if op not in COMPARISONS:
                raise QueryError(f"unknown comparison {shown(op)}")
            test = f"{kind} = 'text'" if isinstance(bound, str) else f"{kind} {_NUMBER}"
            return [(f"{test} AND {value} {op} ?", [_bind(bound)])]
        case Between(low=low, high=high):
            test = f"{kind} = 'text'" if isinstance(low, str) else f"{kind} {_NUMBER}"
            return [(f"{test} AND {value} BETWEEN ? AND ?", [_bind(low), _bind(high)])]
        case StartsWith():
            prefix = _bind(predicate.prefix)
            if prefix == "":
                return [(f"{kind} = 'text'", [])]
            # The range lets an index seek; the byte test is exact (and NUL-safe).
            sql = f"{kind} = 'text' AND {value} >= ?"
            params: list[Any] = [prefix]
            upper = successor(prefix)
            if upper is not None:
                sql += f" AND {value} < ?"
                params.append(upper)
            blob = f"CAST({value} AS BLOB)"
            sql += f" AND substr({blob}, 1, length(CAST(? AS BLOB))) = CAST(? AS BLOB)"
            return [(sql, [*params, prefix, prefix])]
        case EndsWith():
            suffix = _bind(predicate.suffix)
            if suffix == "":
                return [(f"{kind} = 'text'", [])]
            test = f"substr(CAST({value} AS BLOB), -length(CAST(? AS BLOB))) = CAST(? AS BLOB)"
            return [(f"{kind} = 'text' AND {test}", [suffix, suffix])]
        case Regex(pattern=pattern):
            return [(f"{kind} = 'text' AND {REGEXP_FUNCTION}(?, {value})", [pattern])]
        case Search():
            raise TypeError("search has no value conditions: see Compiler._search")
        case ContainsAll() | Exists():
            raise TypeError(f"no value conditions for {shown(predicate)}")
        case _:
            assert_never(predicate, "predicate")


def _equal_alternatives(values: Sequence[Scalar], kind: str, value: str) -> list[Alternative]:
    texts = [_bind(v) for v in values if isinstance(v, str)]
    numbers = [v for v in values if type(v) in (int, float)]
    out: list[Alternative] = []
    if texts:
        out.append((f"{kind} = 'text' AND {value} IN ({', '.join('?' * len(texts))})", texts))
    if numbers:
        marks = ", ".join("?" * len(numbers))
        out.append((f"{kind} {_NUMBER} AND {value} IN ({marks})", numbers))
    for constant, name in ((None, "null"), (True, "true"), (False, "false")):
        if any(v is constant for v in values):
            out.append((f"{kind} = '{name}'", []))
    return out

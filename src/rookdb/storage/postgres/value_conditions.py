"""A field predicate's conditions on one JSONB value, for the PostgreSQL compiler (``compiler``).

Each condition is written over a jsonb expression ``v`` and its ``->>`` text ``t`` (the value
at a path, or an element of an array there): it holds when that value satisfies the predicate,
and its values are bound parameters.

* ``value_condition`` is the exact test. JSON equality is jsonb equality (``1 = 1.0``;
  booleans are not numbers), so one ``=`` serves every scalar type; strings compare by code
  point, as ``->>`` text ``COLLATE "C"`` (jsonb's own ordering uses the database collation);
  bound strings are cut at their first NUL, as jsonb stores them (``evaluate.cut``).
* ``seek_condition`` is what an automatic B-tree index can seek. An entry holds about 2,700
  bytes, so the indexes hold a bounded form of the value (``indexed``): strings cut to their
  first ``INDEXED_CHARS`` characters, arrays and objects as a constant of their kind. Cutting
  keeps equal values equal and never reverses an order, so a condition on the bounded form,
  with the bounded parameter, selects every row the exact condition does (``<`` widened to
  ``<=``): the index narrows, the exact condition decides.
"""

from __future__ import annotations

from typing import Any

import orjson

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

__all__ = ["INDEXED_CHARS", "indexed", "json_param", "seek_condition", "value_condition"]

#: Characters of a string that the automatic B-tree indexes hold. An entry holds about 2,700
#: bytes: the collection key (512 bytes of name, up to 768 lower-cased), then up to 4 bytes a
#: character. Values sharing a longer prefix share an index entry; the exact test tells them
#: apart. Numbers are held whole: rookdb writes 64-bit integers and floats only.
INDEXED_CHARS = 400

#: A condition on the bounded form that every value satisfying ``op`` satisfies.
_WIDENED = {"<": "<=", "<=": "<=", ">": ">=", ">=": ">="}


def indexed(v: str, t: str) -> tuple[str, str]:
    """What the automatic B-tree indexes of a path hold, given its jsonb ``v`` and text ``t``
    (``compiler.chain``): a bounded jsonb (strings cut to ``INDEXED_CHARS``, arrays ``[]`` or
    ``[0]``, objects ``{}``, other values whole) and the text cut to ``INDEXED_CHARS``. Only
    immutable functions: ``to_jsonb`` is not, ``jsonb_object`` makes the string instead."""
    n = INDEXED_CHARS
    jsonb = (
        f"CASE jsonb_typeof({v}) WHEN 'string' THEN jsonb_object(ARRAY['', left({t}, {n})]) -> '' "
        f"WHEN 'array' THEN CASE WHEN {v} = '[]'::jsonb THEN '[]'::jsonb ELSE '[0]'::jsonb END "
        f"WHEN 'object' THEN '{{}}'::jsonb ELSE {v} END"
    )
    return jsonb, f"left({t}, {n})"


def json_param(value: Scalar) -> str:
    """``value`` as the JSON text of a ``jsonb`` parameter (a string up to its first NUL)."""
    return orjson.dumps(cut(value) if type(value) is str else value).decode()


def _bounded(value: Scalar) -> Scalar:
    """A parameter as ``indexed`` bounds the values it is compared with."""
    return cut(value)[:INDEXED_CHARS] if type(value) is str else value


def _is_text(value: Scalar) -> bool:
    return isinstance(value, str)


def value_condition(predicate: FieldPredicate, v: str, t: str, params: list[Any]) -> str:
    """SQL that holds when the jsonb ``v`` (with ``->>`` text ``t``) satisfies ``predicate`` as
    one candidate (NULL or false when it does not); appends its values to ``params``."""
    match predicate:
        case Equals(value=value):
            params.append(json_param(value))
            return f"{v} = %s::jsonb"
        case In(values=values):
            if not values:
                return "false"
            params.append([json_param(x) for x in values])
            return f"{v} = ANY(%s::jsonb[])"
        case Compare(op=op, value=value):
            if op not in COMPARISONS:
                raise QueryError(f"unknown comparison {shown(op)}")
            if isinstance(value, str):
                params.append(cut(value))
                return f"jsonb_typeof({v}) = 'string' AND ({t}) COLLATE \"C\" {op} %s"
            params.append(json_param(value))
            # Numbers sort below booleans: the upper bound keeps an index range to numbers.
            bound = f" AND {v} < 'false'::jsonb" if op in (">", ">=") else ""
            return f"jsonb_typeof({v}) = 'number' AND {v} {op} %s::jsonb{bound}"
        case Between(low=low, high=high):
            if isinstance(low, str):
                params.extend((cut(low), cut(high)))  # type: ignore[arg-type]
                return (
                    f"jsonb_typeof({v}) = 'string' AND ({t}) COLLATE \"C\" >= %s "
                    f'AND ({t}) COLLATE "C" <= %s'
                )
            params.extend((json_param(low), json_param(high)))
            return f"jsonb_typeof({v}) = 'number' AND {v} >= %s::jsonb AND {v} <= %s::jsonb"
        case StartsWith():
            prefix = cut(predicate.prefix)
            if prefix == "":
                return f"jsonb_typeof({v}) = 'string'"
            # The range lets the text index seek; starts_with is the exact test.
            sql = f"jsonb_typeof({v}) = 'string' AND ({t}) COLLATE \"C\" >= %s"
            params.append(prefix)
            upper = successor(prefix)
            if upper is not None:
                sql += f' AND ({t}) COLLATE "C" < %s'
                params.append(upper)
            params.append(prefix)
            return sql + f" AND starts_with({t}, %s)"
        case EndsWith():
            suffix = cut(predicate.suffix)
            if suffix == "":
                return f"jsonb_typeof({v}) = 'string'"
            params.extend((len(suffix), suffix))
            return f"jsonb_typeof({v}) = 'string' AND right({t}, %s) = %s"
        case ContainsAll() | Exists() | Regex() | Search():
            raise TypeError(f"no value condition for {shown(predicate)}")
        case _:
            assert_never(predicate, "predicate")


def seek_condition(
    predicate: FieldPredicate, index: tuple[str, str], params: list[Any]
) -> str | None:
    """SQL on the expressions ``indexed`` makes of a path (``index``) that every value
    satisfying ``predicate`` satisfies (module docstring), for an index to seek; None when
    there is none. ``value_condition`` stays the exact test, written first: a scan stops there
    for most rows, without computing the bounded forms."""
    value, text = index
    match predicate:
        case Equals():
            params.append(json_param(_bounded(predicate.value)))
            return f"{value} = %s::jsonb"
        case In(values=values):
            params.append([json_param(_bounded(x)) for x in values])
            return f"{value} = ANY(%s::jsonb[])"
        case Compare(op=op):
            if _is_text(predicate.value):
                params.append(_bounded(predicate.value))
                return f'({text}) COLLATE "C" {_WIDENED[op]} %s'
            params.append(json_param(predicate.value))  # numbers are held whole
            bound = f" AND {value} < 'false'::jsonb" if op in (">", ">=") else ""
            return f"{value} {op} %s::jsonb{bound}"
        case Between(low=low, high=high):
            if _is_text(low):
                params.extend((_bounded(low), _bounded(high)))
                return f'({text}) COLLATE "C" >= %s AND ({text}) COLLATE "C" <= %s'
            params.extend((json_param(low), json_param(high)))
            return f"{value} >= %s::jsonb AND {value} <= %s::jsonb"
        case StartsWith(prefix=prefix) if cut(prefix):
            # A text starting with the prefix has a bounded form starting with the prefix's.
            start = cut(prefix)[:INDEXED_CHARS]
            params.append(start)
            upper = successor(start)
            if upper is None:
                return f'({text}) COLLATE "C" >= %s'
            params.append(upper)
            return f'({text}) COLLATE "C" >= %s AND ({text}) COLLATE "C" < %s'
        case StartsWith() | EndsWith() | ContainsAll() | Exists() | Regex() | Search():
            return None
        case _:
            assert_never(predicate, "predicate")

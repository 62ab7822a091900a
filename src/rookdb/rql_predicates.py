"""RQL's where clause: the predicates of ``rookdb.query`` read from the tokens.

``PredicateParser`` adds to ``rookdb.rql_terms``' reader the expressions of a where clause:
``or``, ``and``, ``not`` and parentheses (refused past ``MAX_QUERY_DEPTH`` levels before any
recursion), ``exact(...)``, ``true``, the comparisons (``=``, ``!=``, ``<``..., ``in``,
``all in``, ``between``) and the functions (``startsWith``, ``endsWith``, ``exists``,
``regex``, ``search``). A test of ``id()`` is case-insensitive, as RavenDB's; a ``regex()``
pattern is .NET's, rewritten for Python's ``re``. ``rookdb.rql`` reads the clauses around it,
``rookdb.facet_rql`` a facet's ranges with it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from rookdb.errors import QueryError
from rookdb.query import (
    COMPARISONS,
    ID_FIELD,
    MAX_QUERY_DEPTH,
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
    parse_search_terms,
)
from rookdb.query_ast import check_regex
from rookdb.rql_lexer import FUNCTIONS, Token, error_at
from rookdb.rql_terms import TermReader

__all__ = ["EVERYTHING", "Clause", "Everything", "PredicateParser"]


class Everything:
    """The ``true`` clause, while parsing: it matches every document."""


EVERYTHING = Everything()
Clause = Predicate | Everything


class PredicateParser(TermReader):
    """``TermReader`` reading the predicates of a where clause too."""

    def __init__(self, text: str, parameters: Mapping[str, Any]) -> None:
        super().__init__(text, parameters)
        self.nesting = 0  # parentheses and nots open around the current token

    # ``true`` (which the official client writes for ``where_true()``, for ``contains_all``
    # of nothing, and before a leading ``not``) matches every document: it drops out of an
    # ``and`` and makes an ``or`` match everything.

    def expression(self) -> Clause:
        items = [self.conjunction()]
        while self.keyword("or"):
            items.append(self.conjunction())
        if any(isinstance(item, Everything) for item in items):
            return EVERYTHING
        kept = [item for item in items if not isinstance(item, Everything)]
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def conjunction(self) -> Clause:
        items = [self.negation()]
        while self.keyword("and"):
            items.append(self.negation())
        kept = [item for item in items if not isinstance(item, Everything)]
        if not kept:
            return EVERYTHING
        return kept[0] if len(kept) == 1 else And(tuple(kept))

    def nest(self, token: Token) -> None:
        """Enter a parenthesis or a ``not``: refused past the limit, before any recursion."""
        self.nesting += 1
        if self.nesting > 2 * MAX_QUERY_DEPTH:
            raise error_at(
                f"the query nests deeper than {MAX_QUERY_DEPTH} levels of and/or/not",
                self.text,
                token.position,
            )

    def negation(self) -> Clause:
        token = self.token
        if self.keyword("not"):
            self.nest(token)
            item = self.negation()
            if isinstance(item, Everything):
                raise error_at(
                    "not true matches nothing: drop the clause", self.text, token.position
                )
            negated = Not(item)
            self.nesting -= 1
            return negated
        return self.primary()

    def primary(self) -> Clause:
        token = self.token
        if self.op("("):
            self.nest(token)
            inner = self.expression()
            self.expect_op(")")
            self.nesting -= 1
            return inner
        token = self.token
        following = self.following
        if self.is_id_call():
            return _of_id(self.comparison(ID_FIELD), self.text, token.position)
        if token.kind == "name" and following.kind == "op" and following.text == "(":
            if token.text.lower() == "exact":
                # exact(...): a case-sensitive test, which every rookdb comparison already is
                self.index += 1
                return self.primary()
            if token.text.lower() in FUNCTIONS:
                return self.function()
            return self.comparison(self.call_field("where"))
        if token.kind == "name" and token.text.lower() == "true" and following.kind != "op":
            self.index += 1
            return EVERYTHING
        return self.comparison(self.field())

    def comparison(self, field: str) -> Predicate:
        if self.keyword("in"):
            return In(field, self.values())
        if self.keyword("all"):
            self.expect_keyword("in")
            return ContainsAll(field, self.values())
        if self.keyword("between"):
            low = self.orderable()
            self.expect_keyword("and")
            high_token = self.token
            high = self.orderable()
            if isinstance(low, str) != isinstance(high, str):
                raise error_at(
                    "between takes two numbers or two strings", self.text, high_token.position
                )
            return Between(field, low, high)
        op_token = self.token
        if op_token.kind != "op" or op_token.text not in ("=", "==", "!=", "<>", *COMPARISONS):
            raise self.error("expected an operator")
        self.index += 1
        if op_token.text in ("=", "=="):
            return Equals(field, self.value())
        if op_token.text in ("!=", "<>"):
            return Not(Equals(field, self.value()))
        return Compare(field, op_token.text, self.orderable())

    def function(self) -> Predicate:
        name_token = self.advance()
        name = name_token.text.lower()
        self.expect_op("(")
        if self.is_id_call():
            if name in ("exists", "search"):
                raise error_at(f"{name}() of id() is not supported", self.text, name_token.position)
            field = ID_FIELD
        else:
            field = self.field()
        if name == "exists":
            self.expect_op(")")
            return Exists(field)
        self.expect_op(",")
        token = self.token
        value = self.value()
        if type(value) is not str:
            raise error_at(f"{name}() takes a string", self.text, token.position)
        if name == "search":
            operator = SearchOperator.OR
            if self.op(","):
                if self.keyword("and"):
                    operator = SearchOperator.AND
                elif not self.keyword("or"):
                    raise self.error("expected and or or")
            self.expect_op(")")
            try:
                return Search(field, parse_search_terms(value), operator)
            except QueryError as exc:
                raise error_at(str(exc), self.text, token.position) from None
        self.expect_op(")")
        if name in ("startswith", "endswith"):
            found = StartsWith(field, value) if name == "startswith" else EndsWith(field, value)
            return _of_id(found, self.text, name_token.position) if field == ID_FIELD else found
        try:
            pattern = check_regex(_python_pattern(value))
        except QueryError as exc:
            raise error_at(str(exc), self.text, token.position) from None
        return Regex(field, pattern)


def _of_id(predicate: Predicate, text: str, position: int) -> Predicate:
    """A test of ``id()`` as RavenDB makes it: case-insensitive, so the values it compares
    with are lower-cased (its candidate is the document's key, ``evaluate``); ``regex()``
    sees the key as given. ``all in`` has no meaning for one id."""

    def lower(value: Any) -> Any:
        return value.lower() if type(value) is str else value

    match predicate:
        case Not(item=item):
            return Not(_of_id(item, text, position))
        case Equals(value=value):
            return dataclasses.replace(predicate, value=lower(value))
        case In(values=values):
            return dataclasses.replace(predicate, values=tuple(lower(v) for v in values))
        case Compare(value=value):
            return dataclasses.replace(predicate, value=lower(value))
        case Between(low=low, high=high):
            return dataclasses.replace(predicate, low=lower(low), high=lower(high))
        case StartsWith(prefix=prefix):
            return dataclasses.replace(predicate, prefix=prefix.lower())
        case EndsWith(suffix=suffix):
            return dataclasses.replace(predicate, suffix=suffix.lower())
        case Regex():
            return predicate
        case _:
            raise error_at("id() takes =, !=, <, <=, >, >=, in, between", text, position)


# .NET's named groups, which RavenDB's regex() takes, in Python's spelling.
_NET_GROUP = re.compile(r"(?<!\\)\(\?<([A-Za-z_]\w*)>")
_NET_BACKREFERENCE = re.compile(r"\\k<([A-Za-z_]\w*)>")


def _python_pattern(pattern: str) -> str:
    r"""A ``regex()`` pattern for Python's ``re``: RavenDB's are .NET's, whose common syntax
    is the same; its named groups ``(?<name>...)`` and ``\k<name>`` are rewritten."""
    pattern = _NET_GROUP.sub(r"(?P<\1>", pattern)
    return _NET_BACKREFERENCE.sub(r"(?P=\1)", pattern)

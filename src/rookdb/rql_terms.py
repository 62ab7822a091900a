"""The terms of RQL, read from the lexer's tokens: the cursor over them, fields, values.

``TermReader`` is the base of ``rookdb.rql``'s parser: it walks ``rookdb.rql_lexer``'s tokens
(``keyword``, ``op`` and their ``expect_`` forms, errors that name the token found) and reads
the terms every clause is made of: a field name (a path, quoted or not, ``x.Name`` under
``from X as x``), ``id()``, a value (a literal, a ``$parameter``, ``now()`` or ``today()``:
``rookdb.rql_time``), a list of values (a parameter holding a list stands for its elements),
an orderable value and a count. The clauses themselves are ``rookdb.rql_predicates``' (where)
and ``rookdb.rql``'s (from, order by, select, include, limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rookdb import rql_time
from rookdb.errors import QueryError, shown
from rookdb.paths import parse_field_path
from rookdb.query import Scalar, check_orderable, check_scalar
from rookdb.rql_lexer import KEYWORDS, Token, error_at, tokenize, unquote

__all__ = ["TermReader"]


class TermReader:
    """A cursor over the tokens of ``text``, reading RQL's terms; ``$name`` values come from
    ``parameters``."""

    def __init__(self, text: str, parameters: Mapping[str, Any]) -> None:
        self.text = text
        self.parameters = parameters
        self.tokens = tokenize(text)
        self.index = 0
        self.alias: str | None = None  # from X as x: x.Name is the field Name

    # -- tokens ------------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    @property
    def following(self) -> Token:
        """The token after the current one (the end token, at the end)."""
        return self.tokens[min(self.index + 1, len(self.tokens) - 1)]

    def error(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.token
        found = "end of query" if token.kind == "end" else shown(token.text)
        return error_at(f"{message}, found {found}", self.text, token.position)

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        """Consume ``word`` (case-insensitive) if it is next."""
        if self.token.kind == "name" and self.token.text.lower() == word:
            self.index += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.error(f"expected {word!r}")

    def op(self, text: str) -> bool:
        if self.token.kind == "op" and self.token.text == text:
            self.index += 1
            return True
        return False

    def expect_op(self, text: str) -> None:
        if not self.op(text):
            raise self.error(f"expected {text!r}")

    # -- pieces ------------------------------------------------------------------------------

    def field(self) -> str:
        token = self.token
        if token.kind == "string":  # a quoted field name
            name = unquote(token, self.text)
        elif token.kind == "name" and token.text.lower() not in KEYWORDS:
            name = token.text
            if self.alias is not None:
                name = self.unaliased(name)
        else:
            raise self.error("expected a field name")
        try:
            parse_field_path(name)
        except QueryError:
            raise error_at(f"invalid field name {shown(name)}", self.text, token.position) from None
        self.index += 1
        return name

    def value(self) -> Scalar:
        token = self.token
        if token.kind == "name" and self.following.text == "(":
            return self.value_function()
        token = self.advance()
        if token.kind == "string":
            return unquote(token, self.text)
        if token.kind == "number":
            integral = re.search(r"[.eE]", token.text) is None
            if integral and len(token.text.lstrip("-")) > 19:  # before int(): it takes 4,300
                raise error_at("integer does not fit in 64 bits", self.text, token.position)
            number = int(token.text) if integral else float(token.text)
            if isinstance(number, float) and number in (float("inf"), float("-inf")):
                raise error_at("number out of range", self.text, token.position)
            if isinstance(number, int) and not -(2**63) <= number < 2**63:
                raise error_at("integer does not fit in 64 bits", self.text, token.position)
            return number
        if token.kind == "param":
            name = token.text[1:]
            if name not in self.parameters:
                raise error_at(f"no value for parameter ${name}", self.text, token.position)
            try:
                return check_scalar(self.parameters[name])
            except QueryError as exc:
                raise error_at(f"parameter ${name}: {exc}", self.text, token.position) from None
        if token.kind == "name" and token.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text.lower()]
        self.index -= 1
        raise self.error("expected a value")

    def orderable(self) -> int | float | str:
        token = self.token
        value = self.value()  # its own errors say where they are
        try:
            return check_orderable(value)
        except QueryError as exc:
            raise error_at(str(exc), self.text, token.position) from None

    def value_function(self) -> Scalar:
        """``now()``, ``now('<offset>')``, ``today()``: values computed as the query is read
        (``rookdb.rql_time``); any other function the client can write here is refused."""
        token = self.advance()
        name = token.text.lower()
        self.expect_op("(")
        if name not in ("now", "today"):
            raise error_at(
                f"{token.text}() is not supported by rookdb as a value (now() and today() are)",
                self.text,
                token.position,
            )
        offset: Scalar = None
        if name == "now" and not self.op(")"):
            offset_token = self.token
            offset = self.value()
            if type(offset) is not str:
                raise error_at("now() takes an offset string", self.text, offset_token.position)
            self.expect_op(")")
        elif name == "today":
            self.expect_op(")")
        try:
            return rql_time.today() if name == "today" else rql_time.now(offset)  # type: ignore[arg-type]
        except QueryError as exc:
            raise error_at(str(exc), self.text, token.position) from None

    def values(self) -> tuple[Scalar, ...]:
        """``(v, ...)``; a parameter whose value is a list stands for its elements, as the
        official client sends ``where_in``, ``contains_any`` and ``contains_all``:
        ``in ($p0)`` with ``$p0`` a list."""
        self.expect_op("(")
        values: list[Scalar] = []
        if not self.op(")"):
            values.extend(self.listed())
            while self.op(","):
                values.extend(self.listed())
            self.expect_op(")")
        return tuple(values)

    def listed(self) -> list[Scalar]:
        token = self.token
        if token.kind == "param":
            name = token.text[1:]
            given = self.parameters.get(name)
            if isinstance(given, (list, tuple)):
                self.index += 1
                try:
                    return [check_scalar(v) for v in given]
                except QueryError as exc:
                    raise error_at(f"parameter ${name}: {exc}", self.text, token.position) from None
        return [self.value()]

    def number(self) -> int | None:
        """A count of ``limit`` or ``offset``; null (the official client's page size when
        only ``skip()`` was given) means the default: no limit, or no offset."""
        token = self.token
        value = self.value()
        if value is None:
            return None
        if type(value) is not int or value < 0:
            raise error_at("expected a count (a whole number >= 0)", self.text, token.position)
        return value

    def unaliased(self, name: str) -> str:
        """A path read under ``from X as x``: ``x.a.b`` is ``a.b``; a plain name is a field;
        a path through anything but the alias is refused, as RavenDB refuses it."""
        first = re.split(r"\.|\[\]", name, maxsplit=1)[0]
        if name == self.alias:
            raise self.error(f"{name} stands for the whole document here, not a field")
        if first == name:
            return name
        if first != self.alias:
            raise self.error(
                f"unknown alias {shown(first)}: the query's alias is {shown(self.alias)}"
            )
        if not name.startswith(f"{first}."):
            raise self.error(f"{first} is the whole document, not an array")
        return name[len(first) + 1 :]

    def is_id_call(self) -> bool:
        """``id()`` is next: consume it."""
        token = self.token
        if token.kind == "name" and token.text.lower() == "id":
            following = [t.text for t in self.tokens[self.index + 1 : self.index + 4]]
            if following[:2] == ["(", ")"]:
                self.index += 3
                return True
            if self.alias is not None and following == ["(", self.alias, ")"]:  # id(x)
                self.index += 4
                return True
        return False

    def call_field(self, clause: str) -> str:
        """A call standing for a field (``count()`` after group by): ``rql_aggregation``."""
        raise self.error(f"{self.token.text}() is not supported by rookdb in {clause}")

"""RQL, the RavenDB query language, as text: a parser to the query AST and a printer back.

The parser produces the same immutable ``Query`` the fluent builder does; the printer turns a
``Query`` into RQL text whose values are all parameters (``$p0``, ``$p1``, ...), which is how the
server issue sends queries. ``parse(print_query(q))`` gives ``q`` back.

Supported (SPEC Q3)::

    from Employees | from "Employees" | from @all_docs
    where <expr>      expr: or / and / not / ( ), and the comparisons below
        field = v   field == v   field != v   field <> v   field < v   <=   >   >=
        field in (v, ...)   field all in (v, ...)   field between v and v
        startsWith(field, v)   endsWith(field, v)   exists(field)   regex(field, v)
        search(field, 'terms' [, and | or])
    order by field [as long|double|string] [asc|desc], ...
    select [distinct] field, ...
    include field, ...
    limit n [offset m]   |   limit m, n   |   offset m

Values are literals (``'text'``, ``"text"``, numbers, ``true``, ``false``, ``null``) or
parameters ``$name``. Keywords are case-insensitive. Malformed input raises ``QueryError``
carrying the position, line and column, and so does a query nesting deeper than
``MAX_QUERY_DEPTH``: the parser stops at twice that many parentheses and ``not``s (each level
may take one of each) before it recurses any deeper.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple, TypeVar

from rookdb._types import assert_never
from rookdb.errors import QueryError
from rookdb.paths import parse_field_path
from rookdb.query import (
    COMPARISONS,
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
    OrderBy,
    Predicate,
    Query,
    QueryExecution,
    QueryExecutor,
    Regex,
    Scalar,
    Search,
    SearchOperator,
    StartsWith,
    check_orderable,
    check_scalar,
    parse_search_terms,
    query_value,
)

__all__ = ["ALL_DOCS", "RawDocumentQuery", "parse", "print_query"]

#: ``from @all_docs``: every document, whatever its collection.
ALL_DOCS = "@all_docs"

# A field path the lexer reads as one name; other paths are printed quoted.
_NAME = r"[\w@][\w@-]*(?:\[\])?(?:\.[\w@][\w@-]*(?:\[\])?)*"
_PLAIN_FIELD = re.compile(_NAME)
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w@]))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<param>\$[A-Za-z_]\w*)
  | (?P<name>{name})
  | (?P<op>==|!=|<>|<=|>=|[=<>(),])
    """.replace("{name}", _NAME),
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}
_KEYWORDS = {
    "from", "where", "and", "or", "not", "in", "all", "between", "order", "by", "as",
    "asc", "desc", "include", "limit", "offset", "true", "false", "null", "select", "distinct",
}  # fmt: skip
_FUNCTIONS = {"startswith", "endswith", "exists", "regex", "search"}


class Token(NamedTuple):
    kind: str  # number, string, param, name, op, end
    text: str
    position: int


def _error(message: str, text: str, position: int) -> QueryError:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return QueryError(
        f"{message} at line {line}, column {column}",
        position=position,
        line=line,
        column=column,
    )


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; anything unrecognised is a ``QueryError``."""
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _error(f"unexpected character {text[position]!r}", text, position)
        kind = match.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(token: Token, text: str) -> str:
    body = token.text[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escaped = body[index + 1]
        if escaped == "u":
            digits = body[index + 2 : index + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise _error("invalid \\u escape", text, token.position + index + 1)
            out.append(chr(int(digits, 16)))
            index += 6
            continue
        out.append(_ESCAPES.get(escaped, escaped))
        index += 2
    value = "".join(out)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _error("a string holds a lone surrogate", text, token.position) from None
    return value


class _Parser:
    def __init__(self, text: str, parameters: Mapping[str, Any]) -> None:
        self.text = text
        self.parameters = parameters
        self.tokens = tokenize(text)
        self.index = 0
        self.nesting = 0  # parentheses and nots open around the current token

    # -- tokens ------------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.token
        found = "end of query" if token.kind == "end" else repr(token.text)
        return _error(f"{message}, found {found}", self.text, token.position)

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
            name = _unquote(token, self.text)
        elif token.kind == "name" and token.text.lower() not in _KEYWORDS:
            name = token.text
        else:
            raise self.error("expected a field name")
        try:
            parse_field_path(name)
        except QueryError:
            raise _error(f"invalid field name {name!r}", self.text, token.position) from None
        self.index += 1
        return name

    def value(self) -> Scalar:
        token = self.advance()
        if token.kind == "string":
            return _unquote(token, self.text)
        if token.kind == "number":
            integral = re.search(r"[.eE]", token.text) is None
            if integral and len(token.text.lstrip("-")) > 19:  # before int(): it takes 4,300
                raise _error("integer does not fit in 64 bits", self.text, token.position)
            number = int(token.text) if integral else float(token.text)
            if isinstance(number, float) and number in (float("inf"), float("-inf")):
                raise _error("number out of range", self.text, token.position)
            if isinstance(number, int) and not -(2**63) <= number < 2**63:
                raise _error("integer does not fit in 64 bits", self.text, token.position)
            return number
        if token.kind == "param":
            name = token.text[1:]
            if name not in self.parameters:
                raise _error(f"no value for parameter ${name}", self.text, token.position)
            try:
                return check_scalar(self.parameters[name])
            except QueryError as exc:
                raise _error(f"parameter ${name}: {exc}", self.text, token.position) from None
        if token.kind == "name" and token.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text.lower()]
        self.index -= 1
        raise self.error("expected a value")

    def orderable(self) -> int | float | str:
        token = self.token
        try:
            return check_orderable(self.value())
        except QueryError as exc:
            raise _error(str(exc), self.text, token.position) from None

    def values(self) -> tuple[Scalar, ...]:
        self.expect_op("(")
        values: list[Scalar] = []
        if not self.op(")"):
            values.append(self.value())
            while self.op(","):
                values.append(self.value())
            self.expect_op(")")
        return tuple(values)

    def number(self) -> int:
        token = self.token
        value = self.value()
        if type(value) is not int or value < 0:
            raise _error("expected a count (a whole number >= 0)", self.text, token.position)
        return value

    # -- expressions -------------------------------------------------------------------------

    def expression(self) -> Predicate:
        items = [self.conjunction()]
        while self.keyword("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Predicate:
        items = [self.negation()]
        while self.keyword("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def nest(self, token: Token) -> None:
        """Enter a parenthesis or a ``not``: refused past the limit, before any recursion."""
        self.nesting += 1
        if self.nesting > 2 * MAX_QUERY_DEPTH:
            raise _error(
                f"the query nests deeper than {MAX_QUERY_DEPTH} levels of and/or/not",
                self.text,
                token.position,
            )

    def negation(self) -> Predicate:
        token = self.token
        if self.keyword("not"):
            self.nest(token)
            negated = Not(self.negation())
            self.nesting -= 1
            return negated
        return self.primary()

    def primary(self) -> Predicate:
        token = self.token
        if self.op("("):
            self.nest(token)
            inner = self.expression()
            self.expect_op(")")
            self.nesting -= 1
            return inner
        token = self.token
        if token.kind == "name" and token.text.lower() in _FUNCTIONS:
            following = self.tokens[self.index + 1]  # the end token is always last
            if following.kind == "op" and following.text == "(":
                return self.function()
        field = self.field()
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
                raise _error(
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
        name = self.advance().text.lower()
        self.expect_op("(")
        field = self.field()
        if name == "exists":
            self.expect_op(")")
            return Exists(field)
        self.expect_op(",")
        token = self.token
        value = self.value()
        if type(value) is not str:
            raise _error(f"{name}() takes a string", self.text, token.position)
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
                raise _error(str(exc), self.text, token.position) from None
        self.expect_op(")")
        if name == "startswith":
            return StartsWith(field, value)
        if name == "endswith":
            return EndsWith(field, value)
        try:
            re.compile(value)
        except re.error as exc:
            raise _error(f"invalid regular expression: {exc}", self.text, token.position) from None
        return Regex(field, value)

    # -- the query ---------------------------------------------------------------------------

    def query(self) -> Query:
        self.expect_keyword("from")
        if self.keyword("index"):
            raise self.error("static indexes are not supported; query a collection")
        token = self.token
        if token.kind == "string":
            collection: str | None = _unquote(token, self.text)
        elif token.kind == "name" and token.text.lower() not in _KEYWORDS:
            collection = token.text
        else:
            raise self.error("expected a collection name")
        self.index += 1
        if collection is not None and collection.lower() == ALL_DOCS:
            collection = None
        where = self.expression() if self.keyword("where") else None
        order_by: list[OrderBy] = []
        if self.keyword("order"):
            self.expect_keyword("by")
            order_by.append(self.order_item())
            while self.op(","):
                order_by.append(self.order_item())
        select: list[str] = []
        distinct = False
        if self.keyword("select"):
            distinct = self.keyword("distinct")
            select.append(self.field())
            while self.op(","):
                select.append(self.field())
        includes: list[str] = []
        if self.keyword("include"):
            includes.append(self.field())
            while self.op(","):
                includes.append(self.field())
        skip, take = 0, None
        if self.keyword("limit"):
            first = self.number()
            if self.op(","):
                skip, take = first, self.number()
            else:
                take = first
                if self.keyword("offset"):
                    skip = self.number()
        elif self.keyword("offset"):
            skip = self.number()
        if self.token.kind != "end":
            raise self.error("expected the end of the query")
        return Query(
            collection, where, tuple(order_by), skip, take, tuple(includes), tuple(select), distinct
        )

    def order_item(self) -> OrderBy:
        field = self.field()
        if any(s.is_array for s in parse_field_path(field)):
            raise self.error("an array path cannot be sorted on", self.tokens[self.index - 1])
        ordering = None
        if self.keyword("as"):
            token = self.advance()
            ordering = token.text.lower()
            if token.kind != "name" or ordering not in ("long", "double", "string"):
                raise _error("expected long, double or string", self.text, token.position)
        descending = False
        if self.keyword("desc"):
            descending = True
        else:
            self.keyword("asc")
        return OrderBy(field, descending, ordering)


def parse(text: str, parameters: Mapping[str, Any] | None = None) -> Query:
    """The ``Query`` of an RQL text; ``$name`` values come from ``parameters``."""
    if not isinstance(text, str):
        raise QueryError("an RQL query is a str")
    return _Parser(text, parameters or {}).query()


# --------------------------------------------------------------------------- printing


class _Printer:
    def __init__(self) -> None:
        self.parameters: dict[str, Scalar] = {}

    def bind(self, value: Scalar) -> str:
        name = f"p{len(self.parameters)}"
        self.parameters[name] = value
        return f"${name}"

    def field(self, name: str) -> str:
        word = name.split(".", 1)[0].removesuffix("[]").lower()
        # Keywords and names the lexer would read otherwise are quoted.
        if (
            word in _KEYWORDS
            or word in _FUNCTIONS
            or re.match(r"-?\d", name)
            or not _PLAIN_FIELD.fullmatch(name)
        ):
            return _quote(name)
        return name

    def predicate(self, predicate: Predicate, nested: bool = False) -> str:
        match predicate:
            case And(items=items) | Or(items=items):
                joiner = " and " if isinstance(predicate, And) else " or "
                text = joiner.join(self.predicate(p, nested=True) for p in items)
                return f"({text})" if nested else text
            case Not(item=And() | Or() as item):
                # Parenthesised only when it must be, so the text nests no deeper than the tree.
                return f"not ({self.predicate(item)})"
            case Not(item=item):
                return f"not {self.predicate(item)}"
            case Equals(field=field, value=value):
                return f"{self.field(field)} = {self.bind(value)}"
            case Compare(field=field, op=op, value=value):
                return f"{self.field(field)} {op} {self.bind(value)}"
            case Between(field=field, low=low, high=high):
                return f"{self.field(field)} between {self.bind(low)} and {self.bind(high)}"
            case In(field=field, values=values) | ContainsAll(field=field, values=values):
                keyword = "in" if isinstance(predicate, In) else "all in"
                listed = ", ".join(self.bind(v) for v in values)
                return f"{self.field(field)} {keyword} ({listed})"
            case StartsWith(field=field, prefix=prefix):
                return f"startsWith({self.field(field)}, {self.bind(prefix)})"
            case EndsWith(field=field, suffix=suffix):
                return f"endsWith({self.field(field)}, {self.bind(suffix)})"
            case Exists(field=field):
                return f"exists({self.field(field)})"
            case Regex(field=field, pattern=pattern):
                return f"regex({self.field(field)}, {self.bind(pattern)})"
            case Search(field=field, terms=terms, operator=search_operator):
                text_terms = self.bind(" ".join(terms))
                return f"search({self.field(field)}, {text_terms}, {search_operator.value})"
            case _:
                assert_never(predicate, "predicate")


def print_query(query: Query) -> tuple[str, dict[str, Scalar]]:
    """RQL text for ``query`` and the parameters it names: every value is a parameter."""
    printer = _Printer()
    collection = query.collection
    if collection is None:
        parts = [f"from {ALL_DOCS}"]
    elif _PLAIN_NAME.fullmatch(collection) and collection.lower() not in _KEYWORDS:
        parts = [f"from {collection}"]
    else:
        parts = [f"from {_quote(collection)}"]
    if query.where is not None:
        parts.append(f"where {printer.predicate(query.where)}")
    if query.order_by:
        items = []
        for order in query.order_by:
            item = printer.field(order.field)
            if order.ordering:
                item += f" as {order.ordering}"
            items.append(item + (" desc" if order.descending else ""))
        parts.append("order by " + ", ".join(items))
    if query.select:
        fields = ", ".join(printer.field(f) for f in query.select)
        parts.append(f"select {'distinct ' if query.distinct else ''}{fields}")
    if query.includes:
        parts.append("include " + ", ".join(printer.field(f) for f in query.includes))
    if query.take is not None:
        parts.append(f"limit {query.take}")
        if query.skip:
            parts.append(f"offset {query.skip}")
    elif query.skip:
        parts.append(f"offset {query.skip}")
    return " ".join(parts), printer.parameters


_PLAIN_NAME = re.compile(r"[A-Za-z_][\w-]*")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


T = TypeVar("T")


class RawDocumentQuery(QueryExecution[T]):
    """``session.advanced.raw_query(rql)``: an RQL query with parameters::

        session.advanced.raw_query("from Employees where first_name = $name", Employee)
            .add_parameter("name", "Robert")
            .first()

    The text is parsed when the query runs, with the parameters added by then; values are
    always bound, never pasted into SQL.
    """

    def __init__(self, executor: QueryExecutor, object_type: type[T] | None, text: str) -> None:
        super().__init__(executor, object_type)
        if not isinstance(text, str):
            raise QueryError("an RQL query is a str")
        self._text = text
        self._parameters: dict[str, Any] = {}

    def add_parameter(self, name: str, value: Any) -> RawDocumentQuery[T]:
        """Give ``$name`` its value: a JSON scalar, or any value an entity can hold, compared
        as the entity's field stores it (a ``Decimal`` as a number, a datetime as fixed-width
        ISO 8601 text, an enum as its value; see ``query_value``)."""
        self._parameters[name.removeprefix("$")] = value
        return self

    def to_query(self) -> Query:
        values = {}
        for name, value in self._parameters.items():
            try:
                values[name] = query_value(self._executor, value)
            except QueryError as exc:
                raise QueryError(f"parameter ${name}: {exc}") from None
        return parse(self._text, values)

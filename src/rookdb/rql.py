"""RQL, the RavenDB query language, as text: a parser to the query AST and a printer back.

The parser produces the same immutable ``Query`` the fluent builder does; the printer turns a
``Query`` into RQL text whose values are all parameters (``$p0``, ``$p1``, ...), which is how the
server issue sends queries. ``parse(print_query(q))`` gives ``q`` back.

Supported (SPEC Q3)::

    from Employees | from "Employees" | from 'Employees' | from @all_docs
        [as e | e]      an alias: e.Name is the field Name, id(e) is id(), select e is select *
    where <expr>      expr: or / and / not / ( ) / exact( ) / true, and the comparisons below
        field = v   field == v   field != v   field <> v   field < v   <=   >   >=
        field in (v, ...)   field all in (v, ...)   field between v and v
        startsWith(field, v)   endsWith(field, v)   exists(field)   regex(field, v)
        id() in place of a field, but for all in, exists and search (case-insensitive)
        search(field, 'terms' [, and | or])
    order by field [as long|double|string|alphaNumeric] [asc|desc] [nulls first|last], ...
    select [distinct] field [as key], ...      (field: a path, id() or counter([x, ]'name'),
                                                the key of a counter its name; select * is no
                                                select, and so is select distinct *: no two
                                                documents are the same)
    select facet(...), ...     facets (``rookdb.facet_rql``), answered by execute_aggregation
    include field, ...
    limit n [offset m]   |   limit m, n   |   offset m      (null: no limit, no offset)
    group by field, ...  after from: dynamic aggregation (``rookdb.rql_aggregation``)

Values are literals (``'text'``, ``"text"``, numbers, ``true``, ``false``, ``null``),
parameters ``$name`` (in ``in (...)`` and ``all in (...)``, a parameter holding a list stands
for its elements), or ``now()``, ``now('<offset>')``, ``today()`` (``rookdb.rql_time``).
Keywords are case-insensitive; the words are ``rookdb.rql_lexer``'s. What the official client
can write but rookdb does not run (``load``, ``declare``, ``cmpxchg()``,
``lucene()``, ``spatial.*()``, ``boost()``, ``filter``, ``order by random()`` or
``score()``, ...) is refused by name. Malformed input raises ``QueryError`` carrying the
position, line and column, and so does a query nesting deeper than ``MAX_QUERY_DEPTH``: the
parser stops at twice that many parentheses and ``not``s (each level may take one of each)
before it recurses any deeper.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from rookdb import facet_rql, rql_time
from rookdb.errors import InvalidIdError, QueryError
from rookdb.ids import validate_collection_name
from rookdb.paths import parse_field_path
from rookdb.query import (
    COMPARISONS,
    ID_FIELD,
    MAX_QUERY_DEPTH,
    ORDERINGS,
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
    Regex,
    Scalar,
    Search,
    SearchOperator,
    StartsWith,
    check_orderable,
    check_scalar,
    parse_search_terms,
)
from rookdb.query_ast import counter_field
from rookdb.rql_lexer import (
    ALL_DOCS,
    FUNCTIONS,
    KEYWORDS,
    Token,
    error_at,
    tokenize,
    unquote,
)
from rookdb.storage.records import ALL_COUNTERS

# ALL_DOCS and tokenize live in rookdb.rql_lexer; named here too, where callers found them.
__all__ = ["ALL_DOCS", "parse", "tokenize"]


# Words that begin a clause rookdb refuses by name: never a collection alias (``from X w``).
_CLAUSES = ("group", "update", "declare", "with", "match", "load", "filter")
# What may follow ``select x`` (the alias alone).
_AFTER_SELECT = ("include", "limit", "offset")


class _Everything:
    """The ``true`` clause, while parsing: it matches every document."""


EVERYTHING = _Everything()
Clause = Predicate | _Everything


class _Parser:
    def __init__(self, text: str, parameters: Mapping[str, Any]) -> None:
        self.text = text
        self.parameters = parameters
        self.tokens = tokenize(text)
        self.index = 0
        self.nesting = 0  # parentheses and nots open around the current token
        self.alias: str | None = None  # from X as x: x.Name is the field Name
        self.facets: tuple[facet_rql.FacetSpec, ...] = ()  # select facet(...) (facet_rql)

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
        found = "end of query" if token.kind == "end" else repr(token.text)
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
            raise error_at(f"invalid field name {name!r}", self.text, token.position) from None
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
        try:
            return check_orderable(self.value())
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

    # -- expressions -------------------------------------------------------------------------

    # ``true`` (which the official client writes for ``where_true()``, for ``contains_all``
    # of nothing, and before a leading ``not``) matches every document: it drops out of an
    # ``and`` and makes an ``or`` match everything.

    def expression(self) -> Clause:
        items = [self.conjunction()]
        while self.keyword("or"):
            items.append(self.conjunction())
        if any(isinstance(item, _Everything) for item in items):
            return EVERYTHING
        kept = [item for item in items if not isinstance(item, _Everything)]
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def conjunction(self) -> Clause:
        items = [self.negation()]
        while self.keyword("and"):
            items.append(self.negation())
        kept = [item for item in items if not isinstance(item, _Everything)]
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
            if isinstance(item, _Everything):
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
        pattern = _python_pattern(value)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise error_at(
                f"invalid regular expression: {exc}", self.text, token.position
            ) from None
        return Regex(field, pattern)

    # -- the query ---------------------------------------------------------------------------

    def query(self) -> Query:
        if self.token.kind == "name" and self.token.text.lower() == "declare":
            raise self.error("declare (a JavaScript function) is not supported by rookdb")
        self.expect_keyword("from")
        index_name: str | None = None
        if self.keyword("index"):
            if self.token.kind != "string":
                raise self.error("expected the index's name, quoted: from index 'Orders/Totals'")
            index_name = unquote(self.token, self.text)
        token = self.token
        collection: str | None = None
        if index_name is not None:
            pass
        elif token.kind == "string":
            collection = unquote(token, self.text)
        elif token.kind == "name" and token.text.lower() not in KEYWORDS:
            collection = token.text
        else:
            raise self.error("expected a collection name")
        self.index += 1
        if index_name is not None:
            pass
        elif collection is not None and collection.lower() == ALL_DOCS:
            collection = None
        elif collection is not None:
            try:
                validate_collection_name(collection)
            except InvalidIdError as exc:  # said where, as every error of the text is
                raise error_at(str(exc), self.text, token.position) from None
        self.from_alias()
        for word in ("group", "update", "declare", "with", "match", "filter"):
            self.refuse_clause(word, f"{word} is not supported by rookdb")
        where = self.expression() if self.keyword("where") else None
        for word in ("group", "update", "filter"):
            self.refuse_clause(word, f"{word} is not supported by rookdb")
        order_by: list[OrderBy] = []
        if self.keyword("order"):
            self.expect_keyword("by")
            order_by.append(self.order_item())
            while self.op(","):
                order_by.append(self.order_item())
        self.refuse_clause(
            "load",
            "load is not supported by rookdb yet: loading the documents fields reference "
            "comes with JavaScript projections (issues 15 and 16)",
        )
        select: list[str] = []
        select_as: list[str] = []
        distinct = False
        if self.keyword("select"):
            # select distinct *: every document is distinct (its id differs), so it is
            # select *, as in RavenDB, which parses it without a projection.
            distinct = self.keyword("distinct")
            if self.op("*") or self.whole_document():
                distinct = False
            elif facet_rql.starts_facets(self):
                self.facets = facet_rql.parse_facets(self)
            else:
                self.select_item(select, select_as)
                while self.op(","):
                    self.select_item(select, select_as)
        includes: list[str] = []
        counters: list[str] = []
        if self.keyword("include"):
            self.include_item(includes, counters)
            while self.op(","):
                self.include_item(includes, counters)
        skip: int | None = None
        take: int | None = None
        if self.keyword("limit"):
            first = self.number()
            if self.op(","):  # limit <offset>, <count>
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
            collection,
            None if isinstance(where, _Everything) else where,
            tuple(order_by),
            skip or 0,
            take,
            tuple(includes),
            tuple(select),
            distinct,
            tuple(select_as) if any(k != f for k, f in zip(select_as, select, strict=True)) else (),
            tuple(dict.fromkeys(counters)),
            index_name,
        )

    def from_alias(self) -> None:
        """``from X as x`` (or ``from X x``): ``x.Name`` then names the field ``Name``, as the
        official client writes fields when a projection or include names the alias."""
        token = self.token
        if self.keyword("as"):
            token = self.advance()
        elif token.kind != "name" or token.text.lower() in (*KEYWORDS, *_CLAUSES):
            return
        else:
            self.index += 1
        if token.kind != "name" or not re.fullmatch(r"[A-Za-z_]\w*", token.text):
            raise self.error("expected an alias (a name) for the collection", token)
        if token.text.lower() in KEYWORDS:
            raise self.error("a keyword cannot be an alias", token)
        self.alias = token.text

    def unaliased(self, name: str) -> str:
        """A path read under ``from X as x``: ``x.a.b`` is ``a.b``; a plain name is a field;
        a path through anything but the alias is refused, as RavenDB refuses it."""
        first = re.split(r"\.|\[\]", name, maxsplit=1)[0]
        if name == self.alias:
            raise self.error(f"{name} stands for the whole document here, not a field")
        if first == name:
            return name
        if first != self.alias:
            raise self.error(f"unknown alias {first!r}: the query's alias is {self.alias!r}")
        if not name.startswith(f"{first}."):
            raise self.error(f"{first} is the whole document, not an array")
        return name[len(first) + 1 :]

    def whole_document(self) -> bool:
        """``select x``, ``x`` the alias, alone: the whole document, as ``select *``."""
        token = self.token
        if self.alias is None or token.kind != "name" or token.text != self.alias:
            return False
        if self.following.kind != "end" and self.following.text.lower() not in _AFTER_SELECT:
            raise self.error(
                f"select {self.alias} (the whole document) takes no other fields: "
                "combining them needs JavaScript projections, which rookdb does not run",
            )
        self.index += 1
        return True

    def select_item(self, select: list[str], keys: list[str]) -> None:
        """``field``, ``id()`` or either ``as key``: the value of a field (or the document's
        id) under a key of the projection."""
        token = self.token
        key = None
        if self.is_id_call():
            field = ID_FIELD
        elif (
            token.kind == "name" and token.text.lower() == "counter" and self.following.text == "("
        ):
            key = self.counter_call()
            field = counter_field(key)
        elif token.kind == "name" and self.following.text == "(":
            field = self.call_field("select")
        else:
            field = self.field()
        key = field if key is None else key
        aliased = self.keyword("as")
        if aliased:
            key_token = self.advance()
            if key_token.kind == "string":
                key = unquote(key_token, self.text)
            elif key_token.kind == "name":
                key = key_token.text
            else:
                raise error_at("expected a name after as", self.text, key_token.position)
        if aliased and key in keys:
            raise error_at(f"{key!r} is selected twice", self.text, token.position)
        select.append(field)
        keys.append(key)

    def counter_call(self) -> str:
        """``counter('name')`` or ``counter(x, 'name')``, ``x`` the collection's alias: the
        value of the document's counter (None if it has none), under the counter's name."""
        self.index += 2
        if self.alias is not None and self.token.text == self.alias:
            self.index += 1
            self.expect_op(",")
        elif self.token.kind == "name":
            raise self.error(
                "counter() of the documents a path references is not supported by rookdb "
                "(counter('name') of the documents found is)"
            )
        name = self.value()
        if type(name) is not str or not name:
            raise self.error("expected a counter name (a string)", self.tokens[self.index - 1])
        self.expect_op(")")
        return name

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

    def include_item(self, includes: list[str], counters: list[str]) -> None:
        """A path, or ``counters()``, ``counters('name')``, ``counters(x)`` or
        ``counters(x, 'name')`` with ``x`` the collection's alias (as the official client
        writes them): the counters of the documents found, all or by name."""
        token = self.token
        if not (
            token.kind == "name" and token.text.lower() == "counters" and self.following.text == "("
        ):
            self.refuse_call("include")
            includes.append(self.field())
            return
        self.index += 2
        if self.alias is not None and self.token.text == self.alias:
            self.index += 1
            if self.token.text != ")":
                self.expect_op(",")
        elif self.token.kind == "name":
            raise self.error(
                "counters of the documents a path references are not supported by rookdb "
                "(counters() of the documents found are)"
            )
        if self.op(")"):
            counters.append(ALL_COUNTERS)
            return
        token = self.token
        if token.kind == "param" and type(self.parameters.get(token.text[1:])) is list:
            # counters($p) of a list of names, as the official client sends several
            self.index += 1
            names = self.parameters[token.text[1:]]
            if not names or not all(type(n) is str and n for n in names):
                raise self.error("expected a list of counter names (strings)", token)
            counters.extend(names)
            self.expect_op(")")
            return
        name = self.value()
        if type(name) is not str or not name:
            raise self.error("expected a counter name (a string)", self.tokens[self.index - 1])
        counters.append(name)
        self.expect_op(")")

    def call_field(self, clause: str) -> str:
        """A call standing for a field (``count()`` after group by): ``rql_aggregation``."""
        raise self.error(f"{self.token.text}() is not supported by rookdb in {clause}")

    def refuse_call(self, clause: str) -> None:
        """A function call (``random()``, ``counters(...)``, ``highlight(...)``) where rookdb
        reads only field paths: refused by name."""
        token = self.token
        if token.kind == "name" and self.following.text == "(":
            raise self.error(f"{token.text}() is not supported by rookdb in {clause}")

    def sorts_arrays(self, field: str) -> bool:
        return any(s.is_array for s in parse_field_path(field))

    def refuse_clause(self, word: str, message: str) -> None:
        if self.token.kind == "name" and self.token.text.lower() == word:
            raise self.error(message)

    def order_item(self) -> OrderBy:
        called = self.token.kind == "name" and self.following.text == "("
        field = self.call_field("order by") if called else self.field()
        if not called and self.sorts_arrays(field):
            raise self.error("an array path cannot be sorted on", self.tokens[self.index - 1])
        ordering = None
        if self.keyword("as"):
            token = self.advance()
            ordering = token.text.lower()
            if token.kind != "name" or ordering not in ORDERINGS:
                raise error_at(
                    "expected long, double, string or alphaNumeric", self.text, token.position
                )
        descending = self.keyword("desc") or self.keyword("descending")
        if not descending and not self.keyword("asc"):
            self.keyword("ascending")
        nulls = None
        if self.keyword("nulls"):  # RavenDB 7 (Corax): where the documents without a value go
            if self.keyword("first"):
                nulls = "first"
            elif self.keyword("last"):
                nulls = "last"
            else:
                raise self.error("expected first or last after nulls")
        return OrderBy(field, descending, ordering, nulls)


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


def parse(text: str, parameters: Mapping[str, Any] | None = None) -> Query:
    """The ``Query`` of an RQL text; ``$name`` values come from ``parameters``."""
    parser = parser_for(text, parameters)
    return facet_rql.without_facets(parser.query(), parser)


def parser_for(text: str, parameters: Mapping[str, Any] | None = None) -> _Parser:
    """The parser of ``text``: a ``GroupByParser`` (``rookdb.rql_aggregation``) when it
    groups. (What is refused before the lexer meets the text is refused here.)"""
    if not isinstance(text, str):
        raise QueryError("an RQL query is a str")
    if text.lstrip()[:8].lower() == "declare ":  # before the lexer meets the function's body
        raise error_at("declare (a JavaScript function) is not supported by rookdb", text, 0)
    if re.search(r"(?i)\bgroup\s+by\b", text):
        from rookdb.rql_aggregation import GroupByParser

        return GroupByParser(text, parameters or {})
    return _Parser(text, parameters or {})

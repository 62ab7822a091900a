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

This module reads the clauses of a query and holds ``parse``; its terms (fields, values) are
``rookdb.rql_terms``' and its where clause ``rookdb.rql_predicates``'.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rookdb import facet_rql
from rookdb.errors import InvalidIdError, QueryError, shown
from rookdb.ids import validate_collection_name
from rookdb.paths import parse_field_path
from rookdb.query import ID_FIELD, ORDERINGS, OrderBy, Query
from rookdb.query_ast import counter_field
from rookdb.rql_lexer import ALL_DOCS, KEYWORDS, error_at, tokenize, unquote
from rookdb.rql_predicates import Everything, PredicateParser
from rookdb.storage.records import ALL_COUNTERS

# ALL_DOCS and tokenize live in rookdb.rql_lexer; named here too, where callers found them.
__all__ = ["ALL_DOCS", "parse", "tokenize"]


# Words that begin a clause rookdb refuses by name: never a collection alias (``from X w``).
_CLAUSES = ("group", "update", "declare", "with", "match", "load", "filter")
# What may follow ``select x`` (the alias alone).
_AFTER_SELECT = ("include", "limit", "offset")


class _Parser(PredicateParser):
    """RQL's parser: the clauses of a query (from, where, order by, select, include, limit)
    around its terms (``rookdb.rql_terms``) and predicates (``rookdb.rql_predicates``)."""

    def __init__(self, text: str, parameters: Mapping[str, Any]) -> None:
        super().__init__(text, parameters)
        self.facets: tuple[facet_rql.FacetSpec, ...] = ()  # select facet(...) (facet_rql)

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
            None if isinstance(where, Everything) else where,
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
            raise error_at(f"{shown(key)} is selected twice", self.text, token.position)
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

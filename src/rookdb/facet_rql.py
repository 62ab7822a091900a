"""Facets as data and as RQL: what every backend runs, and the ``select facet(...)`` grammar.

A facet query is a ``FacetQuery``: the ``Query`` whose results are counted (its where clause,
its collection or index; its paging and projection play no part) and its ``FacetSpec`` objects.
RQL, as RavenDB and its official client write it::

    from Cameras where zoom > 2
    select facet(manufacturer, sum(cost), max(cost) as 'top', $options) as 'makers',
           facet(cost < 200, cost >= 200 and cost < 400, cost between 400 and 800),
           facet(id('facets/CameraFacets'))

A facet names a field (one value per term) or ranges of one field (``<``, ``<=``, ``>``,
``>=``, ``between``, joined by ``and``), aggregations ``sum``, ``min``, ``max`` and ``avg``
of fields, and its options as a parameter (RavenDB's ``FacetOptions`` JSON); or it is
``id('...')``, a ``FacetSetup`` document whose facets are read when the query runs. Anything
else (a function, a literal, an unknown option) is a ``QueryError``.

``rookdb.rql`` calls ``parse_facets`` when a select clause begins with ``facet(``; facets
built with the session's API and stored ``FacetSetup`` documents become ``FacetSpec`` objects in
``rookdb.facet_specs``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from rookdb.errors import QueryError, shown
from rookdb.facets import INT_MAX, FacetTermSortMode
from rookdb.query_ast import And, Between, Compare, Predicate, Query, Scalar, check_count
from rookdb.rql_lexer import error_at, unquote
from rookdb.rql_predicates import PredicateParser

if TYPE_CHECKING:
    from collections.abc import Callable

    from rookdb.rql import _Parser

__all__ = [
    "FacetAggregate",
    "FacetPaging",
    "FacetQuery",
    "FacetRange",
    "FacetSpec",
    "parse_facet_query",
    "print_facet_query",
]

_AGGREGATES = {"sum": "Sum", "min": "Min", "max": "Max", "avg": "Average", "average": "Average"}
_COMPARISONS = ("<", "<=", ">", ">=", "=", "==", "!=", "<>")
_SORTS = {mode.value.lower(): mode.value for mode in FacetTermSortMode}


@dataclasses.dataclass(frozen=True, slots=True)
class FacetAggregate:
    """``kind`` ("Sum", "Min", "Max" or "Average") of ``field``; its values go under
    ``display_name`` (else the field's name)."""

    kind: str
    field: str
    display_name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class FacetRange:
    """One range of a range facet: its ``name`` (RavenDB's: ``cost < 200``) and what matches."""

    name: str
    predicate: Predicate


@dataclasses.dataclass(frozen=True, slots=True)
class FacetPaging:
    """A field facet's options: ``start`` and ``page_size`` of its terms, their order
    (``FacetTermSortMode``'s value) and whether the terms after the page are listed."""

    start: int = 0
    page_size: int = INT_MAX
    sort: str = FacetTermSortMode.VALUE_ASC.value
    include_remaining_terms: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class FacetSpec:
    """One facet: of ``field``'s terms, of ``ranges``, or the facets of the ``FacetSetup``
    document ``setup_id`` (read when the query runs)."""

    field: str | None = None
    ranges: tuple[FacetRange, ...] = ()
    display_name: str | None = None
    aggregations: tuple[FacetAggregate, ...] = ()
    paging: FacetPaging = FacetPaging()
    setup_id: str | None = None

    @property
    def name(self) -> str:
        """The key of its result: the display name, else the field (of its ranges)."""
        if self.display_name:
            return self.display_name
        if self.field is not None:
            return self.field
        if self.ranges:
            return range_field(self.ranges[0].predicate)
        return self.setup_id or ""


class FacetQuery(NamedTuple):
    """A query whose results are counted by ``facets``."""

    query: Query
    facets: tuple[FacetSpec, ...]


# -- parsing ---------------------------------------------------------------------------------


def starts_facets(parser: PredicateParser) -> bool:
    """Whether the parser is at ``facet(``."""
    token = parser.token
    return token.kind == "name" and token.text.lower() == "facet" and parser.following.text == "("


def parse_facets(parser: PredicateParser) -> tuple[FacetSpec, ...]:
    """``facet(...) [as name], ...``: a select clause of facets only."""
    facets = [_facet(parser)]
    while parser.op(","):
        if not starts_facets(parser):
            raise parser.error("a facet query selects facets only")
        facets.append(_facet(parser))
    names = [f.name.lower() for f in facets if f.setup_id is None]
    for name in names:
        if names.count(name) > 1:
            raise parser.error(f"two facets are named {shown(name)}: give one a name with 'as'")
    return tuple(facets)


def _facet(parser: PredicateParser) -> FacetSpec:
    start = parser.token
    parser.index += 2  # facet (
    if parser.token.text.lower() == "id" and parser.following.text == "(":
        parser.index += 2
        if parser.token.kind != "string":
            raise parser.error("facet(id(...)) takes the FacetSetup document's id, quoted")
        setup_id = unquote(parser.advance(), parser.text)
        parser.expect_op(")")
        parser.expect_op(")")
        return FacetSpec(setup_id=setup_id)
    field: str | None = None
    ranges: list[FacetRange] = []
    aggregations: list[FacetAggregate] = []
    paging = FacetPaging()
    while not parser.op(")"):
        if field is not None or ranges or aggregations or paging != FacetPaging():
            parser.expect_op(",")
        token = parser.token
        if token.kind == "name" and token.text.lower() in _AGGREGATES and _at_call(parser):
            aggregations.append(_aggregate(parser))
        elif token.kind == "param":
            paging = options_paging(parser.parameters.get(token.text[1:], _MISSING), token.text)
            parser.index += 1
        elif token.kind in ("name", "string") and not _at_call(parser):
            if aggregations or (field is not None):
                raise parser.error("a facet's field or ranges come before its aggregations")
            mark = parser.index
            parser.field()
            if parser.token.text in _COMPARISONS or parser.token.text.lower() == "between":
                parser.index = mark
                ranges.append(_range(parser))
            elif ranges:
                raise parser.error("a facet holds ranges or a field, not both")
            else:
                parser.index = mark
                field = parser.field()
        else:
            raise parser.error(
                "a facet takes a field, ranges of a field, sum/min/max/avg(field) and its options"
            )
    if field is None and not ranges:
        raise error_at("facet() names a field or ranges of one", parser.text, start.position)
    if len({range_field(r.predicate) for r in ranges}) > 1:
        message = "the ranges of a facet are all of one field"
        raise error_at(message, parser.text, start.position)
    display = _alias(parser)
    return FacetSpec(field, tuple(ranges), display, tuple(aggregations), paging)


def _at_call(parser: PredicateParser) -> bool:
    return parser.token.kind == "name" and parser.following.text == "("


def _alias(parser: PredicateParser) -> str | None:
    if not parser.keyword("as"):
        return None
    token = parser.advance()
    if token.kind == "string":
        return unquote(token, parser.text)
    if token.kind == "name":
        return token.text
    raise error_at("expected a name after as", parser.text, token.position)


def _aggregate(parser: PredicateParser) -> FacetAggregate:
    kind = _AGGREGATES[parser.advance().text.lower()]
    parser.expect_op("(")
    field = parser.field()
    parser.expect_op(")")
    return FacetAggregate(kind, field, _alias(parser))


def _range(parser: PredicateParser) -> FacetRange:
    token = parser.token
    clause = parser.conjunction()
    if not isinstance(clause, (Compare, Between, And)) or not is_range(clause):
        raise error_at(
            "a facet's range compares one field with <, <=, >, >= or between",
            parser.text,
            token.position,
        )
    return FacetRange(range_name(clause), clause)


def is_range(predicate: Predicate) -> bool:
    if isinstance(predicate, And):
        items = predicate.items
        if not all(isinstance(p, (Compare, Between)) for p in items):
            return False
        return len({range_field(p) for p in items}) == 1
    return isinstance(predicate, (Compare, Between))


def facet_field(facet: FacetSpec) -> str:
    """The field a facet counts: its own, or its ranges'."""
    if facet.field is not None:
        return facet.field
    if not facet.ranges:
        raise QueryError("a facet names a field or ranges of one")
    return range_field(facet.ranges[0].predicate)


def range_field(predicate: Predicate) -> str:
    if isinstance(predicate, And):
        return range_field(predicate.items[0])
    assert isinstance(predicate, (Compare, Between))
    return predicate.field


def range_name(predicate: Predicate) -> str:
    """A range's name as RavenDB gives it: its RQL with parameters written as values."""
    if isinstance(predicate, And):
        return " and ".join(range_name(p) for p in predicate.items)
    if isinstance(predicate, Between):
        low, high = _written(predicate.low), _written(predicate.high)
        return f"{predicate.field} between {low} and {high}"
    assert isinstance(predicate, Compare)
    return f"{predicate.field} {predicate.op} {_written(predicate.value)}"


def _written(value: Scalar) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


_MISSING = object()


def options_paging(options: Any, where: str = "options") -> FacetPaging:
    """``FacetOptions`` JSON (RavenDB's names, or the Python client's ``page_size`` style)
    as paging; an unknown option or a value of the wrong type is a ``QueryError``."""
    if options is _MISSING:
        raise QueryError(f"no value for parameter {where}")
    if options is None:
        return FacetPaging()
    if not isinstance(options, Mapping):
        raise QueryError(f"{where}: a facet's options are an object (FacetOptions' JSON)")
    found: dict[str, Any] = {}
    for key, value in options.items():
        name = str(key).replace("_", "").lower()
        if name not in ("start", "pagesize", "termsortmode", "includeremainingterms"):
            raise QueryError(f"{where}: unknown facet option {shown(key)}")
        found[name] = value
    start = found.get("start")
    page_size = found.get("pagesize")
    sort = found.get("termsortmode")
    include = found.get("includeremainingterms")
    if isinstance(sort, FacetTermSortMode):
        sort = sort.value
    if sort is not None and (not isinstance(sort, str) or sort.lower() not in _SORTS):
        known = ", ".join(_SORTS.values())
        raise QueryError(f"{where}: unknown TermSortMode {shown(sort)}: use {known}")
    if include is not None and type(include) is not bool:
        raise QueryError(f"{where}: IncludeRemainingTerms is true or false")
    return FacetPaging(
        0 if start is None else check_count(start, "a facet's Start"),
        INT_MAX if page_size is None else check_count(page_size, "a facet's PageSize"),
        FacetTermSortMode.VALUE_ASC.value if sort is None else _SORTS[sort.lower()],
        bool(include),
    )


def without_facets(query: Query, parser: _Parser) -> Query:
    """``query``, read by ``parser``, unless it selects facets: ``rql.parse`` gives queries
    of documents only (``parse_facet_query`` reads facets)."""
    if parser.facets:
        message = "select facet() counts results: run it with execute_aggregation()"
        raise error_at(message, parser.text, 0)
    return query


def parse_facet_query(text: str, parameters: Mapping[str, Any] | None = None) -> FacetQuery:
    """The query and facets of an RQL text; ``facets`` is empty when it selects none."""
    from rookdb.rql import parser_for  # (rookdb.rql imports this module)

    parser = parser_for(text, parameters)
    return FacetQuery(parser.query(), parser.facets)


def parse_alone(text: str, what: str, read: Callable[[PredicateParser], Any]) -> Any:
    """``text`` read whole by ``read`` (a parser's method): a field or a range."""
    parser = PredicateParser(text, {})
    found = read(parser)
    if parser.token.kind != "end":
        raise parser.error(f"expected the end of the {what}")
    return found


# -- printing --------------------------------------------------------------------------------


def print_facet_query(facet_query: FacetQuery) -> tuple[str, dict[str, Any]]:
    """RQL text of a facet query and its parameters (values and options are parameters)."""
    from rookdb.rql_printer import _Printer, _quote, print_query

    # The select clause comes before include in RQL: the includes are written after it.
    includes = facet_query.query.includes
    query = dataclasses.replace(facet_query.query, skip=0, take=None, select=(), includes=())
    text, parameters = print_query(query)
    printer = _Printer()
    printer.parameters.update(parameters)
    items = []
    for facet in facet_query.facets:
        if facet.setup_id is not None:
            items.append(f"facet(id({_quote(facet.setup_id)}))")
            continue
        parts = [printer.field(facet.field)] if facet.field is not None else []
        parts += [printer.predicate(r.predicate) for r in facet.ranges]
        for aggregate in facet.aggregations:
            kind = "avg" if aggregate.kind == "Average" else aggregate.kind.lower()
            call = f"{kind}({printer.field(aggregate.field)})"
            label = aggregate.display_name
            parts.append(call + (f" as {_quote(label)}" if label else ""))
        if facet.paging != FacetPaging():
            name = f"p{len(printer.parameters)}"
            paging = facet.paging
            printer.parameters[name] = {  # type: ignore[assignment]
                "Start": paging.start,
                "PageSize": paging.page_size,
                "TermSortMode": paging.sort,
                "IncludeRemainingTerms": paging.include_remaining_terms,
            }
            parts.append(f"${name}")
        alias = f" as {_quote(facet.display_name)}" if facet.display_name else ""
        items.append(f"facet({', '.join(parts)}){alias}")
    text = f"{text} select {', '.join(items)}"
    if includes:
        text += " include " + ", ".join(printer.field(path) for path in includes)
    return text, dict(printer.parameters)

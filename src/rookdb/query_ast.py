"""The query AST: what every backend executes (SPEC Q1).

Plain frozen data: the predicates (``Equals``, ``Compare``, ``In``, ``Search``, ``Not``,
``And``, ``Or``...), ``OrderBy``, ``Query`` and ``QueryStatistics``, and the checks of the
values they hold. The fluent builder (``rookdb.query.DocumentQuery``) and the RQL parser
(``rookdb.rql``) produce it; the server receives it as RQL text (``rookdb.rql_printer``).
``rookdb.query`` re-exports every name here.

A query nests at most ``MAX_QUERY_DEPTH`` levels of and/or/not (``Query`` checks it whoever
builds one: the builder, the RQL parser, a caller), so every walk over the tree (printing,
evaluating, compiling to SQL) is shallow; chains of clauses may be as long as you like.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re

from rookdb._types import assert_never
from rookdb.errors import InvalidIdError, QueryError, shown
from rookdb.fulltext import search_terms
from rookdb.ids import validate_collection_name
from rookdb.serialization.encoding import INT64_MAX, INT64_MIN

__all__ = [
    "COMPARISONS",
    "ID_FIELD",
    "MAX_QUERY_DEPTH",
    "MAX_REGEX_LENGTH",
    "ORDERINGS",
    "And",
    "Between",
    "Compare",
    "ContainsAll",
    "EndsWith",
    "Equals",
    "Exists",
    "FieldPredicate",
    "In",
    "Not",
    "Or",
    "OrderBy",
    "Predicate",
    "Query",
    "QueryStatistics",
    "Regex",
    "Scalar",
    "Search",
    "SearchOperator",
    "StartsWith",
    "check_count",
    "check_orderable",
    "check_regex",
    "check_scalar",
    "parse_search_terms",
    "predicate_depth",
]

#: JSON scalars a predicate compares against.
Scalar = str | int | float | bool | None


@dataclasses.dataclass(frozen=True, slots=True)
class Equals:
    """``field = value``: JSON equality (numbers by value, booleans are not numbers)."""

    field: str
    value: Scalar


@dataclasses.dataclass(frozen=True, slots=True)
class Compare:
    """``field < value`` (``<``, ``<=``, ``>``, ``>=``): numbers with numbers, strings with
    strings by code point; other types never match."""

    field: str
    op: str
    value: int | float | str


@dataclasses.dataclass(frozen=True, slots=True)
class Between:
    """``low <= field <= high``, inclusive at both ends; both bounds numbers or both strings."""

    field: str
    low: int | float | str
    high: int | float | str


@dataclasses.dataclass(frozen=True, slots=True)
class In:
    """``field in (values)``: equals any of them (``where_in`` and ``contains_any``)."""

    field: str
    values: tuple[Scalar, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ContainsAll:
    """``field all in (values)``: every value equals some value of the field."""

    field: str
    values: tuple[Scalar, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class StartsWith:
    field: str
    prefix: str


@dataclasses.dataclass(frozen=True, slots=True)
class EndsWith:
    field: str
    suffix: str


@dataclasses.dataclass(frozen=True, slots=True)
class Exists:
    """The field is present (even if null, even if an empty array)."""

    field: str


@dataclasses.dataclass(frozen=True, slots=True)
class Regex:
    """A string value of the field matches ``pattern`` (Python ``re.search`` syntax)."""

    field: str
    pattern: str


class SearchOperator(str, enum.Enum):
    """How the terms of a ``search`` combine (RavenDB's ``SearchOperator``)."""

    OR = "or"
    AND = "and"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True, slots=True)
class Search:
    """Full-text search: the field's text holds any (``or``) or all (``and``) of ``terms``,
    which are tokens as ``rookdb.fulltext.tokenize`` makes them, or wildcard terms (``micro*``,
    ``*soft``, ``*cros*``: ``rookdb.fulltext.search_terms``)."""

    field: str
    terms: tuple[str, ...]
    operator: SearchOperator = SearchOperator.OR


@dataclasses.dataclass(frozen=True, slots=True)
class Not:
    """Every document ``item`` does not match, including those missing the field (two-valued)."""

    item: Predicate


@dataclasses.dataclass(frozen=True, slots=True)
class And:
    items: tuple[Predicate, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Predicate, ...]


Predicate = (
    Equals
    | Compare
    | Between
    | In
    | ContainsAll
    | StartsWith
    | EndsWith
    | Exists
    | Regex
    | Search
    | Not
    | And
    | Or
)

#: Predicates that test the values of one field (every predicate but Not, And, Or).
FieldPredicate = (
    Equals | Compare | Between | In | ContainsAll | StartsWith | EndsWith | Exists | Regex | Search
)
COMPARISONS = ("<", "<=", ">", ">=")

#: How many levels of and/or/not a query may nest (``a = 1 and (b = 2 or not c = 3)``
#: nests 3). SQLite parses at most about 20 levels of nested boolean SQL; 16 works on every
#: backend, whatever the clauses.
MAX_QUERY_DEPTH = 16
#: The projected field that stands for the document's id (RQL's ``id()``).
ID_FIELD = "id()"
#: A projected field that stands for a counter of the document (RQL's ``counter('name')``):
#: this prefix, then the counter's name (``counter_field``).
COUNTER_FIELD = "counter():"


def counter_field(name: str) -> str:
    """The projected field of the document's counter ``name`` (its value, None if none)."""
    return COUNTER_FIELD + name


def counter_of(field: str) -> str | None:
    """The counter name a projected field stands for, or None for a field path."""
    return field[len(COUNTER_FIELD) :] if field.startswith(COUNTER_FIELD) else None


def selected_counters(select: tuple[str, ...]) -> tuple[str, ...]:
    """The names of the counters a ``select`` projects (none: no counters to read)."""
    return tuple(n for f in select if (n := counter_of(f)) is not None)


#: How ``OrderBy`` may sort: None (by JSON type, then value) or by one kind of value;
#: "alphanumeric" is RavenDB's ``as alphaNumeric`` (``rookdb.alphanumeric``).
ORDERINGS = (None, "string", "long", "double", "alphanumeric")


def predicate_depth(predicate: Predicate) -> int:
    """How many levels of and/or/not ``predicate`` nests (a field predicate: 0), found without
    recursion, so that any tree can be measured."""
    deepest = 0
    pending: list[tuple[Predicate, int]] = [(predicate, 0)]
    while pending:
        node, depth = pending.pop()
        match node:
            case Not(item=item):
                pending.append((item, depth + 1))
            case And(items=items) | Or(items=items):
                pending.extend((item, depth + 1) for item in items)
            case (
                Equals()
                | Compare()
                | Between()
                | In()
                | ContainsAll()
                | StartsWith()
                | EndsWith()
                | Exists()
                | Regex()
                | Search()
            ):
                deepest = max(deepest, depth)
            case _:
                assert_never(node, "predicate")
    return deepest


@dataclasses.dataclass(frozen=True, slots=True)
class OrderBy:
    """One sort key. ``ordering`` None sorts by JSON type, then value; "string", "long",
    "double" and "alphanumeric" sort values of that kind only (``ORDERINGS``). Documents
    without such a value (missing, null, or of another kind) sort first ascending and last
    descending, unless ``nulls`` ("first" or "last", RQL's ``nulls first``) places them."""

    field: str
    descending: bool = False
    ordering: str | None = None
    nulls: str | None = None

    def __post_init__(self) -> None:
        # (``in`` takes any value, a list too: no type check first, an OrderBy is built per
        # sort key and issue 18 measures it.)
        if self.ordering not in ORDERINGS:
            raise QueryError(
                f"unknown ordering {shown(self.ordering)}: use string, long, double or alphanumeric"
            )
        if self.nulls is not None and self.nulls not in ("first", "last"):
            raise QueryError(f"unknown nulls placement {shown(self.nulls)}: use first or last")


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """One query, as data. ``collection`` None means every document."""

    collection: str | None = None
    where: Predicate | None = None
    order_by: tuple[OrderBy, ...] = ()
    skip: int = 0
    take: int | None = None
    includes: tuple[str, ...] = ()
    #: Projected fields (``select``); results are JSON objects keyed by these paths, untracked.
    #: ``id()`` (``ID_FIELD``) projects the document's id.
    select: tuple[str, ...] = ()
    #: With ``select``: drop repeated projections (before paging).
    distinct: bool = False
    #: With ``select``: the key each projected field gets (``select age as Id``), one per
    #: field; empty means every field is keyed by its path.
    select_as: tuple[str, ...] = ()
    #: Counters of the documents found, read with them (``include counters(...)``): names,
    #: or ``"@all_counters"`` for every one.
    counters: tuple[str, ...] = ()
    #: The user-defined index the query reads (``from index 'Orders/ByCompany'``), None for
    #: a collection (or every document). Its predicates and orders then name the index's
    #: fields: a map index answers the documents its entries come from, a map-reduce index
    #: its results (``rookdb.storage.relational.index_query``).
    index_name: str | None = None
    #: The group-by fields of a dynamic aggregation (``from Orders group by company``;
    #: ``rookdb.aggregation``): its select, where and order then name these fields and the
    #: aggregations ``count()`` and ``sum(path)``.
    group_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_count(self.skip, "skip")
        if self.index_name is not None:
            if type(self.index_name) is not str or not self.index_name.strip():
                raise QueryError("an index query names its index")
            if self.collection is not None:
                raise QueryError("a query reads an index or a collection, not both")
        if self.select_as and len(self.select_as) != len(self.select):
            raise QueryError("select_as names one key per selected field")
        if self.take is not None:
            check_count(self.take, "take")
        if self.collection is not None:
            try:
                validate_collection_name(self.collection)
            except InvalidIdError as exc:
                raise QueryError(str(exc)) from None
        if isinstance(self.where, (Not, And, Or)):
            depth = predicate_depth(self.where)
            if depth > MAX_QUERY_DEPTH:
                limit = MAX_QUERY_DEPTH
                raise QueryError(
                    f"the query nests {depth} levels of and/or/not; the limit is {limit}"
                )

    def with_where(self, where: Predicate | None) -> Query:
        """``dataclasses.replace(self, where=where)``, without its generic walk over the
        fields: ``DocumentQuery`` makes one with each run (issue 18, W5: half the cost)."""
        return Query(
            collection=self.collection,
            where=where,
            order_by=self.order_by,
            skip=self.skip,
            take=self.take,
            includes=self.includes,
            select=self.select,
            distinct=self.distinct,
            select_as=self.select_as,
            counters=self.counters,
            index_name=self.index_name,
            group_by=self.group_by,
        )


def check_count(value: object, what: str) -> int:
    """A count, offset or page size: an ``int`` from 0 to 2**63 - 1 (what every backend and
    RavenDB's protocol hold), else a ``QueryError``. The one rule for ``skip``, ``take``,
    ``limit``/``offset`` and ``load_starting_with``'s ``start`` and ``page_size``."""
    if type(value) is not int:  # bool is an int subclass, and never a count
        raise QueryError(f"{what} takes an int, not {type(value).__qualname__}")
    if not 0 <= value <= INT64_MAX:
        raise QueryError(f"{what} takes a count from 0 to 2**63 - 1, not {shown(value)}")
    return value


def check_scalar(value: object) -> Scalar:
    """A value a predicate compares with: a JSON scalar (no NaN or infinity, no integer past
    64 bits: no document holds one, SPEC D2, and SQLite cannot bind one)."""
    if value is None or type(value) in (str, int, float, bool):
        if type(value) is float and (value != value or value in (_INF, -_INF)):
            raise QueryError(f"{value} cannot be compared: it is not a JSON number")
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            raise QueryError("an integer past 64 bits cannot be compared")  # (nor shown: 10**5000)
        return value  # type: ignore[return-value]
    raise QueryError(f"cannot compare with a {type(value).__qualname__}: use a JSON scalar")


_INF = float("inf")


#: The longest regular expression a query takes: compiling one takes time in its length
#: (seconds for a few megabytes), and no value a document holds needs a longer one.
MAX_REGEX_LENGTH = 32_768


def check_regex(pattern: object) -> str:
    """``pattern`` if it is a regular expression (``re`` syntax) a query can match with."""
    if type(pattern) is not str:
        raise QueryError(f"a regular expression is a str, not {shown(pattern)}")
    if len(pattern) > MAX_REGEX_LENGTH:
        raise QueryError(
            f"a regular expression is at most {MAX_REGEX_LENGTH} characters, not {len(pattern)}"
        )
    try:
        re.compile(pattern)
    except re.error as exc:
        raise QueryError(f"invalid regular expression {shown(pattern)}: {exc}") from None
    return pattern


def check_orderable(value: object) -> int | float | str:
    """A bound of a range: a number (not a bool) or a string."""
    if type(value) not in (int, float, str):
        raise QueryError(f"ranges compare numbers or strings, not {type(value).__qualname__}")
    return check_scalar(value)  # type: ignore[return-value]


def parse_search_terms(text: object) -> tuple[str, ...]:
    """The terms of a ``search`` text (``rookdb.fulltext.search_terms``): tokens and wildcard
    terms; a text without any, or a misplaced ``*``, is a ``QueryError``."""
    if type(text) is not str:
        raise QueryError("search() takes its terms as a str")
    try:
        terms = tuple(dict.fromkeys(search_terms(text)))
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    if not terms:
        raise QueryError(f"search terms {shown(text)} hold no words")
    return terms


@dataclasses.dataclass(frozen=True, slots=True)
class QueryStatistics:
    """What a query did (RavenDB's ``QueryStatistics``).

    ``index_timestamp`` is RavenDB's ``IndexTimestamp``, the last time the index that answered
    indexed documents. rookdb writes its automatic indexes in the same transaction as the
    documents (they are never stale), so an index holds every write committed before the
    query read its snapshot: ``index_timestamp`` is that moment (UTC). None for a collection
    scan, which uses no index (RavenDB sends ``DateTime.MinValue`` there)."""

    total_results: int = 0
    skipped_results: int = 0
    duration_in_ms: float = 0.0
    index_name: str = ""
    is_stale: bool = False
    index_timestamp: dt.datetime | None = None

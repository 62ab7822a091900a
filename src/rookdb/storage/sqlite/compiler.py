"""The query AST compiled to SQL over JSON documents (SQLite dialect).

The SQL means what ``rookdb.evaluate`` means, and the differential test holds it to that. Each
field predicate becomes ``EXISTS`` over the field's *candidates*: ``json_each`` walks the array
segments of the path (``lines[].product``), and a value reached last stands for its elements if
it is an array. Candidate rows carry ``c.type`` (``json_each``'s type names) and ``c.value``.

Values are always bound parameters. Field names are validated by ``rookdb.paths`` before they
get here (letters, digits, ``_ - @``) and each segment is double-quoted in the JSON path, so a
path is safe to write into the statement: it must be a literal for SQLite to match an index on
it. The conditions a predicate puts on one value (a candidate, the value at an indexed path,
the key) are ``value_conditions``'; the SQL functions called for regular expressions, searches
no index answers and the alphanumeric order are ``sql_functions``'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb._types import assert_never
from rookdb.errors import QueryError, shown
from rookdb.fulltext import is_prefix, scanned
from rookdb.paths import Segment, parse_field_path
from rookdb.query import (
    ID_FIELD,
    And,
    Between,
    Compare,
    ContainsAll,
    EndsWith,
    Equals,
    Exists,
    FieldPredicate,
    In,
    Not,
    Or,
    OrderBy,
    Predicate,
    Regex,
    Scalar,
    Search,
    SearchOperator,
    StartsWith,
)
from rookdb.storage.sqlite.sql_functions import ALPHANUMERIC_FUNCTION, SEARCH_FUNCTION
from rookdb.storage.sqlite.value_conditions import Alternative, alternatives

__all__ = [
    "SEEK_PREDICATES",
    "Compiler",
    "fts_match",
    "json_path",
    "order_clause",
]


def _fts_term(term: str) -> str:
    if is_prefix(term):  # FTS5's prefix query: a quoted string then "*"
        return '"' + term[:-1].replace('"', '""') + '" *'
    return '"' + term.replace('"', '""') + '"'


def fts_match(predicate: Search) -> str:
    """The FTS5 MATCH expression of a search: every term quoted (tokens hold letters and
    digits only, so no FTS syntax can come through), a prefix (``micro*``) as FTS5's prefix
    query, joined by OR or AND. Terms with a leading ``*`` have none (``fulltext.scanned``)."""
    assert not scanned(predicate.terms), "a leading * is tested row by row"
    joiner = " AND " if predicate.operator is SearchOperator.AND else " OR "
    return joiner.join(_fts_term(term) for term in predicate.terms)


def _literal(segments: Sequence[Segment]) -> str:
    return "'$" + "".join(f'."{s.name}"' for s in segments) + "'"


def json_path(field: str) -> str:
    """The SQLite JSON path literal of a path without arrays: ``'$."address"."city"'``."""
    segments = parse_field_path(field)
    if any(s.is_array for s in segments):
        raise QueryError(f"{shown(field)} holds many values per document: it cannot be sorted on")
    return _literal(segments)


def _walk(field: str) -> tuple[list[str], str, str]:
    """FROM items walking the array segments of ``field``, and the (type, value) SQL
    expressions of what the path reaches last."""
    segments = parse_field_path(field)
    froms: list[str] = []
    source = "data"
    start = 0
    element = ""
    for index, segment in enumerate(segments):
        if not segment.is_array:
            continue
        path = _literal(segments[start : index + 1])
        element = f"a{len(froms)}"
        froms.append(
            f"json_each(CASE WHEN json_type({source}, {path}) = 'array' "
            f"THEN json_extract({source}, {path}) ELSE '[]' END) AS {element}"
        )
        # The rest of the path applies to elements that are objects.
        source = f"(CASE WHEN {element}.type = 'object' THEN {element}.value ELSE '{{}}' END)"
        start = index + 1
    rest = segments[start:]
    if not rest:  # the path ends with []: the elements themselves
        return froms, f"{element}.type", f"{element}.value"
    path = _literal(rest)
    return froms, f"json_type({source}, {path})", f"json_extract({source}, {path})"


def _candidates(field: str) -> str:
    """The FROM clause of the candidate rows ``c`` of ``field``."""
    froms, type_sql, value_sql = _walk(field)
    as_json_array = f"json_array({value_sql})"
    froms.append(
        f"json_each(CASE {type_sql} WHEN 'array' THEN {value_sql} "
        "WHEN 'true' THEN '[true]' WHEN 'false' THEN '[false]' WHEN 'null' THEN '[null]' "
        f"WHEN 'text' THEN {as_json_array} WHEN 'integer' THEN {as_json_array} "
        f"WHEN 'real' THEN {as_json_array} ELSE '[]' END) AS c"
    )
    return ", ".join(froms)


#: The predicates on one field's values that may have arms (``Compiler.arms``).
SEEK_PREDICATES = (Equals, Compare, Between, In, StartsWith, EndsWith, Regex)
#: The most seeks of a map index's entries one row set unites (``Compiler._entry_rows``):
#: SQLite refuses a compound SELECT of more than 500.
_MOST_ARMS = 400


def _key_condition(predicate: FieldPredicate, params: list[Any]) -> str:
    """``id()``: the document's key, text, tested in the row."""
    options = alternatives(predicate, "'text'", "key")
    for _, option_params in options:
        params.extend(option_params)
    return "(" + " OR ".join(f"({sql})" for sql, _ in options) + ")" if options else "0"


def _any_candidate(field: str, predicate: FieldPredicate, params: list[Any]) -> str:
    """Row by row: some candidate of ``field`` satisfies ``predicate``."""
    options = alternatives(predicate, "c.type", "c.value")
    if not options:
        return "0"
    for _, option_params in options:
        params.extend(option_params)
    condition = " OR ".join(f"({sql})" for sql, _ in options)
    return f"EXISTS (SELECT 1 FROM {_candidates(field)} WHERE {condition})"


class Compiler:
    """Compiles a WHERE tree for one collection, using its automatic indexes (SPEC Q4).

    ``indexes`` maps (path, kind) of the collection's value-table (``values``) and full-text
    (``search``) indexes to their ids. A
    field predicate on a path without arrays becomes the set of row ids found by seeks on the
    path's expression index (``rowid IN (... UNION ALL ...)``): a seek per JSON type, and one
    for documents holding an array there (whose elements are then tested). Row-id sets compose
    under AND, OR and NOT and are never NULL, so logic stays two-valued. Without a collection,
    or for an array path without an index, predicates are tested row by row.

    ``entries``: the rows are a map index's entries, these (``FROM`` what and its ``WHERE``:
    ``index_entries WHERE idx = 3``), and ``indexes`` holds the paths with an expression
    index over them (``relational.entry_indexes``): a predicate on such a path is the same
    seeks, over the entries' ``entry`` column, as an entry row set (``(key, seq) IN ...``).
    """

    def __init__(
        self,
        collection: str | None,
        indexes: dict[tuple[str, str], int],
        entries: str | None = None,
    ) -> None:
        self.collection = collection
        self.indexes = indexes
        self.entries = entries

    def uses_row_sets(self, predicate: Predicate) -> bool:
        """Whether matches can be found from row-id sets alone, so that the query should not
        walk the collection: a positive field predicate, or AND/OR built on them."""
        if self.collection is None:
            return False
        match predicate:
            case And(items=items):
                return any(self.uses_row_sets(p) for p in items)
            case Or(items=items):
                return all(self.uses_row_sets(p) for p in items)
            case Not() | Exists():
                return False
            case Search(field=field, terms=terms):
                return (field, "search") in self.indexes and not scanned(terms)
            case (
                Equals()
                | Compare()
                | Between()
                | In()
                | ContainsAll()
                | StartsWith()
                | EndsWith()
                | Regex()
            ):
                if predicate.field == ID_FIELD:  # a test of the row, not of a row-id set
                    return False
                segments = parse_field_path(predicate.field)
                arrays = any(s.is_array for s in segments)
                return not arrays or (predicate.field, "values") in self.indexes
            case _:
                assert_never(predicate, "predicate")

    def where(self, predicate: Predicate, params: list[Any]) -> str:
        """SQL for ``predicate``, appending its values to ``params``. Every piece is true or
        false, never NULL, so ``NOT p`` matches exactly what ``p`` does not (SPEC Q2)."""
        match predicate:
            case And():
                return _chain(" AND ", [self.where(p, params) for p in _merged(predicate)])
            case Or():
                items = _merged(predicate)
                if self.entries is not None and all(self._entry_seek(p) for p in items):
                    # One row set of every item's seeks: an OR of row sets walks the entries.
                    return self._entry_rows(self.entries, items, params)  # type: ignore[arg-type]
                return _chain(" OR ", [self.where(p, params) for p in items])
            case Not(item=item):
                return f"NOT {self.where(item, params)}"
            case Exists(field=field):
                froms, type_sql, _ = _walk(field)
                if not froms:
                    return f"({type_sql} IS NOT NULL)"
                return f"EXISTS (SELECT 1 FROM {', '.join(froms)} WHERE {type_sql} IS NOT NULL)"
            case ContainsAll(field=field, values=values):
                if not values:
                    return "1"
                return _chain(" AND ", [self.where(Equals(field, v), params) for v in values])
            case Search():
                return self._search(predicate, params)
            case Equals() | Compare() | Between() | In() | StartsWith() | EndsWith() | Regex():
                field = predicate.field
                if field == ID_FIELD:  # the key column: the id in lower case
                    return _key_condition(predicate, params)
                if self.collection is None:
                    if self.entries is not None and self._entry_seek(predicate):
                        return self._entry_rows(self.entries, (predicate,), params)
                    return _any_candidate(field, predicate, params)
                if not any(s.is_array for s in parse_field_path(field)):
                    return self._scalar_rows(field, predicate, params)
                index = self.indexes.get((field, "values"))
                if index is None:
                    return _any_candidate(field, predicate, params)
                return self._value_table_rows(index, predicate, params)
            case _:
                assert_never(predicate, "predicate")

    def arms(self, predicate: Predicate, params: list[Any]) -> list[str] | None:
        """For one field predicate on an indexed path without arrays: conditions (the
        collection's test first) whose matches, taken together, are the predicate's, each an
        index seek: one per JSON type the predicate can match and one for documents holding an
        array there. They test distinct JSON types, so no document matches two: a statement may
        read them as a ``UNION ALL`` of seeks, without ``_scalar_rows``' row-id set (issue
        18, W5). None for any other predicate. The arrays' arm is always there: an array
        written later is found by the same statement (an empty seek costs next to nothing)."""
        if not isinstance(predicate, SEEK_PREDICATES) or self.collection is None:
            return None
        field = predicate.field
        if (field, "expression") not in self.indexes:  # ID_FIELD and array paths have none
            return None
        arms = []
        for sql, option_params in self._scalar_branches(field, predicate):
            arms.append(f"collection = ? COLLATE NOCASE AND {sql}")
            params.extend((self.collection, *option_params))
        return arms or None

    def _scalar_branches(
        self, field: str, predicate: FieldPredicate, column: str = "data"
    ) -> list[Alternative]:
        """The conditions, one per index seek, of the documents whose value at ``field`` (a
        path without arrays) satisfies ``predicate``: a seek per JSON type, and one for
        documents holding an array there (whose elements are then tested). ``column``: the
        JSON column (an index's entries: ``entry``)."""
        path = json_path(field)
        kind, value = f"json_type({column}, {path})", f"json_extract({column}, {path})"
        branches = alternatives(predicate, kind, value)
        element_options = alternatives(predicate, "c.type", "c.value")
        if element_options:
            condition = " OR ".join(f"({sql})" for sql, _ in element_options)
            branches.append(
                (
                    f"{kind} = 'array' AND EXISTS "
                    f"(SELECT 1 FROM json_each({value}) AS c WHERE {condition})",
                    [p for _, option_params in element_options for p in option_params],
                )
            )
        return branches

    def _scalar_rows(self, field: str, predicate: FieldPredicate, params: list[Any]) -> str:
        scope = "SELECT rowid FROM documents WHERE collection = ? COLLATE NOCASE AND "
        branches = []
        for sql, option_params in self._scalar_branches(field, predicate):
            branches.append(scope + sql)
            params.extend((self.collection, *option_params))
        if not branches:
            return "0"
        return f"rowid IN ({' UNION ALL '.join(branches)})"

    def _entry_seek(self, predicate: Predicate) -> bool:
        """Whether ``predicate`` is one on a path with an expression index over the entries
        (``entries``)."""
        return (
            isinstance(predicate, SEEK_PREDICATES)
            and predicate.field != ID_FIELD
            and (predicate.field, "expression") in self.indexes
        )

    def _entry_rows(
        self, entries: str, predicates: Sequence[FieldPredicate], params: list[Any]
    ) -> str:
        """The entries some of ``predicates`` holds for, as ``_scalar_rows`` finds
        documents: the seeks of their paths' expression indexes over ``entries``."""
        branches = []
        for predicate in predicates:
            for sql, option_params in self._scalar_branches(predicate.field, predicate, "entry"):
                branches.append(f"SELECT key, seq FROM {entries} AND {sql}")
                params.extend(option_params)
        if not branches:
            return "0"
        # Each union in a subquery of its own: as a bare IN list, the planner rates it too
        # long to look the entries up one by one, and walks them all. SQLite takes at most
        # 500 terms in a compound SELECT: a longer OR is several row sets (at most
        # ``_MOST_ARMS`` seeks each), chained as any OR is.
        sets = []
        for at in range(0, len(branches), _MOST_ARMS):
            union = " UNION ALL ".join(branches[at : at + _MOST_ARMS])
            sets.append(f"(key, seq) IN (SELECT key, seq FROM ({union}))")
        return sets[0] if len(sets) == 1 else _chain(" OR ", sets)

    def _search(self, predicate: Search, params: list[Any]) -> str:
        index = self.indexes.get((predicate.field, "search"))
        if index is None or self.collection is None or scanned(predicate.terms):
            params.extend((predicate.field, predicate.operator.value, " ".join(predicate.terms)))
            return f"{SEARCH_FUNCTION}(data, ?, ?, ?)"
        params.append(fts_match(predicate))
        table = fts_table(index)
        return f'rowid IN (SELECT rowid FROM "{table}" WHERE "{table}" MATCH ?)'

    def _value_table_rows(self, index: int, predicate: FieldPredicate, params: list[Any]) -> str:
        branches = []
        for sql, option_params in alternatives(predicate, "type", "value"):
            branches.append(f"SELECT key FROM auto_values WHERE idx = ? AND {sql}")
            params.extend((index, *option_params))
        if not branches:
            return "0"
        return f"key IN ({' UNION ALL '.join(branches)})"


# SQLite parses ``a OR b OR c ...`` into a tree as deep as the chain is long, and refuses a
# tree deeper than 1,000 (SQLITE_MAX_EXPR_DEPTH): long chains are cut into parenthesised
# links of this many, and those again, so that a chain of n is about 64 * log64(n) deep.
_LINKS = 64


def _merged(predicate: And | Or) -> tuple[Predicate, ...]:
    """The items of an OR with its equalities on one field made one ``In`` (``a = 1 or a = 2``
    is ``a in (1, 2)``), or of an AND with its negated ones made one ``Not(In)`` (``a != 1 and
    a != 2`` is ``not a in (1, 2)``, logic being two-valued). The same matches; but SQLite
    plans a chain of thousands of clauses for minutes, and one IN at once."""
    negated = isinstance(predicate, And)
    values: dict[str, list[Scalar]] = {}
    first: dict[str, int] = {}  # where each field's first equality is, in ``items``
    items: list[Predicate] = []
    for item in predicate.items:
        test = item.item if negated and isinstance(item, Not) else None if negated else item
        if isinstance(test, (Equals, In)):
            tested = (test.value,) if isinstance(test, Equals) else test.values
            if test.field in values:
                values[test.field].extend(tested)
                continue
            values[test.field], first[test.field] = list(tested), len(items)
        items.append(item)
    if len(items) == len(predicate.items):
        return predicate.items
    for field, index in first.items():
        merged = In(field, tuple(values[field]))
        items[index] = Not(merged) if negated else merged
    return tuple(items)


def _chain(operator: str, parts: list[str]) -> str:
    """``parts`` joined by ``operator`` (AND, OR), as a shallow tree however many there are."""
    while len(parts) > _LINKS:
        parts = [
            "(" + operator.join(parts[start : start + _LINKS]) + ")"
            for start in range(0, len(parts), _LINKS)
        ]
    return "(" + operator.join(parts) + ")"


def fts_table(index: int) -> str:
    """The name of the FTS5 table of full-text index ``index`` (its shadow tables share it)."""
    return f"auto/fts/{index}"


def order_clause(order_by: tuple[OrderBy, ...]) -> str:
    """ORDER BY terms (SPEC Q1): by JSON type first (missing and null, then booleans, numbers,
    strings, arrays and objects), then by value: numbers numerically, strings by code point.
    ``ordering="long"``/``"double"`` orders numbers only, ``"string"`` strings only and
    ``"alphanumeric"`` strings by ``rookdb.alphanumeric``'s key; other values sort with the
    missing ones, first ascending and last descending, unless ``nulls`` places them. Ties
    break on the document id."""
    terms = []
    for order in order_by:
        path = json_path(order.field)
        kind = f"json_type(data, {path})"
        value = f"json_extract(data, {path})"
        direction = "DESC" if order.descending else "ASC"
        keys: list[str]
        if order.ordering in ("long", "double"):
            keys = [f"CASE WHEN {kind} IN ('integer', 'real') THEN {value} END"]
        elif order.ordering == "string":
            keys = [f"CASE WHEN {kind} = 'text' THEN {value} END"]
        elif order.ordering == "alphanumeric":
            keys = [f"{ALPHANUMERIC_FUNCTION}(CASE WHEN {kind} = 'text' THEN {value} END)"]
        elif order.ordering is None:
            rank = (
                f"CASE {kind} WHEN 'false' THEN 1 WHEN 'true' THEN 1 WHEN 'integer' THEN 2 "
                "WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 4 "
                "ELSE 0 END"
            )
            scalar = (
                f"CASE WHEN {kind} IN ('false', 'true', 'integer', 'real', 'text') THEN {value} END"
            )
            keys = [rank, scalar]
        else:
            raise QueryError(f"unknown ordering {shown(order.ordering)}")
        if order.nulls is not None:
            # Whatever the direction: 0 sorts first. Without a value: the first key is NULL
            # (typed orderings) or rank 0 (missing or null).
            missing = f"{keys[0]} IS NULL" if order.ordering else f"{keys[0]} = 0"
            first, last = (0, 1) if order.nulls == "first" else (1, 0)
            terms.append(f"CASE WHEN {missing} THEN {first} ELSE {last} END")
        terms.extend(f"{key} {direction}" for key in keys)
    terms.append("key ASC")
    return ", ".join(terms)

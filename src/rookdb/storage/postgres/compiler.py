"""The query AST compiled to PostgreSQL over JSONB (the ``body`` column).

The SQL means what ``rookdb.evaluate`` means, and the differential test holds it to that:

* A path without arrays is the ``->`` chain ``body -> 'address' -> 'city'`` (never ``#>``, which
  would index into arrays with digit names). Its *candidates* are its value, or the elements of
  the array found there. JSON equality is jsonb equality (``1 = 1.0``; booleans are not
  numbers), so one ``=`` serves every scalar type, and an automatic B-tree expression index on
  ``(collection_key, <chain>)`` finds equal values; ``v > 'true' AND v < '{}'`` is the index
  range of the non-empty arrays, whose elements are tested one by one.
* Strings compare by code point: ``->>`` text ``COLLATE "C"`` (jsonb's own ordering uses the
  database collation), with a second expression index on that text for ranges and prefixes.
* A B-tree entry holds about 2,700 bytes, so the indexes hold a bounded form of the value: a
  condition on it lets an index narrow the rows, and the exact condition decides
  (``value_conditions`` writes both, for one value).
* Paths with arrays (``lines[].product``) walk ``jsonb_array_elements``, like the SQLite
  dialect walks ``json_each``; their equalities become two ``body @> pattern`` containments
  (the value itself, or an array holding it, at the end of the path), which the automatic GIN
  index on ``body`` answers.
* A condition on a missing field is NULL, which a WHERE clause treats as false; under NOT it
  becomes false first (``NOT COALESCE(p, false)``), so logic stays two-valued (SPEC Q2). Without
  NOT, NULL and false select the same rows, and a bare condition keeps its index.
* ``where_regex`` (Python ``re`` syntax, which PostgreSQL's regexes are not), ``search``
  without its index, and a search with a leading ``*`` (``fulltext.scanned``) are evaluated in
  Python by the caller; the compiler receives their results as key sets.
* A search's prefix term (``micro*``) is a ``tsquery`` prefix (``'micro':*``). A token too long
  for a lexeme is stored as its digest, which no prefix finds: the caller tests the documents
  holding a digest (``DIGESTS``) in Python, and the compiler adds those that match
  (``prefix_searches``).

Values are always bound parameters; field names are validated by ``rookdb.paths`` (letters,
digits, ``_ - @``) and written as quoted literals, so that expression indexes match them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from rookdb._types import assert_never
from rookdb.alphanumeric import postgres_key
from rookdb.errors import QueryError, shown
from rookdb.evaluate import cut
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
    Search,
    SearchOperator,
    StartsWith,
)
from rookdb.storage.postgres.value_conditions import (
    indexed,
    json_param,
    seek_condition,
    value_condition,
)

__all__ = [
    "DIGESTS",
    "Compiler",
    "chain",
    "lexeme_rows",
    "order_clause",
    "prefix_searches",
    "python_predicates",
    "tsquery",
]

#: Longest lexeme PostgreSQL accepts is 2,047 bytes; longer tokens are stored as a digest.
_MAX_LEXEME = 2000
#: Bytes of lexemes in one ``tsvector``, which holds less than 1 MB of them: a text with more
#: distinct words fills several rows of its search table.
_LEXEME_BYTES_PER_ROW = 1 << 19

#: The predicates on one field's values (``Compiler.arms``).
_FIELD_PREDICATES = (Equals, Compare, Between, In, StartsWith, EndsWith)

#: Non-empty arrays, as an index range of jsonb's ordering (``[]`` sorts before null).
_NON_EMPTY_ARRAY = "{v} > 'true'::jsonb AND {v} < '{{}}'::jsonb"

#: The ``tsquery`` of the rows holding a digest lexeme (``_lexeme``).
DIGESTS = "'~':*"


def _lexeme(token: str) -> str:
    if len(token.encode("utf-8")) <= _MAX_LEXEME:
        return token
    # Tokens hold letters and digits only, so "~" marks a digest no token can equal.
    return "~" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def lexeme_rows(tokens: Sequence[str]) -> list[list[str]]:
    """The tsvector lexemes of a field's tokens (``rookdb.fulltext``), once each, in rows
    that each fit a ``tsvector`` (one row at least)."""
    rows: list[list[str]] = [[]]
    size = 0
    for lexeme in dict.fromkeys(_lexeme(t) for t in tokens):
        length = len(lexeme.encode("utf-8"))
        if size + length > _LEXEME_BYTES_PER_ROW:
            rows.append([])
            size = 0
        rows[-1].append(lexeme)
        size += length
    return rows


def _quoted(term: str) -> str:
    if is_prefix(term):  # (a prefix of a digest's token is found by ``prefix_searches``)
        return _quoted(term[:-1]) + ":*"
    return "'" + _lexeme(term).replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery(predicate: Search) -> str:
    """The ``tsquery`` text of a search: each term a quoted lexeme (a prefix term marked
    ``:*``), joined by ``|`` or ``&``."""
    joiner = " & " if predicate.operator is SearchOperator.AND else " | "
    return joiner.join(_quoted(t) for t in predicate.terms)


def _names(segments: Sequence[Segment]) -> str:
    return "".join(f" -> '{s.name}'" for s in segments)


def chain(field: str, source: str = "body") -> tuple[str, str]:
    """The jsonb and text expressions of a path without arrays:
    ``body -> 'a' -> 'b'`` and ``body -> 'a' ->> 'b'``."""
    segments = parse_field_path(field)
    if any(s.is_array for s in segments):
        raise QueryError(f"{shown(field)} holds many values per document: it cannot be sorted on")
    jsonb = source + _names(segments)
    text = source + _names(segments[:-1]) + f" ->> '{segments[-1].name}'"
    return jsonb, text


def _walk(segments: Sequence[Segment]) -> tuple[list[str], str]:
    """FROM items walking the array segments, and the jsonb expression reached last."""
    froms: list[str] = []
    source, start = "body", 0
    for index, segment in enumerate(segments):
        if not segment.is_array:
            continue
        reached = source + _names(segments[start : index + 1])
        alias = f"a{len(froms)}"
        froms.append(
            f"jsonb_array_elements(CASE WHEN jsonb_typeof({reached}) = 'array' "
            f"THEN {reached} ELSE '[]'::jsonb END) AS {alias}"
        )
        source, start = f"{alias}.value", index + 1
    return froms, source + _names(segments[start:])


def _pattern(segments: Sequence[Segment], end: Any) -> bytes:
    """The containment pattern that puts ``end`` where ``segments`` lead."""
    node = end
    for segment in reversed(segments):
        node = {segment.name: [node] if segment.is_array else node}
    return orjson.dumps(node)


def python_predicates(predicate: Predicate, indexed: set[tuple[str, str]]) -> list[Predicate]:
    """Predicates evaluated in Python: regular expressions, searches without an index, and
    tests of ``id()``."""
    match predicate:
        case And(items=items) | Or(items=items):
            return [p for item in items for p in python_predicates(item, indexed)]
        case Not(item=item):
            return python_predicates(item, indexed)
        case Regex():
            return [predicate]
        case Search(field=field, terms=terms):
            return [predicate] if (field, "search") not in indexed or scanned(terms) else []
        case Equals() | Compare() | Between() | In() | StartsWith() | EndsWith() if (
            predicate.field == ID_FIELD
        ):
            return [predicate]  # id(): the key, tested in Python (evaluate.matches)
        case (
            Equals()
            | Compare()
            | Between()
            | In()
            | ContainsAll()
            | StartsWith()
            | EndsWith()
            | Exists()
        ):
            return []
        case _:
            assert_never(predicate, "predicate")


def prefix_searches(predicate: Predicate, indexed: set[tuple[str, str]]) -> list[Search]:
    """The searches with a prefix term that their full-text tables answer: those whose
    documents holding a digest lexeme are tested in Python (``Compiler.digest_keys``)."""
    match predicate:
        case And(items=items) | Or(items=items):
            return [p for item in items for p in prefix_searches(item, indexed)]
        case Not(item=item):
            return prefix_searches(item, indexed)
        case Search(field=field, terms=terms):
            answered = (field, "search") in indexed and not scanned(terms)
            return [predicate] if answered and any(is_prefix(t) for t in terms) else []
        case _:
            return []


class Compiler:
    """Compiles a WHERE tree for one collection (or none), given the collection's automatic
    indexes ``(path, kind) → id`` and the key sets of predicates evaluated in Python
    (``python_keys``, by ``id()`` of the predicate), and of the documents holding a digest
    lexeme that match a ``prefix_searches`` search (``digest_keys``, likewise)."""

    def __init__(
        self,
        indexes: dict[tuple[str, str], int],
        python_keys: dict[int, list[str]],
        search_table: Callable[[int], str],
        digest_keys: dict[int, list[str]] | None = None,
        entries: str | None = None,
    ) -> None:
        """``entries``: the rows are a map index's entries, these (``FROM`` what and its
        ``WHERE``), and ``indexes`` holds the paths with expression indexes over them
        (``relational.entry_indexes``): a predicate on such a path becomes a row set of
        the entries (``(key, seq) IN ...``) whose condition seeks them."""
        self.indexes = indexes
        self.python_keys = python_keys
        self.search_table = search_table
        self.digest_keys = digest_keys or {}
        self.entries = entries

    def where(self, predicate: Predicate, params: list[Any]) -> str:
        match predicate:
            case And(items=items):
                return "(" + " AND ".join(self.where(p, params) for p in items) + ")"
            case Or(items=items):
                return "(" + " OR ".join(self.where(p, params) for p in items) + ")"
            case Not(item=item):
                return f"NOT COALESCE({self.where(item, params)}, false)"
            case ContainsAll(field=field, values=values):
                if not values:
                    return "true"
                each = [self.where(Equals(field, x), params) for x in values]
                return "(" + " AND ".join(each) + ")"
            case _:
                pass
        keys = self.python_keys.get(id(predicate))
        if keys is not None:
            params.append(keys)
            return "key = ANY(%s)"
        match predicate:
            case Search():
                return self._search(predicate, params)
            case Regex():
                raise AssertionError("regular expressions are evaluated in Python")
            case Exists(field=field):
                froms, reached = _walk(parse_field_path(field))
                if not froms:
                    return f"({reached} IS NOT NULL)"
                return f"EXISTS (SELECT 1 FROM {', '.join(froms)} WHERE {reached} IS NOT NULL)"
            case Equals() | Compare() | Between() | In() | StartsWith() | EndsWith():
                segments = parse_field_path(predicate.field)
                if not any(s.is_array for s in segments):
                    return self._scalar_path(predicate, params)
                if (
                    isinstance(predicate, (Equals, In))
                    and (
                        predicate.field,
                        "values",
                    )
                    in self.indexes
                ):
                    return self._containment(segments, predicate, params)
                return self._walked(segments, predicate, params)
            case And() | Or() | Not() | ContainsAll():
                raise AssertionError("compiled above")
            case _:
                assert_never(predicate, "predicate")

    def _search(self, predicate: Search, params: list[Any]) -> str:
        index = self.indexes.get((predicate.field, "search"))
        if index is None:
            raise AssertionError("search without an index is evaluated in Python")
        table = self.search_table(index)
        rows = f"key IN (SELECT key FROM {table} WHERE tokens @@ %s::tsquery)"
        if predicate.operator is SearchOperator.AND and len(predicate.terms) > 1:
            # A document's lexemes may fill several rows (``lexeme_rows``): each term is
            # looked for in all of them.
            params.extend(_quoted(t) for t in predicate.terms)
            found = "(" + " AND ".join([rows] * len(predicate.terms)) + ")"
        else:
            params.append(tsquery(predicate))
            found = rows
        if not any(is_prefix(t) for t in predicate.terms):
            return found
        # The lexemes find every match but those through a digest's token (``_lexeme``).
        params.append(self.digest_keys[id(predicate)])
        return f"({found} OR key = ANY(%s))"

    def arms(self, predicate: Predicate) -> list[tuple[str, list[Any]]] | None:
        """For one field predicate on an indexed path without arrays: its two conditions, each
        with its values, the value's own and the non-empty arrays' (``_scalar_arms``), which
        no document satisfies both of, for a statement to read as a ``UNION ALL`` of two
        index scans rather than a bitmap scan of their OR (issue 18, W5). None for any other
        predicate. The arrays' arm is always there: an array written later is found by the
        same statement (an empty index range costs next to nothing)."""
        if not isinstance(predicate, _FIELD_PREDICATES) or id(predicate) in self.python_keys:
            return None
        if (predicate.field, "expression") not in self.indexes:  # id() and array paths
            return None
        return list(self._scalar_arms(predicate))

    def _scalar_path(self, predicate: FieldPredicate, params: list[Any]) -> str:
        direct, array = self._scalar_arms(predicate)
        params.extend(direct[1])
        params.extend(array[1])
        condition = f"({direct[0]} OR ({array[0]}))"
        if self.entries is not None and (predicate.field, "expression") in self.indexes:
            # The index's id a literal in the row set, which its partial indexes need.
            return f"(key, seq) IN (SELECT key, seq FROM {self.entries} AND {condition})"
        return condition

    def _scalar_arms(
        self, predicate: FieldPredicate
    ) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
        """The two conditions, each with its values, of a predicate on a path without
        arrays: the value satisfies it (a scalar: no condition here holds for an array), or
        the value is a non-empty array and an element satisfies it."""
        v, t = chain(predicate.field)
        direct_params: list[Any] = []
        direct = value_condition(predicate, v, t, direct_params)
        array = _NON_EMPTY_ARRAY.format(v=v)
        if (predicate.field, "expression") in self.indexes:
            index = indexed(v, t)
            seek = seek_condition(predicate, index, direct_params)
            if seek is not None:
                direct += f" AND {seek}"
            array += " AND " + _NON_EMPTY_ARRAY.format(v=index[0])
        array_params: list[Any] = []
        if isinstance(predicate, Equals):
            array_params.append(f"[{json_param(predicate.value)}]")
            elements = f"{v} @> %s::jsonb"
        else:
            inner = value_condition(predicate, "e.value", "e.value #>> '{}'", array_params)
            elements = f"EXISTS (SELECT 1 FROM jsonb_array_elements({v}) AS e WHERE {inner})"
        return (direct, direct_params), (f"{array} AND {elements}", array_params)

    @staticmethod
    def _containment(segments: Sequence[Segment], predicate: Equals | In, params: list[Any]) -> str:
        values = (predicate.value,) if isinstance(predicate, Equals) else predicate.values
        if not values:
            return "false"
        tests = []
        for value in values:
            comparable = cut(value) if type(value) is str else value
            for end in (comparable, [comparable]):  # the value, or an array holding it
                params.append(_pattern(segments, end).decode())
                tests.append("body @> %s::jsonb")
        return "(" + " OR ".join(tests) + ")"

    @staticmethod
    def _walked(segments: Sequence[Segment], predicate: FieldPredicate, params: list[Any]) -> str:
        froms, reached = _walk(segments)
        froms.append(
            f"jsonb_array_elements(CASE WHEN {reached} IS NULL THEN '[]'::jsonb "
            f"WHEN jsonb_typeof({reached}) = 'array' THEN {reached} "
            f"ELSE jsonb_build_array({reached}) END) AS c"
        )
        condition = value_condition(predicate, "c.value", "c.value #>> '{}'", params)
        return f"EXISTS (SELECT 1 FROM {', '.join(froms)} WHERE {condition})"


def order_clause(order_by: tuple[OrderBy, ...]) -> str:
    """ORDER BY terms, as the SQLite dialect's ``order_clause`` defines them: by JSON type
    (missing and null, booleans, numbers, strings, then arrays and objects), then by value;
    typed orderings sort their kind of value only (``alphanumeric`` by the same key as
    SQLite, built in SQL: ``rookdb.alphanumeric.postgres_key``), the others where ``nulls``
    says or with the missing; ties on the key."""
    terms = []
    for order in order_by:
        v, t = chain(order.field)
        kind = f"jsonb_typeof({v})"
        direction = "DESC" if order.descending else "ASC"
        # SQLite puts NULL first when ascending; the typed orderings follow it.
        nulls = "NULLS LAST" if order.descending else "NULLS FIRST"
        number = f"CASE WHEN {kind} = 'number' THEN ({v})::numeric END"
        string = f"CASE WHEN {kind} = 'string' THEN {t} END"
        keys: list[str]
        if order.ordering in ("long", "double"):
            keys = [number]
        elif order.ordering == "string":
            keys = [f'({string}) COLLATE "C"']
        elif order.ordering == "alphanumeric":
            keys = [f'({postgres_key(string)}) COLLATE "C"']
        elif order.ordering is None:
            rank = (
                f"CASE {kind} WHEN 'boolean' THEN 1 WHEN 'number' THEN 2 WHEN 'string' THEN 3 "
                "WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END"
            )
            boolean = f"CASE WHEN {kind} = 'boolean' THEN ({v})::boolean END"
            keys = [rank, boolean, number, f'({string}) COLLATE "C"']
        else:
            raise QueryError(f"unknown ordering {shown(order.ordering)}")
        if order.nulls is not None:
            missing = f"({keys[0]}) IS NULL" if order.ordering else f"({keys[0]}) = 0"
            first, last = (0, 1) if order.nulls == "first" else (1, 0)
            terms.append(f"CASE WHEN {missing} THEN {first} ELSE {last} END")
        terms.extend(f"{key} {direction} {nulls}" for key in keys)
    terms.append("key ASC")
    return ", ".join(terms)

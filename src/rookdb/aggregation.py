"""Dynamic aggregation: a ``group by`` query, answered by an automatic map-reduce index as
RavenDB answers it.

A ``Query`` with ``group_by`` (RQL ``from Orders group by company select key() as company,
count(), sum(freight) as total``; the builder's ``group_by(...).select_key().select_count()``)
names, in its ``select``, ``where`` and ``order_by``, the group-by fields (paths) and the
aggregations ``count()`` and ``sum(path)`` (``COUNT``, ``sum_of``). ``resolve`` checks such a
query and reads the names its select gives (``select count() as n ... where n > 1``) as what
they stand for; ``plan`` makes of it the automatic map-reduce index that holds the groups (a
LINQ ``IndexDefinition`` named as RavenDB names it, ``Auto/Orders/ByCountReducedByCompany``,
``Auto/Orders/ByCountAndFreightReducedByCompany``),
and the query of that index that answers it. Storage puts the index when a query first needs
it and keeps it in every write's transaction like any map-reduce index (never stale), so the
reduce is the one of ``rookdb.indexes``: ``count()`` is a sum of ones, re-reducible.

Supported: group-by fields that are paths, at most one ``[]`` in each (``lines[].product``:
one group per element, as RavenDB groups by array values), or ``array(path)`` (one group per
distinct array of values); ``count()`` and ``sum(path)``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from rookdb._types import assert_never
from rookdb.errors import QueryError, shown
from rookdb.indexes.creation_tasks import MAX_NAME_LENGTH
from rookdb.indexes.definitions import IndexDefinition
from rookdb.paths import parse_field_path
from rookdb.query_ast import (
    And,
    FieldPredicate,
    Not,
    Or,
    Predicate,
    Query,
)

__all__ = [
    "COUNT",
    "KEY",
    "AggregationPlan",
    "array_content",
    "is_aggregation",
    "key_path",
    "plan",
    "plan_among",
    "resolve",
    "sum_of",
]

#: ``count()``: how many map entries (documents, or array elements) a group holds.
COUNT = "count()"
#: ``key()``: the group-by field (only when there is one), as the select names it.
KEY = "key()"
_SUM = re.compile(r"sum\((?P<path>.+)\)\Z", re.DOTALL)


def sum_of(path: str) -> str:
    """The aggregation ``sum(path)``: the sum of the numbers ``path`` holds in a group."""
    parse_field_path(path)
    return f"sum({path})"


def summed(field: str) -> str | None:
    """The path of a ``sum(path)``, None for any other field."""
    match = _SUM.match(field)
    return None if match is None else match.group("path")


def array_content(path: str) -> str:
    """The group-by field of the whole array of values ``path`` reaches (RQL's
    ``array(lines[].product)``, the client's ``GroupBy.array``): one group per distinct
    array, rather than one per element."""
    parse_field_path(path)
    return f"array({path})"


def _content_of(key: str) -> str | None:
    """The path of an ``array(path)`` group-by field, None for a plain one."""
    return key[6:-1] if key.startswith("array(") and key.endswith(")") else None


def key_path(key: str) -> str:
    """The path a group-by field is selected and compared by."""
    return _content_of(key) or key


def is_aggregation(field: str) -> bool:
    return field == COUNT or summed(field) is not None


def _default_key(field: str) -> str:
    """The key of a selected field without ``as``: RavenDB's ``Count`` for ``count()``, the
    summed path for a sum, the path for a group-by field."""
    if field == COUNT:
        return "Count"
    return summed(field) or field


def resolve(query: Query) -> Query:
    """``query`` (with ``group_by``) checked, its select complete (the group-by fields and
    ``count()`` when it selects nothing), ``key()`` read as the group-by field, and each
    field of its where and order that names a selected key read as what it selects;
    ``QueryError`` for a field that is neither grouped by nor an aggregation."""
    if not query.group_by:
        return query
    if query.index_name is not None or query.collection is None:
        raise QueryError("group by reads a collection (from Orders group by ...)")
    for key in query.group_by:
        _array_split(key_path(key))
    keys = [key_path(k) for k in query.group_by]
    select = list(query.select) or [*keys, COUNT]
    names = list(query.select_as) or [_default_key(f) for f in query.select]
    if not query.select:
        names = [_default_key(f) for f in select]
    for i, field in enumerate(select):
        if field == KEY:
            if len(keys) != 1:
                raise QueryError("key() stands for one group-by field: name each of them")
            select[i] = keys[0]
            if names[i] == KEY:
                names[i] = keys[0]
        elif names[i] == field and is_aggregation(field):
            names[i] = _default_key(field)
    aliases = {name: field for name, field in zip(names, select, strict=True)}

    def read(field: str, named: bool = True) -> str:
        if field in keys or is_aggregation(field):
            if (path := summed(field)) is not None:
                _array_split(path)
            return field
        if named and field in aliases and aliases[field] != field:
            return read(aliases[field], named=False)
        raise QueryError(
            f"{shown(field)} is neither a group-by field ({', '.join(keys)}) nor an aggregation "
            "(count(), sum(field)) nor the name of one in select"
        )

    select = [read(f, named=False) for f in select]
    if len(set(names)) != len(names):
        raise QueryError("a group-by query selects each name once")
    return dataclasses.replace(
        query,
        select=tuple(select),
        select_as=tuple(names),
        where=None if query.where is None else _renamed(query.where, read),
        order_by=tuple(dataclasses.replace(o, field=read(o.field)) for o in query.order_by),
    )


def _renamed(predicate: Predicate, rename: Callable[[str], str]) -> Predicate:
    """``predicate`` with each field ``f`` read as ``rename(f)``."""
    match predicate:
        case Not(item=item):
            return Not(_renamed(item, rename))
        case And(items=items):
            return And(tuple(_renamed(p, rename) for p in items))
        case Or(items=items):
            return Or(tuple(_renamed(p, rename) for p in items))
        case _ if isinstance(predicate, FieldPredicate):
            return dataclasses.replace(predicate, field=rename(predicate.field))
        case _:
            assert_never(predicate, "predicate")


def _array_split(path: str) -> tuple[str | None, str]:
    """``lines[].product`` as (``lines``, ``product``); a path without ``[]`` as (None,
    path); more than one ``[]`` is refused."""
    segments = parse_field_path(path)
    arrays = [i for i, s in enumerate(segments) if s.is_array]
    if len(arrays) > 1:
        raise QueryError(f"group by {shown(path)}: rookdb groups by one level of array values")
    if not arrays:
        return None, path
    at = arrays[0]
    head = ".".join(s.name for s in segments[: at + 1])
    rest = ".".join(s.name for s in segments[at + 1 :])
    return head, rest


@dataclasses.dataclass(frozen=True)
class AggregationPlan:
    """The automatic map-reduce index a group-by query reads, and the query of it."""

    definition: IndexDefinition
    query: Query
    #: What the index aggregates (``count()``, ``sum(path)``).
    aggregations: frozenset[str]
    #: The end of the index's name: ``ReducedBy`` and its group-by fields.
    reduced_by: str

    @property
    def index_name(self) -> str:
        return str(self.definition.name)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# LINQ words a generated field or member name must not be.
_LINQ_WORDS = frozenset(
    [
        "from",
        "in",
        "select",
        "new",
        "where",
        "let",
        "group",
        "by",
        "into",
        "join",
        "orderby",
        "true",
        "false",
        "null",
        "this",
        "docs",
        "results",
        "is",
        "as",
        "typeof",
        "default",
        "var",
        "on",
        "equals",
        "ascending",
        "descending",
        "checked",
    ]
)


def _member(path: str) -> str:
    """``.a.b`` (or ``["a b"]``) after a range variable: the LINQ member access of ``path``."""
    if not path:
        return ""
    out = []
    for name in path.split("."):
        if _IDENTIFIER.match(name) and name not in _LINQ_WORDS:
            out.append(f".{name}")
        else:
            escaped = name.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{escaped}"]')
    return "".join(out)


def _title(path: str) -> str:
    """A path as an index field's name (``ship_to.country`` is ``ship_to_country``)."""
    return re.sub(r"\W", "_", path.replace("[]", ""))


def plan(query: Query, held: Iterable[str] = ()) -> AggregationPlan:
    """The index and index query that answer the group-by ``query`` (``resolve``d first);
    the index holds the aggregations ``held`` too (``count()``, ``sum(path)``)."""
    query = resolve(query)
    collection = query.collection
    assert collection is not None
    if not _IDENTIFIER.match(collection) or collection.lower() in _LINQ_WORDS:
        raise QueryError(f"group by of the collection {shown(collection)} is not supported")
    keys = [key_path(k) for k in query.group_by]
    contents = {key_path(k) for k in query.group_by if _content_of(k) is not None}
    used = [query.select, [o.field for o in query.order_by]]
    fields_used = {f for group in used for f in group} | _fields(query.where)
    fields_used |= set(held)
    sums = sorted({p for f in fields_used if (p := summed(f)) is not None})
    count = COUNT in fields_used or not sums
    # The index's field of each group-by path and aggregation: readable, distinct, not a
    # LINQ word.
    names: dict[str, str] = {}
    taken: set[str] = set()

    def name_of(field: str, wanted: str) -> str:
        name = wanted if _IDENTIFIER.match(wanted) else "_" + wanted
        while name in taken or name.lower() in _LINQ_WORDS:
            name += "_"
        taken.add(name)
        names[field] = name
        return name

    if count:
        name_of(COUNT, "Count")
    for key in keys:
        name_of(key, _title(key))
    for path in sums:
        name_of(sum_of(path), _title(path))
    # The map: one range variable per array a path goes through (``from a0 in d.lines``).
    arrays: dict[str, str] = {}

    def value_of(path: str) -> str:
        head, rest = _array_split(path)
        if head is None:
            return "d" + _member(path)
        if path in contents:  # the whole array of values
            return f"d{_member(head)}.Select(x => x{_member(rest)})"
        variable = arrays.setdefault(head, f"a{len(arrays)}")
        return variable + _member(rest)

    mapped = [f"{names[k]} = {value_of(k)}" for k in keys]
    if count:
        mapped.append(f"{names[COUNT]} = 1")
    mapped += [f"{names[sum_of(p)]} = {value_of(p)}" for p in sums]
    sources = " ".join(f"from {v} in d{_member(h)}" for h, v in arrays.items())
    map_text = f"from d in docs.{collection} {sources} select new {{ {', '.join(mapped)} }}"
    map_text = re.sub(" +", " ", map_text)
    if len(keys) == 1:
        grouped = f"r.{names[keys[0]]}"
        reduced = [f"{names[keys[0]]} = g.Key"]
    else:
        grouped = "new { " + ", ".join(f"r.{names[k]}" for k in keys) + " }"
        reduced = [f"{names[k]} = g.Key.{names[k]}" for k in keys]
    totals = ([COUNT] if count else []) + [sum_of(p) for p in sums]
    reduced += [f"{names[t]} = g.Sum(x => x.{names[t]})" for t in totals]
    reduce_text = (
        f"from r in results group r by {grouped} into g select new {{ {', '.join(reduced)} }}"
    )
    # RavenDB's name: the aggregations (Count, each summed path) and the group-by paths,
    # each in ordinal order, as the query spells them.
    by = "And".join(sorted((["Count"] if count else []) + sums))
    reduced_by = sorted(f"Array({p})" if p in contents else p for p in keys)
    index_name = f"Auto/{collection}/By{by}ReducedBy{'And'.join(reduced_by)}"
    if len(index_name) > MAX_NAME_LENGTH:
        raise QueryError(f"group by: the name of its index is over {MAX_NAME_LENGTH} characters")
    definition = IndexDefinition(name=index_name, maps={map_text}, reduce=reduce_text)
    aggregations = frozenset(totals)
    index_query = Query(
        index_name=index_name,
        where=None if query.where is None else _renamed(query.where, names.__getitem__),
        order_by=tuple(dataclasses.replace(o, field=names[o.field]) for o in query.order_by),
        skip=query.skip,
        take=query.take,
        select=tuple(names[f] for f in query.select),
        select_as=query.select_as,
        distinct=query.distinct,
    )
    return AggregationPlan(
        definition, index_query, aggregations, f"ReducedBy{'And'.join(reduced_by)}"
    )


def _fields(predicate: Predicate | None) -> set[str]:
    """The fields ``predicate`` tests."""
    found: set[str] = set()
    pending = [] if predicate is None else [predicate]
    while pending:
        node = pending.pop()
        if isinstance(node, Not):
            pending.append(node.item)
        elif isinstance(node, (And, Or)):
            pending.extend(node.items)
        else:
            found.add(node.field)
    return found


def plan_among(query: Query, existing: Mapping[str, IndexDefinition]) -> AggregationPlan:
    """The plan of ``query`` on the automatic indexes ``existing`` (by name), as RavenDB
    chooses: one on the same collection and group-by fields that holds every aggregation
    ``query`` asks for answers it; when those there hold only some, the plan is of an index
    holding them all (RavenDB's merge; the smaller ones are left in place, so that a query
    running on one meanwhile never finds it gone); else ``plan(query)``."""
    own = plan(query)
    prefix = f"Auto/{query.collection}/By"
    held_there: list[frozenset[str]] = []
    for name, definition in existing.items():
        if not (name.startswith(prefix) and name.endswith(own.reduced_by)):
            continue
        middle = name[len(prefix) : len(name) - len(own.reduced_by)]
        try:
            held = tuple(COUNT if t == "Count" else sum_of(t) for t in middle.split("And"))
            probe = Query(collection=query.collection, group_by=query.group_by, select=held)
            found = plan(probe)
        except QueryError:
            continue
        # Read back from its name: taken only if it is the index rookdb makes of it.
        if found.index_name == name and found.definition.to_json() == definition.to_json():
            if own.aggregations <= found.aggregations:
                return plan(query, found.aggregations)
            held_there.append(found.aggregations)
    if not held_there:
        return own
    return plan(query, own.aggregations.union(*held_there))

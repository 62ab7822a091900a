r"""Facets as the session's API builds them and as ``FacetSetup`` documents store them, read
into ``FacetSpec`` objects (``rookdb.facet_rql``), what every backend runs.

``facet_spec`` takes a ``Facet``, ``RangeFacet`` or the facet of a ``FacetBuilder``;
``setup_specs`` the JSON of a stored ``FacetSetup`` (RavenDB's names, or the Python names a
session stores: ``FieldName`` and ``field_name`` alike). Anything malformed is a
``QueryError``, so that the server answers it with a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rookdb.errors import QueryError, shown
from rookdb.facet_rql import (
    FacetAggregate,
    FacetPaging,
    FacetRange,
    FacetSpec,
    is_range,
    options_paging,
    parse_alone,
    range_field,
    range_name,
)
from rookdb.facets import (
    Facet,
    FacetAggregation,
    FacetBase,
    FacetOptions,
    FacetTermSortMode,
    GenericRangeFacet,
    RangeFacet,
)
from rookdb.paths import parse_field_path
from rookdb.query_ast import And, Compare, Predicate, Scalar

__all__ = ["facet_spec", "setup_specs"]

_KINDS = {kind.value: kind for kind in FacetAggregation}


def _keys(item: dict[str, Any]) -> dict[str, Any]:
    """An object of a stored setup by its keys as RavenDB's JSON or Python names them:
    ``FieldName`` and ``field_name`` are both ``fieldname``."""
    return {str(k).replace("_", "").lower(): v for k, v in item.items()}


def facet_spec(facet: FacetBase, convert: Callable[[Any], Scalar]) -> FacetSpec:
    """The spec of a facet built with ``FacetBuilder``, ``Facet`` or ``RangeFacet``;
    ``convert`` turns a range's bound into the JSON value it compares (a datetime into
    ISO 8601 text, as the session writes it)."""
    aggregations = tuple(
        FacetAggregate(FacetAggregation(kind).value, f.name, f.display_name)
        for kind, fields in facet.aggregations.items()
        for f in fields
        if kind != FacetAggregation.NONE
    )
    options = facet.options
    paging = FacetPaging() if options is None else options_paging(options.to_json())
    display = facet.display_field_name
    if display is not None and (type(display) is not str or not display):
        raise QueryError(f"a facet's display name is a non-empty str, not {shown(display)}")
    if isinstance(facet, Facet):
        if not isinstance(facet.field_name, str) or not facet.field_name.strip():
            raise QueryError("a Facet names its field (field_name)")
        field = _field_of(facet.field_name)
        return FacetSpec(field, (), display, aggregations, paging)
    if isinstance(facet, GenericRangeFacet):
        ranges = tuple(_built_range(r.path, r.less, r.greater, convert) for r in facet.ranges)
    elif isinstance(facet, RangeFacet):
        ranges = tuple(_text_range(text) for text in facet.ranges)
    else:
        raise QueryError(f"not a facet: {type(facet).__qualname__}")
    if not ranges:
        raise QueryError("a range facet holds at least one range")
    if len({range_field(r.predicate) for r in ranges}) > 1:
        raise QueryError("the ranges of a facet are all of one field")
    return FacetSpec(None, ranges, display, aggregations, paging)


def _field_of(text: str) -> str:
    """A field path as the session's API takes it (not RQL: ``select`` is a field too)."""
    parse_field_path(text)
    return text


def _built_range(
    path: str,
    less: tuple[Any, bool] | None,
    greater: tuple[Any, bool] | None,
    convert: Callable[[Any], Scalar],
) -> FacetRange:
    _field_of(path)  # (a RangeBuilder takes any path: checked here, for every range)
    parts: list[Predicate] = []
    for bound, ops in ((greater, (">", ">=")), (less, ("<", "<="))):
        if bound is not None:
            value = convert(bound[0])
            if type(value) not in (int, float, str):
                raise QueryError(f"a range's bound is a number or a string, not {shown(value)}")
            parts.append(Compare(path, ops[bound[1]], value))  # type: ignore[arg-type]
    if not parts:
        raise QueryError("a range has a bound: use is_less_than(), is_greater_than(), ...")
    predicate = parts[0] if len(parts) == 1 else And(tuple(parts))
    return FacetRange(range_name(predicate), predicate)


def _text_range(text: str) -> FacetRange:
    if not isinstance(text, str):
        raise QueryError("a RangeFacet's ranges are RQL text: 'cost < 200'")
    predicate = parse_alone(text, "range", lambda parser: parser.conjunction())
    if not is_range(predicate):
        raise QueryError(f"{shown(text)}: a range compares one field with <, <=, >, >= or between")
    return FacetRange(range_name(predicate), predicate)


def setup_specs(document: Any, setup_id: str) -> tuple[FacetSpec, ...]:
    """The facets of a ``FacetSetup`` document (``Facets`` and ``RangeFacets``, RavenDB's
    JSON or the Python client's field names)."""
    if not isinstance(document, dict):
        raise QueryError(f"facet setup {shown(setup_id)} does not exist")
    fields = _keys(document)
    found: list[FacetBase] = []
    for item in _listed(fields, "facets", setup_id):
        found.append(_setup_facet(item, setup_id, ranged=False))
    for item in _listed(fields, "rangefacets", setup_id):
        found.append(_setup_facet(item, setup_id, ranged=True))
    if not found:
        raise QueryError(f"facet setup {shown(setup_id)} holds no facets")
    return tuple(facet_spec(f, lambda v: v) for f in found)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _listed(fields: dict[str, Any], key: str, setup_id: str) -> list[Any]:
    """A list of a stored setup (none if null or absent); anything else a ``QueryError``."""
    found = fields.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise QueryError(f"facet setup {shown(setup_id)}: {key} is a list")
    return found


def _setup_facet(item: Any, setup_id: str, ranged: bool) -> FacetBase:
    if not isinstance(item, dict):
        raise QueryError(f"facet setup {shown(setup_id)}: a facet is an object")
    fields = _keys(item)
    facet: FacetBase
    if ranged:
        facet = RangeFacet(_listed(fields, "ranges", setup_id))
    else:
        facet = Facet(fields.get("fieldname"))
    display = fields.get("displayfieldname")
    if not _text_or_none(display):
        raise QueryError(f"facet setup {shown(setup_id)}: DisplayFieldName is a str")
    facet.display_field_name = display
    options = fields.get("options")
    if options:
        paging = options_paging(options, f"facet setup {shown(setup_id)}")
        facet.options = FacetOptions()
        facet.options.start, facet.options.page_size = paging.start, paging.page_size
        facet.options.term_sort_mode = FacetTermSortMode(paging.sort)
        facet.options.include_remaining_terms = paging.include_remaining_terms
    aggregations = fields.get("aggregations") or {}
    if not isinstance(aggregations, dict):
        raise QueryError(f"facet setup {shown(setup_id)}: Aggregations is an object")
    for kind in aggregations:
        for field in _listed(aggregations, kind, setup_id):
            named = _keys(field) if isinstance(field, dict) else {"name": field}
            name, display = named.get("name"), named.get("displayname")
            if not isinstance(name, str) or kind not in _KINDS or not _text_or_none(display):
                raise QueryError(f"facet setup {shown(setup_id)}: an aggregation names its field")
            facet._aggregate(_KINDS[kind], name, display)
    return facet

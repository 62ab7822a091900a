"""Facets: counts (and sums, minimums, maximums, averages) of a query's results per value of a
field or per range, RavenDB's ``aggregate_by`` (SPEC Q1, issue 16).

The names are the RavenDB Python client's::

    results = (
        session.query(Camera)
        .where_greater_than("zoom", 2)
        .aggregate_by(lambda f: f.by_field("manufacturer").sum_on("cost"))
        .and_aggregate_by(
            lambda f: f.by_ranges(cost.is_less_than(200), cost.is_greater_than_or_equal_to(200))
        )
        .execute()
    )
    results["manufacturer"].values  # [FacetValue(range_="canon", count_=3, sum_=540.0), ...]

``results`` maps each facet's name (its display name, else its field) to a ``FacetResult``.
A field facet has one value per term of the field; terms are RavenDB's index terms (text in
lower case, numbers as JSON writes them, booleans ``true``/``false``; documents without the
field, or with null, count in no term). A range facet (``RangeBuilder``, or ``RangeFacet``
with ranges written in RQL: ``"cost < 200"``, ``"cost between 200 and 400"``) has one value
per range, named as RavenDB names it (``cost < 200``, parameters written as values).

This module holds the classes users build facets with and the results; ``rookdb.facet_rql``
the facet grammar of RQL (and what every backend runs), ``rookdb.facet_compute`` the
computation, ``rookdb.facet_query`` the aggregation query.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rookdb.errors import QueryError

__all__ = [
    "Facet",
    "FacetAggregation",
    "FacetBase",
    "FacetBuilder",
    "FacetOptions",
    "FacetResult",
    "FacetSetup",
    "FacetTermSortMode",
    "FacetValue",
    "GenericRangeFacet",
    "RangeBuilder",
    "RangeFacet",
]

T = TypeVar("T")

#: RavenDB's default page size of a facet: every term (``int.MaxValue``).
INT_MAX = 2**31 - 1


class FacetAggregation(str, enum.Enum):
    """What a facet computes of a field besides the count (a str, so that a facet's
    ``aggregations``, keyed by these values, is stored as JSON with its ``FacetSetup``)."""

    NONE = "None"
    MAX = "Max"
    MIN = "Min"
    AVERAGE = "Average"
    SUM = "Sum"


class FacetTermSortMode(enum.Enum):
    """The order of a field facet's terms (RavenDB's ``FacetTermSortMode``)."""

    VALUE_ASC = "ValueAsc"
    VALUE_DESC = "ValueDesc"
    COUNT_ASC = "CountAsc"
    COUNT_DESC = "CountDesc"

    def __str__(self) -> str:
        return self.value


class FacetOptions:
    """Paging and order of a field facet's terms: ``start`` terms are skipped, ``page_size``
    kept; ``include_remaining_terms`` lists the terms after the page in the result (their
    number and hits are always given)."""

    def __init__(self) -> None:
        self.page_size: int = INT_MAX
        self.start: int | None = None
        self.term_sort_mode: FacetTermSortMode = FacetTermSortMode.VALUE_ASC
        self.include_remaining_terms: bool = False

    @classmethod
    def default_options(cls) -> FacetOptions:
        return cls()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FacetOptions) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def to_json(self) -> dict[str, Any]:
        """RavenDB's JSON of the options (the RQL parameter ``facet(field, $options)``)."""
        return {
            "PageSize": self.page_size,
            "Start": self.start,
            "TermSortMode": self.term_sort_mode.value,
            "IncludeRemainingTerms": self.include_remaining_terms,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class FacetAggregationField:
    """A field aggregated (summed, ...) by a facet, and the name its values go under."""

    name: str
    display_name: str | None = None


class FacetBase:
    """What every facet has: a display name, options and the aggregations of fields."""

    def __init__(self) -> None:
        self.display_field_name: str | None = None
        self.options: FacetOptions | None = None
        #: The fields aggregated, by ``FacetAggregation`` (a key is its value, a plain str).
        self.aggregations: dict[str, list[FacetAggregationField]] = {}

    def _aggregate(self, kind: FacetAggregation, path: str, display_name: str | None) -> None:
        if not isinstance(path, str) or not path.strip():
            raise QueryError("a facet aggregates a field: name it")
        fields = self.aggregations.setdefault(kind.value, [])
        field = FacetAggregationField(path, display_name)
        if field not in fields:
            fields.append(field)


class Facet(FacetBase):
    """A facet of the terms of ``field_name``: one value per term."""

    def __init__(self, field_name: str | None = None) -> None:
        super().__init__()
        self.field_name = field_name

    def to_json(self) -> dict[str, Any]:
        return {**_base_json(self), "FieldName": self.field_name}


class RangeFacet(FacetBase):
    """A facet of ranges written in RQL (``"cost < 200"``, ``"cost >= 200 and cost < 400"``,
    ``"cost between 200 and 400"``), all on one field: one value per range."""

    def __init__(self, ranges: list[str] | None = None) -> None:
        super().__init__()
        self.ranges: list[str] = list(ranges or [])

    def to_json(self) -> dict[str, Any]:
        return {**_base_json(self), "Ranges": list(self.ranges)}


def _base_json(facet: FacetBase) -> dict[str, Any]:
    aggregations = {
        kind: [{"Name": f.name, "DisplayName": f.display_name} for f in fields]
        for kind, fields in facet.aggregations.items()
    }
    found: dict[str, Any] = {
        "DisplayFieldName": facet.display_field_name,
        "Aggregations": aggregations,
    }
    if facet.options is not None:
        found["Options"] = facet.options.to_json()
    return found


class FacetSetup:
    """A document of facets (RavenDB's ``FacetSetup``), stored and then named by
    ``aggregate_using(document_id)``."""

    def __init__(
        self, facets: list[Facet] | None = None, range_facets: list[RangeFacet] | None = None
    ) -> None:
        self.facets = list(facets or [])
        self.range_facets = list(range_facets or [])

    def to_json(self) -> dict[str, Any]:
        return {
            "Facets": [f.to_json() for f in self.facets],
            "RangeFacets": [f.to_json() for f in self.range_facets],
        }


@dataclasses.dataclass(slots=True)
class FacetValue:
    """One term or range of a facet: its ``count_`` of results and, when asked, the
    ``sum_``, ``max_``, ``min_`` and ``average_`` of the field ``name`` over them."""

    name: str | None
    range_: str
    count_: int
    sum_: float | None = None
    max_: float | None = None
    min_: float | None = None
    average_: float | None = None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FacetValue:
        return cls(
            value.get("Name"),
            value["Range"],
            value["Count"],
            value.get("Sum"),
            value.get("Max"),
            value.get("Min"),
            value.get("Average"),
        )


@dataclasses.dataclass(slots=True)
class FacetResult:
    """A facet's values; ``remaining_terms_count`` terms (with ``remaining_hits`` results)
    come after the page, listed in ``remaining_terms`` if the options asked for them."""

    name: str
    values: list[FacetValue]
    remaining_terms: list[str] = dataclasses.field(default_factory=list)
    remaining_terms_count: int = 0
    remaining_hits: int = 0

    @classmethod
    def from_json(cls, result: dict[str, Any]) -> FacetResult:
        """A result in RavenDB's JSON (``Name``, ``Values``, ``RemainingTerms``, ...)."""
        return cls(
            result["Name"],
            [FacetValue.from_json(v) for v in result["Values"]],
            list(result.get("RemainingTerms") or []),
            int(result.get("RemainingTermsCount") or 0),
            int(result.get("RemainingHits") or 0),
        )


class RangeBuilder(Generic[T]):
    """Ranges of one field: ``RangeBuilder.for_path("cost").is_less_than(200)``; each call
    returns a new builder, so one builder makes many ranges."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.less: tuple[Any, bool] | None = None  # (bound, inclusive)
        self.greater: tuple[Any, bool] | None = None

    @classmethod
    def for_path(cls, path: str) -> RangeBuilder[T]:
        return cls(path)

    def _with(self, less: tuple[Any, bool] | None, greater: tuple[Any, bool] | None) -> Any:
        clone: RangeBuilder[T] = RangeBuilder(self.path)
        clone.less, clone.greater = less, greater
        return clone

    def _check(self, bound: tuple[Any, bool] | None, which: str) -> None:
        if bound is not None:
            raise QueryError(f"the {which} bound of this range is already set")

    def is_less_than(self, value: T) -> RangeBuilder[T]:
        self._check(self.less, "upper")
        return self._with((value, False), self.greater)  # type: ignore[no-any-return]

    def is_less_than_or_equal_to(self, value: T) -> RangeBuilder[T]:
        self._check(self.less, "upper")
        return self._with((value, True), self.greater)  # type: ignore[no-any-return]

    def is_greater_than(self, value: T) -> RangeBuilder[T]:
        self._check(self.greater, "lower")
        return self._with(self.less, (value, False))  # type: ignore[no-any-return]

    def is_greater_than_or_equal_to(self, value: T) -> RangeBuilder[T]:
        self._check(self.greater, "lower")
        return self._with(self.less, (value, True))  # type: ignore[no-any-return]

    def get_string_representation(self, add_parameter: Callable[[Any], str]) -> str:
        """The range in RQL, its bounds parameters (``add_parameter`` names them), lower bound
        first, as RavenDB's client writes it: ``cost >= $p0 and cost < $p1``."""
        parts = []
        if self.greater is not None:
            op = ">=" if self.greater[1] else ">"
            parts.append(f"{self.path} {op} ${add_parameter(self.greater[0])}")
        if self.less is not None:
            op = "<=" if self.less[1] else "<"
            parts.append(f"{self.path} {op} ${add_parameter(self.less[0])}")
        if not parts:
            raise QueryError("a range has a bound: use is_less_than(), is_greater_than(), ...")
        return " and ".join(parts)


class GenericRangeFacet(FacetBase):
    """Ranges made with ``RangeBuilder`` (``FacetBuilder.by_ranges``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[RangeBuilder[Any]] = []


class FacetBuilder(Generic[T]):
    """What ``aggregate_by(lambda f: ...)`` hands the lambda: ``f.by_field("x")`` or
    ``f.by_ranges(...)``, then options, a display name and aggregations, chained."""

    def __init__(self) -> None:
        self.facet: FacetBase | None = None

    def by_field(self, field_name: str) -> FacetBuilder[T]:
        if not isinstance(field_name, str) or not field_name.strip():
            raise QueryError("by_field() takes a field's name")
        self.facet = Facet(field_name)
        return self

    def by_ranges(self, range_: RangeBuilder[Any], *ranges: RangeBuilder[Any]) -> FacetBuilder[T]:
        built = GenericRangeFacet()
        for given in (range_, *ranges):
            if not isinstance(given, RangeBuilder):
                raise QueryError("by_ranges() takes RangeBuilder ranges")
            built.ranges.append(given)
        self.facet = built
        return self

    def _built(self) -> FacetBase:
        if self.facet is None:
            raise QueryError("name the facet first: by_field() or by_ranges()")
        return self.facet

    def with_options(self, options: FacetOptions) -> FacetBuilder[T]:
        if not isinstance(options, FacetOptions):
            raise QueryError("with_options() takes FacetOptions")
        self._built().options = options
        return self

    def with_display_name(self, display_name: str) -> FacetBuilder[T]:
        self._built().display_field_name = display_name
        return self

    def sum_on(self, path: str, display_name: str | None = None) -> FacetBuilder[T]:
        self._built()._aggregate(FacetAggregation.SUM, path, display_name)
        return self

    def min_on(self, path: str, display_name: str | None = None) -> FacetBuilder[T]:
        self._built()._aggregate(FacetAggregation.MIN, path, display_name)
        return self

    def max_on(self, path: str, display_name: str | None = None) -> FacetBuilder[T]:
        self._built()._aggregate(FacetAggregation.MAX, path, display_name)
        return self

    def average_on(self, path: str, display_name: str | None = None) -> FacetBuilder[T]:
        self._built()._aggregate(FacetAggregation.AVERAGE, path, display_name)
        return self

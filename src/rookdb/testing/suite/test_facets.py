"""Facets (``aggregate_by``) on every backend: terms, ranges, aggregations, options, setups.

A facet counts the results of its query, after the where clause: a field facet one value per
term (RavenDB's: text in lower case, an array's values each once per result), a range facet
one value per range, in order, named as RavenDB names it. Random documents and facets give
the counts, sums, minimums, maximums and averages that plain Python computes.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import orjson
import pytest

from rookdb import DocumentStore, QueryError
from rookdb.facets import (
    Facet,
    FacetBuilder,
    FacetOptions,
    FacetResult,
    FacetSetup,
    FacetTermSortMode,
    RangeBuilder,
    RangeFacet,
)
from rookdb.indexes import AbstractIndexCreationTask
from rookdb.storage.commands import PutCommand


class Camera:
    def __init__(
        self,
        manufacturer: str | None = None,
        cost: float | None = None,
        zoom: int | None = None,
        features: list[str] | None = None,
    ) -> None:
        self.manufacturer = manufacturer
        self.cost = cost
        self.zoom = zoom
        self.features = features or []


CAMERAS = [
    Camera("Sony", 100, 2, ["LCD", "Tripod"]),
    Camera("sony", 300, 5, ["LCD"]),
    Camera("Canon", 250, 3, []),
    Camera("Nikon", 900, 10, ["Tripod", "tripod"]),
    Camera("Canon", 450.5, 8, ["LCD"]),
    Camera(None, 50, 1),
]


@pytest.fixture
def cameras(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for camera in CAMERAS:
            session.store(camera)
        session.save_changes()
    return store


def _by_range(result: FacetResult) -> dict[str, Any]:
    return {v.range_: v for v in result.values}


def test_a_field_facet_counts_each_term_in_lower_case(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = session.query(Camera).aggregate_by(lambda f: f.by_field("manufacturer")).execute()
    values = results["manufacturer"].values
    # Terms in order (ValueAsc, by code point); null is RavenDB's NULL_VALUE term.
    assert [(v.range_, v.count_) for v in values] == [
        ("NULL_VALUE", 1),
        ("canon", 2),
        ("nikon", 1),
        ("sony", 2),
    ]
    assert all(v.sum_ is None and v.name is None for v in values)


def test_an_array_counts_each_of_its_terms_once_per_result(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = session.query(Camera).aggregate_by(lambda f: f.by_field("features")).execute()
    counted = {v.range_: v.count_ for v in results["features"].values}
    assert counted == {"lcd": 3, "tripod": 2}


def test_aggregations_of_a_field_per_term(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .aggregate_by(
                lambda f: (
                    f.by_field("manufacturer")
                    .sum_on("cost")
                    .min_on("cost")
                    .max_on("cost")
                    .average_on("cost")
                )
            )
            .execute()
        )
    canon = _by_range(results["manufacturer"])["canon"]
    assert (canon.name, canon.count_) == ("cost", 2)
    assert (canon.sum_, canon.min_, canon.max_, canon.average_) == (700.5, 250, 450.5, 350.25)


def test_aggregations_of_two_fields_give_a_value_per_field(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .aggregate_by(lambda f: f.by_field("manufacturer").sum_on("cost").max_on("zoom", "z"))
            .execute()
        )
    sony = [v for v in results["manufacturer"].values if v.range_ == "sony"]
    assert [(v.name, v.sum_, v.max_) for v in sony] == [("cost", 400, None), ("z", None, 5)]


def test_a_field_under_two_names_gives_a_value_per_name(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .aggregate_by(
                lambda f: (
                    f.by_field("manufacturer")
                    .sum_on("cost", "all")
                    .sum_on("cost", "again")
                    .average_on("cost", "again")
                )
            )
            .execute()
        )
    canon = [v for v in results["manufacturer"].values if v.range_ == "canon"]
    assert [(v.name, v.sum_, v.average_) for v in canon] == [
        ("all", 700.5, None),
        ("again", 700.5, 350.25),
    ]


def test_range_facets_are_named_as_ravendb_writes_them(cameras: DocumentStore) -> None:
    cost = RangeBuilder.for_path("cost")
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .aggregate_by(
                lambda f: f.by_ranges(
                    cost.is_less_than(200),
                    cost.is_greater_than_or_equal_to(200).is_less_than(500),
                    cost.is_greater_than(2000),
                ).sum_on("cost")
            )
            .execute()
        )
    values = results["cost"].values
    assert [(v.range_, v.count_, v.sum_) for v in values] == [
        ("cost < 200", 2, 150),
        ("cost >= 200 and cost < 500", 3, 1000.5),
        ("cost > 2000", 0, 0),
    ]


def test_range_facet_of_rql_ranges(cameras: DocumentStore) -> None:
    facet = RangeFacet(["zoom <= 3", "zoom between 4 and 8", "zoom > 8"])
    facet.display_field_name = "zooms"
    with cameras.open_session() as session:
        results = session.query(Camera).aggregate_by_facets([facet]).execute()
    counted = [(v.range_, v.count_) for v in results["zooms"].values]
    assert counted == [("zoom <= 3", 3), ("zoom between 4 and 8", 2), ("zoom > 8", 1)]


def test_facets_count_only_what_the_where_clause_matches(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .where_greater_than("zoom", 2)
            .aggregate_by(lambda f: f.by_field("manufacturer"))
            .and_aggregate_by(Facet("features"))
            .execute()
        )
    assert {v.range_: v.count_ for v in results["manufacturer"].values} == {
        "canon": 2,
        "nikon": 1,
        "sony": 1,
    }
    assert {v.range_: v.count_ for v in results["features"].values} == {"lcd": 2, "tripod": 1}


def test_options_page_and_sort_the_terms(cameras: DocumentStore) -> None:
    options = FacetOptions()
    options.term_sort_mode = FacetTermSortMode.COUNT_DESC
    options.start = 1
    options.page_size = 1
    options.include_remaining_terms = True
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .aggregate_by(lambda f: f.by_field("manufacturer").with_options(options))
            .execute()
        )
    result = results["manufacturer"]
    # By count, descending, ties by term: canon 2, sony 2, NULL_VALUE 1, nikon 1; the page
    # is the second.
    assert [(v.range_, v.count_) for v in result.values] == [("sony", 2)]
    assert result.remaining_terms == ["NULL_VALUE", "nikon"]
    assert (result.remaining_terms_count, result.remaining_hits) == (2, 2)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (FacetTermSortMode.VALUE_ASC, ["NULL_VALUE", "canon", "nikon", "sony"]),
        (FacetTermSortMode.VALUE_DESC, ["sony", "nikon", "canon", "NULL_VALUE"]),
        (FacetTermSortMode.COUNT_ASC, ["NULL_VALUE", "nikon", "canon", "sony"]),
        (FacetTermSortMode.COUNT_DESC, ["canon", "sony", "NULL_VALUE", "nikon"]),
    ],
)
def test_term_sort_modes(cameras: DocumentStore, mode: FacetTermSortMode, expected: Any) -> None:
    options = FacetOptions()
    options.term_sort_mode = mode
    facet = Facet("manufacturer")
    facet.options = options
    with cameras.open_session() as session:
        results = session.query(Camera).aggregate_by(facet).execute()
    assert [v.range_ for v in results["manufacturer"].values] == expected
    assert results["manufacturer"].remaining_terms == []


def test_a_field_named_as_an_rql_keyword(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"select": "A", "order": 2}, "things/1")
        session.save_changes()
    with store.open_session() as session:
        results = (
            session.query()
            .aggregate_by(lambda f: f.by_field("select"))
            .and_aggregate_by(lambda f: f.by_ranges(RangeBuilder.for_path("order").is_less_than(3)))
            .execute()
        )
    assert [(v.range_, v.count_) for v in results["select"].values] == [("a", 1)]
    assert [(v.range_, v.count_) for v in results["order"].values] == [("order < 3", 1)]


def test_display_names_name_the_results(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        results = (
            session.query(Camera)
            .aggregate_by(lambda f: f.by_field("manufacturer").with_display_name("makers"))
            .and_aggregate_by(lambda f: f.by_field("manufacturer").with_display_name("again"))
            .execute()
        )
    assert set(results) == {"makers", "again"}
    assert results["makers"].name == "makers"


def test_aggregate_using_a_facet_setup_document(cameras: DocumentStore) -> None:
    options = FacetOptions()
    options.page_size = 2
    facet = Facet("manufacturer")
    facet.options = options
    ranges = RangeFacet(["cost < 200", "cost >= 200"])
    with cameras.open_session() as session:
        session.store(FacetSetup([facet], [ranges]), "facets/cameras")
        session.save_changes()
    with cameras.open_session() as session:
        results = session.query(Camera).aggregate_using("facets/cameras").execute()
    assert [v.range_ for v in results["manufacturer"].values] == ["NULL_VALUE", "canon"]
    assert results["manufacturer"].remaining_terms_count == 2
    assert [v.count_ for v in results["cost"].values] == [2, 4]


def test_a_stored_setup_keeps_aggregations_and_options(cameras: DocumentStore) -> None:
    options = FacetOptions()
    options.term_sort_mode = FacetTermSortMode.VALUE_DESC
    makers = Facet("manufacturer")
    makers.options = options
    built: FacetBuilder[Any] = FacetBuilder()  # the builder's facet, stored as it is
    built.by_field("zoom").with_display_name("zooms").max_on("cost", "dearest")
    prices = RangeFacet(["cost < 300"])
    prices.display_field_name = "cheap"
    with cameras.open_session() as session:
        setup = FacetSetup([makers], [prices])
        setup.facets.append(built.facet)  # type: ignore[arg-type]
        session.store(setup, "facets/full")
        session.save_changes()
    with cameras.open_session() as session:
        results = session.query(Camera).aggregate_using("facets/full").execute()
    assert [v.range_ for v in results["manufacturer"].values] == [
        "sony",
        "nikon",
        "canon",
        "NULL_VALUE",
    ]
    dearest = {v.range_: (v.name, v.max_) for v in results["zooms"].values}
    assert dearest["10"] == ("dearest", 900)
    assert [v.count_ for v in results["cheap"].values] == [3]


@pytest.mark.parametrize(
    "setup",
    [
        {"Facets": 5},
        {"Facets": [{"FieldName": "zoom", "Aggregations": ["Sum"]}]},
        {"Facets": [{"FieldName": "zoom", "Aggregations": {"Sum": [{"Name": 3}]}}]},
        {"Facets": [{"FieldName": "zoom", "Aggregations": {"Median": ["cost"]}}]},
        {"RangeFacets": [{"Ranges": "cost < 3"}]},
        {"Facets": [{"FieldName": 7}]},
        {"Facets": [], "RangeFacets": []},
    ],
)
def test_a_malformed_setup_is_a_query_error(cameras: DocumentStore, setup: Any) -> None:
    with cameras.open_session() as session:
        session.store(setup, "facets/malformed")
        session.save_changes()
    with cameras.open_session() as session, pytest.raises(QueryError, match=r"(?i)facet"):
        session.query(Camera).aggregate_using("facets/malformed").execute()


def test_execute_lazy_runs_when_its_value_is_asked(
    cameras: DocumentStore, session_mode: str
) -> None:
    if session_mode == "async":
        pytest.skip("execute_lazy is the sync session's aggregation query's only")
    with cameras.open_session() as session:
        lazy = (
            session.query(Camera).aggregate_by(lambda f: f.by_field("manufacturer")).execute_lazy()
        )
        assert not lazy.is_value_created
        assert session.advanced.number_of_requests == 0
        values = lazy.value["manufacturer"].values
        assert session.advanced.number_of_requests == 1
    assert [v.count_ for v in values] == [1, 2, 1, 2]


def test_includes_of_the_results_come_with_the_facets(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "Ann"}, "people/1")
        session.store(Camera("Sony", 100, 2, ["people/1"]), "cameras/1")
        session.store(Camera("Canon", 200, 3, ["people/2"]), "cameras/2")
        session.save_changes()
    with store.open_session() as session:
        results = (
            session.query(Camera)
            .include("features")
            .aggregate_by(lambda f: f.by_field("features"))
            .execute()
        )
        assert [v.range_ for v in results["features"].values] == ["people/1", "people/2"]
        assert session.load("people/1")["name"] == "Ann"
        assert session.load("people/2") is None
        assert session.advanced.number_of_requests == 1


def test_statistics_are_those_of_the_query_counted(cameras: DocumentStore) -> None:
    seen: list[Any] = []
    with cameras.open_session() as session:
        (
            session.query(Camera)
            .where_less_than("zoom", 5)
            .statistics(seen.append)
            .aggregate_by(lambda f: f.by_field("manufacturer"))
            .execute()
        )
    assert seen[0].total_results == 3


def test_rql_facets_through_raw_query(cameras: DocumentStore) -> None:
    options = FacetOptions()
    options.page_size = 1
    rql = (
        "from Cameras where zoom >= $zoom "
        "select facet(manufacturer, sum(cost), $options), "
        "facet(cost < 200, cost between 200 and 500) as prices"
    )
    with cameras.open_session() as session:
        query = session.advanced.raw_query(rql).add_parameter("zoom", 2)
        results = query.add_parameter("options", options).execute_aggregation()
        with pytest.raises(QueryError, match="selects facets"):
            session.advanced.raw_query("from Cameras").execute_aggregation()
    makers = results["manufacturer"]
    assert [(v.range_, v.count_, v.sum_) for v in makers.values] == [("canon", 2, 700.5)]
    assert (makers.remaining_terms_count, makers.remaining_hits) == (2, 3)
    assert [v.count_ for v in results["prices"].values] == [1, 3]


class Cameras_ByBucket(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = (
            "from c in docs.Cameras select new { c.manufacturer, Bucket = c.zoom / 5, c.cost }"
        )


class Everything_ByMaker(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from d in docs select new { d.manufacturer, d.zoom }"


@pytest.mark.rookdb_requires("indexes")
def test_an_entry_whose_fields_are_all_null_counts_in_no_term(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        session.store({"other": "shape"}, "others/1")  # mapped to { null, null }
        session.save_changes()
    Everything_ByMaker().execute(cameras)
    with cameras.open_session() as session:
        results = (
            session.query_index_type(Everything_ByMaker)
            .aggregate_by(lambda f: f.by_field("manufacturer"))
            .execute()
        )
    # The camera without a maker has a zoom: its entry counts under NULL_VALUE.
    counted = {v.range_: v.count_ for v in results["manufacturer"].values}
    assert counted == {"NULL_VALUE": 1, "canon": 2, "nikon": 1, "sony": 2}


@pytest.mark.rookdb_requires("indexes")
def test_an_index_query_counts_the_index_entries(cameras: DocumentStore) -> None:
    Cameras_ByBucket().execute(cameras)
    with cameras.open_session() as session:
        results = (
            session.query_index_type(Cameras_ByBucket, Camera)
            .where_greater_than_or_equal("cost", 100)
            .aggregate_by(lambda f: f.by_field("Bucket").sum_on("cost"))
            .execute()
        )
    # Bucket is a field of the entries only: zoom / 5, C#'s integer division.
    counted = {v.range_: (v.count_, v.sum_) for v in results["Bucket"].values}
    assert counted == {"0": (2, 350), "1": (2, 750.5), "2": (1, 900)}


# -- bad input ---------------------------------------------------------------------------------


def test_bad_facets_are_query_errors(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        query = session.query(Camera)
        with pytest.raises(QueryError, match="by_field"):
            query.aggregate_by(lambda f: f.by_field(""))
        with pytest.raises(QueryError, match="range"):
            query.aggregate_by(RangeFacet(["cost = 3"]))
        with pytest.raises(QueryError, match="one field"):
            query.aggregate_by(RangeFacet(["cost < 3", "zoom > 4"]))
        with pytest.raises(QueryError, match="two facets"):
            query.aggregate_by(Facet("zoom")).and_aggregate_by(Facet("zoom"))
        with pytest.raises(QueryError, match="name the facet"):
            query.aggregate_by(lambda f: f.sum_on("cost"))


def test_a_setup_with_an_unknown_option_or_none_is_a_query_error(cameras: DocumentStore) -> None:
    with cameras.open_session() as session:
        bad = {"Facets": [{"FieldName": "zoom", "Options": {"Bogus": 1}}], "RangeFacets": []}
        session.store(bad, "facets/bad")
        session.save_changes()
    with cameras.open_session() as session:
        with pytest.raises(QueryError, match="unknown facet option 'Bogus'"):
            session.query(Camera).aggregate_using("facets/bad").execute()
        with pytest.raises(QueryError, match="does not exist"):
            session.query(Camera).aggregate_using("facets/missing").execute()


# -- against plain Python ----------------------------------------------------------------------

NAMES = ["Ann", "ann", "Bob", "CAROL", "dave", ""]


def _random_document(rng: random.Random) -> dict[str, Any]:
    document: dict[str, Any] = {"k": rng.randrange(6)}
    roll = rng.random()
    if roll < 0.5:
        document["m"] = rng.choice(NAMES)
    elif roll < 0.7:
        document["m"] = [rng.choice(NAMES) for _ in range(rng.randrange(0, 4))]
    elif roll < 0.8:
        document["m"] = rng.choice([None, 7, True])
    if rng.random() < 0.85:
        document["n"] = rng.choice([rng.randrange(-50, 50), rng.randrange(-50, 50) + 0.5, "x"])
    return document


def _terms(document: dict[str, Any], field: str) -> set[str]:
    value = document.get(field)
    found = set()
    if field not in document:
        return set()
    for item in value if isinstance(value, list) else [value]:
        if item is None:
            found.add("NULL_VALUE")
        elif item == "":
            found.add("EMPTY_STRING")
        elif isinstance(item, bool):
            found.add(str(item).lower())
        elif isinstance(item, str):
            found.add(item.lower())
        elif isinstance(item, (int, float)):
            found.add(json.dumps(item))
    return found


def _numbers(document: dict[str, Any]) -> list[float]:
    value = document.get("n")
    return [float(value)] if type(value) in (int, float) else []


def _expected(documents: list[dict[str, Any]], field: str, low: int) -> dict[str, Any]:
    """Count, sum, min, max and average of n per term of ``field``, over k >= low."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        if document["k"] >= low:
            for term in _terms(document, field):
                groups.setdefault(term, []).append(document)
    found = {}
    for term, members in groups.items():
        numbers = [x for d in members for x in _numbers(d)]
        found[term] = (
            len(members),
            math.fsum(numbers),
            min(numbers, default=None),
            max(numbers, default=None),
            math.fsum(numbers) / len(numbers) if numbers else None,
        )
    return found


def test_facets_equal_plain_python_over_random_documents(store: DocumentStore) -> None:
    rng = random.Random(20261130)
    documents = [_random_document(rng) for _ in range(150)]
    puts = [PutCommand(f"things/{i}", "Things", orjson.dumps(d)) for i, d in enumerate(documents)]
    store._storage(store.database).apply(puts)
    n = RangeBuilder.for_path("n")
    for low in range(6):
        with store.open_session() as session:
            results = (
                session.query(collection_name="Things")
                .where_greater_than_or_equal("k", low)
                .aggregate_by(
                    lambda f: f.by_field("m").sum_on("n").min_on("n").max_on("n").average_on("n")
                )
                .and_aggregate_by(
                    lambda f: f.by_ranges(n.is_less_than(0), n.is_greater_than_or_equal_to(0))
                )
                .execute()
            )
        got = {
            v.range_: (v.count_, v.sum_, v.min_, v.max_, v.average_) for v in results["m"].values
        }
        expected = _expected(documents, "m", low)
        assert set(got) == set(expected)
        for term, figures in expected.items():
            assert got[term] == pytest.approx(figures), term
        matching = [d for d in documents if d["k"] >= low]
        numbers = [x for d in matching for x in _numbers(d)]
        assert [v.count_ for v in results["n"].values] == [
            sum(1 for x in numbers if x < 0),
            sum(1 for x in numbers if x >= 0),
        ]


def _expected_page(
    counts: dict[str, int], mode: FacetTermSortMode, start: int, size: int
) -> tuple[list[str], list[str], int]:
    """The terms of a page in ``mode``'s order (ties by term), those after it, their hits."""
    if mode is FacetTermSortMode.VALUE_ASC:
        ordered = sorted(counts)
    elif mode is FacetTermSortMode.VALUE_DESC:
        ordered = sorted(counts, reverse=True)
    elif mode is FacetTermSortMode.COUNT_ASC:
        ordered = sorted(counts, key=lambda t: (counts[t], t))
    else:
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
    rest = ordered[start + size :]
    return ordered[start : start + size], rest, sum(counts[t] for t in rest)


def test_paged_and_sorted_terms_equal_plain_python(store: DocumentStore) -> None:
    rng = random.Random(7)
    documents = [_random_document(rng) for _ in range(120)]
    puts = [PutCommand(f"things/{i}", "Things", orjson.dumps(d)) for i, d in enumerate(documents)]
    store._storage(store.database).apply(puts)
    for _ in range(12):
        low = rng.randrange(4)
        options = FacetOptions()
        options.term_sort_mode = rng.choice(list(FacetTermSortMode))
        options.start = rng.randrange(4)
        options.page_size = rng.randrange(1, 7)
        options.include_remaining_terms = rng.random() < 0.5
        with store.open_session() as session:
            result = (
                session.query(collection_name="Things")
                .where_greater_than_or_equal("k", low)
                .aggregate_by(lambda f, o=options: f.by_field("m").with_options(o))
                .execute()
            )["m"]
        counts = {t: c[0] for t, c in _expected(documents, "m", low).items()}
        page, rest, hits = _expected_page(
            counts, options.term_sort_mode, options.start, options.page_size
        )
        assert [(v.range_, v.count_) for v in result.values] == [(t, counts[t]) for t in page]
        assert result.remaining_terms == (rest if options.include_remaining_terms else [])
        assert (result.remaining_terms_count, result.remaining_hits) == (len(rest), hits)

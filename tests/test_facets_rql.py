"""Facets in RQL: ``select facet(...)`` parsed and printed back, refused with a typed error
(a 400 from the server, never a 5xx), and answered by ``rookdb serve`` in RavenDB's shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import DocumentStore, QueryError
from rookdb.facet_rql import FacetPaging, parse_facet_query, print_facet_query
from rookdb.query_ast import And, Between, Compare
from rookdb.rql import parse
from rookdb.testing.backends import BACKENDS

RQL = (
    "from Cameras as c where zoom > 2 "
    "select facet(manufacturer, sum(cost), max(cost) as 'top', $options) as makers, "
    "facet(cost < 200, cost >= 200 and cost < 400, cost between 400 and 800), "
    "facet(id('facets/CameraFacets')) include c.maker"
)
OPTIONS = {"PageSize": 3, "Start": 1, "TermSortMode": "CountDesc", "IncludeRemainingTerms": True}


def test_the_facet_grammar() -> None:
    query, facets = parse_facet_query(RQL, {"options": OPTIONS})
    assert query.collection == "Cameras" and query.where == Compare("zoom", ">", 2)
    assert query.includes == ("maker",)
    makers, costs, setup = facets
    assert (makers.name, makers.field) == ("makers", "manufacturer")
    assert [(a.kind, a.field, a.display_name) for a in makers.aggregations] == [
        ("Sum", "cost", None),
        ("Max", "cost", "top"),
    ]
    assert makers.paging == FacetPaging(1, 3, "CountDesc", True)
    assert costs.name == "cost"
    assert [r.name for r in costs.ranges] == [
        "cost < 200",
        "cost >= 200 and cost < 400",
        "cost between 400 and 800",
    ]
    assert costs.ranges[1].predicate == And((Compare("cost", ">=", 200), Compare("cost", "<", 400)))
    assert costs.ranges[2].predicate == Between("cost", 400, 800)
    assert setup.setup_id == "facets/CameraFacets"


def test_printed_facets_parse_back() -> None:
    parsed = parse_facet_query(RQL, {"options": OPTIONS})
    text, parameters = print_facet_query(parsed)
    assert parse_facet_query(text, parameters) == parsed


def test_the_python_clients_option_names_are_read() -> None:
    options = {"page_size": 2, "start": None, "term_sort_mode": "ValueDesc"}
    _, (facet,) = parse_facet_query("from A select facet(a, $o)", {"o": options})
    assert facet.paging == FacetPaging(0, 2, "ValueDesc", False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("from A select facet()", "names a field or ranges"),
        ("from A select facet(id())", "FacetSetup document's id"),
        ("from A select facet(1)", "a facet takes a field"),
        ("from A select facet(count())", "a facet takes a field"),
        ("from A select facet(a = 1)", "compares one field"),
        ("from A select facet(a < 1, b < 2)", "all of one field"),
        ("from A select facet(a, $bad)", "unknown facet option 'Bogus'"),
        ("from A select facet(a, $missing)", "no value for parameter"),
        ("from A select facet(a, $sort)", "unknown TermSortMode"),
        ("from A select facet(a), facet(a)", "two facets are named 'a'"),
        ("from A select facet(a), b", "selects facets only"),
        ("from A select facet(sum(x), a)", "before its aggregations"),
    ],
)
def test_bad_facets_are_query_errors(text: str, message: str) -> None:
    parameters = {"bad": {"Bogus": 1}, "sort": {"TermSortMode": "Sideways"}}
    with pytest.raises(QueryError, match=message):
        parse_facet_query(text, parameters)


def test_a_plain_parse_refuses_facets() -> None:
    with pytest.raises(QueryError, match="execute_aggregation"):
        parse("from A select facet(a)")


# -- served ------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[str]:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    yield url
    spec.clean_up(url)


def _post(url: str, text: str, parameters: dict[str, Any] | None = None) -> httpx.Response:
    body = {"Query": text, "QueryParameters": parameters or {}}
    return httpx.post(f"{url}/databases/default/queries", json=body)


def test_the_server_answers_facets_in_ravendbs_shape(server: str) -> None:
    with DocumentStore(server) as store, store.open_session() as session:
        for make, cost in [("Sony", 100), ("Canon", 250), ("sony", 300)]:
            session.store({"manufacturer": make, "cost": cost}, f"cameras/{make}-{cost}")
        session.save_changes()
    answer = _post(server, "from @all_docs select facet(manufacturer, sum(cost))")
    assert answer.status_code == 200
    body = answer.json()
    assert body["TotalResults"] == 3
    (result,) = body["Results"]
    remaining = {"RemainingTerms", "RemainingTermsCount", "RemainingHits"}
    assert set(result) == {"Name", "Values", *remaining}
    assert result["Name"] == "manufacturer"
    assert [(v["Range"], v["Count"], v["Sum"], v["Name"]) for v in result["Values"]] == [
        ("canon", 1, 250, "cost"),
        ("sony", 2, 400, "cost"),
    ]
    assert set(result["Values"][0]) == {"Name", "Range", "Count", "Sum", "Max", "Min", "Average"}


@pytest.mark.parametrize(
    "text",
    [
        "from @all_docs select facet(count())",
        "from @all_docs select facet(a, $p0)",
        "from @all_docs select facet(a = 1)",
        "from @all_docs select facet(id('facets/none'))",
    ],
)
def test_bad_facet_queries_are_answered_400(server: str, text: str) -> None:
    answer = _post(server, text, {"p0": {"Bogus": True}})
    assert answer.status_code == 400
    assert answer.json()["RookdbError"] == "QueryError"


def test_a_facet_query_in_a_multi_get(server: str) -> None:
    with DocumentStore(server) as store, store.open_session() as session:
        session.store({"a": "X"}, "things/1")
        session.save_changes()
    item = {
        "Url": "/queries",
        "Method": "POST",
        "Content": {"Query": "from @all_docs select facet(a)", "QueryParameters": {}},
    }
    bad = {**item, "Content": {"Query": "from @all_docs select facet(1)"}}
    answer = httpx.post(f"{server}/databases/default/multi_get", json={"Requests": [item, bad]})
    good, refused = answer.json()["Results"]
    assert good["StatusCode"] == 200
    assert good["Result"]["Results"][0]["Values"][0]["Range"] == "x"
    assert refused["StatusCode"] == 400

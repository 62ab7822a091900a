"""``load_starting_with`` with RavenDB's paging and patterns (``matches``, ``exclude``,
``start_after``), on every backend."""

from __future__ import annotations

import pytest

from rookdb import DocumentStore, InvalidIdError, RookError
from rookdb.testing.recording import record_requests


@pytest.fixture
def products(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for key in ("MB-200", "MB-201", "MB-100", "MB-101", "BM-100", "BM-200", "mb-3x"):
            session.store({"key": key, "@metadata": {"@collection": "Products"}}, f"products/{key}")
        session.save_changes()
    return store


def _keys(store: DocumentStore, prefix: str, **options: object) -> list[str]:
    with store.open_session() as session:
        return [d["key"] for d in session.load_starting_with(prefix, dict, **options)]


def test_prefix_in_id_order_case_insensitive(products: DocumentStore) -> None:
    assert _keys(products, "PRODUCTS/mb-") == ["MB-100", "MB-101", "MB-200", "MB-201", "mb-3x"]


def test_matches_a_wildcard_pattern_on_the_rest_of_the_id(products: DocumentStore) -> None:
    assert _keys(products, "products/MB-", matches="2*") == ["MB-200", "MB-201"]
    assert _keys(products, "products/MB-", matches="?01") == ["MB-101", "MB-201"]
    assert _keys(products, "products/MB-", matches="100|3X") == ["MB-100", "mb-3x"]
    assert _keys(products, "products/", matches="mb-*1") == ["MB-101", "MB-201"]
    assert _keys(products, "products/MB-", matches="2") == []  # the whole rest must match


def test_exclude_drops_what_its_pattern_matches(products: DocumentStore) -> None:
    assert _keys(products, "products/BM-", exclude="2*") == ["BM-100"]
    assert _keys(products, "products/MB-", matches="*0*", exclude="*1|3*") == ["MB-100", "MB-200"]


def test_start_after_and_paging(products: DocumentStore) -> None:
    assert _keys(products, "products/MB-", matches="2*", start_after="products/MB-200") == [
        "MB-201"
    ]
    assert _keys(products, "products/MB", start=1, page_size=2) == ["MB-101", "MB-200"]
    # start counts matching documents only
    assert _keys(products, "products/", matches="*1", start=1, page_size=5) == ["MB-201"]
    assert _keys(products, "products/", start_after="products/zzz") == []
    assert _keys(products, "products/MB-", page_size=0) == []


def test_one_request_and_tracked_entities(products: DocumentStore) -> None:
    calls = record_requests(products)
    with products.open_session() as session:
        page = session.load_starting_with("products/MB-", dict, matches="1*")
        assert session.number_of_requests == 1 and len(calls) == 1
        assert session.load("products/MB-100") is page[0]
        assert session.advanced.load_starting_with("products/mb-", dict, matches="1*") == page


def test_many_documents_walked_past_a_page(store: DocumentStore) -> None:
    with store.open_session() as session:
        for i in range(2_100):
            session.store({"i": i, "@metadata": {"@collection": "Many"}}, f"many/{i:05d}")
        session.save_changes()
    with store.open_session() as session:
        found = session.load_starting_with("many/", dict, matches="*99", start=10, page_size=5)
        assert [d["i"] for d in found] == [1099, 1199, 1299, 1399, 1499]


@pytest.mark.parametrize(
    "options",
    [
        {"start": -1},
        {"page_size": "10"},
        {"matches": 3},
        {"exclude": ["x"]},
        {"start_after": 5},
    ],
)
def test_bad_arguments_are_refused(store: DocumentStore, options: dict[str, object]) -> None:
    with store.open_session() as session:
        with pytest.raises(RookError):
            session.load_starting_with("products/", dict, **options)  # type: ignore[arg-type]
        with pytest.raises(InvalidIdError):
            session.load_starting_with(None)  # type: ignore[arg-type]
        assert session.number_of_requests == 0

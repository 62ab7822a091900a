"""``POST /multi_get`` item by item as ``GET /docs`` answers (issue 14): each item's own ``ETag``
and ``If-None-Match`` (a ``304`` per item, so the official client's cache serves lazy loads),
and an item that fails failing alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import DocumentStore as RookStore
from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")

DATABASE = "MultiGets"


class User:
    def __init__(self, name: str | None = None, Id: str | None = None) -> None:
        self.name, self.Id = name, Id


@pytest.fixture
def url() -> Iterator[str]:
    spec = BACKENDS["http"]
    spec.require()
    base = spec.make_url(Path())
    with RookStore(base, database=DATABASE) as store, store.open_session() as session:
        session.store({"name": "a", "@metadata": {"@collection": "Users"}}, "users/1")
        session.store({"name": "b", "@metadata": {"@collection": "Users"}}, "users/2")
        session.save_changes()
    yield base
    spec.clean_up(base)


def _multi_get(url: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
    answer = httpx.post(f"{url}/databases/{DATABASE}/multi_get", json={"Requests": list(items)})
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["Results"]
    return results


def _docs(query: str, tag: str | None = None) -> dict[str, Any]:
    headers = {} if tag is None else {"If-None-Match": tag}
    return {"Url": f"/databases/{DATABASE}/docs", "Query": query, "Headers": headers}


def test_each_item_has_the_etag_get_docs_gives(url: str) -> None:
    single = httpx.get(f"{url}/databases/{DATABASE}/docs", params={"id": "users/1"})
    prefix = httpx.get(f"{url}/databases/{DATABASE}/docs", params={"startsWith": "users/"})
    one, by_prefix = _multi_get(url, _docs("?id=users/1"), _docs("?startsWith=users/"))
    assert one["Headers"]["ETag"] == single.headers["ETag"]
    assert by_prefix["Headers"]["ETag"] == prefix.headers["ETag"]


def test_an_items_if_none_match_is_a_304_for_that_item(url: str) -> None:
    first = _multi_get(url, _docs("?id=users/1"), _docs("?id=users/1&id=users/2"))
    tags = [answer["Headers"]["ETag"] for answer in first]
    again = _multi_get(
        url,
        _docs("?id=users/1", tags[0]),
        _docs("?id=users/1&id=users/2", '"stale"'),
        _docs("?id=users/1&id=users/2", tags[1].strip('"')),  # the client's unquoted form
    )
    assert [a["StatusCode"] for a in again] == [304, 200, 304]
    assert again[0]["Result"] is None and again[0]["Headers"]["ETag"] == tags[0]
    assert again[1]["Result"]["Results"][1]["name"] == "b"


def test_a_failing_item_fails_alone(url: str) -> None:
    results = _multi_get(
        url,
        _docs("?id=users/1"),
        {"Url": f"/databases/{DATABASE}/queries", "Method": "POST", "Content": {"Query": "from ("}},
        {"Url": f"/databases/{DATABASE}/nowhere"},
        _docs("?id=users/404"),
    )
    assert [r["StatusCode"] for r in results] == [200, 400, 400, 404]
    assert results[1]["Result"]["Type"] == "Raven.Client.Exceptions.InvalidQueryException"
    assert results[0]["Result"]["Results"][0]["name"] == "a"


def test_a_query_of_a_missing_index_is_a_404_item_without_a_body(url: str) -> None:
    """As RavenDB's query route answers it (a 404, no body), which its clients read as
    ``IndexDoesNotExistException`` (a 404 item is no error to them: its null result is);
    alone too, where the multi_get itself once failed with that 404."""
    missing = {
        "Url": f"/databases/{DATABASE}/queries",
        "Method": "POST",
        "Content": {"Query": "from index 'Nowhere'"},
    }
    for items in ([missing], [_docs("?id=users/1"), missing]):
        results = _multi_get(url, *items)
        assert results[-1]["StatusCode"] == 404
        assert results[-1]["Result"] is None


class Users_ByName(ravendb.AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from u in docs.Users select new { u.name }"


def test_the_official_client_raises_for_a_lazy_query_of_a_missing_index(url: str) -> None:
    """RavenDB's RavenDB_12790 test: an eager and a lazy query of an index never put."""
    from ravendb.exceptions.documents.indexes import IndexDoesNotExistException

    store = ravendb.DocumentStore(urls=[url], database=DATABASE)
    store.initialize()
    try:
        with store.open_session() as session, pytest.raises(IndexDoesNotExistException):
            list(session.query_index_type(Users_ByName, User))
        with store.open_session() as session:
            lazy = session.query_index_type(Users_ByName, User).lazily()
            with pytest.raises(IndexDoesNotExistException):
                _ = lazy.value
    finally:
        store.close()


def test_the_official_client_caches_lazy_loads_by_their_etag(url: str) -> None:
    """The 7.2 Python client stores each item it gets with an ``ETag`` in its HTTP cache,
    under the item's URL and the change vector (it does not yet send ``If-None-Match`` in a
    multi_get, which RavenDB's other clients do: ``test_an_items_if_none_match...``)."""
    store = ravendb.DocumentStore(urls=[url], database=DATABASE)
    store.initialize()
    try:
        cache = store.get_request_executor().cache
        before = len(cache)
        with store.open_session() as session:
            first = session.advanced.lazily.load("users/1", User)
            both = session.advanced.lazily.load(["users/1", "users/2"], User)
            assert first.value.name == "a" and both.value["users/2"].name == "b"
        assert len(cache) == before + 2
        with store.open_session() as session:
            vector = session.advanced.get_change_vector_for(session.load("users/1", User))
        cached = [cache.get(key)[1] for key in _keys(cache)]
        assert vector in cached  # a single document: tagged by its change vector
    finally:
        store.close()


def _keys(cache: Any) -> list[str]:
    return list(cache._HttpCache__items)  # the client exposes no listing

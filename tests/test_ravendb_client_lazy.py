"""RavenDB's own client against ``rookdb serve``: lazy operations in one ``/multi_get``,
``load_starting_with`` with patterns, identities and the client configuration (issue 14)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")
from ravendb.documents.operations.configuration.definitions import (  # noqa: E402
    ClientConfiguration,
)
from ravendb.documents.operations.configuration.operations import (  # noqa: E402
    GetClientConfigurationOperation,
    PutClientConfigurationOperation,
)
from ravendb.documents.operations.identities import (  # noqa: E402
    GetIdentitiesOperation,
    NextIdentityForOperation,
    SeedIdentityForOperation,
)

DATABASE = "OfficialLazy"


class User:
    def __init__(self, name: str | None = None, age: int = 0, Id: str | None = None) -> None:
        self.name, self.age, self.Id = name, age, Id


@pytest.fixture
def server_url() -> Any:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    yield url
    spec.clean_up(url)


@pytest.fixture
def store(server_url: str) -> Any:
    store = ravendb.DocumentStore(urls=[server_url], database=DATABASE)
    store.initialize()
    yield store
    store.close()


@pytest.fixture
def requests_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    import requests

    seen: list[tuple[str, str]] = []
    send = requests.Session.send

    def recording_send(self: Any, request: Any, **kwargs: Any) -> Any:
        seen.append((request.method, request.path_url.split("?")[0]))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording_send)
    return seen


class Product:
    def __init__(self, name: str | None = None, Id: str | None = None) -> None:
        self.name, self.Id = name, Id


def _seed(store: Any) -> None:
    with store.open_session() as session:
        for i in range(5):
            session.store(User(f"U{i}", 20 + i), f"users/{i}")
        for key in ("MB-100", "MB-101", "MB-200", "MB-201", "BM-100", "BM-200"):
            session.store(Product(key), f"products/{key}")
        session.save_changes()


def test_lazy_loads_and_queries_go_in_one_multi_get(
    store: Any, requests_seen: list[tuple[str, str]]
) -> None:
    _seed(store)
    with store.open_session() as session:
        requests_seen.clear()
        one = session.advanced.lazily.load("users/1", User)
        many = session.advanced.lazily.load(["users/2", "users/9"], User)
        missing = session.advanced.lazily.load("users/404", User)
        older = session.query_collection("Users", User).where_greater_than("age", 22).lazily()
        count = session.query_collection("Users", User).count_lazily()
        prefix = session.advanced.lazily.load_starting_with("products/MB-", Product, matches="2*")
        assert requests_seen == []
        session.advanced.eagerly.execute_all_pending_lazy_operations()
        assert requests_seen == [("POST", f"/databases/{DATABASE}/multi_get")]
        assert session.advanced.number_of_requests == 1
        assert one.value.name == "U1"
        assert many.value["users/2"].name == "U2" and many.value["users/9"] is None
        assert missing.value is None
        assert sorted(u.name for u in older.value) == ["U3", "U4"]
        assert count.value == 5
        assert sorted(prefix.value) == ["products/mb-200", "products/mb-201"]
        assert requests_seen == [("POST", f"/databases/{DATABASE}/multi_get")]


def test_load_starting_with_patterns_over_the_protocol(store: Any) -> None:
    _seed(store)
    with store.open_session() as session:
        assert len(session.load_starting_with("products/MB-", Product)) == 4
        assert len(session.load_starting_with("products/MB-", Product, matches="2*")) == 2
        assert len(session.load_starting_with("products/BM-", Product, exclude="2*")) == 1
        after = session.load_starting_with(
            "products/MB-", Product, matches="2*", start_after="products/MB-200"
        )
        assert [p.name for p in after] == ["MB-201"]
        page = session.load_starting_with("products/MB", Product, start=1, page_size=2)
        assert [p.name for p in page] == ["MB-101", "MB-200"]


def test_identity_operations(store: Any) -> None:
    assert store.maintenance.send(NextIdentityForOperation("person|")) == 1
    with store.open_session() as session:
        session.store(User("Adi"), "users|")
        session.save_changes()
    assert store.maintenance.send(SeedIdentityForOperation("users", 1990)) == 1990
    with store.open_session() as session:
        session.store(User("Avivi"), "users|")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("users/1991", User).name == "Avivi"
    assert store.maintenance.send(SeedIdentityForOperation("users", 1975)) == 1991
    assert store.maintenance.send(SeedIdentityForOperation("users", 1975, True)) == 1975
    assert store.maintenance.send(GetIdentitiesOperation()) == {"person|": 1, "users|": 1975}


def test_client_configuration_reaches_the_client(store: Any) -> None:
    result = store.maintenance.send(GetClientConfigurationOperation())
    assert result.etag is not None and result.configuration is None
    configuration = ClientConfiguration()
    configuration.etag = 123
    configuration.max_number_of_requests_per_session = 80
    configuration.disabled = False
    store.maintenance.send(PutClientConfigurationOperation(configuration))
    result = store.maintenance.send(GetClientConfigurationOperation())
    assert result.configuration.max_number_of_requests_per_session == 80
    assert result.configuration.disabled is False
    # The next answer tells the client to read it again (Refresh-Client-Configuration); the
    # client then applies it to its conventions, in the background.
    with store.open_session() as session:
        session.load("users/1", User)
    executor = store.get_request_executor()
    deadline = time.monotonic() + 10
    while executor.conventions.max_number_of_requests_per_session != 80:
        assert time.monotonic() < deadline, "the client never applied the configuration"
        time.sleep(0.05)
    with store.open_session() as session:  # past the client's default budget of 30
        for i in range(40):
            assert session.load(f"users/missing-{i}", User) is None
        assert session.advanced.number_of_requests == 40


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"Requests": "no"}, 400),
        ([], 400),
    ],
)
def test_bad_multi_get_bodies_are_4xx(server_url: str, body: Any, status: int) -> None:
    answer = httpx.post(f"{server_url}/databases/{DATABASE}/multi_get", json=body)
    assert answer.status_code == status and "Message" in answer.json()


def test_a_bad_multi_get_item_fails_alone(server_url: str) -> None:
    requests = [
        {"Url": f"/databases/{DATABASE}/docs", "Query": "?startsWith=x&start=-1"},
        {"Url": f"/databases/{DATABASE}/nowhere", "Query": ""},
        {"Url": "/databases/Elsewhere/docs", "Query": "?id=a"},
        {"Url": f"/databases/{DATABASE}/queries", "Method": "POST", "Content": {"Query": "frm"}},
        {"Url": f"/databases/{DATABASE}/docs", "Query": "?id=users/1"},
        {"Url": f"/databases/{DATABASE}/docs", "Query": "?startsWith=users/&matches=1|2"},
    ]
    answer = httpx.post(f"{server_url}/databases/{DATABASE}/multi_get", json={"Requests": requests})
    assert answer.status_code == 200
    results = answer.json()["Results"]
    assert [r["StatusCode"] for r in results] == [400, 400, 400, 400, 404, 200]
    assert results[4]["Result"] is None
    assert results[5]["Result"] == {"Results": []}


def test_each_multi_get_item_reads_its_own_parameters(server_url: str) -> None:
    """An item answers as its own route would: its ``metadataOnly``, not the multi_get's."""
    docs = f"{server_url}/databases/{DATABASE}/docs"
    put = httpx.put(f"{docs}?id=people/1", json={"Name": "Ann", "@metadata": {}})
    assert put.status_code == 201, put.text
    requests = [
        {"Url": f"/databases/{DATABASE}/docs", "Query": "?id=people/1&metadataOnly=true"},
        {"Url": f"/databases/{DATABASE}/docs", "Query": "?startsWith=people/&metadataOnly=true"},
        {"Url": f"/databases/{DATABASE}/docs", "Query": "?id=people/1"},
    ]
    for outer in ("", "?metadataOnly=true"):
        answer = httpx.post(
            f"{server_url}/databases/{DATABASE}/multi_get{outer}", json={"Requests": requests}
        )
        assert answer.status_code == 200, answer.text
        by_id, by_prefix, whole = (r["Result"]["Results"][0] for r in answer.json()["Results"])
        assert set(by_id) == set(by_prefix) == {"@metadata"}
        assert whole["Name"] == "Ann"

"""The client configuration through ``rookdb serve`` (issue 14): the server-wide one with the
official client's operations, RavenDB's precedence between it and a database's own, the etag
read from storage on each request (two servers on one PostgreSQL see each other's change),
and rookdb's own store over http applying what its database gets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import DocumentStore as RookStore
from rookdb import operations as rook_operations
from rookdb.testing.backends import BACKENDS, serve_on, start_server

ravendb = pytest.importorskip("ravendb")
from ravendb.documents.operations.configuration.definitions import (  # noqa: E402
    ClientConfiguration,
)
from ravendb.documents.operations.configuration.operations import (  # noqa: E402
    GetClientConfigurationOperation,
    GetServerWideClientConfigurationOperation,
    PutClientConfigurationOperation,
    PutServerWideClientConfigurationOperation,
)
from ravendb.http.misc import LoadBalanceBehavior, ReadBalanceBehavior  # noqa: E402

DATABASE = "Configured"


class User:
    def __init__(self, name: str | None = None, Id: str | None = None) -> None:
        self.name, self.Id = name, Id


def _configuration(requests: int | None, disabled: bool = False) -> Any:
    configuration = ClientConfiguration()
    configuration.max_number_of_requests_per_session = requests
    configuration.disabled = disabled
    return configuration


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serve_on("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two ``rookdb serve`` processes over the same PostgreSQL schemas."""
    spec = BACKENDS["postgres"]
    spec.require()
    url = spec.make_url(tmp_path)
    started = [start_server("--postgres", url, "--create-databases") for _ in range(2)]
    try:
        yield started[0].url, started[1].url
    finally:
        for served in started:
            served.process.terminate()
            served.process.wait(timeout=30)
        spec.clean_up(url)


def _store(url: str) -> Any:
    store = ravendb.DocumentStore(urls=[url], database=DATABASE)
    store.initialize()
    return store


def test_server_wide_configuration_with_the_official_client(server: str) -> None:
    store = _store(server)
    try:
        assert store.maintenance.server.send(GetServerWideClientConfigurationOperation()) is None
        wanted = _configuration(80, disabled=True)
        wanted.read_balance_behavior = ReadBalanceBehavior.FASTEST_NODE
        wanted.load_balance_behavior = LoadBalanceBehavior.NONE
        wanted.load_balancer_context_seed = 0
        store.maintenance.server.send(PutServerWideClientConfigurationOperation(wanted))
        kept = store.maintenance.server.send(GetServerWideClientConfigurationOperation())
        assert kept.disabled and kept.max_number_of_requests_per_session == 80
        assert kept.read_balance_behavior == ReadBalanceBehavior.FASTEST_NODE
        assert kept.load_balance_behavior == LoadBalanceBehavior.NONE and kept.etag > 0
    finally:
        store.close()


def test_ravendbs_precedence_between_database_and_server_wide(server: str) -> None:
    store = _store(server)
    try:
        store.maintenance.server.send(PutServerWideClientConfigurationOperation(_configuration(7)))
        inherited = store.maintenance.send(GetClientConfigurationOperation())
        assert inherited.configuration.max_number_of_requests_per_session == 7
        store.maintenance.send(PutClientConfigurationOperation(_configuration(3)))
        own = store.maintenance.send(GetClientConfigurationOperation())
        assert own.configuration.max_number_of_requests_per_session == 3
        assert own.etag != inherited.etag
        store.maintenance.send(PutClientConfigurationOperation(_configuration(3, disabled=True)))
        fallback = store.maintenance.send(GetClientConfigurationOperation())
        assert fallback.configuration.max_number_of_requests_per_session == 7
        # inherit=false: the database's own only, as RavenDB answers it
        answer = httpx.get(
            f"{server}/databases/{DATABASE}/configuration/client", params={"inherit": "false"}
        ).json()
        assert answer["Configuration"]["Disabled"] is True
    finally:
        store.close()


def test_two_servers_on_one_postgresql_see_each_others_change(
    two_servers: tuple[str, str],
) -> None:
    first, second = two_servers
    stats = f"{first}/databases/{DATABASE}/stats"
    etag = httpx.get(f"{first}/databases/{DATABASE}/configuration/client").json()["Etag"]
    held = {"Client-Configuration-Etag": f'"{etag}"'}
    answer = httpx.get(stats, headers=held)
    assert "Refresh-Client-Configuration" not in answer.headers

    admin = _store(second)
    try:  # a change through the second server...
        admin.maintenance.server.send(PutServerWideClientConfigurationOperation(_configuration(9)))
    finally:
        admin.close()
    answer = httpx.get(stats, headers=held)  # ...seen by the first
    assert answer.headers["Refresh-Client-Configuration"] == "true"

    # and a RavenDB client of the first server applies it
    store = _store(first)
    try:
        with store.open_session() as session:
            session.load("users/1", User)
        deadline = time.monotonic() + 10
        conventions = store.get_request_executor().conventions  # the executor's own copy
        while conventions.max_number_of_requests_per_session != 9:
            assert time.monotonic() < deadline, "the client never applied the configuration"
            time.sleep(0.05)
            with store.open_session() as session:
                session.load("users/1", User)
    finally:
        store.close()


def test_rookdbs_store_over_http_applies_the_configuration(server: str) -> None:
    wanted = rook_operations.ClientConfiguration(
        max_number_of_requests_per_session=2, identity_parts_separator="-"
    )
    with RookStore(server, database=DATABASE) as store:
        store.maintenance.server.send(
            rook_operations.PutServerWideClientConfigurationOperation(wanted)
        )
        kept = store.maintenance.server.send(
            rook_operations.GetServerWideClientConfigurationOperation()
        )
        assert kept is not None and kept.max_number_of_requests_per_session == 2
    with RookStore(server, database=DATABASE) as store:  # a new store reads it
        with store.open_session() as session:
            assert session.advanced.max_number_of_requests_per_session == 2
            user = User("a")
            session.store(user)
            session.save_changes()
            assert str(session.advanced.get_document_id(user)).startswith("users-")
        result = store.maintenance.send(rook_operations.GetClientConfigurationOperation())
        assert result.configuration == rook_operations.ClientConfiguration(
            max_number_of_requests_per_session=2, identity_parts_separator="-", etag=kept.etag
        )

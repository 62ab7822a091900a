"""The server-wide client configuration beside each database's, with RavenDB's precedence, and
rookdb's store applying the one its database gets.

Not on the shared test server (``http``): a server-wide configuration would outlive the test
there and reach every later one. ``tests/test_ravendb_client_configuration.py`` runs these
rules over ``rookdb serve`` on servers of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rookdb import DocumentStore, RookError, TooManyRequestsError
from rookdb.operations import (
    ClientConfiguration,
    GetClientConfigurationOperation,
    GetServerWideClientConfigurationOperation,
    PutClientConfigurationOperation,
    PutServerWideClientConfigurationOperation,
)

pytestmark = pytest.mark.rookdb_backends("memory", "sqlite", "postgres")


def test_server_wide_configuration_round_trip(store: DocumentStore) -> None:
    server = store.maintenance.server
    assert server.send(GetServerWideClientConfigurationOperation()) is None
    wanted = ClientConfiguration(max_number_of_requests_per_session=80, disabled=True)
    server.send(PutServerWideClientConfigurationOperation(wanted))
    first = server.send(GetServerWideClientConfigurationOperation())
    assert first is not None and first.etag > 0
    assert (first.max_number_of_requests_per_session, first.disabled) == (80, True)
    server.send(PutServerWideClientConfigurationOperation(ClientConfiguration(disabled=False)))
    second = server.send(GetServerWideClientConfigurationOperation())
    assert second is not None and second.etag > first.etag
    assert second.max_number_of_requests_per_session is None


def test_a_database_without_its_own_gets_the_server_wide_one(store: DocumentStore) -> None:
    server_wide = ClientConfiguration(max_number_of_requests_per_session=7)
    store.maintenance.server.send(PutServerWideClientConfigurationOperation(server_wide))
    result = store.maintenance.send(GetClientConfigurationOperation())
    assert result.configuration is not None
    assert result.configuration.max_number_of_requests_per_session == 7
    inherited = result.etag

    own = ClientConfiguration(max_number_of_requests_per_session=3)
    store.maintenance.send(PutClientConfigurationOperation(own))
    result = store.maintenance.send(GetClientConfigurationOperation())
    assert result.configuration is not None  # the database's own wins
    assert result.configuration.max_number_of_requests_per_session == 3
    assert result.etag > inherited  # a client holding the old etag reads it again

    store.maintenance.send(PutClientConfigurationOperation(ClientConfiguration(disabled=True)))
    result = store.maintenance.send(GetClientConfigurationOperation())
    assert result.configuration is not None  # its own is disabled: the server-wide one
    assert result.configuration.max_number_of_requests_per_session == 7


def test_a_server_wide_change_changes_every_databases_etag(store: DocumentStore) -> None:
    other = store.maintenance.for_database("configured_other")
    before = other.send(GetClientConfigurationOperation()).etag
    store.maintenance.server.send(PutServerWideClientConfigurationOperation(ClientConfiguration()))
    assert other.send(GetClientConfigurationOperation()).etag > before


def test_the_store_applies_the_configuration_of_its_database(store: DocumentStore) -> None:
    with store.open_session() as session:
        assert session.advanced.max_number_of_requests_per_session == 30  # the conventions
    server_wide = ClientConfiguration(max_number_of_requests_per_session=2)
    store.maintenance.server.send(PutServerWideClientConfigurationOperation(server_wide))
    with store.open_session() as session:
        assert session.advanced.max_number_of_requests_per_session == 2
        session.load("things/1")
        session.load("things/2")
        with pytest.raises(TooManyRequestsError):
            session.load("things/3")

    own = ClientConfiguration(max_number_of_requests_per_session=5, identity_parts_separator="-")
    store.maintenance.send(PutClientConfigurationOperation(own))
    with store.open_session() as session:
        assert session.advanced.max_number_of_requests_per_session == 5
        thing = {"@metadata": {"@collection": "Things"}}
        session.store(thing)
        session.save_changes()
        document_id = session.advanced.get_document_id(thing)
        assert document_id is not None and document_id.startswith("things-")

    disabled = ClientConfiguration(max_number_of_requests_per_session=5, disabled=True)
    store.maintenance.send(PutClientConfigurationOperation(disabled))
    store.maintenance.server.send(PutServerWideClientConfigurationOperation(disabled))
    with store.open_session() as session:  # disabled everywhere: the conventions again
        assert session.advanced.max_number_of_requests_per_session == 30


@pytest.mark.rookdb_requires("shared_in_process")
def test_another_store_reads_the_configuration_kept(
    new_store: Callable[..., DocumentStore],
) -> None:
    first = new_store()
    server_wide = ClientConfiguration(max_number_of_requests_per_session=4)
    first.maintenance.server.send(PutServerWideClientConfigurationOperation(server_wide))
    with new_store().open_session() as session:  # the same URL: the same configuration
        assert session.advanced.max_number_of_requests_per_session == 4


def test_bad_server_wide_configuration_is_refused(store: DocumentStore) -> None:
    bad = ClientConfiguration(identity_parts_separator="|")
    with pytest.raises(RookError):
        store.maintenance.server.send(PutServerWideClientConfigurationOperation(bad))
    assert store.maintenance.server.send(GetServerWideClientConfigurationOperation()) is None
    with pytest.raises(RookError):
        store.maintenance.server.send(GetClientConfigurationOperation())  # type: ignore[arg-type]

"""Identities (ids ending in ``|``) and the client configuration, through
``store.maintenance.send`` with ``rookdb.operations``, on every backend."""

from __future__ import annotations

import pytest

from rookdb import ConfigurationError, DocumentStore, RookError
from rookdb.operations import (
    ClientConfiguration,
    GetClientConfigurationOperation,
    GetIdentitiesOperation,
    NextIdentityForOperation,
    PutClientConfigurationOperation,
    SeedIdentityForOperation,
)


def _store_user(store: DocumentStore, name: str) -> str:
    with store.open_session() as session:
        user = {"name": name, "@metadata": {"@collection": "Users"}}
        session.store(user, "users|")
        session.save_changes()
        document_id = session.advanced.get_document_id(user)
        assert document_id is not None
        return document_id


def test_next_identity_starts_a_new_identity_at_one(store: DocumentStore) -> None:
    assert store.maintenance.send(NextIdentityForOperation("person|")) == 1
    assert store.maintenance.send(NextIdentityForOperation("Person")) == 2  # the same one
    # Reported lower-cased, as RavenDB does: it keys an identity by its lower-cased prefix.
    assert store.maintenance.send(GetIdentitiesOperation()) == {"person|": 2}


def test_next_identity_moves_the_counter_of_pipe_ids(store: DocumentStore) -> None:
    assert _store_user(store, "a") == "users/1"
    assert store.maintenance.send(NextIdentityForOperation("users")) == 2
    assert _store_user(store, "b") == "users/3"
    assert store.maintenance.send(GetIdentitiesOperation()) == {"users|": 3}


def test_seed_identity_raises_it_unless_forced(store: DocumentStore) -> None:
    _store_user(store, "a")
    assert store.maintenance.send(SeedIdentityForOperation("users", 1990)) == 1990
    assert _store_user(store, "b") == "users/1991"
    assert store.maintenance.send(SeedIdentityForOperation("users", 1975)) == 1991
    assert store.maintenance.send(SeedIdentityForOperation("users|", 1975, True)) == 1975
    assert _store_user(store, "c") == "users/1976"
    assert store.maintenance.send(SeedIdentityForOperation("fresh", 7)) == 7


def test_identities_of_another_database(store: DocumentStore) -> None:
    other = store.maintenance.for_database("identities_other")
    other.send(NextIdentityForOperation("things"))
    assert other.send(GetIdentitiesOperation()) == {"things|": 1}
    assert "things|" not in store.maintenance.send(GetIdentitiesOperation())


@pytest.mark.parametrize(
    "operation",
    [
        NextIdentityForOperation(""),
        NextIdentityForOperation("|"),
        NextIdentityForOperation(None),  # type: ignore[arg-type]
        SeedIdentityForOperation("users", -1),
        SeedIdentityForOperation("users", 2**63),
        SeedIdentityForOperation("users", "5"),  # type: ignore[arg-type]
    ],
)
def test_bad_identity_operations_are_refused(store: DocumentStore, operation: object) -> None:
    with pytest.raises(ConfigurationError):
        store.maintenance.send(operation)  # type: ignore[arg-type]
    assert store.maintenance.send(GetIdentitiesOperation()) == {}


def test_send_takes_operations_only(store: DocumentStore) -> None:
    with pytest.raises(ConfigurationError):
        store.maintenance.send("next identity")  # type: ignore[arg-type]


def test_client_configuration_round_trip(store: DocumentStore) -> None:
    empty = store.maintenance.send(GetClientConfigurationOperation())
    assert empty.etag == 0 and empty.configuration is None
    wanted = ClientConfiguration(
        max_number_of_requests_per_session=80, read_balance_behavior="FastestNode", disabled=True
    )
    store.maintenance.send(PutClientConfigurationOperation(wanted))
    first = store.maintenance.send(GetClientConfigurationOperation())
    assert first.etag > 0 and first.configuration == wanted
    wanted.identity_parts_separator = "-"
    store.maintenance.send(PutClientConfigurationOperation(wanted))
    second = store.maintenance.send(GetClientConfigurationOperation())
    assert second.etag > first.etag and second.configuration == wanted


@pytest.mark.parametrize(
    "configuration",
    [
        ClientConfiguration(read_balance_behavior="Sometimes"),
        ClientConfiguration(identity_parts_separator="|"),
        ClientConfiguration(max_number_of_requests_per_session=-1),
        ClientConfiguration(disabled="yes"),  # type: ignore[arg-type]
    ],
)
def test_bad_client_configuration_is_refused(
    store: DocumentStore, configuration: ClientConfiguration
) -> None:
    with pytest.raises(RookError):
        store.maintenance.send(PutClientConfigurationOperation(configuration))
    assert store.maintenance.send(GetClientConfigurationOperation()).configuration is None

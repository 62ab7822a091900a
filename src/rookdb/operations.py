"""Maintenance operations of a database, sent with ``store.maintenance.send(operation)``.

RavenDB's names and results, on every backend (embedded or served)::

    from rookdb.operations import NextIdentityForOperation, SeedIdentityForOperation

    store.maintenance.send(NextIdentityForOperation("users"))          # 1, then 2...
    store.maintenance.send(SeedIdentityForOperation("users", 1990))    # users| ids go on at 1991
    store.maintenance.send(GetIdentitiesOperation())                   # {"users|": 1990}
    store.maintenance.for_database("other").send(GetClientConfigurationOperation())

Identities are the counters behind ids ending in ``|`` (``rookdb.storage.identities``). The
client configuration is the object a database hands to RavenDB's clients: they apply its
``max_number_of_requests_per_session`` and ``identity_parts_separator`` (unless ``disabled``)
when ``rookdb serve`` tells them it changed. rookdb's own store keeps the conventions it was
made with.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Generic, NamedTuple, TypeVar

from rookdb.revisions import RevisionsConfiguration
from rookdb.storage.base import Storage
from rookdb.storage.identities import check_client_configuration

__all__ = [
    "ClientConfiguration",
    "ClientConfigurationResult",
    "ConfigureRevisionsOperation",
    "ConfigureRevisionsOperationResult",
    "GetClientConfigurationOperation",
    "GetIdentitiesOperation",
    "MaintenanceOperation",
    "NextIdentityForOperation",
    "PutClientConfigurationOperation",
    "SeedIdentityForOperation",
]

R = TypeVar("R")


class MaintenanceOperation(abc.ABC, Generic[R]):
    """An operation ``store.maintenance.send`` runs on one database."""

    @abc.abstractmethod
    def execute(self, storage: Storage) -> R:
        """Run on ``storage``, the database's; the operation's result."""


class NextIdentityForOperation(MaintenanceOperation[int]):
    """Advance the identity ``name`` (``"users"`` or ``"users|"``); its new value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def execute(self, storage: Storage) -> int:
        return storage.next_identity(self.name)


class SeedIdentityForOperation(MaintenanceOperation[int]):
    """Raise the identity ``name`` to ``value`` (or set it, even lower, with
    ``force_update``); its value afterwards."""

    def __init__(self, name: str, value: int, force_update: bool = False) -> None:
        self.name, self.value, self.force_update = name, value, force_update

    def execute(self, storage: Storage) -> int:
        return storage.seed_identity(self.name, self.value, self.force_update)


class GetIdentitiesOperation(MaintenanceOperation[dict[str, int]]):
    """Every identity of the database by name (``"users|"``) and its last value."""

    def execute(self, storage: Storage) -> dict[str, int]:
        return storage.get_identities()


@dataclasses.dataclass
class ClientConfiguration:
    """RavenDB's ``ClientConfiguration``: what a database tells its clients to use."""

    identity_parts_separator: str | None = None
    etag: int = 0
    disabled: bool = False
    max_number_of_requests_per_session: int | None = None
    #: ``"None"``, ``"RoundRobin"`` or ``"FastestNode"`` (rookdb serves one node).
    read_balance_behavior: str | None = None
    #: ``"None"`` or ``"UseSessionContext"``.
    load_balance_behavior: str | None = None
    load_balancer_context_seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "IdentityPartsSeparator": self.identity_parts_separator,
            "Etag": self.etag,
            "Disabled": self.disabled,
            "MaxNumberOfRequestsPerSession": self.max_number_of_requests_per_session,
            "ReadBalanceBehavior": self.read_balance_behavior,
            "LoadBalanceBehavior": self.load_balance_behavior,
            "LoadBalancerContextSeed": self.load_balancer_context_seed,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ClientConfiguration:
        return cls(
            identity_parts_separator=value.get("IdentityPartsSeparator"),
            etag=value.get("Etag") or 0,
            disabled=bool(value.get("Disabled")),
            max_number_of_requests_per_session=value.get("MaxNumberOfRequestsPerSession"),
            read_balance_behavior=value.get("ReadBalanceBehavior"),
            load_balance_behavior=value.get("LoadBalanceBehavior"),
            load_balancer_context_seed=value.get("LoadBalancerContextSeed"),
        )


class ClientConfigurationResult(NamedTuple):
    """``GetClientConfigurationOperation``'s result: the etag and the configuration (None when
    the database has none)."""

    etag: int
    configuration: ClientConfiguration | None


class GetClientConfigurationOperation(MaintenanceOperation[ClientConfigurationResult]):
    """The database's client configuration and its etag."""

    def execute(self, storage: Storage) -> ClientConfigurationResult:
        etag, configuration = storage.get_client_configuration()
        kept = None if configuration is None else ClientConfiguration.from_json(configuration)
        return ClientConfigurationResult(etag, kept)


class PutClientConfigurationOperation(MaintenanceOperation[None]):
    """Keep ``configuration`` as the database's client configuration."""

    def __init__(self, configuration: ClientConfiguration) -> None:
        self.configuration = configuration

    def execute(self, storage: Storage) -> None:
        storage.put_client_configuration(check_client_configuration(self.configuration.to_json()))


class ConfigureRevisionsOperationResult(NamedTuple):
    """``ConfigureRevisionsOperation``'s result: RavenDB's raft index of the change (a
    number that grows with each configuration)."""

    raft_command_index: int


class ConfigureRevisionsOperation(MaintenanceOperation[ConfigureRevisionsOperationResult]):
    """Keep ``configuration`` as the database's revisions configuration, in place of any
    before it (``rookdb.revisions``); the next batches keep revisions by it."""

    def __init__(self, configuration: RevisionsConfiguration) -> None:
        self.configuration = configuration

    def execute(self, storage: Storage) -> ConfigureRevisionsOperationResult:
        return ConfigureRevisionsOperationResult(
            storage.configure_revisions(self.configuration.to_json())
        )

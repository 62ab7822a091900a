"""Maintenance operations of a database, sent with ``store.maintenance.send(operation)``.

RavenDB's names and results, on every backend (embedded or served)::

    from rookdb.operations import NextIdentityForOperation, SeedIdentityForOperation

    store.maintenance.send(NextIdentityForOperation("users"))          # 1, then 2...
    store.maintenance.send(SeedIdentityForOperation("users", 1990))    # users| ids go on at 1991
    store.maintenance.send(GetIdentitiesOperation())                   # {"users|": 1990}
    store.maintenance.for_database("other").send(GetClientConfigurationOperation())

Identities are the counters behind ids ending in ``|`` (``rookdb.storage.identities``). The
client configuration is the object a database hands to its clients, the database's own or,
where it has none or its own is disabled, the server-wide one
(``store.maintenance.server.send(PutServerWideClientConfigurationOperation(...))``), as in
RavenDB. Clients apply its ``max_number_of_requests_per_session`` and
``identity_parts_separator`` unless it is ``disabled``: RavenDB's when ``rookdb serve`` tells
them it changed, rookdb's store when it first opens a database (``client_settings``) and
again after a change sent through it.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

from rookdb.arguments import check_instance, check_truthy
from rookdb.errors import InvalidArgumentError, shown
from rookdb.revisions import RevisionsConfiguration
from rookdb.storage.base import Backend, Storage
from rookdb.storage.identities import check_client_configuration, effective_client_configuration

if TYPE_CHECKING:
    from rookdb.conventions import DocumentConventions

__all__ = [
    "ClientConfiguration",
    "ClientConfigurationResult",
    "ClientSettings",
    "ConfigureRevisionsOperation",
    "ConfigureRevisionsOperationResult",
    "GetClientConfigurationOperation",
    "GetIdentitiesOperation",
    "GetServerWideClientConfigurationOperation",
    "MaintenanceOperation",
    "NextIdentityForOperation",
    "PutClientConfigurationOperation",
    "PutServerWideClientConfigurationOperation",
    "SeedIdentityForOperation",
    "ServerOperation",
    "client_settings",
]

R = TypeVar("R")


class MaintenanceOperation(abc.ABC, Generic[R]):
    """An operation ``store.maintenance.send`` runs on one database."""

    #: True for an operation that changes the client configuration: the store reads it again.
    changes_client_configuration: ClassVar[bool] = False

    @abc.abstractmethod
    def execute(self, storage: Storage) -> R:
        """Run on ``storage``, the database's; the operation's result."""

    def run(self, backend: Backend, storage: Storage) -> R:
        """What ``store.maintenance.send`` calls: ``execute(storage)``, unless the operation
        needs what the backend keeps beside its databases too."""
        return self.execute(storage)


class ServerOperation(abc.ABC, Generic[R]):
    """An operation ``store.maintenance.server.send`` runs on the backend as a whole."""

    changes_client_configuration: ClassVar[bool] = False

    @abc.abstractmethod
    def execute(self, backend: Backend) -> R:
        """Run on ``backend``; the operation's result."""


class NextIdentityForOperation(MaintenanceOperation[int]):
    """Advance the identity ``name`` (``"users"`` or ``"users|"``); its new value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def execute(self, storage: Storage) -> int:
        return storage.next_identity(_identity(self.name))


class SeedIdentityForOperation(MaintenanceOperation[int]):
    """Raise the identity ``name`` to ``value`` (or set it, even lower, with
    ``force_update``); its value afterwards."""

    def __init__(self, name: str, value: int, force_update: bool = False) -> None:
        self.name, self.value, self.force_update = name, value, force_update

    def execute(self, storage: Storage) -> int:
        if type(self.value) is not int:
            raise InvalidArgumentError(  # (its range is storage's rule, identities.check_seed)
                f"an identity's value is an int from 0 to 2**63 - 1, not {shown(self.value)}"
            )
        force = check_truthy(self.force_update, "force_update")
        return storage.seed_identity(_identity(self.name), self.value, force)


def _identity(name: Any) -> str:
    """An identity's name, a str (what it may hold is storage's rule, ``identity_key``).
    Checked when the operation is sent, as the value is (the conformance suite makes bad
    operations first and expects ``send`` to refuse them)."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"an identity's name is a str, not {shown(name)}")
    return str.__str__(name)  # (a str enum's member: its value, a str as storage takes it)


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
    """The client configuration the database's clients get, and its etag: the database's own,
    or the server-wide one where it has none or its own is disabled (RavenDB's rule)."""

    def execute(self, storage: Storage) -> ClientConfigurationResult:
        """The database's own configuration only (RavenDB's ``inherit=false``)."""
        return _result(storage.get_client_configuration())

    def run(self, backend: Backend, storage: Storage) -> ClientConfigurationResult:
        own = storage.get_client_configuration()
        server = backend.get_server_client_configuration()
        return _result(effective_client_configuration(own, server))


class PutClientConfigurationOperation(MaintenanceOperation[None]):
    """Keep ``configuration`` as the database's client configuration."""

    changes_client_configuration = True

    def __init__(self, configuration: ClientConfiguration) -> None:
        self.configuration = _configuration(configuration)

    def execute(self, storage: Storage) -> None:
        storage.put_client_configuration(check_client_configuration(self.configuration.to_json()))


class GetServerWideClientConfigurationOperation(ServerOperation["ClientConfiguration | None"]):
    """The server-wide client configuration (its ``etag`` set), or None."""

    def execute(self, backend: Backend) -> ClientConfiguration | None:
        etag, configuration = backend.get_server_client_configuration()
        if configuration is None:
            return None
        return dataclasses.replace(ClientConfiguration.from_json(configuration), etag=etag)


class PutServerWideClientConfigurationOperation(ServerOperation[None]):
    """Keep ``configuration`` as the server-wide client configuration: the one databases
    without their own (or with theirs disabled) hand to their clients."""

    changes_client_configuration = True

    def __init__(self, configuration: ClientConfiguration) -> None:
        self.configuration = _configuration(configuration)

    def execute(self, backend: Backend) -> None:
        backend.put_server_client_configuration(
            check_client_configuration(self.configuration.to_json())
        )


def _configuration(configuration: Any) -> ClientConfiguration:
    """What a put of a client configuration takes (its fields are checked when it is sent,
    ``check_client_configuration``)."""
    return check_instance(configuration, ClientConfiguration, "the configuration")


def _result(kept: tuple[int, dict[str, Any] | None]) -> ClientConfigurationResult:
    etag, configuration = kept
    chosen = None if configuration is None else ClientConfiguration.from_json(configuration)
    return ClientConfigurationResult(etag, chosen)


class ClientSettings(NamedTuple):
    """What rookdb's store takes from a database's client configuration for its sessions."""

    max_number_of_requests_per_session: int
    identity_parts_separator: str


def client_settings(
    conventions: DocumentConventions, backend: Backend, storage: Storage
) -> ClientSettings:
    """The conventions, overridden by the database's effective client configuration where it
    is not disabled and sets them (as RavenDB's client updates its conventions from it)."""
    requests = conventions.max_number_of_requests_per_session
    separator = conventions.identity_parts_separator
    result = GetClientConfigurationOperation().run(backend, storage).configuration
    if result is not None and not result.disabled:
        if result.max_number_of_requests_per_session is not None:
            requests = result.max_number_of_requests_per_session
        if result.identity_parts_separator:
            separator = result.identity_parts_separator
    return ClientSettings(requests, separator)


class ConfigureRevisionsOperationResult(NamedTuple):
    """``ConfigureRevisionsOperation``'s result: RavenDB's raft index of the change (a
    number that grows with each configuration)."""

    raft_command_index: int


class ConfigureRevisionsOperation(MaintenanceOperation[ConfigureRevisionsOperationResult]):
    """Keep ``configuration`` as the database's revisions configuration, in place of any
    before it (``rookdb.revisions``); the next batches keep revisions by it."""

    def __init__(self, configuration: RevisionsConfiguration) -> None:
        self.configuration = check_instance(
            configuration, RevisionsConfiguration, "the configuration"
        )

    def execute(self, storage: Storage) -> ConfigureRevisionsOperationResult:
        return ConfigureRevisionsOperationResult(
            storage.configure_revisions(self.configuration.to_json())
        )


# Index operations live beside their storage calls; named here too, as RavenDB's are.
from rookdb.index_operations import (  # noqa: E402
    DeleteIndexErrorsOperation,
    DeleteIndexOperation,
    DisableIndexOperation,
    EnableIndexOperation,
    GetIndexErrorsOperation,
    GetIndexesOperation,
    GetIndexesStatisticsOperation,
    GetIndexingStatusOperation,
    GetIndexNamesOperation,
    GetIndexOperation,
    GetIndexStatisticsOperation,
    GetTermsOperation,
    IndexHasChangedOperation,
    IndexingStatus,
    PutIndexesOperation,
    PutIndexResult,
    ResetIndexOperation,
    SetIndexesLockOperation,
    SetIndexesPriorityOperation,
    StartIndexingOperation,
    StartIndexOperation,
    StopIndexingOperation,
    StopIndexOperation,
)

__all__ += [
    "DeleteIndexErrorsOperation",
    "DeleteIndexOperation",
    "DisableIndexOperation",
    "EnableIndexOperation",
    "GetIndexErrorsOperation",
    "GetIndexNamesOperation",
    "GetIndexOperation",
    "GetIndexStatisticsOperation",
    "GetIndexesOperation",
    "GetIndexesStatisticsOperation",
    "GetIndexingStatusOperation",
    "GetTermsOperation",
    "IndexHasChangedOperation",
    "IndexingStatus",
    "PutIndexResult",
    "PutIndexesOperation",
    "ResetIndexOperation",
    "SetIndexesLockOperation",
    "SetIndexesPriorityOperation",
    "StartIndexOperation",
    "StartIndexingOperation",
    "StopIndexOperation",
    "StopIndexingOperation",
]

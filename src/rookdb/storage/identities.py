"""Identities and the client configuration: what a database keeps beside its documents.

An *identity* is the counter behind ids ending in ``|`` (``users|`` becomes ``users/1``, then
``users/2``...; SPEC S14). RavenDB names it by its prefix followed by ``|`` (``"users|"``),
case-insensitively, and so does rookdb: ``NextIdentityForOperation("users")`` and
``NextIdentityForOperation("Users|")`` move the same counter, the one a ``users|`` id uses.

The *client configuration* (RavenDB's ``ClientConfiguration``) is a JSON object a database
hands to its clients (the most requests per session, the identity parts separator...), kept
with the database under an etag that grows with each change. A backend keeps a server-wide
one too; a database's own wins unless it has none or it is disabled, as in RavenDB
(``effective_client_configuration``).

The rules here are the storage interface's: every backend checks names and values with them,
so none accepts what another refuses.
"""

from __future__ import annotations

import time
from typing import Any

from rookdb.errors import ConfigurationError, shown
from rookdb.ids import validate_id

__all__ = [
    "CLIENT_CONFIGURATION_FIELDS",
    "check_client_configuration",
    "check_seed",
    "effective_client_configuration",
    "identity_key",
    "identity_name",
    "new_configuration_etag",
]

_MAX = 2**63 - 1
_BEHAVIORS = {
    "ReadBalanceBehavior": ("None", "RoundRobin", "FastestNode"),
    "LoadBalanceBehavior": ("None", "UseSessionContext"),
}

#: The fields of RavenDB's ``ClientConfiguration`` and their JSON types; others are refused.
CLIENT_CONFIGURATION_FIELDS: dict[str, tuple[type, ...]] = {
    "Etag": (int,),
    "Disabled": (bool,),
    "MaxNumberOfRequestsPerSession": (int, type(None)),
    "IdentityPartsSeparator": (str, type(None)),
    "ReadBalanceBehavior": (str, type(None)),
    "LoadBalanceBehavior": (str, type(None)),
    "LoadBalancerContextSeed": (int, type(None)),
}


def identity_key(name: Any) -> str:
    """The key an identity is kept under: its prefix lower-cased, without the ``|``."""
    if type(name) is not str or not name.strip():
        raise ConfigurationError(f"an identity's name is a non-empty str, not {shown(name)}")
    prefix = name[:-1] if name.endswith("|") else name
    if not prefix:
        raise ConfigurationError("an identity's name needs a prefix before its '|'")
    validate_id(prefix + "|")  # the id the identity completes must be a valid id
    return prefix.lower()


def identity_name(key: str) -> str:
    """The name RavenDB reports for an identity kept under ``key``: ``"users|"``, lower-cased
    whatever case it was first used in, as RavenDB's server keys identities by the
    lower-cased prefix and reports that key."""
    return key + "|"


def check_seed(value: Any) -> int:
    """A seed value: a count (0 to 2**63 - 1), as an identity's values are."""
    if type(value) is not int or not 0 <= value <= _MAX:
        raise ConfigurationError(
            f"an identity's value is an int from 0 to 2**63 - 1, not {shown(value)}"
        )
    return value


def check_client_configuration(configuration: Any) -> dict[str, Any]:
    """``configuration`` if it is a ``ClientConfiguration`` object RavenDB's clients read (the
    fields of ``CLIENT_CONFIGURATION_FIELDS``); a ``ConfigurationError`` otherwise."""
    if type(configuration) is not dict:
        raise ConfigurationError("a client configuration is a JSON object")
    for field, value in configuration.items():
        kinds = CLIENT_CONFIGURATION_FIELDS.get(field)
        if kinds is None:
            raise ConfigurationError(f"a client configuration has no field {shown(field)}")
        if type(value) not in kinds:
            raise ConfigurationError(f"client configuration field {field} cannot be {shown(value)}")
    requests = configuration.get("MaxNumberOfRequestsPerSession")
    if requests is not None and not 0 <= requests <= _MAX:
        raise ConfigurationError("MaxNumberOfRequestsPerSession is from 0 to 2**63 - 1")
    for field, allowed in _BEHAVIORS.items():
        if configuration.get(field) not in (None, *allowed):
            raise ConfigurationError(f"{field} is one of {', '.join(allowed)}")
    separator = configuration.get("IdentityPartsSeparator")
    if separator == "|":
        raise ConfigurationError("the identity parts separator cannot be '|'")
    if separator is not None and len(separator) > 1:  # (RavenDB's is a char; "": the default)
        raise ConfigurationError("the identity parts separator is one character")
    return configuration


def new_configuration_etag() -> int:
    """A client configuration's new etag: a time in microseconds, which grows with each change
    without reading the last one (so every process sharing the storage can write one)."""
    return time.time_ns() // 1000


def effective_client_configuration(
    database: tuple[int, dict[str, Any] | None], server: tuple[int, dict[str, Any] | None]
) -> tuple[int, dict[str, Any] | None]:
    """What a database's clients get: its own configuration, or the server-wide one where it
    has none or its own is disabled (RavenDB's rule), under one etag that changes whenever
    either does (both etags only grow, so their sum does: a client holding an older one is
    told to read it again)."""
    (own_etag, own), (server_etag, server_wide) = database, server
    chosen = own
    if (own is None or own.get("Disabled") is True) and server_wide is not None:
        chosen = server_wide
    return own_etag + server_etag, chosen

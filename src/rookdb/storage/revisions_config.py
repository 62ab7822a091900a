"""A database's revisions configuration and what it asks of each write (RavenDB's rules).

The configuration is RavenDB's ``RevisionsConfiguration`` JSON: a ``Default`` and
``Collections`` by name (case-insensitive), each with ``Disabled``, ``MinimumRevisionsToKeep``,
``MinimumRevisionAgeToKeep`` (a .NET time span), ``PurgeOnDelete``. ``check_configuration``
is the one check every path takes (the session's operation, the server's route, the http
backend); ``Rules`` is a kept configuration ready for the write path
(``storage.relational.revisions``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any, NamedTuple

from rookdb.errors import ConfigurationError, InvalidIdError, SerializationError, shown
from rookdb.ids import validate_collection_name, validate_id
from rookdb.serialization.encoding import dumps, loads
from rookdb.serialization.exact_numbers import loads_keeping_digits
from rookdb.serialization.scalars import decode_datetime, encode_datetime
from rookdb.storage.records import DocumentRecord

__all__ = [
    "CONFIGURATION",
    "DELETE_REVISION",
    "HAS_REVISIONS",
    "REVISION",
    "Rule",
    "Rules",
    "check_configuration",
    "check_revision",
    "revision_time",
    "with_flags",
]

#: The ``meta`` row of a relational database holding the configuration (canonical JSON).
CONFIGURATION = "revisions_configuration"
#: RavenDB's flags, in ``@flags``.
HAS_REVISIONS = "HasRevisions"
REVISION = "Revision"
DELETE_REVISION = "DeleteRevision"

_FIELDS = {
    "Disabled",
    "MinimumRevisionsToKeep",
    "MinimumRevisionAgeToKeep",
    "PurgeOnDelete",
    "MaximumRevisionsToDeleteUponDocumentUpdate",
}
# .NET's TimeSpan text, as RavenDB's JSON carries it: [d.]hh:mm:ss[.fffffff].
_TIME_SPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


class Rule(NamedTuple):
    """What one collection's configuration asks of a write."""

    keep: int | None
    age: dt.timedelta | None
    purge_on_delete: bool


def _time_span(value: Any, where: str) -> dt.timedelta | None:
    if value is None:
        return None
    if type(value) in (int, float) and value >= 0:  # seconds, for rookdb's own callers
        return dt.timedelta(seconds=value)
    match = _TIME_SPAN.match(value) if type(value) is str else None
    if match is None or match.group(1):
        raise ConfigurationError(
            f"{where}.MinimumRevisionAgeToKeep is a time span such as '7.00:00:00', "
            f"not {shown(value)}"
        )
    days, hours, minutes, seconds, fraction = match.groups()[1:]
    return dt.timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0").ljust(7, "0")[:6]),
    )


def _check_collection(value: Any, where: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise ConfigurationError(f"{where} is an object, not {shown(value)}")
    unknown = set(value) - _FIELDS
    if unknown:
        raise ConfigurationError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    for name in ("Disabled", "PurgeOnDelete"):
        if type(value.get(name, False) or False) is not bool:
            raise ConfigurationError(f"{where}.{name} is true or false")
    for name in ("MinimumRevisionsToKeep", "MaximumRevisionsToDeleteUponDocumentUpdate"):
        count = value.get(name)
        if count is not None and (type(count) is not int or count < 0):
            raise ConfigurationError(f"{where}.{name} is a count (0 or more), not {shown(count)}")
    _time_span(value.get("MinimumRevisionAgeToKeep"), where)
    return {
        "Disabled": bool(value.get("Disabled")),
        "MinimumRevisionsToKeep": value.get("MinimumRevisionsToKeep"),
        "MinimumRevisionAgeToKeep": value.get("MinimumRevisionAgeToKeep"),
        "PurgeOnDelete": bool(value.get("PurgeOnDelete")),
        "MaximumRevisionsToDeleteUponDocumentUpdate": value.get(
            "MaximumRevisionsToDeleteUponDocumentUpdate"
        ),
    }


def check_configuration(value: Any) -> dict[str, Any]:
    """RavenDB's ``RevisionsConfiguration`` JSON checked and completed; ``ConfigurationError``
    for anything else, and for two collections whose names differ only in case (collection
    names are case-insensitive: RavenDB refuses them too)."""
    if type(value) is not dict:
        raise ConfigurationError(f"a revisions configuration is an object, not {shown(value)}")
    unknown = set(value) - {"Default", "Collections"}
    if unknown:
        raise ConfigurationError(
            f"a revisions configuration has unknown fields: {', '.join(sorted(unknown))}"
        )
    default = value.get("Default")
    collections = value.get("Collections") or {}
    if type(collections) is not dict:
        raise ConfigurationError("Collections is an object of collection configurations")
    checked: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for name, configuration in collections.items():
        if name.lower() in seen:
            raise ConfigurationError(
                f"the revisions configuration names the collection {shown(name)} twice "
                f"(as {shown(seen[name.lower()])}): collection names are case-insensitive"
            )
        seen[name.lower()] = name
        checked[name] = _check_collection(configuration, f"Collections[{shown(name)}]")
    return {
        "Default": None if default is None else _check_collection(default, "Default"),
        "Collections": checked,
    }


class Rules:
    """A kept configuration, ready for the write path: the rule of a collection."""

    def __init__(self, configuration: dict[str, Any]) -> None:
        self._default = self._rule(configuration.get("Default"))
        self._collections = {
            name.lower(): self._rule(value)
            for name, value in (configuration.get("Collections") or {}).items()
        }

    @staticmethod
    def _rule(value: dict[str, Any] | None) -> Rule | None:
        if value is None or value.get("Disabled"):
            return None
        return Rule(
            value.get("MinimumRevisionsToKeep"),
            _time_span(value.get("MinimumRevisionAgeToKeep"), "configuration"),
            bool(value.get("PurgeOnDelete")),
        )

    @staticmethod
    @functools.lru_cache(maxsize=32)
    def of(text: str | None) -> Rules | None:
        """The rules of the ``meta`` row's text (None: no configuration), parsed once."""
        if text is None:
            return None
        return Rules(loads(text))

    def rule(self, collection: str) -> Rule | None:
        """The rule for ``collection`` (case-insensitive): its own configuration, else the
        default; None when neither keeps revisions."""
        key = collection.lower()
        if key in self._collections:
            return self._collections[key]
        return self._default


def with_flags(data: bytes, *flags: str) -> bytes:
    """``data`` with ``flags`` in its ``@flags`` (RavenDB's comma-separated text), once each,
    after the flags it has; its numbers written back as they are (``9.50``, not ``9.5``)."""
    document = loads_keeping_digits(data)
    metadata = document.get("@metadata")
    if type(metadata) is not dict:
        metadata = document["@metadata"] = {}
    text = metadata.get("@flags")
    present = [f.strip() for f in text.split(",")] if type(text) is str else []
    present = [f for f in present if f]
    added = [f for f in flags if f not in present]
    if not added:
        return data
    metadata["@flags"] = ", ".join(present + added)
    return dumps(document)


def revision_time(moment: dt.datetime) -> str:
    """``moment`` as the ``@last-modified`` text revisions keep (UTC, 7 digits, ``Z``), to
    compare with theirs as text; a naive ``moment`` is UTC, as RavenDB's client sends it."""
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return encode_datetime(moment)


def check_revision(document: Any) -> DocumentRecord:
    """A revision as an export writes it and an import (or ``POST /admin/revisions/import``)
    gives it back: RavenDB's shape, its ``@metadata`` with ``@id``, ``@change-vector``,
    ``@last-modified`` (kept as storage writes times) and ``@flags`` naming ``Revision`` or
    ``DeleteRevision``; ``ConfigurationError`` for anything else."""
    if type(document) is not dict or type(document.get("@metadata")) is not dict:
        raise ConfigurationError('a revision is a JSON object with "@metadata"')
    document = dict(document)
    metadata = document["@metadata"] = dict(document["@metadata"])
    document_id = metadata.pop("@id", None)
    change_vector = metadata.pop("@change-vector", None)
    last_modified = metadata.pop("@last-modified", None)
    collection = metadata.setdefault("@collection", "@empty")
    if type(document_id) is not str or type(collection) is not str:
        raise ConfigurationError("a revision's @metadata names its @id and @collection")
    flags = metadata.get("@flags")
    present = {f.strip() for f in flags.split(",")} if type(flags) is str else set()
    if not present & {REVISION, DELETE_REVISION}:
        raise ConfigurationError(f"a revision's @flags name {REVISION} or {DELETE_REVISION}")
    # A change vector identifies a revision (an import skips one it has): text any database
    # holds, no NUL, no lone surrogate.
    if type(change_vector) is not str or not change_vector or "\x00" in change_vector:
        raise ConfigurationError("a revision's @change-vector is a non-empty string")
    try:
        change_vector.encode()
        validate_id(document_id)
        validate_collection_name(collection)
        moment = decode_datetime(last_modified) if type(last_modified) is str else None
        if not isinstance(moment, dt.datetime):
            raise ConfigurationError("a revision's @last-modified is an ISO 8601 time")
        data = dumps(document)
    except (UnicodeEncodeError, ValueError, InvalidIdError, SerializationError) as exc:
        raise ConfigurationError(f"a revision of {shown(document_id)}: {exc}") from None
    return DocumentRecord(document_id, data, change_vector, revision_time(moment), collection)

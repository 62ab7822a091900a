"""Revisions, as RavenDB has them: their configuration and ``session.advanced.revisions``.

Configure a database once (``store.maintenance.send``); from then on every write of a
document in a configured collection keeps the new version as a revision, in the write's
transaction, on every backend::

    from rookdb.operations import ConfigureRevisionsOperation
    from rookdb.revisions import RevisionsCollectionConfiguration, RevisionsConfiguration

    store.maintenance.send(ConfigureRevisionsOperation(RevisionsConfiguration(
        default_config=RevisionsCollectionConfiguration(minimum_revisions_to_keep=5))))
    with store.open_session() as session:
        session.advanced.revisions.get_for("users/1")          # the newest first

Revisions are read only: the session never tracks them (RavenDB's rule), so changing one
and saving writes nothing. ``rookdb.storage.relational.revisions`` holds the storage rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from rookdb.arguments import check_class, check_instance, check_list, check_truthy
from rookdb.errors import InvalidArgumentError, InvalidOperationError, shown
from rookdb.ids import validate_id
from rookdb.query import check_count
from rookdb.serialization.encoding import loads
from rookdb.storage.commands import Command, ForceRevisionCommand, PutCommand

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = [
    "ForceRevisionStrategy",
    "ForcedRevisions",
    "RevisionsCollectionConfiguration",
    "RevisionsConfiguration",
    "SessionRevisions",
]

T = TypeVar("T")


def _time_span(value: dt.timedelta) -> str:
    """A timedelta as .NET's TimeSpan text (``d.hh:mm:ss.fffffff``), as RavenDB's JSON has it."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if value.microseconds:
        text += f".{value.microseconds:06d}0"
    return f"{days}.{text}" if days else text


@dataclasses.dataclass
class RevisionsCollectionConfiguration:
    """How one collection (or, as the default, every collection) keeps revisions."""

    #: At most this many revisions per document, the newest (None: no limit).
    minimum_revisions_to_keep: int | None = None
    #: Revisions younger than this are kept even past ``minimum_revisions_to_keep``.
    minimum_revision_age_to_keep: dt.timedelta | None = None
    #: Keep no revisions (a collection's own configuration turning the default off).
    disabled: bool = False
    #: Deleting a document deletes its revisions (else a delete revision is kept).
    purge_on_delete: bool = False

    def to_json(self) -> dict[str, Any]:
        """RavenDB's JSON of it; fields of the wrong type are an ``InvalidArgumentError``
        (what their values may be is storage's rule, ``revisions_config``)."""
        keep, age = self.minimum_revisions_to_keep, self.minimum_revision_age_to_keep
        if keep is not None and type(keep) is not int:
            raise InvalidArgumentError(
                f"minimum_revisions_to_keep is an int or None, not {shown(keep)}"
            )
        check_instance(age, dt.timedelta, "minimum_revision_age_to_keep", optional=True)
        disabled = check_truthy(self.disabled, "disabled")
        purge = check_truthy(self.purge_on_delete, "purge_on_delete")
        return {
            "MinimumRevisionsToKeep": self.minimum_revisions_to_keep,
            "MinimumRevisionAgeToKeep": None if age is None else _time_span(age),
            "Disabled": disabled,
            "PurgeOnDelete": purge,
        }


@dataclasses.dataclass
class RevisionsConfiguration:
    """RavenDB's ``RevisionsConfiguration``: a default and per-collection configurations (by
    collection name, case-insensitive); collections with neither keep no revisions."""

    default_config: RevisionsCollectionConfiguration | None = None
    collections: dict[str, RevisionsCollectionConfiguration] = dataclasses.field(
        default_factory=dict
    )

    def to_json(self) -> dict[str, Any]:
        default, collections = self.default_config, self.collections
        check_instance(default, RevisionsCollectionConfiguration, "default_config", optional=True)
        if not isinstance(collections, dict) or not all(
            type(name) is str and isinstance(c, RevisionsCollectionConfiguration)
            for name, c in collections.items()
        ):
            raise InvalidArgumentError(
                "collections is a dict of collection names to RevisionsCollectionConfiguration, "
                f"not {shown(collections)}"
            )
        return {
            "Default": None if self.default_config is None else self.default_config.to_json(),
            "Collections": {name: c.to_json() for name, c in self.collections.items()},
        }


class ForceRevisionStrategy(enum.Enum):
    """RavenDB's: ``BEFORE`` keeps a revision of the document as storage has it before the
    save writes it (the only strategy RavenDB has; ``NONE`` forces nothing)."""

    NONE = "None"
    BEFORE = "Before"


class ForcedRevisions:
    """The revisions a session was asked to force, sent with its next ``save_changes``: a
    ``ForceRevisionCommand`` right before the put of a document the save writes (the revision
    is of what storage had), the others after the entities' commands."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}  # by key, the id as given
        self._sent: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._ids)

    def add(self, document_id: str, strategy: ForceRevisionStrategy) -> None:
        if not isinstance(strategy, ForceRevisionStrategy):
            raise InvalidArgumentError(
                f"a strategy is a ForceRevisionStrategy, not {shown(strategy)}"
            )
        if strategy is ForceRevisionStrategy.NONE:
            return
        validate_id(document_id)
        if not document_id or document_id[-1] in "/|":
            raise InvalidOperationError(
                f"a revision is forced for a document by its full id, not {shown(document_id)}"
            )
        self._ids.setdefault(document_id.lower(), document_id)

    def around_puts(self, commands: Iterable[Command]) -> Iterator[Command]:
        """``commands`` with a forced revision before each put of a forced document."""
        self._sent = set()
        ids = self._ids
        for command in commands:
            if type(command) is PutCommand and ids:
                key = command.id.lower()
                if key in ids and key not in self._sent:
                    self._sent.add(key)
                    yield ForceRevisionCommand(command.id, before_put=True)
            yield command

    def commands(self, commands: Iterable[Command]) -> Iterator[Command]:
        """``around_puts(commands)``, then ``rest()`` once they are done."""
        yield from self.around_puts(commands)
        yield from self.rest()

    def rest(self) -> list[ForceRevisionCommand]:
        """The forced revisions of documents ``around_puts`` did not see written."""
        return [ForceRevisionCommand(i) for k, i in self._ids.items() if k not in self._sent]

    def saved(self) -> list[str]:
        """The save succeeded: every forced revision was made (or existed), and each of
        these documents (their keys) has ``HasRevisions``."""
        keys = list(self._ids)
        self._ids.clear()
        self._sent = set()
        return keys


class SessionRevisions:
    """``session.advanced.revisions``: a document's revisions, never tracked. Each call is
    one request of the session's budget."""

    def __init__(self, session: DocumentSession) -> None:
        self._session = session

    def force_revision_creation_for(
        self,
        entity_or_id: Any,
        strategy: ForceRevisionStrategy = ForceRevisionStrategy.BEFORE,
    ) -> None:
        """Keep a revision of the document as storage has it, with the next ``save_changes``,
        whatever the revisions configuration; none when a revision of that version exists.
        ``entity_or_id``: an entity the session tracks, or a document id. A document storage
        does not have yet fails the save."""
        session = self._session
        session._check_open()
        if isinstance(entity_or_id, str):
            document_id = entity_or_id
        else:
            found = session.advanced.get_document_id(entity_or_id)
            if found is None:
                raise InvalidOperationError(
                    "Cannot create a revision for the requested entity because it is not "
                    "tracked by the session"
                )
            document_id = found
        session._forced_revisions.add(document_id, strategy)

    def force_revision_creation_for_id(
        self, document_id: str, strategy: ForceRevisionStrategy = ForceRevisionStrategy.BEFORE
    ) -> None:
        """RavenDB's client's name for ``force_revision_creation_for(document_id)``."""
        if not isinstance(document_id, str):
            raise InvalidArgumentError(f"a document id is a str, not {shown(document_id)}")
        self.force_revision_creation_for(document_id, strategy)

    def _entity(self, record: Any, object_type: type[Any] | None) -> Any:
        return self._session._decode(record, object_type)[0]

    def get_for(
        self,
        document_id: str,
        object_type: type[T] | None = None,
        start: int = 0,
        page_size: int = 25,
    ) -> list[Any]:
        """The revisions of ``document_id`` as entities, the newest first."""
        check_class(object_type)
        page = self._page(document_id, start, page_size)
        return [self._entity(r, object_type) for r in page.records]

    def get_metadata_for(
        self, document_id: str, start: int = 0, page_size: int = 25
    ) -> list[dict[str, Any]]:
        """The metadata of the revisions of ``document_id``, the newest first, with
        ``@id``, ``@change-vector``, ``@last-modified`` and ``@flags``."""
        page = self._page(document_id, start, page_size)
        return [_metadata(r) for r in page.records]

    def get_count_for(self, document_id: str) -> int:
        """How many revisions ``document_id`` has."""
        return int(self._page(document_id, 0, 0).total)

    @overload
    def get(self, change_vector: str, object_type: type[T] | None = None) -> Any: ...
    @overload
    def get(
        self, change_vector: Sequence[str], object_type: type[T] | None = None
    ) -> dict[str, Any]: ...
    def get(self, change_vector: str | Sequence[str], object_type: type[T] | None = None) -> Any:
        """The revision with ``change_vector`` (None if there is none), or for a list of
        change vectors a dict of each to its revision or None."""
        if isinstance(change_vector, str):
            return self.get_by_change_vectors([change_vector], object_type)[change_vector]
        return self.get_by_change_vectors(change_vector, object_type)

    def get_by_change_vector(self, change_vector: str, object_type: type[T] | None = None) -> Any:
        """RavenDB's client's name for ``get(change_vector)``."""
        return self.get_by_change_vectors([change_vector], object_type)[change_vector]

    def get_by_change_vectors(
        self, change_vectors: Sequence[str], object_type: type[T] | None = None
    ) -> dict[str, Any]:
        """RavenDB's client's name for ``get([change_vector, ...])``."""
        wanted = check_list(change_vectors, "change_vectors")
        for change_vector in wanted:
            if not isinstance(change_vector, str):
                raise InvalidArgumentError(f"a change vector is a str, not {shown(change_vector)}")
        check_class(object_type)
        session = self._session
        session._check_open()
        session._request()
        found = session._storage.get_revisions_by_change_vector(wanted)
        return {
            cv: None if cv not in found else self._entity(found[cv], object_type) for cv in wanted
        }

    def get_by_before_date(
        self, document_id: str, before_date: dt.datetime, object_type: type[T] | None = None
    ) -> Any:
        """The revision of ``document_id`` current at ``before_date`` (the newest kept at or
        before it; a naive datetime is UTC, as RavenDB's client has it), None if it has none
        that old. A delete revision reads as an entity of its metadata alone."""
        validate_id(document_id)
        if not isinstance(before_date, dt.datetime):
            raise InvalidArgumentError(f"before_date is a datetime, not {shown(before_date)}")
        check_class(object_type)
        session = self._session
        session._check_open()
        session._request()
        found = session._storage.get_revision_before(document_id, before_date)
        return None if found is None else self._entity(found, object_type)

    def get_bin_entries(self, start: int = 0, page_size: int = 25) -> list[dict[str, Any]]:
        """RavenDB's revisions bin: the metadata of the delete revision of each deleted
        document whose revisions were kept (not purged) and that was not written again, the
        newest delete first (``@id``, ``@change-vector``, ``@last-modified``, ``@flags``
        ``HasRevisions, DeleteRevision``). Its older revisions are read with ``get_for``."""
        check_count(start, "start")
        check_count(page_size, "page_size")
        session = self._session
        session._check_open()
        session._request()
        return [_metadata(r) for r in session._storage.get_revisions_bin(start, page_size)]

    def _page(self, document_id: str, start: int, page_size: int) -> Any:
        validate_id(document_id)
        check_count(start, "start")
        check_count(page_size, "page_size")
        session = self._session
        session._check_open()
        session._request()
        return session._storage.get_revisions(document_id, start, page_size)


def _metadata(record: Any) -> dict[str, Any]:
    metadata = dict(loads(record.data).get("@metadata") or {})
    metadata["@id"] = record.id
    metadata["@change-vector"] = record.change_vector
    metadata["@last-modified"] = record.last_modified
    return metadata

"""Session events (RavenDB's ``add_before_store``, ``add_after_save_changes``, ...).

Handlers registered on the store are copied into each new session; handlers registered on a
session apply to it alone. A handler receives one ``...EventArgs`` value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rookdb.arguments import check_callback
from rookdb.errors import InvalidArgumentError, shown
from rookdb.tracking.state import DocumentState, MetadataDictionary
from rookdb.tracking.unit_of_work import Change, ChangeKind

if TYPE_CHECKING:
    from rookdb.query import Query
    from rookdb.session import DocumentSession

__all__ = [
    "AfterSaveChangesEventArgs",
    "BeforeDeleteEventArgs",
    "BeforeQueryEventArgs",
    "BeforeStoreEventArgs",
    "EventRegistration",
    "SessionEvents",
]


class BeforeStoreEventArgs:
    """Given to ``before_store`` handlers at ``save_changes``, before each put. The handler may
    change the entity or ``document_metadata``: what it leaves is what is written."""

    def __init__(
        self, session: DocumentSession, document_id: str, entity: Any, metadata: Any
    ) -> None:
        self.session = session
        self.document_id = document_id
        self.entity = entity
        self.document_metadata = metadata


class AfterSaveChangesEventArgs:
    """Given to ``after_save_changes`` handlers once per written document, after the commit."""

    def __init__(self, session: DocumentSession, document_id: str, entity: Any) -> None:
        self.session = session
        self.document_id = document_id
        self.entity = entity


class BeforeDeleteEventArgs:
    """Given to ``before_delete`` handlers at ``save_changes``, before each delete."""

    def __init__(self, session: DocumentSession, document_id: str, entity: Any) -> None:
        self.session = session
        self.document_id = document_id
        self.entity = entity


class BeforeQueryEventArgs:
    """Given to ``before_query`` handlers before a query is sent."""

    def __init__(self, session: DocumentSession, query: Query) -> None:
        self.session = session
        self.query = query


Handler = Callable[[Any], None]


class SessionEvents:
    """Lists of handlers; a store's are copied into each session it opens."""

    def __init__(self) -> None:
        self.before_store: list[Handler] = []
        self.after_save_changes: list[Handler] = []
        self.before_delete: list[Handler] = []
        self.before_query: list[Handler] = []

    def copy(self) -> SessionEvents:
        other = SessionEvents()
        other.before_store = list(self.before_store)
        other.after_save_changes = list(self.after_save_changes)
        other.before_delete = list(self.before_delete)
        other.before_query = list(self.before_query)
        return other

    @staticmethod
    def fire(handlers: list[Handler], args: Any) -> None:
        for handler in handlers:
            handler(args)

    def fire_before_save(
        self,
        session: DocumentSession,
        changes: list[Change],
        encode: Callable[[DocumentState], bytes],
    ) -> None:
        """``before_store`` for each put, then ``before_delete`` for each delete, before the
        batch is sent. A handler may change an entity: ``encode`` makes the bytes written of
        what it leaves."""
        if self.before_store:
            for change in changes:
                state = change.state
                if change.kind is ChangeKind.DELETED or state is None:
                    continue
                metadata = MetadataDictionary(state)
                self.fire(
                    self.before_store,
                    BeforeStoreEventArgs(session, state.id, state.entity, metadata),
                )
                change.data = encode(state)
        if self.before_delete:
            for change in changes:
                if change.kind is ChangeKind.DELETED:
                    entity = change.state.entity if change.state is not None else None
                    args = BeforeDeleteEventArgs(session, change.document_id, entity)
                    self.fire(self.before_delete, args)

    def fire_after_save(self, session: DocumentSession, saved: Iterable[DocumentState]) -> None:
        """``after_save_changes`` for each document written, after the commit."""
        handlers = self.after_save_changes
        if handlers:
            for state in saved:
                self.fire(handlers, AfterSaveChangesEventArgs(session, state.id, state.entity))


def remove_handler(handlers: list[Callable[..., Any]], handler: Any, what: str) -> None:
    """Remove ``handler`` from ``handlers``, or say it was never added."""
    try:
        handlers.remove(handler)
    except ValueError:
        raise InvalidArgumentError(f"{what}: {shown(handler)} was not added") from None


class EventRegistration:
    """The ``add_*`` / ``remove_*`` methods shared by ``DocumentStore`` and sessions. A handler
    that cannot be called is refused when added (``InvalidArgumentError``), not at the save
    that would call it; removing one that was not added is refused likewise."""

    _events: SessionEvents

    def add_before_store(self, handler: Callable[[BeforeStoreEventArgs], None]) -> None:
        self._events.before_store.append(check_callback(handler, "handler", optional=False))

    def remove_before_store(self, handler: Callable[[BeforeStoreEventArgs], None]) -> None:
        remove_handler(self._events.before_store, handler, "remove_before_store")

    def add_after_save_changes(self, handler: Callable[[AfterSaveChangesEventArgs], None]) -> None:
        self._events.after_save_changes.append(check_callback(handler, "handler", optional=False))

    def remove_after_save_changes(
        self, handler: Callable[[AfterSaveChangesEventArgs], None]
    ) -> None:
        remove_handler(self._events.after_save_changes, handler, "remove_after_save_changes")

    def add_before_delete(self, handler: Callable[[BeforeDeleteEventArgs], None]) -> None:
        self._events.before_delete.append(check_callback(handler, "handler", optional=False))

    def remove_before_delete(self, handler: Callable[[BeforeDeleteEventArgs], None]) -> None:
        remove_handler(self._events.before_delete, handler, "remove_before_delete")

    def add_before_query(self, handler: Callable[[BeforeQueryEventArgs], None]) -> None:
        self._events.before_query.append(check_callback(handler, "handler", optional=False))

    def remove_before_query(self, handler: Callable[[BeforeQueryEventArgs], None]) -> None:
        remove_handler(self._events.before_query, handler, "remove_before_query")

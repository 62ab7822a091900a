"""Maintenance operations of user-defined indexes, RavenDB's names and results, on every
backend that keeps indexes (``Capabilities.indexes``)::

    from rookdb.operations import GetIndexStatisticsOperation, PutIndexesOperation

    store.maintenance.send(PutIndexesOperation(Orders_ByCompany().create_index_definition()))
    store.maintenance.send(GetIndexStatisticsOperation("Orders/ByCompany")).entries_count

A creation task puts itself with ``task.execute(store)``, several with
``IndexCreation.create_indexes(tasks, store)`` (``rookdb.indexes.creation_tasks``). Putting an
index maps the documents already there before it returns (embedded); what storage does is in
``rookdb.storage.relational.index_maintenance``. ``rookdb.operations`` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rookdb.arguments import check_choice, check_instance, check_list, check_truthy
from rookdb.errors import IndexDoesNotExistError, InvalidArgumentError, shown
from rookdb.indexes.creation_tasks import MAX_NAME_LENGTH, AbstractIndexCreationTaskBase
from rookdb.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority
from rookdb.operations import MaintenanceOperation
from rookdb.query_ast import check_count
from rookdb.storage.base import Storage
from rookdb.storage.statistics import IndexErrors, IndexStatistics

__all__ = [
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


def _name(name: Any) -> str:
    """An index name an operation names: a non-blank str (whether an index has it is
    storage's answer). RavenDB's clients raise ``ValueError`` for a missing one:
    ``InvalidArgumentError`` is one."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"an index name is a non-blank str, not {shown(name)}")
    return str.__str__(name)  # a str enum's member: its value (storage takes a plain str)


def _names(names: Any, what: str) -> list[str] | None:
    """None (every index), or a list of index names."""
    return None if names is None else [_name(name) for name in check_list(names, what)]


class PutIndexResult:
    """RavenDB's answer for one index put: its name (and the raft index, 0 here)."""

    def __init__(self, index: str, raft_command_index: int = 0) -> None:
        self.index = index
        self.raft_command_index = raft_command_index

    def __repr__(self) -> str:
        return f"PutIndexResult({self.index!r})"


class PutIndexesOperation(MaintenanceOperation[list[PutIndexResult]]):
    """Put ``definitions``: each checked first (``IndexCompilationError``: none is stored),
    then the documents already there indexed before this returns."""

    def __init__(self, *definitions: IndexDefinition) -> None:
        if not definitions:
            raise InvalidArgumentError("PutIndexesOperation takes at least one IndexDefinition")
        for definition in definitions:
            if not isinstance(definition, IndexDefinition):
                raise InvalidArgumentError(
                    f"PutIndexesOperation takes IndexDefinitions, not {type(definition).__name__}"
                )
        self.definitions = definitions

    def execute(self, storage: Storage) -> list[PutIndexResult]:
        return [PutIndexResult(name) for name in storage.put_indexes(self.definitions)]


class GetIndexOperation(MaintenanceOperation[IndexDefinition | None]):
    """The definition of index ``name``, None when there is none."""

    def __init__(self, name: str) -> None:
        self.name = _name(name)

    def execute(self, storage: Storage) -> IndexDefinition | None:
        return storage.get_index(self.name)


class GetIndexesOperation(MaintenanceOperation[list[IndexDefinition]]):
    """The definitions of the indexes in name order, a page of them."""

    def __init__(self, start: int = 0, page_size: int = 25) -> None:
        self.start = check_count(start, "start")
        self.page_size = check_count(page_size, "page_size")

    def execute(self, storage: Storage) -> list[IndexDefinition]:
        return storage.get_indexes(self.start, self.page_size)


class GetIndexNamesOperation(MaintenanceOperation[list[str]]):
    """The names of the indexes in name order, a page of them."""

    def __init__(self, start: int = 0, page_size: int = 25) -> None:
        self.start = check_count(start, "start")
        self.page_size = check_count(page_size, "page_size")

    def execute(self, storage: Storage) -> list[str]:
        return storage.get_index_names(self.start, self.page_size)


class DeleteIndexOperation(MaintenanceOperation[None]):
    """Remove index ``name`` and what it holds."""

    def __init__(self, name: str) -> None:
        self.name = _name(name)

    def execute(self, storage: Storage) -> None:
        storage.delete_index(self.name)


class ResetIndexOperation(MaintenanceOperation[None]):
    """Throw away what index ``name`` holds and index every document again."""

    def __init__(self, name: str) -> None:
        self.name = _name(name)

    def execute(self, storage: Storage) -> None:
        storage.reset_index(self.name)


class SetIndexesLockOperation(MaintenanceOperation[None]):
    """Set the lock mode of the indexes ``names``, as RavenDB does: a later put that changes
    a ``LockedIgnore`` index keeps the old definition silently, and one that changes a
    ``LockedError`` index raises ``IndexLockedError`` (nothing of it stored); ``Unlock``
    lets puts change it. The index is not built again."""

    def __init__(self, mode: IndexLockMode, *names: str) -> None:
        if not names:
            raise InvalidArgumentError(
                "Index names count cannot be zero. Pass at least one index name."
            )
        self.mode = check_choice(IndexLockMode, mode, "mode")
        self.names = tuple(_name(name) for name in names)

    def execute(self, storage: Storage) -> None:
        storage.set_index_options(self.names, lock_mode=self.mode)


class SetIndexesPriorityOperation(MaintenanceOperation[None]):
    """Set the priority of the indexes ``names``: kept in their definitions and answered in
    them; it changes nothing else (rookdb's indexes are written with each write, not by a
    thread whose priority could matter)."""

    def __init__(self, priority: IndexPriority, *names: str) -> None:
        if not names:
            raise InvalidArgumentError(
                "Index names count cannot be zero. Pass at least one index name."
            )
        self.priority = check_choice(IndexPriority, priority, "priority")
        self.names = tuple(_name(name) for name in names)

    def execute(self, storage: Storage) -> None:
        storage.set_index_options(self.names, priority=self.priority)


class IndexHasChangedOperation(MaintenanceOperation[bool]):
    """Whether putting ``definition`` would build its index anew: no index of its name, or
    its maps, reduce or options differ (a lock mode or priority alone is no change)."""

    def __init__(self, definition: IndexDefinition) -> None:
        self.definition = check_instance(definition, IndexDefinition, "definition")

    def execute(self, storage: Storage) -> bool:
        return storage.index_has_changed(self.definition)


class GetTermsOperation(MaintenanceOperation[list[str]]):
    """The terms of ``field`` in index ``name``, after ``from_value``, at most ``page_size``
    (1024 when None): its distinct values as RavenDB's default analyzer keeps them (text
    lower-cased), sorted (``Storage.index_terms``)."""

    def __init__(
        self, name: str, field: str, from_value: str | None = None, page_size: int | None = None
    ) -> None:
        if field is None:
            raise InvalidArgumentError("field cannot be None")
        if type(field) is not str or not field:
            raise InvalidArgumentError(f"field is a field name (a str), not {shown(field)}")
        if from_value is not None and type(from_value) is not str:
            raise InvalidArgumentError(
                f"from_value is a term (a str) or None, not {shown(from_value)}"
            )
        self.name, self.field = _name(name), field
        self.from_value = from_value
        self.page_size = 1024 if not page_size else check_count(page_size, "page_size")

    def execute(self, storage: Storage) -> list[str]:
        return storage.index_terms(self.name, self.field, self.from_value, self.page_size)


class _Running(MaintenanceOperation[None]):
    running: bool

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def execute(self, storage: Storage) -> None:
        storage.set_indexing_running(self.running, self.name)


class StopIndexOperation(_Running):
    """Stop index ``name`` as RavenDB names it. rookdb writes index entries in each write's
    transaction (never stale), so a stopped index is still maintained and answers queries:
    only ``GetIndexingStatusOperation`` says it is ``Paused``."""

    running = False

    def __init__(self, name: str) -> None:
        if not name:
            raise InvalidArgumentError("Index name can't be None or empty")
        super().__init__(_name(name))


class StartIndexOperation(StopIndexOperation):
    """Start index ``name`` again (``StopIndexOperation``)."""

    running = True


class StopIndexingOperation(_Running):
    """Stop indexing as a whole: as ``StopIndexOperation``, every index still maintained,
    reported ``Paused``."""

    running = False

    def __init__(self) -> None:
        super().__init__(None)


class StartIndexingOperation(StopIndexingOperation):
    """Start indexing as a whole again, every index with it."""

    running = True


class DisableIndexOperation(MaintenanceOperation[None]):
    """Disable index ``name`` as RavenDB names it. rookdb's indexes are never stale, so a
    disabled one is still maintained and answers queries: its definition's ``state`` is
    ``Disabled`` and ``GetIndexingStatusOperation`` says so. ``cluster_wide``: rookdb has
    one node."""

    enabled = False

    def __init__(self, name: str, cluster_wide: bool = False) -> None:
        if not name:
            raise InvalidArgumentError("Index name can't be None or empty")
        self.name, self.cluster_wide = _name(name), check_truthy(cluster_wide, "cluster_wide")

    def execute(self, storage: Storage) -> None:
        storage.set_index_enabled(self.name, self.enabled)


class EnableIndexOperation(DisableIndexOperation):
    """Enable index ``name`` again (``DisableIndexOperation``): its state ``Normal``."""

    enabled = True


class IndexingStatus:
    """RavenDB's ``IndexingStatus``: ``status`` (``Running``/``Paused``) and ``indexes``
    (``(name, status)`` pairs)."""

    def __init__(self, status: str, indexes: list[tuple[str, str]]) -> None:
        self.status, self.indexes = status, indexes

    def __repr__(self) -> str:
        return f"IndexingStatus({self.status!r}, {self.indexes!r})"


class GetIndexingStatusOperation(MaintenanceOperation[IndexingStatus]):
    """Whether indexing, and each index, is running or stopped (``StopIndexOperation``)."""

    def execute(self, storage: Storage) -> IndexingStatus:
        found = storage.indexing_status()
        pairs = [(str(i["Name"]), str(i["Status"])) for i in found["Indexes"]]
        return IndexingStatus(str(found["Status"]), pairs)


class GetIndexStatisticsOperation(MaintenanceOperation[IndexStatistics]):
    """The statistics of index ``name`` (``IndexDoesNotExistError`` when there is none)."""

    def __init__(self, name: str) -> None:
        self.name = _name(name)

    def execute(self, storage: Storage) -> IndexStatistics:
        # Longer than any index may be named: there is none such (RavenDB's message, below,
        # shows the name plain; a URL cannot carry a name of 100,000 characters).
        if len(self.name) > MAX_NAME_LENGTH:
            raise IndexDoesNotExistError(f"there is no index {shown(self.name)}")
        found = storage.index_statistics(self.name)
        if not found:
            raise IndexDoesNotExistError(f"Index '{self.name}' does not exist")
        return found[0]


class GetIndexesStatisticsOperation(MaintenanceOperation[list[IndexStatistics]]):
    """The statistics of every index."""

    def execute(self, storage: Storage) -> list[IndexStatistics]:
        return storage.index_statistics()


class DeleteIndexErrorsOperation(MaintenanceOperation[None]):
    """Forget the errors recorded against the indexes ``index_names`` (every index's when none
    given); ``IndexDoesNotExistError``, and nothing forgotten, for a name no index has."""

    def __init__(self, index_names: Sequence[str] | None = None) -> None:
        self.index_names = _names(index_names, "index_names")

    def execute(self, storage: Storage) -> None:
        storage.delete_index_errors(self.index_names)


class GetIndexErrorsOperation(MaintenanceOperation[list[IndexErrors]]):
    """The errors recorded against the indexes ``names`` (every index when none given)."""

    def __init__(self, names: Sequence[str] | None = None) -> None:
        self.names = _names(names, "names")

    def execute(self, storage: Storage) -> list[IndexErrors]:
        return storage.index_errors(self.names)


def put_tasks(store: Any, tasks: Iterable[Any], database: str | None = None) -> None:
    """Put the indexes of creation ``tasks`` through ``store`` (in ``database``)."""
    maintenance = (
        store.maintenance if database is None else store.maintenance.for_database(database)
    )
    tasks = check_list(tasks, "tasks")  # (a generator is read once: its items from here on)
    for task in tasks:
        check_instance(task, AbstractIndexCreationTaskBase, "an index creation task")
    definitions = [task.create_index_definition() for task in tasks]
    if definitions:
        maintenance.send(PutIndexesOperation(*definitions))

"""What storage tells of itself: what a backend can do (``Capabilities``, declared on each
backend), and what a database holds (``DatabaseStatistics``, ``IndexStatistics``,
``IndexErrors``: ``store.maintenance`` and the server's statistics endpoints).
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Capabilities", "DatabaseStatistics", "IndexErrors", "IndexStatistics"]


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseStatistics:
    """``store.maintenance.get_statistics()``: documents per collection and indexes, and what
    storage knows of itself (0 and ``""`` where a backend does not say).

    ``size_on_disk``: bytes the database occupies (SQLite: its file with ``-wal`` and ``-shm``;
    in memory: the pages it holds; PostgreSQL: its schema's tables, indexes and TOAST).
    ``last_doc_etag``: the last etag storage gave out (grows with every write; on PostgreSQL a
    write that rolled back may have used one too). ``database_change_vector``: RavenDB's
    ``A:<last etag>-<database id>``, ``""`` while nothing was written."""

    database: str
    count_of_documents: int
    collections: dict[str, int]
    indexes: list[str]
    size_on_disk: int = 0
    last_doc_etag: int = 0
    database_change_vector: str = ""
    database_id: str = ""
    #: Attachments, and the distinct contents they have (RavenDB's unique attachments).
    count_of_attachments: int = 0
    count_of_unique_attachments: int = 0
    #: The type of each user-defined index in ``indexes`` (``Map``, ``MapReduce``,
    #: ``JavaScriptMap``...); the automatic ones are not in it (RavenDB's ``AutoMap``).
    index_types: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; the conformance suite skips (and says why) what it cannot.

    Declared on each backend instead of checks of its type or name (peewee's habit): tests ask
    for a flag with ``@pytest.mark.rookdb_requires("multi_process")``, code reads the flag. A
    flag left out is False: a backend claims only what it does.
    """

    #: The backend's name in test ids and messages; never a reason to branch.
    name: str
    #: Its databases survive the process (and a restart of a server) that wrote them.
    persistent: bool = False
    #: Several processes (``rookdb serve``, the CLI, workers) share its databases at once.
    multi_process: bool = False
    #: Every store of this process opened on the same URL sees the same databases (false for a
    #: private ``memory://``, which is the store's own).
    shared_in_process: bool = False
    #: Served over the network: a server does the storage work, so what happens inside it
    #: (automatic indexes made, their cap, their logs) is the server's, not this process's.
    remote: bool = False
    #: Keeps revisions (``Storage.configure_revisions``, ``get_revisions``, forced ones).
    revisions: bool = False
    #: Keeps counters (``CountersCommand``, ``Storage.get_counters``).
    counters: bool = False
    #: Keeps attachments (the attachment commands, ``Storage.get_attachment``...).
    attachments: bool = False
    #: Keeps user-defined indexes (``Storage.put_indexes``, queries with ``index_name``).
    indexes: bool = False
    #: Notes the projected numbers a float does not give back as written (``9.50``) in
    #: ``QueryResult.notes`` and ``ProjectionRow.notes``, so that projections into ``Decimal``
    #: fields keep their digits; a backend leaving notes None projects them as floats.
    projection_digits: bool = False

    @classmethod
    def flags(cls) -> tuple[str, ...]:
        """The flags' names, in declaration order (what ``rookdb_requires`` may ask)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.type in ("bool", bool))


@dataclasses.dataclass(frozen=True, slots=True)
class IndexStatistics:
    """What ``Storage.index_statistics`` tells of one user-defined index (RavenDB's
    ``IndexStats``, the part rookdb has): ``state`` is ``Normal``, or ``Building`` while the
    documents that were there when it was put are mapped (``mapped`` of ``to_map`` so far);
    ``entries_count`` counts the documents with entries, ``reduce_results_count`` a
    map-reduce index's results."""

    name: str
    type: str
    state: str
    collections: tuple[str, ...] | None
    entries_count: int
    reduce_results_count: int
    errors_count: int
    created: str
    is_stale: bool = False
    lock_mode: str = "Unlock"
    priority: str = "Normal"
    #: RavenDB's ``IndexRunningStatus``: ``Running``, ``Paused`` (stopped: rookdb still keeps
    #: it current) or ``Disabled``.
    status: str = "Running"

    def to_json(self) -> dict[str, Any]:
        """RavenDB's ``IndexStats`` JSON: what rookdb knows, and RavenDB's neutral values for
        what it does not count (attempts, rates), which its client reads all of."""
        lag = {
            "LastProcessedDocumentEtag": 0,
            "LastProcessedTombstoneEtag": 0,
            "DocumentLag": 0,
            "TombstoneLag": 0,
        }
        return {
            "Name": self.name,
            "Type": self.type,
            "SourceType": "Documents",
            # RavenDB's IndexState: a disabled index is Disabled in both.
            "State": "Disabled" if self.status == "Disabled" else "Normal",
            "Status": self.status,
            "Priority": self.priority,
            "LockMode": self.lock_mode,
            "IsStale": self.is_stale,
            "IsInvalidIndex": False,
            "Collections": {c: lag for c in self.collections or ("@all_docs",)},
            "EntriesCount": self.entries_count,
            "ReduceOutputCount": self.reduce_results_count,
            "ErrorsCount": self.errors_count,
            "CreatedTimestamp": self.created,
            "LastIndexingTime": self.created,
            "LastQueryingTime": None,
            "MapAttempts": 0,
            "MapSuccesses": 0,
            "MapErrors": self.errors_count,
            "MapReferenceAttempts": 0,
            "MapReferenceSuccesses": 0,
            "MapReferenceErrors": 0,
            "ReduceAttempts": None,
            "ReduceSuccesses": None,
            "ReduceErrors": None,
            "ReduceOutputCollection": None,
            "ReduceOutputReferencePattern": None,
            "PatternReferencesCollectionName": None,
            "MappedPerSecondRate": 0.0,
            "ReducedPerSecondRate": 0.0,
            "MaxNumberOfOutputsPerDocument": 0,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class IndexErrors:
    """The errors recorded against one index (RavenDB's ``IndexErrors``): the last ones,
    each ``{"Document", "Action", "Error", "Timestamp"}``, and how many there were in all."""

    name: str
    errors: tuple[dict[str, Any], ...]
    count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Errors": list(self.errors), "Count": self.count}

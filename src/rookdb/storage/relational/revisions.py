"""Revisions, as RavenDB keeps them: the rules, once, for every SQL backend.

A database's revisions configuration (RavenDB's ``RevisionsConfiguration`` JSON: a
``Default`` and ``Collections`` by name, each with ``Disabled``, ``MinimumRevisionsToKeep``,
``MinimumRevisionAgeToKeep``, ``PurgeOnDelete``) is kept in the ``meta`` row
``revisions_configuration``. In a batch, every put of a document whose collection it
configures keeps a revision: the new version itself, with its change vector and time, and
``HasRevisions`` in the document's ``@flags`` (the revision's flags are ``HasRevisions,
Revision``). A delete keeps a ``DeleteRevision`` (an empty body, a change vector of its own)
unless ``PurgeOnDelete``, which drops the document's revisions instead. After the batch each
document keeps at most ``MinimumRevisionsToKeep`` revisions, the newest; with
``MinimumRevisionAgeToKeep`` too, only revisions older than that age go.

The backend supplies the SQL (``RevisionStatements``) and calls ``BatchRevisions`` from its
write path; nothing here costs a batch of a database without a configuration more than
reading the one ``meta`` row with the batch's other state.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, NamedTuple

from rookdb.errors import InvalidOperationError
from rookdb.ids import validate_id
from rookdb.serialization.encoding import dumps, loads
from rookdb.storage.base import Storage
from rookdb.storage.commands import Command, ForceRevisionCommand, PutCommand
from rookdb.storage.records import (
    AttachmentReply,
    BatchResult,
    CountersReply,
    DocumentRecord,
    PatchReply,
    RevisionReply,
    RevisionsPage,
    WriteResult,
)
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.revisions_config import (
    CONFIGURATION,
    DELETE_REVISION,
    HAS_REVISIONS,
    REVISION,
    Rule,
    Rules,
    check_configuration,
    revision_time,
    with_flags,
)

__all__ = [
    "CONFIGURATION",
    "BatchRevisions",
    "RevisionStatements",
    "RevisionsStorage",
    "Rule",
    "Rules",
    "force_revision",
    "with_revision_replies",
]


class RevisionStatements(NamedTuple):
    """A dialect's SQL for revisions (parameters in the order each names)."""

    #: Insert one revision: key, etag, id, collection, change vector, last modified, data.
    insert: str
    #: Drop every revision of a key.
    purge: str
    #: Drop a key's revisions beyond the newest N and older than a time: key, key, N, time.
    trim: str
    #: Record columns of a key's revisions, the newest first: key, LIMIT, OFFSET.
    page: str
    #: How many revisions a key has.
    total: str
    #: Record columns of the revision with a change vector.
    by_change_vector: str
    #: Record columns of a key's newest revision at or before a time: key, time.
    before: str
    #: Record columns of each key's newest revision when the key has no document, the
    #: newest first (the revisions bin's candidates).
    bin: str
    #: id, collection, etag, change vector, last modified, data of the document whose key
    #: is the one parameter, locked for the batch's transaction where the dialect locks rows.
    document: str
    #: A document's new version by a forced revision: data, jsonb body (the dialect's; may
    #: be unused), etag, change vector, last modified, key.
    flag_document: str
    #: The dialect stores data as text (SQLite's TEXT), else as bytes (bytea).
    text: bool

    @classmethod
    def of(
        cls,
        schema: str,
        mark: str,
        columns: str,
        document: str,
        flag_document: str,
        text: bool = False,
    ) -> RevisionStatements:
        """The statements of the ``revisions`` table in ``schema``, with parameter ``mark``
        and record ``columns`` (the dialect's, as for documents); the dialect's own
        ``document`` and ``flag_document`` statements."""
        table = f"{schema}revisions"
        return cls(
            document=document,
            flag_document=flag_document,
            text=text,
            insert=(
                f"INSERT INTO {table} (key, etag, id, collection, change_vector, "
                f"last_modified, data) VALUES ({', '.join([mark] * 7)})"
            ),
            purge=f"DELETE FROM {table} WHERE key = {mark}",
            trim=(
                f"DELETE FROM {table} WHERE key = {mark} AND etag <= COALESCE(("
                f"SELECT etag FROM {table} WHERE key = {mark} ORDER BY etag DESC "
                f"LIMIT 1 OFFSET {mark}), -1) AND last_modified < {mark}"
            ),
            page=(
                f"SELECT {columns} FROM {table} WHERE key = {mark} ORDER BY etag DESC "
                f"LIMIT {mark} OFFSET {mark}"
            ),
            total=f"SELECT count(*) FROM {table} WHERE key = {mark}",
            by_change_vector=f"SELECT {columns} FROM {table} WHERE change_vector = {mark}",
            bin=(
                f"SELECT {columns} FROM {table} r WHERE etag = (SELECT max(etag) FROM {table} "
                f"WHERE key = r.key) AND NOT EXISTS (SELECT 1 FROM {schema}documents d "
                "WHERE d.key = r.key) ORDER BY etag DESC"
            ),
            before=(
                f"SELECT {columns} FROM {table} WHERE key = {mark} AND last_modified <= {mark} "
                "ORDER BY etag DESC LIMIT 1"
            ),
        )


def force_revision(
    conn: Any,
    sql: RevisionStatements,
    command: ForceRevisionCommand,
    new_etag: int,
    suffix: str,
    now: str,
    body: Callable[[bytes], str | None] = lambda data: None,
) -> RevisionReply:
    """Apply ``command`` (RavenDB's forced revision) in the batch's transaction: a revision
    of the document as it is, unless one of this version exists. A document without
    ``HasRevisions`` gets it first (a new version: ``new_etag``, ``suffix`` after it in the
    change vector, ``now``; ``body`` gives the dialect's jsonb text), so that forcing again
    finds the revision of its version, as RavenDB's client expects. With ``before_put`` the
    put that follows writes the flag instead."""
    key = command.id.lower()
    row = conn.execute(sql.document, (key,)).fetchone()
    if row is None:
        raise InvalidOperationError(
            "Can't force revision creation - the document was not saved on the server yet. "
            f"document: {command.id}"
        )
    document_id, collection, etag, change_vector, last_modified, data = row
    data = bytes(data)
    if conn.execute(sql.by_change_vector, (change_vector,)).fetchone() is not None:
        return RevisionReply(document_id, False)
    flagged = with_flags(data, HAS_REVISIONS)
    if flagged is not data and not command.before_put:
        etag = new_etag
        change_vector, last_modified, data = f"A:{etag}{suffix}", now, flagged
        stored = data.decode() if sql.text else data
        conn.execute(
            sql.flag_document, (stored, body(data), etag, change_vector, last_modified, key)
        )
    revision = with_flags(flagged, REVISION)
    values = (key, etag, document_id, collection, change_vector, last_modified)
    conn.execute(sql.insert, (*values, revision.decode() if sql.text else revision))
    return RevisionReply(document_id, True, change_vector, last_modified)


def with_revision_replies(
    result: BatchResult,
    replies: Sequence[tuple[int, RevisionReply | AttachmentReply | CountersReply]],
) -> BatchResult:
    """``result`` with the replies of forced revisions (and of attachment and counters
    commands) among its other replies, in batch order: each comes after as many patches' as
    its number says."""
    if not replies:
        return result
    merged: list[PatchReply | RevisionReply | AttachmentReply | CountersReply] = []
    others = list(result.replies)
    taken = 0
    for before, reply in replies:
        merged.extend(others[taken:before])
        taken = max(taken, before)
        merged.append(reply)
    merged.extend(others[taken:])
    return result._replace(replies=merged)


class BatchRevisions:
    """The revisions one batch keeps, gathered while it writes, written at its end."""

    def __init__(self, rules: Rules | None) -> None:
        self.rules = rules or Rules({})
        self._forced: set[str] = set()
        # ``revise``: each put's rule, collection and data, for ``puts_written``.
        self._revised: list[tuple[Rule | None, str, bytes]] = []
        self._rows: list[tuple[Any, ...]] = []
        self._purged: set[str] = set()
        self._touched: dict[str, Rule] = {}

    def put(self, document_id: str, collection: str, data: bytes) -> tuple[bytes, Rule | None]:
        """The data a put writes (``HasRevisions`` added where its collection keeps
        revisions, or after a forced revision of the document in the batch) and the rule, to
        pass to ``written``."""
        rule = self.rules.rule(collection)
        if rule is not None or (self._forced and document_id.lower() in self._forced):
            data = with_flags(data, HAS_REVISIONS)
        return data, rule

    def revise(self, command: Command) -> Command:
        """For a write path that learns change vectors after sending its puts (PostgreSQL's):
        ``command`` as the batch writes it (a put flagged by ``put``), noted for
        ``puts_written``; a forced revision noted (``force``)."""
        if type(command) is ForceRevisionCommand:
            self.force(command)
        if type(command) is not PutCommand:
            return command
        data, rule = self.put(command.id, command.collection, command.data)
        self._revised.append((rule, command.collection, data))
        if data is command.data:
            return command
        return PutCommand(command.id, command.collection, data, command.expected_change_vector)

    def puts_written(self, results: Sequence[WriteResult], now: str) -> None:
        """The batch's puts were written (``results``, in batch order): the revisions of
        those ``revise`` saw (the batch's last puts: it may begin late in a batch, at its
        first forced revision)."""
        revised = self._revised
        for (rule, collection, data), result in zip(
            revised, results[len(results) - len(revised) :], strict=True
        ):
            if rule is not None:
                cv = result.change_vector
                etag = int(cv[2 : cv.index("-")])
                self.written(rule, result.id, collection, etag, cv, now, data)

    def force(self, command: ForceRevisionCommand) -> None:
        """``command`` is in the batch: a put of its document after it keeps ``HasRevisions``."""
        self._forced.add(command.id.lower())

    def written(
        self,
        rule: Rule,
        document_id: str,
        collection: str,
        etag: int,
        change_vector: str,
        last_modified: str,
        data: bytes,
    ) -> None:
        """A put of ``data`` (as ``put`` gave it) was written: its revision."""
        key = document_id.lower()
        self._rows.append(
            (
                key,
                etag,
                document_id,
                collection,
                change_vector,
                last_modified,
                with_flags(data, REVISION),
            )
        )
        self._touched[key] = rule

    def deleted(
        self,
        document_id: str,
        collection: str,
        etag: int,
        change_vector: str,
        last_modified: str,
    ) -> bool:
        """A document of ``collection`` was deleted: a delete revision (True: it used
        ``etag`` and ``change_vector``) or, with ``PurgeOnDelete``, none at all."""
        rule = self.rules.rule(collection)
        if rule is None:
            return False
        key = document_id.lower()
        if rule.purge_on_delete:
            self._rows = [row for row in self._rows if row[0] != key]
            self._purged.add(key)
            self._touched.pop(key, None)
            return False
        body = {
            "@metadata": {
                "@collection": collection,
                "@flags": f"{HAS_REVISIONS}, {DELETE_REVISION}",
            }
        }
        self._rows.append(
            (key, etag, document_id, collection, change_vector, last_modified, dumps(body))
        )
        self._touched[key] = rule
        return True

    def finish(self, conn: Any, sql: RevisionStatements) -> None:
        """Write the batch's revisions and trim each document's."""
        cursor = conn.cursor()
        for key in self._purged:
            cursor.execute(sql.purge, (key,))
        if self._rows:
            rows: Iterable[tuple[Any, ...]] = (
                (*row[:6], row[6].decode()) if sql.text else row for row in self._rows
            )
            cursor.executemany(sql.insert, list(rows))
        now = dt.datetime.now(dt.timezone.utc)
        for key, rule in self._touched.items():
            if rule.keep is None and rule.age is None:
                continue
            # The ISO times compare as text (all UTC, same width).
            before = "~" if rule.age is None else (now - rule.age).isoformat()[:26]
            cursor.execute(sql.trim, (key, key, rule.keep or 0, before))


class RevisionsStorage(Storage):
    """The revision calls of ``Storage`` on the relational core: its ``meta`` row and its
    ``revisions`` table, through the dialect's connections and ``_revision_sql``."""

    _revision_sql: RevisionStatements

    # The relational core's, declared for the type checker.
    _errors: ClassVar[type[DriverErrors]]
    _sql: Any

    def _connection(self) -> Any:
        raise NotImplementedError

    def _revision_transaction(self) -> AbstractContextManager[Any]:
        """A connection in a write transaction of the dialect's (``import_revisions``)."""
        raise NotImplementedError

    def _next_etag(self, conn: Any) -> int:
        raise NotImplementedError

    def configure_revisions(self, configuration: dict[str, Any]) -> int:
        kept = dumps(check_configuration(configuration)).decode()
        index = time.time_ns() // 1000  # grows with each change without reading the last
        with self._errors("write the revisions configuration"), self._connection() as conn:
            conn.execute(self._sql.put_meta, (CONFIGURATION, kept))
        return index

    def get_revisions(self, document_id: str, start: int = 0, page_size: int = 25) -> RevisionsPage:
        validate_id(document_id)
        key = document_id.lower()
        sql = self._revision_sql
        with self._errors("read revisions"), self._connection() as conn:
            total = conn.execute(sql.total, (key,)).fetchone()[0]
            rows = conn.execute(sql.page, (key, page_size, start)).fetchall() if page_size else []
        return RevisionsPage([_revision(row) for row in rows], total)

    def get_revisions_by_change_vector(
        self, change_vectors: Sequence[str]
    ) -> dict[str, DocumentRecord]:
        found: dict[str, DocumentRecord] = {}
        with self._errors("read revisions"), self._connection() as conn:
            for change_vector in dict.fromkeys(change_vectors):
                if not _storable(change_vector):  # no revision has it: not found
                    continue
                row = conn.execute(self._revision_sql.by_change_vector, (change_vector,)).fetchone()
                if row is not None:
                    found[change_vector] = _revision(row)
        return found

    def get_revision_before(self, document_id: str, before: dt.datetime) -> DocumentRecord | None:
        validate_id(document_id)
        # Revisions' times are fixed-width ISO text in UTC: they compare as text.
        values = (document_id.lower(), revision_time(before))
        with self._errors("read revisions"), self._connection() as conn:
            row = conn.execute(self._revision_sql.before, values).fetchone()
        return None if row is None else _revision(row)

    def get_revisions_configuration(self) -> dict[str, Any] | None:
        with self._errors("read the revisions configuration"), self._connection() as conn:
            row = conn.execute(self._sql.get_meta, (CONFIGURATION,)).fetchone()
        return None if row is None else dict(loads(row[0]))

    def import_revisions(self, revisions: Sequence[DocumentRecord]) -> int:
        sql = self._revision_sql
        kept = 0
        with self._errors("import revisions"), self._revision_transaction() as conn:
            for revision in revisions:
                if conn.execute(sql.by_change_vector, (revision.change_vector,)).fetchone():
                    continue
                # An etag of the database's: revisions keep their order among a document's
                # others (and the bin's among deletes), before any written after.
                etag = self._next_etag(conn)
                data = revision.data.decode() if sql.text else revision.data
                values = (revision.id.lower(), etag, revision.id, revision.collection)
                conn.execute(
                    sql.insert, (*values, revision.change_vector, revision.last_modified, data)
                )
                kept += 1
        return kept

    def get_revisions_bin(self, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        found: list[DocumentRecord] = []
        if not page_size:
            return found
        with self._errors("read the revisions bin"), self._connection() as conn:
            cursor = conn.execute(self._revision_sql.bin)
            # A newest revision that is not a delete revision (its collection kept none when
            # it was deleted) is no bin entry; the flags are read here, not in each dialect.
            while rows := cursor.fetchmany(100):
                for row in rows:
                    revision = _revision(row)
                    if not _deleted(revision):
                        continue
                    if start:
                        start -= 1
                        continue
                    found.append(revision)
                    if len(found) == page_size:
                        return found
        return found


def _deleted(revision: DocumentRecord) -> bool:
    """Whether ``revision`` is a delete revision."""
    metadata = loads(revision.data).get("@metadata")
    flags = metadata.get("@flags") if type(metadata) is dict else None
    return type(flags) is str and DELETE_REVISION in (f.strip() for f in flags.split(","))


def _storable(text: str) -> bool:
    """Whether ``text`` could be a stored change vector: no NUL (PostgreSQL's text cannot
    hold one) and no lone surrogate (no database's UTF-8 can)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _revision(row: Any) -> DocumentRecord:
    return DocumentRecord(row[0], bytes(row[1]), row[2], row[3], row[4])

"""User-defined indexes kept in step with the documents, written once for every SQL dialect.

Five tables hold them (format 5; ``_INDEXES_SCHEMA`` of each dialect):

- ``indexes``: one row per index (its name's key, name, definition in RavenDB's JSON, state,
  the etag and time it was created, its error count and last errors);
- ``index_entries``: the map's entries of each source document (index id, document key,
  sequence, entry JSON; for a map-reduce index also the entry's group key and its page of
  the group, indexed so that a group's or a page's entries are one range);
- ``index_references``: which document a map loaded (``LoadDocument``/``load``), so that a
  change to the loaded document maps the loading one again;
- ``reduce_results``: a map-reduce index's results, per group;
- ``reduce_pages``: a rereducible reduce of one page of a group
  (``index_reduce.GroupReduction._reduce_pages``).

Never stale: a batch calls ``IndexMaintenance.documents_changed`` inside its transaction,
after its writes, with the keys it touched. Every index that reads a touched document's
collection maps it again (its old entries deleted, the new inserted), documents that loaded a
touched document are mapped again too, and a map-reduce index reduces again only the groups
the changed entries left or joined (``relational.index_reduce``). A map that fails on one
document does not fail the write: the error is recorded against the index (its count and last
errors, RavenDB's index errors) and that document has no entries.

A document put in another collection than it was in loses its entries in the indexes of the
old one (``_moved`` finds them: one lookup of the entries' primary key for the documents put
in a collection some index does not read). Who loaded a touched document is looked up only
when some index's map may load (``CompiledIndex.loads_documents``).

The registry of indexes is cached per process as of a version in ``meta`` that every put,
delete and reset changes, so a batch on a collection no index reads costs one ``meta`` read
and that lookup (``relational.index_registry``, which records the errors too).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from rookdb.errors import IndexEvaluationError
from rookdb.storage.commands import PutCommand, ReadCheck
from rookdb.storage.relational.index_reduce import GroupReduction, page_of
from rookdb.storage.relational.index_registry import IndexRegistry, UserIndex, indexing_error
from rookdb.storage.relational.index_statements import IndexStatements

__all__ = [
    "BUILD_BATCH",
    "IndexMaintenance",
    "IndexStatements",
    "group_text",
    "written_keys",
]

#: Documents mapped per transaction when an index is built over an existing collection.
BUILD_BATCH = 1000


def group_text(key: tuple[Any, ...]) -> str:
    """The text of a group key (``CompiledIndex.group_key``): stable, and equal for equal
    keys."""
    return orjson.dumps(key, option=orjson.OPT_NON_STR_KEYS).decode()


class IndexMaintenance(IndexRegistry, GroupReduction):
    """The user-defined indexes of one database: the registry (cached as of
    ``INDEX_VERSION``) and their upkeep in a batch's transaction. ``key_list`` turns a list
    of keys into the parameter of the dialect's key-list test."""

    def __init__(
        self,
        sql: IndexStatements,
        get_meta: str,
        key_list: Callable[[list[Any]], Any],
        body: Callable[[bytes], str | None] | None = None,
    ):
        """``body``: where entries have a ``body`` column (``IndexStatements.of``), the text
        of an entry's ``body`` from its JSON (None: the JSON itself)."""
        super().__init__(sql, get_meta)
        self._body = body
        self._key_list = key_list

    def documents_changed(
        self, conn: Any, keys: Iterable[tuple[str, str | None]], version: str | None = None
    ) -> None:
        """Inside a batch's transaction, after its writes: index again the documents whose
        keys it put or deleted (their rows as the batch left them), and the documents that
        loaded them. ``keys``: (key, the collection the batch put it in, or None where the
        batch does not say: a delete, an attachment). ``version`` as for ``registry``."""
        indexes = self.registry(conn, version)
        if not indexes:
            return
        given: dict[str, str | None] = {}
        for key, collection in keys:
            # A key written twice: its collection is known only if both times say it.
            given[key] = collection if given.get(key, collection) == collection else None
        touched = list(given)
        if not touched:
            return
        # The rows of the documents an index may read: those of a collection some index
        # reads, and those whose collection the batch does not say (deletes, attachments).
        # A batch on a collection no index reads reads none.
        read = [
            key
            for key, collection in given.items()
            if collection is None or any(i.compiled.reads(collection) for i in indexes)
        ]
        current = self._rows(conn, read) if read else {}
        unread = set(touched).difference(read)
        # Documents to map again per index, beyond those of the collections it reads: the
        # documents that loaded a touched one (looked up only where a map may load), and a
        # document that left a collection the index reads for one it does not (its old
        # entries go, in this transaction).
        more: dict[int, set[str]] = {}
        if any(i.compiled.loads_documents for i in indexes):
            for index_id, key in conn.execute(
                self._sql.referencing, (self._key_list(touched),)
            ).fetchall():
                more.setdefault(int(index_id), set()).add(str(key))
        # Where each touched document is now (deletes: nowhere).
        now = {
            key: c if c is not None else current[key][1]
            for key, c in given.items()
            if c is not None or key in current
        }
        for index_id, key in self._moved(conn, indexes, now):
            more.setdefault(index_id, set()).add(key)
        for index in indexes:
            wanted = [
                key
                for key in touched
                if key not in unread
                and (key not in current or index.compiled.reads(current[key][1]))
            ]
            again = more.get(index.id, set()).difference(wanted)
            if wanted or again:
                self.map_documents(conn, index, [*wanted, *sorted(again)], current)

    def _moved(
        self,
        conn: Any,
        indexes: Sequence[UserIndex],
        collections: dict[str, str],
    ) -> list[tuple[int, str]]:
        """The (index id, key) of entries that documents (``key -> collection``) hold in
        indexes that do not read their collection (they were in another when mapped): one
        lookup of the entries' primary key, run only when some index does not read a
        touched document's collection."""
        ids: set[int] = set()
        keys: set[str] = set()
        for key, collection in collections.items():
            others = [i.id for i in indexes if not i.compiled.reads(collection)]
            if others:
                ids.update(others)
                keys.add(key)
        if not keys:
            return []
        rows = conn.execute(
            self._sql.holding, (self._key_list(sorted(ids)), self._key_list(sorted(keys)))
        ).fetchall()
        readers = {i.id: i.compiled for i in indexes}
        return [
            (int(index_id), str(key))
            for index_id, key in rows
            if not readers[int(index_id)].reads(collections[str(key)])
        ]

    def _rows(self, conn: Any, keys: list[str]) -> dict[str, tuple[str, str, bytes]]:
        """``key -> (id, collection, data)`` of the documents among ``keys``."""
        rows = conn.execute(self._sql.documents, (self._key_list(keys),)).fetchall()
        return {
            str(k): (str(i), str(c), bytes(d) if not isinstance(d, str) else d.encode())
            for k, i, c, d in rows
        }

    def map_documents(
        self,
        conn: Any,
        index: UserIndex,
        keys: Sequence[str],
        known: dict[str, tuple[str, str, bytes]] | None = None,
    ) -> None:
        """Map ``keys`` again for ``index`` (those that no longer exist, or that it does not
        read, lose their entries), then reduce again the groups they left or joined.
        Idempotent: the index ends as if built from the documents as they are now."""
        sql, compiled = self._sql, index.compiled
        keys = list(dict.fromkeys(keys))
        found = dict(known or {})
        missing = [k for k in keys if k not in found]
        if missing:
            found.update(self._rows(conn, missing))
        key_list = self._key_list(keys)
        # Two transactions never map one document at once (a build's page, a batch that wrote
        # it, a batch that wrote a document it loaded): each locks the documents it maps (a
        # batch holds those it wrote already), so the second waits, then sees the first's
        # entries. Row locks, not advisory ones: a batch of 100,000 keys would exhaust
        # PostgreSQL's lock table.
        conn.execute(sql.lock_keys, (self._key_list(sorted(keys)),)).fetchall()
        left: set[tuple[str, int]] = set()  # the (group, page)s entries of these keys leave
        if compiled.is_map_reduce:
            left.update(
                (str(g), int(p))
                for g, p in conn.execute(sql.old_groups, (index.id, key_list)).fetchall()
            )
        conn.execute(sql.delete_entries, (index.id, key_list))
        conn.execute(sql.delete_references, (index.id, key_list))

        def load(document_id: str) -> dict[str, Any] | None:
            if not isinstance(document_id, str) or not document_id:
                return None
            row = conn.execute(sql.document, (document_id.lower(),)).fetchone()
            if row is None:
                return None
            data = row[2] if isinstance(row[2], str) else bytes(row[2])
            loaded: dict[str, Any] | None = _with_id(orjson.loads(data), str(row[0]))
            return loaded

        entries: list[tuple[str, int, dict[str, Any]]] = []
        references: list[tuple[int, str, str]] = []
        errors: list[dict[str, Any]] = []
        for key in keys:
            row = found.get(key)
            if row is None or not compiled.reads(row[1]):
                continue
            document_id, collection, data = row
            try:
                output = compiled.map(_with_id(orjson.loads(data), document_id), collection, load)
            except IndexEvaluationError as exc:
                errors.append(indexing_error(document_id, "Map", exc))
                continue
            entries.extend((key, seq, entry) for seq, entry in enumerate(output.entries))
            references.extend(
                (index.id, key, ref.lower()) for ref in output.loaded_ids if isinstance(ref, str)
            )
        group_keys: list[str | None] = [None] * len(entries)
        if compiled.is_map_reduce and entries:
            try:
                group_keys = [group_text(k) for k in compiled.group_keys([e for *_, e in entries])]
            except IndexEvaluationError as exc:
                errors.append(indexing_error(None, "Reduce", exc))
                entries, group_keys = [], []
        if entries:
            conn.cursor().executemany(
                sql.insert_entry,
                [
                    (index.id, key, seq, group, page_of(key), *self._texts(entry))
                    for (key, seq, entry), group in zip(entries, group_keys, strict=True)
                ],
            )
        if references:
            conn.cursor().executemany(sql.insert_reference, references)
        if compiled.is_map_reduce:
            joined: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for (key, _, entry), group in zip(entries, group_keys, strict=True):
                if group is not None:
                    joined.setdefault((group, page_of(key)), []).append(entry)
            # Writers that touch one group reduce it one after the other, each from every
            # entry (or result) committed before it: a lock per bucket of groups (a bounded
            # number per index, however many groups a batch touches), taken in bucket order
            # so that no two writers wait for each other.
            pages: dict[str, set[int]] = {}
            for group, page in left | set(joined):
                pages.setdefault(group, set()).add(page)
            touched = sorted(pages, key=lambda g: (_bucket(g), g))
            for bucket in sorted({_bucket(g) for g in touched}):
                conn.execute(sql.lock_group, (index.id, bucket))
            for group in touched:
                if compiled.rereducible:
                    errors.extend(
                        self._reduce_pages(conn, index, group, pages[group], left, joined)
                    )
                else:
                    errors.extend(self._reduce_group(conn, index, group))
        if errors:
            self._record_errors(conn, index, errors)

    def _texts(self, value: Any) -> tuple[str, ...]:
        """The column values of an entry or result: its JSON, and its ``body`` if kept."""
        data = orjson.dumps(value)
        if self._body is None:
            return (data.decode(),)
        text = data.decode()
        return text, self._body(data) or text


#: Group locks per index: a group's lock is its bucket's.
GROUP_LOCK_BUCKETS = 64


def _bucket(group: str) -> int:
    return zlib.crc32(group.encode()) % GROUP_LOCK_BUCKETS


def written_keys(commands: Sequence[Any], ids: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """The keys of the documents ``commands`` write (their final ``ids``), with the collection
    of a put (None for the others): every command's but a read check's, and an attachment
    copy's or move's destination too."""
    for command, document_id in zip(commands, ids, strict=True):
        if type(command) is ReadCheck:
            continue
        yield document_id.lower(), command.collection if type(command) is PutCommand else None
        destination = getattr(command, "destination_id", None)
        if isinstance(destination, str):
            yield destination.lower(), None


def _with_id(document: Any, document_id: str) -> Any:
    """The document as a map reads it: its ``@metadata`` carries its ``@id``."""
    if isinstance(document, dict):
        metadata = document.get("@metadata")
        document["@metadata"] = {
            **(metadata if isinstance(metadata, dict) else {}),
            "@id": document_id,
        }
    return document

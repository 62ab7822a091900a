"""A map-reduce index's groups reduced again, in the transaction of the change that touched them.

``IndexMaintenance.map_documents`` finds the groups (and, of a rereducible reduce, the pages of
a group: ``PAGES``, by a hash of the entry's document key) that the entries
it wrote or deleted left or joined, takes their locks (one per bucket of groups,
``index_maintenance.GROUP_LOCK_BUCKETS``, in bucket order) and hands each group to
``GroupReduction``, a base of ``IndexMaintenance``:

- ``_reduce_group``: a reduce that is not rereducible (``Count()``, ``Average``, JavaScript)
  reduces the group from all its map entries, in place of its results;
- ``_reduce_pages``: a rereducible one goes two levels deep, each touched page from its entries
  (or from its last reduce and the entries that joined it), then the group from its pages'
  reduces (the ``reduce_pages`` table), so an update of one document of a large group reads a
  page's entries and the group's page reduces, not every entry.

A reduce that fails leaves the group without results and answers the error to record
(``index_registry.indexing_error``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from rookdb.errors import IndexEvaluationError
from rookdb.storage.relational.index_registry import UserIndex, indexing_error

if TYPE_CHECKING:
    from rookdb.storage.relational.index_statements import IndexStatements

__all__ = ["PAGES", "GroupReduction", "page_of"]

#: Pages per group of a rereducible map-reduce index: a group is reduced from its pages'
#: reduces, a page from its entries (``GroupReduction._reduce_pages``).
PAGES = 64


def page_of(key: str) -> int:
    """The page of a group that the entries of the document ``key`` belong to."""
    return zlib.crc32(key.encode()) % PAGES


class GroupReduction:
    """The reduce of the groups a change touched, for ``IndexMaintenance``."""

    if TYPE_CHECKING:  # what it uses of IndexMaintenance, which defines them
        _sql: IndexStatements
        _key_list: Callable[[list[Any]], Any]

        def _texts(self, value: Any) -> tuple[str, ...]: ...

    def _reduce_group(self, conn: Any, index: UserIndex, group: str) -> list[dict[str, Any]]:
        """Reduce ``group`` of ``index`` from all its map entries, in place of its results
        (a reduce that is not rereducible: ``Count()``, ``Average``, JavaScript)."""
        sql = self._sql  # the caller holds the group's lock
        conn.execute(sql.delete_group, (index.id, group))
        rows = sorted(conn.execute(sql.group_entries, (index.id, group)).fetchall())
        if not rows:
            return []
        try:
            results = index.compiled.reduce([orjson.loads(e) for _, _, e in rows])
        except IndexEvaluationError as exc:
            return [indexing_error(None, "Reduce", exc)]
        self._insert_results(conn, index, group, results)
        return []

    def _reduce_pages(
        self,
        conn: Any,
        index: UserIndex,
        group: str,
        pages: set[int],
        left: set[tuple[str, int]],
        joined: dict[tuple[str, int], list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """Reduce ``group`` of a rereducible ``index`` again, two levels deep: each touched
        page of the group (its entries whose keys hash to it, ``PAGES`` per group) is reduced
        from the page's entries, or, when entries only joined it, from its last reduce and
        the new entries; then the group from its pages' reduces. An update of one document
        of a group of 12,500 reads about 200 entries and 64 page reduces, not 12,500."""
        sql = self._sql  # the caller holds the group's lock
        partials: dict[int, list[Any]] = {}
        for page, _, result in sorted(conn.execute(sql.group_pages, (index.id, group))):
            partials.setdefault(int(page), []).append(orjson.loads(result))
        for page in sorted(pages):
            partial: list[Any] = []
            if (group, page) not in left and partials.get(page):
                partial = [*partials[page], *joined.get((group, page), ())]
            else:  # entries left it, or it has no reduce yet (new, or failed): from entries
                rows = sorted(conn.execute(sql.page_entries, (index.id, group, page)))
                partial = [orjson.loads(e) for _, _, e in rows]
            if not partial:
                partials.pop(page, None)
                continue
            try:
                partials[page] = index.compiled.reduce(partial)
            except IndexEvaluationError as exc:
                conn.execute(sql.delete_pages, (index.id, group, self._key_list(sorted(pages))))
                conn.execute(sql.delete_group, (index.id, group))
                return [indexing_error(None, "Reduce", exc)]
        conn.execute(sql.delete_pages, (index.id, group, self._key_list(sorted(pages))))
        conn.cursor().executemany(
            sql.insert_page,
            [
                (index.id, group, page, seq, orjson.dumps(r).decode())
                for page in sorted(pages)
                for seq, r in enumerate(partials.get(page, ()))
            ],
        )
        conn.execute(sql.delete_group, (index.id, group))
        every = [r for page in sorted(partials) for r in partials[page]]
        if not every:
            return []
        try:
            results = index.compiled.reduce(every)
        except IndexEvaluationError as exc:
            return [indexing_error(None, "Reduce", exc)]
        self._insert_results(conn, index, group, results)
        return []

    def _insert_results(
        self, conn: Any, index: UserIndex, group: str, results: list[dict[str, Any]]
    ) -> None:
        conn.cursor().executemany(
            self._sql.insert_result,
            [(index.id, group, seq, *self._texts(r)) for seq, r in enumerate(results)],
        )

"""The automatic indexes of one PostgreSQL schema (SPEC Q4): the registry,
building, keeping full-text tables in step with writes, and replacing indexes of older forms.

Plain paths get two B-tree expression indexes on ``documents`` (``compiler`` queries them), array
paths share one GIN containment index on ``body``, and each ``search`` field has a table of its
documents' lexemes (``tsvector``) with a GIN index. Index creation holds the schema's index lock
exclusively and batches hold it shared, so no batch misses a full-text table made meanwhile.

No document is too big for them: a B-tree entry holds about 2,700 bytes, so the expression
indexes hold bounded forms of values (``value_conditions.indexed``), and a ``tsvector``
less than 1 MB of lexemes, so a document's lexemes fill as many rows of its search table as
they need.
Indexes an older rookdb made (whole values, one row per document: a big value at an indexed
path could not be written) are rebuilt in these forms when a store opens the database
(``outdated``, ``upgrade``), under the index lock, so once. Older versions still read and
write an upgraded database correctly; one that makes an index anew makes it in its old form,
which the next store to open the database rebuilds.

A path's B-tree indexes are named ``auto/<path>~<digest>`` (``auto_indexes.sql_index_name``),
a name no other path's index, nor the GIN index (``auto/containment``), can have. They were
``auto/<path>``: a field named ``containment`` and array paths shared a name, and the second
``CREATE INDEX IF NOT EXISTS`` did nothing. A store opening the database renames an index
of such a name to the name now (a query of its path from another collection would otherwise
make a second), and makes one it kept from being made.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from rookdb.evaluate import search_text
from rookdb.fulltext import tokenize
from rookdb.storage.postgres import compiler, value_conditions
from rookdb.storage.relational import entry_indexes
from rookdb.storage.relational.auto_indexes import Registry, RegistryCache, sql_index_name

__all__ = ["SchemaIndexes", "entry_index", "searched"]


def _search_rows(key: str, document: Any, path: str) -> list[tuple[str, list[str]]]:
    """The rows of ``document`` (as ``key``) in the search table of ``path``."""
    return [
        (key, lexemes) for lexemes in compiler.lexeme_rows(tokenize(search_text(document, path)))
    ]


def searched(registry: Registry) -> bool:
    """Whether any collection has a full-text index, which every write keeps in step
    (``SchemaIndexes.maintain``)."""
    return any(kind == "search" for indexes in registry.values() for (_, kind) in indexes)


#: Marks of the current form in ``pg_get_indexdef`` of the expression indexes (a field path,
#: letters, digits and ``_ - @ .``, cannot hold a parenthesis). It writes ``left``, a
#: keyword, quoted: ``"left"(`` (the text form has no other).
_BOUNDED = ('"left"(', "left(", "jsonb_object(")
#: The suffixes of a plain path's two B-tree indexes' names: its bounded jsonb, its text.
_FORMS = ("", "/text")
#: The name of the one GIN index of array paths.
_CONTAINMENT = "auto/containment"


def _earlier_name(path: str, suffix: str = "") -> str | None:
    """The name rookdb gave the B-tree index of ``path`` before names had its digest: that
    path's where an index has it, but for the GIN index's name (None)."""
    name = f"auto/{path}{suffix}"
    if len(name.encode()) > 63:
        name = f"auto/{hashlib.sha256(path.encode()).hexdigest()[:24]}{suffix}"
    return None if name == _CONTAINMENT else name


@dataclasses.dataclass(frozen=True)
class _Catalog:
    """The automatic indexes on ``documents`` as the catalog has them (``names``), those of
    an older form (``old``), search tables keyed by document (table, primary key
    constraint), indexes of the current form under the names of before (``earlier``: each
    with its name now), a path's index of an older form under the GIN index's name
    (``misplaced``), and the registry's plain paths and whether it has array paths: what
    ``SchemaIndexes.upgrade`` does."""

    names: frozenset[str]
    old: list[str]
    keyed: list[tuple[str, str]]
    earlier: list[tuple[str, str]]
    misplaced: list[str]
    paths: list[str]
    arrays: bool

    def missing(self, present: frozenset[str]) -> dict[str, list[str]]:
        """The forms (``_FORMS``) of each plain path that no index of ``present`` is."""
        missing: dict[str, list[str]] = {}
        for path in self.paths:
            for form in _FORMS:
                if SchemaIndexes._index_name(path, form) not in present:
                    missing.setdefault(path, []).append(form)
        return missing

    def outdated(self) -> bool:
        return bool(
            self.old
            or self.keyed
            or self.earlier
            or self.misplaced
            or self.missing(self.names)
            or (self.arrays and _CONTAINMENT not in self.names)
        )


def entry_index(schema: str, index_id: int, path: str) -> list[str]:
    """The statements that make the B-tree indexes of ``path`` over index ``index_id``'s
    entries in ``schema`` (quoted) (``relational.entry_indexes``): those of a plain path of
    the documents (``SchemaIndexes._expression_indexes``), over the entries' ``body``,
    partial to the index's entries (its id a literal)."""
    # A validated path (letters, digits, _ - @ and dots): safe in quoted names.
    value, text = value_conditions.indexed(*compiler.chain(path))
    where = f"WHERE idx = {int(index_id)}"
    name = entry_indexes.name
    return [
        f'CREATE INDEX IF NOT EXISTS "{name(index_id, path)}" '
        f"ON {schema}.index_entries (({value})) {where}",
        f'CREATE INDEX IF NOT EXISTS "{name(index_id, path, entry_indexes.TEXT_SUFFIX)}" '
        f'ON {schema}.index_entries (({text}) COLLATE "C") {where}',
    ]


class SchemaIndexes(RegistryCache):
    """The automatic indexes of one schema."""

    def __init__(self, schema: str) -> None:
        super().__init__()
        self._schema = schema
        self._s = f'"{schema}"'

    def registry(self, conn: psycopg.Connection[Any]) -> Registry:
        """The registry, re-read if another connection or process changed it."""
        row = conn.execute(
            f"SELECT value FROM {self._s}.meta WHERE name = 'index_version'"
        ).fetchone()
        assert row is not None
        return self.as_of(
            int(row[0]),
            lambda: conn.execute(
                f"SELECT id, collection_key, path, kind FROM {self._s}.auto_indexes"
            ).fetchall(),
        )

    def search_table(self, index_id: int) -> str:
        return f'{self._s}."auto_search_{index_id}"'

    @staticmethod
    def _index_name(path: str, suffix: str = "") -> str:
        """The name of a B-tree index of ``path`` (``suffix``: one of ``_FORMS``)."""
        return sql_index_name("auto/", path, suffix)

    def create(
        self, conn: psycopg.Connection[Any], collection: str, paths: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        """Inside the caller's transaction, which holds the schema's index lock: register and
        build the indexes ``paths`` (``(path, kind)``), up to ``cap`` for the collection;
        those this call made."""
        made: list[tuple[str, str]] = []
        s = self._s
        key = collection.lower()
        row = conn.execute(
            f"SELECT count(*) FROM {s}.auto_indexes WHERE collection_key = %s", (key,)
        ).fetchone()
        count = row[0] if row else 0
        for path, kind in paths:
            if count >= cap:
                break
            row = conn.execute(
                f"INSERT INTO {s}.auto_indexes (collection, collection_key, path, kind) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                (collection, key, path, kind),
            ).fetchone()
            if row is None:
                continue  # another process made it first
            count += 1
            made.append((path, kind))
            index_id = row[0]
            if kind == "expression":
                self._expression_indexes(conn, path)
            elif kind == "values":
                self._containment_index(conn)
            else:
                table = self.search_table(index_id)
                # Rows, not a key: a document's lexemes may need several.
                conn.execute(
                    f'CREATE TABLE {table} (key text COLLATE "C" NOT NULL, '
                    "tokens tsvector NOT NULL)"
                )
                conn.execute(f"CREATE INDEX ON {table} (key)")
                conn.execute(f"CREATE INDEX ON {table} USING gin (tokens)")
                documents = conn.execute(
                    f"SELECT key, data FROM {s}.documents WHERE collection_key = %s", (key,)
                ).fetchall()
                with conn.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {table} VALUES (%s, array_to_tsvector(%s::text[]))",
                        [r for k, d in documents for r in _search_rows(k, orjson.loads(d), path)],
                    )
        # Expression indexes have statistics of their own: without them the planner guesses.
        conn.execute(f"ANALYZE {s}.documents")
        conn.execute(
            f"UPDATE {s}.meta SET value = (value::bigint + 1)::text WHERE name = 'index_version'"
        )
        return made

    def _expression_indexes(
        self, conn: psycopg.Connection[Any], path: str, forms: Sequence[str] = _FORMS
    ) -> None:
        """The B-tree indexes of a plain path, if missing: its bounded jsonb (form ``""``),
        for equality and numbers, and its bounded text in code-point order (``"/text"``),
        for strings."""
        # A validated path (letters, digits, _ - @ and dots): safe in quoted names.
        value, text = value_conditions.indexed(*compiler.chain(path))
        on = {"": f"({value})", "/text": f'({text}) COLLATE "C"'}
        for form in forms:
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{self._index_name(path, form)}" '
                f"ON {self._s}.documents (collection_key, {on[form]})"
            )

    def _containment_index(self, conn: psycopg.Connection[Any]) -> None:
        """The GIN index of array paths, if missing."""
        conn.execute(
            f'CREATE INDEX IF NOT EXISTS "{_CONTAINMENT}" '
            f"ON {self._s}.documents USING gin (body jsonb_path_ops)"
        )

    def _catalog(self, conn: psycopg.Connection[Any]) -> _Catalog:
        """The automatic indexes as the catalog and the registry say they are."""
        found = {
            str(name): str(definition)
            for name, definition in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
                "AND tablename = 'documents' AND starts_with(indexname, 'auto/')",
                (self._schema,),
            )
        }
        keyed = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'p' "
            "AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s) "
            "AND starts_with(conname, 'auto_search_')",
            (self._schema,),
        ).fetchall()
        kinds = conn.execute(
            f"SELECT DISTINCT path, kind FROM {self._s}.auto_indexes "
            "WHERE kind IN ('expression', 'values') ORDER BY path"
        ).fetchall()
        paths = [str(path) for path, kind in kinds if kind == "expression"]
        bounded = {
            name: any(mark in definition for mark in _BOUNDED) for name, definition in found.items()
        }
        btree = {name: " USING gin " not in definition for name, definition in found.items()}
        earlier = [
            (name, self._index_name(path, form))
            for path in paths
            for form in _FORMS
            if (name := _earlier_name(path, form)) in found and bounded[name]
        ]
        if btree.get(_CONTAINMENT) and bounded[_CONTAINMENT]:
            # A field named ``containment``'s B-tree index, under the GIN index's name.
            earlier.append((_CONTAINMENT, self._index_name("containment")))
        return _Catalog(
            names=frozenset(found),
            # Expression indexes holding whole values.
            old=[
                name for name in found if name != _CONTAINMENT and not bounded[name] and btree[name]
            ],
            keyed=[(str(table), str(constraint)) for table, constraint in keyed],
            earlier=earlier,
            misplaced=[
                name for name in found if name == _CONTAINMENT and btree[name] and not bounded[name]
            ],
            paths=paths,
            arrays=any(kind == "values" for _, kind in kinds),
        )

    def outdated(self, conn: psycopg.Connection[Any]) -> bool:
        """Whether some automatic index is of an older form (an older rookdb made it), has
        the name of before, or is missing (an older rookdb's name of another index kept it
        from being made)."""
        return self._catalog(conn).outdated()

    def upgrade(self, conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
        """Inside the caller's transaction, which holds the schema's index lock exclusively:
        rebuild the indexes of older forms in this one, rename those of the names of before
        (in the catalog only: a query of a path from another collection would otherwise make
        a second index of it, kept up to date by every write), and make those missing; what
        it did, as (index name, what was done)."""
        catalog = self._catalog(conn)
        done: list[tuple[str, str]] = []
        dropped = catalog.old + catalog.misplaced
        for name in dropped:
            conn.execute(f'DROP INDEX {self._s}."{name}"')
        present = set(catalog.names) - set(dropped)
        for name, new in catalog.earlier:
            if new in present:  # made by a query of another process meanwhile
                conn.execute(f'DROP INDEX {self._s}."{name}"')
                done.append((name, "dropped (a copy of one of its new name)"))
            else:
                conn.execute(f'ALTER INDEX {self._s}."{name}" RENAME TO "{new}"')
                present.add(new)
                done.append((new, f"renamed from {name!r}"))
            present.discard(name)
        for table, constraint in catalog.keyed:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            conn.execute(f"CREATE INDEX ON {table} (key)")
            done.append((table, "rebuilt in its new form"))
        # Rebuilt, not made: those of an index in an older form before.
        earlier = {
            self._index_name(path, form)
            for path in catalog.paths
            for form in _FORMS
            if _earlier_name(path, form) in dropped
        }
        if catalog.misplaced:
            earlier.add(self._index_name("containment"))
        missing = catalog.missing(frozenset(present))
        for path, forms in missing.items():
            self._expression_indexes(conn, path, forms)
            for form in forms:
                name = self._index_name(path, form)
                done.append((name, "rebuilt in its new form" if name in earlier else "made"))
        arrays = catalog.arrays and _CONTAINMENT not in present
        if arrays:
            self._containment_index(conn)
            done.append((_CONTAINMENT, "made"))
        if missing or arrays:
            conn.execute(f"ANALYZE {self._s}.documents")
        return done

    def maintain(
        self,
        conn: psycopg.Connection[Any],
        registry: Registry,
        final: dict[str, tuple[str, bytes] | None],
    ) -> None:
        """Keep full-text tables in step with a batch, in its transaction: ``final`` maps each
        key the batch touched to its new (collection, data), or None if deleted."""
        touched = list(final)
        for collection_key, indexes in registry.items():
            for (path, kind), index_id in indexes.items():
                if kind != "search":
                    continue
                table = self.search_table(index_id)
                # A document may have changed collection: clear every key from every table.
                conn.execute(f"DELETE FROM {table} WHERE key = ANY(%s)", (touched,))
                rows = [
                    row
                    for key, value in final.items()
                    if value is not None and value[0].lower() == collection_key
                    for row in _search_rows(key, orjson.loads(value[1]), path)
                ]
                if rows:
                    with conn.cursor() as cursor:
                        cursor.executemany(
                            f"INSERT INTO {table} VALUES (%s, array_to_tsvector(%s::text[]))",
                            rows,
                        )

"""The SQL text of the rules the relational core holds once (``relational.storage``), in one
dialect and for one database: built from the dialect's parameter mark, schema and columns, so
that SQLite and PostgreSQL run the same statements but for their spelling."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Statements"]


class Statements(NamedTuple):
    """The SQL text of the shared rules in one dialect, for one database (its tables)."""

    #: The record columns of the document whose key is the one parameter.
    get_one: str
    #: The key and record columns of the document whose key is the one parameter.
    get_keyed: str
    #: The key and record columns of the documents whose keys are the one parameter
    #: (``RelationalStorage._key_list``).
    get_many: str
    #: Record columns of keys in ``[low, high)`` in key order, then LIMIT and OFFSET.
    prefix: str
    #: Record columns of keys in ``(after, high)`` in key order, then LIMIT (a prefix stream).
    prefix_after: str
    #: Record columns of every document, the most recently written first, LIMIT and OFFSET.
    recent: str
    #: A cursor column and the record columns after a cursor, in its order, then LIMIT.
    stream: str
    #: As ``stream``, of one collection (``_collection_key``) after the cursor.
    stream_collection: str
    #: ``SELECT`` of the record columns ``FROM`` the documents ``WHERE``, to be completed.
    select: str
    #: ``SELECT`` of the record columns ``FROM``, to be completed by a derived table of the
    #: documents' columns named ``documents`` (``arms``).
    select_from: str
    #: ``SELECT`` of every column of the documents ``WHERE``, to be completed: a part of the
    #: ``UNION ALL`` of a query's arms (``RelationalStorage._arms``).
    arm: str
    #: The clause after a query's ORDER BY: LIMIT and OFFSET parameters.
    page: str
    #: ``SELECT count(*) FROM`` the documents ``WHERE``, to be completed.
    total: str
    #: The next value of an identity (its lower-cased prefix).
    identity: str
    #: Raise an identity to a value (its key, the value, force), returning its value.
    seed_identity: str
    #: Every identity (key, value), in key order.
    identities: str
    #: The value of a ``meta`` row (its name).
    get_meta: str
    #: Write a ``meta`` row (name, value).
    put_meta: str
    #: Documents per collection.
    counts: str
    #: The automatic indexes (collection, path, kind), in order.
    indexes: str

    @classmethod
    def of(
        cls, schema: str, mark: str, columns: str, cursor: str, collection: str, keys: str
    ) -> Statements:
        """The statements of tables in ``schema`` (``""`` or ``'"name".'``), with parameter
        ``mark`` (``?``, ``%s``), record ``columns``, the stream's ``cursor`` column, the test
        of one collection (``collection``, with a mark) and of a set of keys (``keys``)."""
        documents = f"{schema}documents"
        return cls(
            get_one=f"SELECT {columns} FROM {documents} WHERE key = {mark}",
            get_keyed=f"SELECT key, {columns} FROM {documents} WHERE key = {mark}",
            get_many=f"SELECT key, {columns} FROM {documents} WHERE {keys}",
            prefix=(
                f"SELECT {columns} FROM {documents} WHERE key >= {mark} AND key < {mark} "
                f"ORDER BY key LIMIT {mark} OFFSET {mark}"
            ),
            prefix_after=(
                f"SELECT {columns} FROM {documents} WHERE key > {mark} AND key < {mark} "
                f"ORDER BY key LIMIT {mark}"
            ),
            # No index on etag: each write would pay for one; this read is for tools.
            recent=(
                f"SELECT {columns} FROM {documents} ORDER BY etag DESC LIMIT {mark} OFFSET {mark}"
            ),
            stream=(
                f"SELECT {cursor}, {columns} FROM {documents} WHERE {cursor} > {mark} "
                f"ORDER BY {cursor} LIMIT {mark}"
            ),
            stream_collection=(
                f"SELECT {cursor}, {columns} FROM {documents} WHERE {cursor} > {mark} "
                f"AND {collection} ORDER BY {cursor} LIMIT {mark}"
            ),
            select=f"SELECT {columns} FROM {documents} WHERE ",
            select_from=f"SELECT {columns} FROM ",
            arm=f"SELECT * FROM {documents} WHERE ",
            page=f" LIMIT {mark} OFFSET {mark}",
            total=f"SELECT count(*) FROM {documents} WHERE ",
            identity=(
                f"INSERT INTO {schema}identities VALUES ({mark}, 1) ON CONFLICT (prefix) "
                "DO UPDATE SET value = identities.value + 1 RETURNING value"
            ),
            seed_identity=(
                f"INSERT INTO {schema}identities VALUES ({mark}, {mark}) ON CONFLICT (prefix) "
                f"DO UPDATE SET value = CASE WHEN {mark} OR identities.value < excluded.value "
                "THEN excluded.value ELSE identities.value END RETURNING value"
            ),
            identities=f"SELECT prefix, value FROM {schema}identities ORDER BY prefix",
            get_meta=f"SELECT value FROM {schema}meta WHERE name = {mark}",
            put_meta=(
                f"INSERT INTO {schema}meta VALUES ({mark}, {mark}) ON CONFLICT (name) "
                "DO UPDATE SET value = excluded.value"
            ),
            counts=(
                f"SELECT collection, count(*) FROM {documents} GROUP BY collection "
                "ORDER BY collection"
            ),
            indexes=(
                f"SELECT collection, path, kind FROM {schema}auto_indexes "
                "ORDER BY collection, path, kind"
            ),
        )

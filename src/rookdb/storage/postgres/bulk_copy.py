"""A bulk insert's chunk on PostgreSQL (``Storage.bulk_write``): ``COPY`` into a temporary
table, then one upsert from it, in one transaction.

``COPY ... FROM STDIN (FORMAT BINARY)`` streams the rows to the server as they are made, where
the batch path (``writes``) builds six arrays of parameters and unnests them. The upsert is
the batch path's own statement (``insert_from`` and ``OVERWRITE``: a new etag each, the change
vector ``A:<etag>-<database id>``, the last-modified, the jsonb ``body``), reading the copied
rows instead of the arrays; the transaction holds the index lock shared and keeps the
full-text tables in step, as every batch does (``PostgresWrites._lock_indexes``,
``SchemaIndexes.maintain``). So a document loaded this way is stored as a session would
have stored it: the same bytes and body, an etag, change vector and last-modified of its own.

The temporary table belongs to the pooled connection (made once per connection, emptied at
every commit and by a rollback), so a chunk leaves nothing behind, whatever happens.

Only a chunk as a bulk insert makes it takes this path (``copyable``): puts of complete ids,
each key once, none with an expected change vector. Anything else goes through ``apply``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from rookdb.storage.commands import PutCommand
from rookdb.storage.postgres.indexes import searched
from rookdb.storage.postgres.transactions import transaction
from rookdb.storage.postgres.write_statements import OVERWRITE, insert_from, jsonb_body
from rookdb.storage.records import document_key, last_modified_now
from rookdb.storage.relational.owned import stripped

if TYPE_CHECKING:
    from rookdb.storage.postgres.storage import PostgresStorage

__all__ = ["COPY_TABLE", "KeepsRevisions", "copyable", "upsert_statement", "write"]

#: The connection's temporary table of copied rows.
COPY_TABLE = "pg_temp.rookdb_bulk_chunk"

_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS rookdb_bulk_chunk (key text, id text, collection text, "
    "collection_key text, data bytea, body text) ON COMMIT DELETE ROWS"
)
_COPY = (
    f"COPY {COPY_TABLE} (key, id, collection, collection_key, data, body) "
    "FROM STDIN (FORMAT BINARY)"
)
_TYPES = ["text", "text", "text", "text", "bytea", "text"]


def upsert_statement(s: str) -> str:
    """The upsert of the copied rows into schema ``s``'s documents (parameters: the change
    vector's ``-<database id>`` and the last-modified)."""
    rows = f"SELECT c.*, nextval('{s}.etags') AS etag FROM {COPY_TABLE} AS c"
    return insert_from(s, rows) + OVERWRITE


def copyable(puts: Sequence[PutCommand]) -> bool:
    """Whether ``puts`` keep the rules of a bulk insert's chunk (``Storage.bulk_write``): a
    put of a complete id, each key once, no expected change vector. One upsert statement
    cannot write a key twice."""
    keys = set()
    for put in puts:
        if type(put) is not PutCommand or put.expected_change_vector is not None:
            return False
        if not put.id or put.id[-1] in "/|":
            return False
        keys.add(document_key(put.id))
    return len(keys) == len(puts)


class KeepsRevisions(Exception):
    """The chunk writes documents whose collection keeps revisions, or the database has
    counters or attachments (each put keeps its document's ``@counters`` and
    ``@attachments``), or a put's body claims either: write it as a batch. (User-defined
    indexes need not: this path maps the chunk's documents as the batch path does.)"""


def write(
    storage: PostgresStorage, conn: psycopg.Connection[Any], puts: Sequence[PutCommand]
) -> None:
    """Write ``puts`` (``copyable``) in one transaction of ``conn``."""
    now = last_modified_now()
    with transaction(conn, storage.begin_owned("BEGIN")):
        registry, rules, state, version = storage._lock_indexes(conn)
        if (
            state.owned
            or (rules is not None and any(rules.rule(put.collection) for put in puts))
            or any(stripped(put.data) is not put.data for put in puts)
        ):
            raise KeepsRevisions  # the batch path keeps them (and drops what a body claims)
        conn.execute(_CREATE)
        with conn.cursor() as cursor, cursor.copy(_COPY) as copy:
            copy.set_types(_TYPES)
            for put in puts:
                collection = put.collection
                copy.write_row(
                    (
                        put.id.lower(),  # document_key, inline: the loop is the hot path
                        put.id,
                        collection,
                        collection.lower(),
                        put.data,
                        jsonb_body(put.data),
                    )
                )
        conn.execute(storage._sql_copy_upsert, (f"-{storage._database_id}", now))
        if searched(registry):
            final: dict[str, tuple[str, bytes] | None] = {
                document_key(put.id): (put.collection, put.data) for put in puts
            }
            storage._indexes.maintain(conn, registry, final)
        if storage._user_indexes.registry(conn, version):
            storage._user_indexes.documents_changed(
                conn, [(document_key(put.id), put.collection) for put in puts], version
            )

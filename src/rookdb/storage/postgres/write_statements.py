"""The SQL of PostgreSQL's write path, and the jsonb text of the documents it writes.

``WriteStatements`` holds a batch's statements in one schema: the three put statements
(an upsert; a create, ``ON CONFLICT DO NOTHING``, for "must not exist"; an update whose
``WHERE`` is the expected change vector), each reading arrays of parameters (``unnest``) and
answering one row of two arrays; the delete; the read of current change vectors; the next
etag; the documents' key locks and the ``owned`` flag (``postgres.writes``' docstring).
``insert_from`` and ``OVERWRITE`` are shared with a bulk insert's ``COPY``
(``postgres.bulk_copy``); ``jsonb_body`` is the jsonb text of a document holding a NUL
character, which jsonb cannot store.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

__all__ = ["OVERWRITE", "WriteStatements", "insert_from", "jsonb_body", "jsonb_text"]


class WriteStatements(NamedTuple):
    """The statements of PostgreSQL's write path in one schema (``of``)."""

    upsert: str
    create: str
    update: str
    delete: str
    current: str
    next_etag: str
    lock_keys: str
    lock_keys_exclusive: str
    flag_owned: str

    @classmethod
    def of(cls, s: str, owned_lock: int) -> WriteStatements:
        """The statements in schema ``s``; ``owned_lock`` is the database's owned lock (the
        key locks take a space of their own beside it)."""
        insert = insert_from(s, _new_rows(s, "id"))
        # Per-document advisory locks in a space of their own (two int4 keys): shared by a
        # put that reads its document's counters and attachments, exclusive for a command that
        # changes them (``postgres.writes``' docstring). User-defined indexes' group locks take one
        # 64-bit key (``PostgresStorage``'s ``lock_group``), a lock space apart from these.
        space = -1 - (owned_lock & 0x7FFFFFFF)
        return cls(
            upsert=_as_arrays(insert + OVERWRITE + " RETURNING key, change_vector"),
            create=_as_arrays(insert + "ON CONFLICT (key) DO NOTHING RETURNING key, change_vector"),
            update=_as_arrays(
                f"UPDATE {s}.documents AS d SET collection = n.collection, "
                "collection_key = n.collection_key, etag = n.etag, "
                "change_vector = 'A:' || n.etag || %s, last_modified = %s, data = n.data, "
                "body = COALESCE(n.body, convert_from(n.data, 'UTF8'))::jsonb "
                f"FROM ({_new_rows(s, 'expected')}) AS n "
                "WHERE d.key = n.key AND d.change_vector = n.expected "
                "RETURNING d.key, d.change_vector"
            ),
            delete=(
                f"DELETE FROM {s}.documents AS d USING unnest(%b::text[], %b::text[]) "
                "AS u(key, expected) WHERE d.key = u.key "
                "AND (u.expected IS NULL OR d.change_vector = u.expected) "
                "RETURNING d.key, d.id, d.collection"
            ),
            current=f"SELECT key, change_vector FROM {s}.documents WHERE key = ANY(%s)",
            next_etag=f"SELECT nextval('{s}.etags')",
            lock_keys=(
                f"SELECT count(pg_advisory_xact_lock_shared({space}, hashtext(k))) "
                "FROM unnest(%s::text[]) AS k"
            ),
            lock_keys_exclusive=(
                f"SELECT count(pg_advisory_xact_lock({space}, hashtext(k))) "
                "FROM unnest(%s::text[]) AS k"
            ),
            flag_owned=(
                f"INSERT INTO {s}.meta (name, value) VALUES ('owned', '1') ON CONFLICT DO NOTHING"
            ),
        )


def jsonb_text(data: bytes) -> str:
    """The jsonb text of a document: ``jsonb_body``, or ``data`` itself."""
    return jsonb_body(data) or data.decode()


def jsonb_body(data: bytes) -> str | None:
    """The jsonb text of a document when it differs from ``data``: strings and keys holding a
    NUL character (jsonb cannot store one) cut there, or dropped for keys (no field path can
    name them). None means ``data`` itself."""
    if data.find(b"\\u0000") < 0:  # not ``in``: ``encoding``'s bytes searches
        return None

    def clean(value: Any) -> Any:
        if type(value) is str:
            nul = value.find("\x00")
            return value if nul == -1 else value[:nul]
        if type(value) is list:
            return [clean(v) for v in value]
        if type(value) is dict:
            return {k: clean(v) for k, v in value.items() if "\x00" not in k}
        return value

    return orjson.dumps(clean(orjson.loads(data))).decode()


#: What a put that overwrites sets (a plain put, a bulk insert's chunk).
OVERWRITE = (
    "ON CONFLICT (key) DO UPDATE SET collection = excluded.collection, "
    "collection_key = excluded.collection_key, etag = excluded.etag, "
    "change_vector = excluded.change_vector, last_modified = excluded.last_modified, "
    "data = excluded.data, body = excluded.body"
)


def insert_from(s: str, rows: str) -> str:
    """The INSERT of every put, from ``rows`` (key, id, collection, collection_key, data,
    body, etag): the change vector ``A:<etag>-<database id>`` and the last-modified as two
    parameters, the jsonb ``body`` the queries and automatic indexes read."""
    return (
        f"INSERT INTO {s}.documents AS d (key, id, collection, collection_key, etag, "
        "change_vector, last_modified, data, body) "
        "SELECT key, id, collection, collection_key, etag, 'A:' || etag || %s, %s, data, "
        f"COALESCE(body, convert_from(data, 'UTF8'))::jsonb FROM ({rows}) AS n "
    )


def _new_rows(s: str, second: str) -> str:
    """The rows a put statement writes, from arrays of parameters, each with a new etag."""
    # %b: arrays in binary format; in text format every bytea is hex-escaped, which costs the
    # client and the server about 10 µs per document (measured, 10,000 documents).
    return (
        f"SELECT u.*, nextval('{s}.etags') AS etag FROM unnest(%b::text[], %b::text[], "
        "%b::text[], %b::text[], %b::bytea[], %b::text[]) "
        f"AS u(key, {second}, collection, collection_key, data, body)"
    )


def _as_arrays(statement: str) -> str:
    """``statement`` (a put RETURNING key and change vector) answering one row of two arrays
    instead of a row per document: fewer objects to build and to collect."""
    return f"WITH w AS ({statement}) SELECT array_agg(key), array_agg(change_vector) FROM w"

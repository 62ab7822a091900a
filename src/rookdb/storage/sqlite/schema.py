"""The SQLite file's layout: its format (``FORMAT_VERSION``, ``FILE_SUFFIX``), its tables
(``SCHEMA``; the parts each format added, which an older file gets when it is opened), and the
SQL text over them that the relational core and the write path (``sqlite.writes``) run (the
statement tables, ``UPSERT``).
"""

from __future__ import annotations

from rookdb.storage.relational.attachments import AttachmentStatements
from rookdb.storage.relational.counters import CounterStatements
from rookdb.storage.relational.index_maintenance import IndexStatements
from rookdb.storage.relational.owned import OwnedLookup
from rookdb.storage.relational.revisions import RevisionStatements
from rookdb.storage.relational.statements import Statements

__all__ = [
    "ATTACHMENTS_SCHEMA",
    "ATTACHMENT_STATEMENTS",
    "COUNTERS_SCHEMA",
    "COUNTER_STATEMENTS",
    "FILE_SUFFIX",
    "FORMAT_VERSION",
    "INDEXES_SCHEMA",
    "INDEX_STATEMENTS",
    "OWNED_LOOKUP",
    "REVISIONS_SCHEMA",
    "REVISION_STATEMENTS",
    "SCHEMA",
    "STATEMENTS",
    "UPSERT",
]

#: The on-disk format this code writes and reads (``PRAGMA user_version``; SPEC D6). Version 2
#: keeps HiLo ranges in ``Raven/Hilo/<tag>`` documents; a version 1 file's ``hilo`` table
#: moves into them when it is opened (``SqliteStorage._upgrade_hilo``). Version 3 adds the
#: ``revisions`` table, created in an older file when it is opened. Version 4 adds the
#: attachment tables (``relational.attachments``) and the ``counters`` table
#: (``relational.counters``), created in an older file when it is opened. Version 5 adds the
#: tables of user-defined indexes (``relational.index_maintenance``), likewise.
#: (``SqliteStorage._initialize`` creates and upgrades them.)
FORMAT_VERSION = 5
FILE_SUFFIX = ".rookdb"

# Format 3 (``relational.revisions``): each document's revisions, beside it.
REVISIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS revisions (
    key TEXT NOT NULL,             -- the document's key
    etag INTEGER NOT NULL,         -- the version's etag: revisions in order
    id TEXT NOT NULL,
    collection TEXT NOT NULL,
    change_vector TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (key, etag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS revisions_by_change_vector ON revisions (change_vector)
"""

# Format 4 (``relational.counters``): each document's counters, beside it.
COUNTERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT NOT NULL,             -- the document's key
    name_key TEXT NOT NULL,        -- the counter's name lower-cased: names are case-insensitive
    name TEXT NOT NULL,            -- the name as first written
    value INTEGER NOT NULL,
    PRIMARY KEY (key, name_key)
) WITHOUT ROWID
"""

# Format 4 (``relational.attachments``): attachments, their contents once each, in chunks.
# The chunks' table has rowids: SQLite advises against WITHOUT ROWID for rows this big.
ATTACHMENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS attachments (
    key TEXT NOT NULL,             -- the document's key
    name_key TEXT NOT NULL,        -- the name lower-cased: names are case-insensitive
    name TEXT NOT NULL,            -- the name as written
    hash TEXT NOT NULL,            -- base64 BLAKE2b-256 of the content, as RavenDB's
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    change_vector TEXT NOT NULL,
    PRIMARY KEY (key, name_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attachments_by_hash ON attachments (hash);
CREATE TABLE IF NOT EXISTS attachment_contents (
    id INTEGER PRIMARY KEY,
    hash TEXT UNIQUE,              -- NULL while its chunks are being written
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS attachment_chunks (
    content INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (content, seq)
)
"""

# Format 5 (``relational.index_maintenance``): user-defined indexes, their map entries,
# the documents their maps loaded, and their reduce results.
INDEXES_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (
    id INTEGER PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE, -- the name lower-cased: names are case-insensitive
    name TEXT NOT NULL,
    definition TEXT NOT NULL,      -- RavenDB's JSON of the definition
    state TEXT NOT NULL,           -- 'Building' while existing documents are mapped, 'Normal'
    created_etag INTEGER NOT NULL, -- the database's last etag when it was put
    created TEXT NOT NULL,
    error_count INTEGER NOT NULL,
    errors TEXT NOT NULL           -- the last errors, JSON
);
CREATE TABLE IF NOT EXISTS index_entries (
    idx INTEGER NOT NULL,
    key TEXT NOT NULL,             -- the source document's key
    seq INTEGER NOT NULL,          -- the entry's place among the document's entries
    group_key TEXT,                -- a map-reduce index's group of the entry
    page INTEGER NOT NULL,         -- the entry's page of its group (a hash of the key)
    entry TEXT NOT NULL,
    PRIMARY KEY (idx, key, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS index_entries_by_group ON index_entries (group_key, idx, page);
CREATE TABLE IF NOT EXISTS index_references (
    idx INTEGER NOT NULL,
    key TEXT NOT NULL,             -- the document whose map loaded
    referenced TEXT NOT NULL,      -- the key of the document it loaded
    PRIMARY KEY (idx, key, referenced)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS index_references_by_referenced ON index_references (referenced);
CREATE TABLE IF NOT EXISTS reduce_results (
    idx INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (idx, group_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reduce_pages (
    idx INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    page INTEGER NOT NULL,         -- the reduce of one page of the group's entries
    seq INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (idx, group_key, page, seq)
) WITHOUT ROWID
"""

#: Every table of a new file, at ``FORMAT_VERSION``.
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS documents (
    key TEXT PRIMARY KEY,          -- the id lower-cased: ids are case-insensitive (S2)
    id TEXT NOT NULL,              -- the id as first written
    collection TEXT NOT NULL,
    etag INTEGER NOT NULL,
    change_vector TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    data TEXT NOT NULL             -- canonical JSON (D5), TEXT so the JSON1 functions read it
);
CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (collection COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS identities (prefix TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Automatic indexes (Q4): one row per (collection, field path) a query needed.
CREATE TABLE IF NOT EXISTS auto_indexes (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL COLLATE NOCASE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,            -- 'expression' (no arrays in the path), 'values', 'search'
    UNIQUE (collection, path, kind)
);
-- The candidates of array paths (rookdb.evaluate.candidates), kept with the documents.
CREATE TABLE IF NOT EXISTS auto_values (
    idx INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, value
);
CREATE INDEX IF NOT EXISTS auto_values_lookup ON auto_values (idx, type, value);
CREATE INDEX IF NOT EXISTS auto_values_by_key ON auto_values (key);
"""
    + REVISIONS_SCHEMA
    + ";"
    + COUNTERS_SCHEMA
    + ";"
    + ATTACHMENTS_SCHEMA
    + ";"
    + INDEXES_SCHEMA
)

#: A key list parameter (a JSON array) as a condition on ``key``.
_KEYS = "key IN (SELECT value FROM json_each(?))"
#: A document's new version, written by a forced revision or an attachment change (?2 is the
#: jsonb body PostgreSQL keeps; SQLite has none).
_NEW_VERSION = (
    "UPDATE documents SET data = ?1, etag = ?3, change_vector = ?4, last_modified = ?5 "
    "WHERE key = ?6 AND ?2 IS ?2"
)

# The relational core's SQL in SQLite's dialect (``relational.statements`` and the statement
# tables of revisions, counters, owned metadata, attachments and user-defined indexes).
STATEMENTS = Statements.of(
    schema="",
    mark="?",
    columns="id, CAST(data AS BLOB), change_vector, last_modified, collection",
    # rowid: insertion order (an upsert keeps a row's rowid); no index on etag needed.
    cursor="rowid",
    collection="+collection = ? COLLATE NOCASE",
    keys=_KEYS,
)
REVISION_STATEMENTS = RevisionStatements.of(
    "",
    "?",
    "id, CAST(data AS BLOB), change_vector, last_modified, collection",
    document=(
        "SELECT id, collection, etag, change_vector, last_modified, CAST(data AS BLOB) "
        "FROM documents WHERE key = ?"
    ),
    flag_document=_NEW_VERSION,
    text=True,
)
COUNTER_STATEMENTS = CounterStatements.of("", "?", _KEYS)
OWNED_LOOKUP = OwnedLookup.of("", _KEYS)
ATTACHMENT_STATEMENTS = AttachmentStatements.of(
    "",
    "?",
    "?",
    keys=_KEYS,
    new_content="INSERT INTO attachment_contents (hash, size) VALUES (NULL, 0) RETURNING id",
    lock_hash="SELECT ?",  # the batch holds the write lock already
    document=(
        "SELECT id, etag, change_vector, CAST(data AS BLOB), collection FROM documents "
        "WHERE key = ?"
    ),
    new_version=_NEW_VERSION,
    text=True,
)
INDEX_STATEMENTS = IndexStatements.of(
    "",
    "?",
    keys="{column} IN (SELECT value FROM json_each(?))",
    # An index build's pages (the one use) walk the key index from the last key: the unary +
    # keeps the planner off documents_by_collection, whose rows it would sort in full for
    # every page (a 100,000-document build paid 1.9 s of such sorts; 0.05 s walking keys).
    collection="+collection = ? COLLATE NOCASE",
    entry="{column} AS data",
    # A batch holds the database's write lock: nothing else maps or reduces meanwhile.
    lock_keys="SELECT ?",
    lock_group="SELECT ?, ?",
    by_group=" INDEXED BY index_entries_by_group",
    # Without statistics the planner rates ``idx = 3`` on the primary key as selective as
    # ``json_type(...) = 'array'`` on an expression index, and walks the index's entries:
    # a likelihood near 1 says what it is. The partial index's ``idx = 3`` is still implied.
    one_index="likelihood(idx = {index}, 0.9)",
)
#: A put's row, written or overwritten (the write path's ``executemany``; keeps the rowid).
UPSERT = (
    "INSERT INTO documents (key, id, collection, etag, change_vector, last_modified, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
    "collection = excluded.collection, etag = excluded.etag, "
    "change_vector = excluded.change_vector, last_modified = excluded.last_modified, "
    "data = excluded.data"
)

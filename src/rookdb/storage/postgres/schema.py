"""The layout of a rookdb database in its PostgreSQL schema: its format (``FORMAT_VERSION``,
kept in the ``meta`` table) and its tables (``SCHEMA``; the parts each format added, which an
older schema gets when it is opened). The DDL names the schema ``{s}`` (``str.format``); the
statements run on these tables are built per schema in ``postgres.storage`` and
``postgres.write_statements``.
"""

from __future__ import annotations

__all__ = [
    "ATTACHMENTS_SCHEMA",
    "COUNTERS_SCHEMA",
    "FORMAT_VERSION",
    "INDEXES_SCHEMA",
    "REVISIONS_SCHEMA",
    "SCHEMA",
]

#: The schema layout this code writes and reads (meta ``format_version``; SPEC D6). Version 2
#: keeps HiLo ranges in ``Raven/Hilo/<tag>`` documents; a version 1 schema's ``hilo`` table
#: moves into them when it is opened (``PostgresStorage._upgrade_hilo``). Version 3 adds the
#: ``revisions`` table, created in an older schema when it is opened. Version 4 adds the
#: attachment tables (``relational.attachments``) and the ``counters`` table
#: (``relational.counters``), created in an older schema when it is opened. Version 5 adds the
#: tables of user-defined indexes (``relational.index_maintenance``), likewise.
#: (``PostgresStorage._initialize`` creates and upgrades them.)
FORMAT_VERSION = 5

# Format 3 (``relational.revisions``): each document's revisions, beside it.
REVISIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.revisions (
    key text COLLATE "C" NOT NULL,     -- the document's key
    etag bigint NOT NULL,              -- the version's etag: revisions in order
    id text NOT NULL,
    collection text NOT NULL,
    change_vector text NOT NULL,
    last_modified text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (key, etag)
);
CREATE INDEX IF NOT EXISTS revisions_by_change_vector ON {s}.revisions (change_vector)
"""

# Format 4 (``relational.counters``): each document's counters, beside it.
COUNTERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.counters (
    key text COLLATE "C" NOT NULL,     -- the document's key
    name_key text COLLATE "C" NOT NULL, -- the counter's name lower-cased (case-insensitive)
    name text NOT NULL,                -- the name as first written
    value bigint NOT NULL,
    PRIMARY KEY (key, name_key)
)
"""

# Format 4 (``relational.attachments``): attachments, their contents once each, in chunks of
# bytea (no large objects: they outlive their rows and need their own clean-up). EXTERNAL: a
# chunk is stored out of line uncompressed (attachments are mostly compressed already).
ATTACHMENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.attachments (
    key text COLLATE "C" NOT NULL,     -- the document's key
    name_key text COLLATE "C" NOT NULL,-- the name lower-cased: names are case-insensitive
    name text NOT NULL,                -- the name as written
    hash text COLLATE "C" NOT NULL,    -- base64 BLAKE2b-256 of the content, as RavenDB's
    content_type text NOT NULL,
    size bigint NOT NULL,
    change_vector text NOT NULL,
    PRIMARY KEY (key, name_key)
);
CREATE INDEX IF NOT EXISTS attachments_by_hash ON {s}.attachments (hash);
CREATE TABLE IF NOT EXISTS {s}.attachment_contents (
    id bigserial PRIMARY KEY,
    hash text COLLATE "C" UNIQUE,      -- NULL while its chunks are being written
    size bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.attachment_chunks (
    content bigint NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (content, seq)
);
ALTER TABLE {s}.attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL
"""

# Format 5 (``relational.index_maintenance``): user-defined indexes, their map entries, the
# documents their maps loaded, and their reduce results (JSON as text: read back whole).
INDEXES_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.indexes (
    id bigint PRIMARY KEY,
    name_key text COLLATE "C" NOT NULL UNIQUE, -- the name lower-cased
    name text NOT NULL,
    definition text NOT NULL,          -- RavenDB's JSON of the definition
    state text NOT NULL,               -- 'Building' while existing documents are mapped
    created_etag bigint NOT NULL,
    created text NOT NULL,
    error_count bigint NOT NULL,
    errors text NOT NULL               -- the last errors, JSON
);
CREATE TABLE IF NOT EXISTS {s}.index_entries (
    idx bigint NOT NULL,
    key text COLLATE "C" NOT NULL,     -- the source document's key
    seq integer NOT NULL,
    group_key text COLLATE "C",        -- a map-reduce index's group of the entry
    page integer NOT NULL,             -- the entry's page of its group (a hash of the key)
    entry text NOT NULL,
    body jsonb NOT NULL,               -- the entry for queries, strings cut at NUL
    PRIMARY KEY (idx, key, seq)
);
CREATE INDEX IF NOT EXISTS index_entries_by_group ON {s}.index_entries (group_key, idx, page);
CREATE TABLE IF NOT EXISTS {s}.index_references (
    idx bigint NOT NULL,
    key text COLLATE "C" NOT NULL,     -- the document whose map loaded
    referenced text COLLATE "C" NOT NULL,
    PRIMARY KEY (idx, key, referenced)
);
CREATE INDEX IF NOT EXISTS index_references_by_referenced ON {s}.index_references (referenced);
CREATE TABLE IF NOT EXISTS {s}.reduce_results (
    idx bigint NOT NULL,
    group_key text COLLATE "C" NOT NULL,
    seq integer NOT NULL,
    result text NOT NULL,
    body jsonb NOT NULL,               -- the result for queries, strings cut at NUL
    PRIMARY KEY (idx, group_key, seq)
);
CREATE TABLE IF NOT EXISTS {s}.reduce_pages (
    idx bigint NOT NULL,
    group_key text COLLATE "C" NOT NULL,
    page integer NOT NULL,             -- the reduce of one page of the group's entries
    seq integer NOT NULL,
    result text NOT NULL,
    PRIMARY KEY (idx, group_key, page, seq)
)
"""

# The tables every format has: documents, identities, meta and the automatic indexes.
_BASE_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE {s}.documents (
    key text COLLATE "C" PRIMARY KEY,  -- the id lower-cased: ids are case-insensitive (S2)
    id text NOT NULL,                  -- the id as first written
    collection text NOT NULL,
    collection_key text NOT NULL,      -- the collection lower-cased
    etag bigint NOT NULL,
    change_vector text NOT NULL,
    last_modified text NOT NULL,
    data bytea NOT NULL,               -- canonical JSON (D5), byte for byte
    body jsonb NOT NULL                -- the same document for queries, strings cut at NUL
);
CREATE INDEX documents_by_collection ON {s}.documents (collection_key, key);
CREATE SEQUENCE {s}.etags;
CREATE TABLE {s}.identities (prefix text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE {s}.meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE {s}.auto_indexes (
    id serial PRIMARY KEY,
    collection text NOT NULL,
    collection_key text NOT NULL,
    path text NOT NULL,
    kind text NOT NULL,                -- 'expression', 'values' (GIN), 'search'
    UNIQUE (collection_key, path, kind)
);
"""

#: Every table of a new schema, at ``FORMAT_VERSION`` (``PostgresStorage._initialize``).
SCHEMA = (
    _BASE_SCHEMA
    + REVISIONS_SCHEMA
    + ";"
    + ATTACHMENTS_SCHEMA
    + ";"
    + COUNTERS_SCHEMA
    + ";"
    + INDEXES_SCHEMA
)

"""The SQL text of user-defined indexes' upkeep and queries (``relational.index_maintenance``,
``relational.index_query``) in one dialect, for one database: built from the dialect's
parameter mark, schema, key-list test, locks and JSON column, so that SQLite and PostgreSQL
run the same statements but for their spelling."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["IndexStatements"]


class IndexStatements(NamedTuple):
    """The SQL text of index upkeep in one dialect, for one database."""

    rows: str
    by_name: str
    insert: str
    next_id: str
    delete_index: str
    clear_entries: str
    clear_references: str
    clear_results: str
    clear_pages: str
    set_state: str
    set_definition: str
    get_errors: str
    set_errors: str
    documents: str
    document: str
    referencing: str
    holding: str
    old_groups: str
    delete_entries: str
    delete_references: str
    insert_entry: str
    insert_reference: str
    group_entries: str
    page_entries: str
    delete_group: str
    insert_result: str
    group_pages: str
    delete_pages: str
    insert_page: str
    build_page: str
    build_page_all: str
    count_entries: str
    count_results: str
    entry_source: str
    entry_rows: str
    result_source: str
    lock_keys: str
    lock_group: str

    @classmethod
    def of(
        cls,
        schema: str,
        mark: str,
        keys: str,
        collection: str,
        entry: str,
        lock_keys: str,
        lock_group: str,
        by_group: str = "",
        body: bool = False,
        one_index: str = "idx = {index}",
    ) -> IndexStatements:
        """Statements on tables in ``schema``, with parameter ``mark``, ``keys`` the test of
        a key column against a key list (``{column}`` and a mark), ``collection`` the test of
        one collection (with a mark) in an index build's pages, which walk the keys in order
        (a dialect may word it to keep its planner on the key index), ``entry`` how a JSON
        text column reads as the compilers' document column (``{column}``), and the locks a
        transaction takes before it maps documents (a key list: their rows) and reduces
        groups (index id, a bucket of groups): none where the write lock is the database's (SQLite);
        ``by_group`` follows the entries' table where a group's entries are read (SQLite's
        ``INDEXED BY``: without statistics its planner walks every entry of the index);
        ``body``: entries and results have a ``body`` column too, their JSON as the dialect
        queries it (PostgreSQL's jsonb, which holds no NUL: ``IndexMaintenance``'s
        ``body``); ``one_index`` the test of one index's entries by its literal id
        (``{index}``) in the row sets that seek their expression indexes
        (``relational.entry_indexes``), which must let a partial index on ``idx = <id>``
        serve."""
        with_body = (", body", f", CAST({mark} AS jsonb)") if body else ("", "")
        s, m = schema, mark

        def key_in(column: str) -> str:
            return keys.format(column=column)

        return cls(
            rows=f"SELECT id, name, definition, state FROM {s}indexes ORDER BY name_key",
            by_name=(
                f"SELECT id, name, definition, state, created_etag, created, error_count, errors "
                f"FROM {s}indexes WHERE name_key = {m}"
            ),
            insert=(
                f"INSERT INTO {s}indexes (id, name_key, name, definition, state, created_etag, "
                f"created, error_count, errors) VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}, 0, '[]')"
            ),
            next_id=f"SELECT COALESCE(MAX(id), 0) + 1 FROM {s}indexes",
            delete_index=f"DELETE FROM {s}indexes WHERE id = {m}",
            clear_entries=f"DELETE FROM {s}index_entries WHERE idx = {m}",
            clear_references=f"DELETE FROM {s}index_references WHERE idx = {m}",
            clear_results=f"DELETE FROM {s}reduce_results WHERE idx = {m}",
            clear_pages=f"DELETE FROM {s}reduce_pages WHERE idx = {m}",
            set_state=f"UPDATE {s}indexes SET state = {m} WHERE id = {m}",
            set_definition=f"UPDATE {s}indexes SET definition = {m} WHERE id = {m}",
            get_errors=f"SELECT error_count, errors FROM {s}indexes WHERE id = {m}",
            set_errors=f"UPDATE {s}indexes SET error_count = {m}, errors = {m} WHERE id = {m}",
            documents=(f"SELECT key, id, collection, data FROM {s}documents WHERE {key_in('key')}"),
            document=f"SELECT id, collection, data FROM {s}documents WHERE key = {m}",
            referencing=(f"SELECT idx, key FROM {s}index_references WHERE {key_in('referenced')}"),
            holding=(
                f"SELECT DISTINCT idx, key FROM {s}index_entries "
                f"WHERE {key_in('idx')} AND {key_in('key')}"
            ),
            old_groups=(
                f"SELECT DISTINCT group_key, page FROM {s}index_entries "
                f"WHERE idx = {m} AND {key_in('key')}"
            ),
            delete_entries=f"DELETE FROM {s}index_entries WHERE idx = {m} AND {key_in('key')}",
            delete_references=(
                f"DELETE FROM {s}index_references WHERE idx = {m} AND {key_in('key')}"
            ),
            insert_entry=(
                f"INSERT INTO {s}index_entries (idx, key, seq, group_key, page, entry"
                f"{with_body[0]}) VALUES ({m}, {m}, {m}, {m}, {m}, {m}{with_body[1]})"
            ),
            insert_reference=(
                f"INSERT INTO {s}index_references (idx, key, referenced) VALUES ({m}, {m}, {m}) "
                "ON CONFLICT DO NOTHING"
            ),
            # Sorted by the caller, so that the group index finds them.
            group_entries=(
                f"SELECT key, seq, entry FROM {s}index_entries{by_group} "
                f"WHERE idx = {m} AND group_key = {m}"
            ),
            page_entries=(
                f"SELECT key, seq, entry FROM {s}index_entries{by_group} "
                f"WHERE idx = {m} AND group_key = {m} AND page = {m}"
            ),
            delete_group=f"DELETE FROM {s}reduce_results WHERE idx = {m} AND group_key = {m}",
            group_pages=(
                f"SELECT page, seq, result FROM {s}reduce_pages WHERE idx = {m} AND group_key = {m}"
            ),
            delete_pages=(
                f"DELETE FROM {s}reduce_pages "
                f"WHERE idx = {m} AND group_key = {m} AND {key_in('page')}"
            ),
            insert_page=(
                f"INSERT INTO {s}reduce_pages (idx, group_key, page, seq, result) "
                f"VALUES ({m}, {m}, {m}, {m}, {m})"
            ),
            insert_result=(
                f"INSERT INTO {s}reduce_results (idx, group_key, seq, result{with_body[0]}) "
                f"VALUES ({m}, {m}, {m}, {m}{with_body[1]})"
            ),
            build_page=(
                f"SELECT key FROM {s}documents WHERE key > {m} AND {collection} "
                f"ORDER BY key LIMIT {m}"
            ),
            build_page_all=f"SELECT key FROM {s}documents WHERE key > {m} ORDER BY key LIMIT {m}",
            count_entries=f"SELECT count(DISTINCT key) FROM {s}index_entries WHERE idx = {m}",
            count_results=f"SELECT count(*) FROM {s}reduce_results WHERE idx = {m}",
            entry_source=(
                f"(SELECT key, seq, entry AS raw, {entry.format(column='entry')} "
                f"FROM {s}index_entries WHERE idx = {m}) AS source"
            ),
            # One index's entries with its id a literal (``{index}``), which a partial
            # index needs (``relational.entry_indexes``): FROM what, then its WHERE.
            entry_rows=f"{s}index_entries WHERE {one_index}",
            result_source=(
                f"(SELECT group_key || ':' || seq AS key, result AS raw, "
                f"{entry.format(column='result')} FROM {s}reduce_results WHERE idx = {m}) "
                "AS source"
            ),
            lock_keys=lock_keys,
            lock_group=lock_group,
        )

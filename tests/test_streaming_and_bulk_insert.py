"""Streaming and bulk insert, inside the backends: a stream's memory is flat in the number of
results (measured, for documents and for projections), a stream holds no connection once
closed, and a bulk insert whose chunk fails in the database (an injected failure) keeps the
chunks before it and nothing of its own.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from rookdb import BulkInsertAbortedError, DocumentStore, StorageError
from rookdb.testing.backends import BACKENDS
from tests.internals import inject_failure, remove_failure


class Row:
    def __init__(self, name: str = "", payload: str = "", n: int = 0) -> None:
        self.name, self.payload, self.n = name, payload, n


def _fill(store: DocumentStore, count: int) -> None:
    with store.bulk_insert() as bulk:
        for i in range(count):
            bulk.store(Row(f"r{i:06d}", "x" * 200, i), id=f"rows/{i:06d}")


def _peak_while_streaming(store: DocumentStore, read: Callable[[DocumentStore], int]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        read(store)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _stream_query(store: DocumentStore) -> int:
    with store.open_session() as session:
        query = session.query(object_type=Row).where_greater_than_or_equal("n", 0).order_by("name")
        return sum(1 for _ in session.advanced.stream(query))


def _stream_projection(store: DocumentStore) -> int:
    with store.open_session() as session:
        query = (
            session.query(object_type=Row)
            .where_greater_than_or_equal("n", 0)
            .order_by("name")
            .select_fields(dict, "name", "payload")
        )
        return sum(1 for _ in session.advanced.stream(query))


def _stream_prefix(store: DocumentStore) -> int:
    with store.open_session() as session:
        return sum(1 for _ in session.advanced.stream_starting_with("rows/", object_type=Row))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize(
    "read",
    [_stream_query, _stream_projection, _stream_prefix],
    ids=["query", "projection", "prefix"],
)
def test_stream_memory_is_flat_in_the_result_size(
    backend: str, read: Callable[[DocumentStore], int], tmp_path: Path
) -> None:
    spec = BACKENDS[backend]
    spec.require()
    peaks = {}
    for count in (5_000, 50_000):
        url = spec.make_url(tmp_path / str(count))
        try:
            with DocumentStore(urls=url, database="flat") as store:
                _fill(store, count)
                read(store)  # once first: automatic indexes, caches
                assert read(store) == count
                peaks[count] = _peak_while_streaming(store, read)
        finally:
            spec.clean_up(url)
    # Ten times the documents (2.6 MB more of them in memory at once if they were held):
    # the peak stays within a few pages' worth, not ten times as much.
    assert peaks[50_000] < peaks[5_000] * 1.5 + 256 * 1024, peaks
    assert peaks[50_000] < 4 * 1024 * 1024, peaks


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_failed_chunk_keeps_the_chunks_before_it_and_nothing_of_itself(
    backend: str, tmp_path: Path
) -> None:
    spec = BACKENDS[backend]
    spec.require()
    url = spec.make_url(tmp_path)
    try:
        with DocumentStore(urls=url, database="bulk") as store:
            store.initialize()
            _fill(store, 1)  # the database exists: the trigger goes into it
            inject_failure(store, "rows/000250")  # the database itself fails on that row
            bulk = store.bulk_insert(chunk_size=100)
            with pytest.raises(BulkInsertAbortedError) as caught:
                for i in range(1, 400):
                    bulk.store(Row(f"r{i}", n=i), id=f"rows/{i:06d}")
            error = caught.value
            assert error.written == 200  # rows 1..200: the chunks before the failing one
            assert isinstance(error.original, StorageError)
            assert "injected" in str(error)
            with pytest.raises(BulkInsertAbortedError):  # no more documents after a failure
                bulk.store(Row("late"), id="rows/late")
            bulk.close()
            remove_failure(store)
            with store.open_session() as session:
                assert session.query(object_type=Row).count() == 201  # 0 .. 200
                chunk = session.load([f"rows/{i:06d}" for i in range(201, 301)], Row)
                assert all(row is None for row in chunk.values())
    finally:
        spec.clean_up(url)


def test_a_failed_chunk_through_the_server(tmp_path: Path) -> None:
    # rookdb's http backend sends each chunk as one batch: the same atomicity over the wire.
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(tmp_path)
    try:
        with DocumentStore(urls=url, database="bulk_http") as store:
            _fill(store, 1)
            from rookdb.storage.sqlite import SqliteBackend
            from rookdb.testing.backends import server_data_directory

            served = SqliteBackend(server_data_directory()).database("bulk_http")
            with served._connections as conn:  # the trigger in the file the server writes
                conn.execute(
                    "CREATE TRIGGER inject BEFORE INSERT ON documents "
                    "WHEN NEW.key = 'rows/000150' BEGIN SELECT RAISE(ABORT, 'injected'); END"
                )
            served.close()
            with (
                pytest.raises(BulkInsertAbortedError) as caught,
                store.bulk_insert(chunk_size=100) as bulk,
            ):
                for i in range(1, 300):
                    bulk.store(Row(f"r{i}", n=i), id=f"rows/{i:06d}")
            assert caught.value.written == 100  # rows 1..100; rows 101..200 failed
            assert store.maintenance.get_statistics().collections["Rows"] == 101
    finally:
        spec.clean_up(url)


def test_a_stream_closed_early_gives_its_connection_back(tmp_path: Path) -> None:
    spec = BACKENDS["postgres"]
    spec.require()
    url = spec.make_url(tmp_path)
    try:
        with DocumentStore(urls=url, database="early") as store:
            _fill(store, 3000)
            for _ in range(40):  # far more than the pool holds
                with store.open_session() as session:
                    results = session.advanced.stream(session.query(object_type=Row))
                    next(results)
                    results.close()
            with store.open_session() as session:
                assert session.query(object_type=Row).count() == 3000
    finally:
        spec.clean_up(url)

"""Large attachments stream in and out with flat memory (issue 15): a 64 MiB attachment, 64
times the 1 MiB chunk and 8 times the memory budget, stored from a stream that makes its
bytes as it is read and read back a chunk at a time, on a SQLite file, on PostgreSQL and
through ``rookdb serve``. The peak of Python's allocations (``tracemalloc``) during the store
and during the read stays under ``BUDGET``; through the server, the server process's peak
resident memory grows by less than ``SERVER_BUDGET`` (it spools bodies to disk past 1 MiB).
The async session's read (an async iterator of the chunks) is held to the same budget.
The figures are printed (``-s``) and written down in docs/reliability.md."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import io
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest

from rookdb import DocumentStore
from rookdb.storage.relational.attachments import CHUNK_SIZE
from rookdb.testing.backends import BACKENDS, postgres_url, start_server

SIZE = 64 * 1024 * 1024
BUDGET = 8 * 1024 * 1024
SERVER_BUDGET = 32 * 1024 * 1024
_BLOCK = bytes(range(256)) * 256  # 64 KiB


class Generated(io.RawIOBase):
    """``size`` bytes made as they are read (never held whole)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left, len(_BLOCK) - self.at % len(_BLOCK))
        start = self.at % len(_BLOCK)
        buffer[:n] = _BLOCK[start : start + n]
        self.left -= n
        self.at += n
        return n


def _expected_hash() -> str:
    digest = hashlib.blake2b(digest_size=32)
    for _ in range(SIZE // len(_BLOCK)):
        digest.update(_BLOCK)
    import base64

    return base64.b64encode(digest.digest()).decode()


def _peak(run: Any) -> tuple[int, float]:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        run()
        return tracemalloc.get_traced_memory()[1] - before, time.perf_counter() - started
    finally:
        tracemalloc.stop()


def _round_trip(store: DocumentStore, label: str) -> None:
    with store.open_session() as session:
        session.store({"name": "big", "@metadata": {"@collection": "Files"}}, "files/1")
        session.save_changes()

    def put() -> None:
        with store.open_session() as session:
            session.advanced.attachments.store("files/1", "big.bin", Generated(SIZE))
            session.save_changes()

    digest = hashlib.blake2b(digest_size=32)
    read = [0]

    def get() -> None:
        with store.open_session() as session:
            result = session.advanced.attachments.get("files/1", "big.bin")
            assert result is not None
            with result:
                for chunk in result.stream.chunks():
                    digest.update(chunk)
                    read[0] += len(chunk)

    put_peak, put_s = _peak(put)
    get_peak, get_s = _peak(get)
    print(
        f"\n{label}: a {SIZE >> 20} MiB attachment: stored in {put_s:.2f} s (Python peak "
        f"{put_peak / 2**20:.1f} MiB), read in {get_s:.2f} s (peak {get_peak / 2**20:.1f} MiB)"
    )
    assert read[0] == SIZE
    import base64

    assert base64.b64encode(digest.digest()).decode() == _expected_hash()
    assert put_peak < BUDGET and get_peak < BUDGET


def _async_get(store: DocumentStore, label: str) -> None:
    """The async session's read of the same attachment: an async iterator of chunks, each
    read in the result's thread, with flat memory too."""
    with store.open_session() as session:
        session.store({"name": "big", "@metadata": {"@collection": "Files"}}, "files/2")
        session.advanced.attachments.store("files/2", "big.bin", Generated(SIZE))
        session.save_changes()
    digest = hashlib.blake2b(digest_size=32)
    read = [0]

    async def get() -> None:
        async with store.open_async_session() as session:
            result = await session.advanced.attachments.get("files/2", "big.bin")
            assert result is not None
            async with result:
                async for chunk in result.stream:
                    digest.update(chunk)
                    read[0] += len(chunk)

    get_peak, get_s = _peak(lambda: asyncio.run(get()))
    print(f"\n{label}, async session: read in {get_s:.2f} s (peak {get_peak / 2**20:.1f} MiB)")
    assert read[0] == SIZE
    import base64

    assert base64.b64encode(digest.digest()).decode() == _expected_hash()
    assert get_peak < BUDGET


def test_sqlite_file(tmp_path: Path) -> None:
    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="big") as store:
        _round_trip(store, "sqlite")
        _async_get(store, "sqlite")


def test_postgres() -> None:
    BACKENDS["postgres"].require()
    name = f"big{uuid.uuid4().hex[:8]}"
    with DocumentStore(urls=postgres_url(), database=name) as store:
        try:
            _round_trip(store, "postgres")
            _async_get(store, "postgres")
        finally:
            store.maintenance.delete_database(name)


def _resident_peak(pid: int) -> int:
    """The process's peak resident memory (Linux ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no /proc/<pid>/status VmHWM here")
    return 0


def test_through_the_server(tmp_path: Path) -> None:
    BACKENDS["http"].require()
    process, base, _ = start_server("--data", str(tmp_path / "data"), "--create-databases")
    try:
        with DocumentStore(urls=base, database="big") as store:
            with store.open_session() as session:  # the server's memory after a first batch
                session.store({"warm": True}, "warm/1")
                session.advanced.attachments.store("warm/1", "small", b"x" * CHUNK_SIZE)
                session.save_changes()
            before = _resident_peak(process.pid)
            _round_trip(store, "through rookdb serve (SQLite)")
            _async_get(store, "through rookdb serve (SQLite)")
            grown = _resident_peak(process.pid) - before
        print(f"server peak resident memory grew by {grown / 2**20:.1f} MiB")
        assert grown < SERVER_BUDGET
    finally:
        process.terminate()
        process.wait(timeout=30)

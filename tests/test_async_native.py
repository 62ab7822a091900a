"""The async session's native I/O (issue 17, ``rookdb.storage.bridge``): PostgreSQL and the
http backend run their hot calls on the event loop over their async drivers, SQLite and memory
in threads; and a save cancelled at any point of its way, the write itself cancelled too (as
``asyncio.run`` cancels every task at its end), has written all or nothing, and the session
knows which."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg
import pytest

from rookdb import DocumentStore
from rookdb.errors import ConfigurationError, OutcomeUnknownError
from rookdb.storage import bridge
from rookdb.storage.async_storage import AsyncStorage


@pytest.fixture
def store(rookdb_new_store: Any) -> DocumentStore:
    """An initialized store on each backend (memory, SQLite, PostgreSQL, a rookdb server),
    native I/O asked for (the default is the backend's faster way: threads, today)."""
    store: DocumentStore = rookdb_new_store()
    store.conventions.async_native_io = True
    return store.initialize()


def adapter(store: DocumentStore, session: Any) -> AsyncStorage:
    return store._async_storages[id(session.session._storage)]


@pytest.mark.parametrize(
    "native_io", [True, False, None], ids=["native", "threads", "the backend's faster way"]
)
def test_hot_calls_use_the_drivers_async_io_where_it_has_one_if_asked(
    rookdb_new_store: Any, native_io: bool | None
) -> None:
    """True: native where the backend has it; False: threads; None, the default: the way
    measured faster on the backend (``Storage.async_native_faster``), which is threads on
    every backend today (bench/README.md, "Async sessions")."""
    store = rookdb_new_store()
    if native_io is not None:
        store.conventions.async_native_io = native_io  # the user's switch
    store.initialize()
    native = native_io is True and store.backend.capabilities.name in ("postgres", "http")

    async def scenario() -> None:
        async with store.open_async_session() as session:
            for n in range(3):
                session.store({"N": n}, f"items/{n}")
            await session.save_changes()
        async with store.open_async_session() as session:
            one = await session.load("items/1")
            one["N"] = 10
            await session.load(["items/0", "items/2"], includes="Other")
            assert len(await session.query(collection_name="Items").to_list()) == 3
            await session.load_starting_with("items/")
            session.advanced.lazily.load("items/0")
            await session.advanced.eagerly.execute_all_pending_lazy_operations()
            await session.save_changes()
            storage = adapter(store, session)
            assert storage.native is native
            # Natively, no worker thread was ever started for these calls.
            assert (storage._executor is None) is native

    asyncio.run(scenario())


def test_a_waiting_statement_leaves_the_loop_to_other_sessions(store: DocumentStore) -> None:
    """A save waits on a row another connection holds locked; meanwhile other tasks of the
    loop load and save. (With threads this holds too; natively it is one thread.)"""
    if store.backend.capabilities.name != "postgres":
        pytest.skip("a row lock taken from outside: PostgreSQL")
    with store.open_session() as sync:
        sync.store({"N": 0}, "items/locked")
        sync.store({"N": 0}, "items/free")
        sync.save_changes()
    storage = store._storage(store.database)
    url = storage._pool._conninfo  # type: ignore[attr-defined]
    schema = storage._s  # type: ignore[attr-defined]

    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as holder:
            await holder.execute("BEGIN")
            await holder.execute(
                f"SELECT 1 FROM {schema}.documents WHERE key = 'items/locked' FOR UPDATE"
            )
            async with store.open_async_session() as blocked:
                (await blocked.load("items/locked"))["N"] = 1
                waiting = asyncio.create_task(blocked.save_changes())
                for n in range(1, 4):  # other sessions go on meanwhile
                    async with store.open_async_session() as other:
                        (await other.load("items/free"))["N"] = n
                        await other.save_changes()
                assert not waiting.done()
                await holder.execute("ROLLBACK")
                await waiting
        async with store.open_async_session() as session:
            assert (await session.load("items/locked"))["N"] == 1
            assert (await session.load("items/free"))["N"] == 3

    asyncio.run(scenario())


def _saved(store: DocumentStore, k: int) -> tuple[bool, int]:
    """Whether attempt ``k``'s new document is in the database, and ``people/1``'s ``N``."""
    with store.open_session() as sync:  # one read, one snapshot
        found = sync.load([f"people/new-{k}", "people/1"])
    return found[f"people/new-{k}"] is not None, found["people/1"]["N"]


@pytest.mark.parametrize("cancelled", ["the save", "the save and its write"])
def test_a_save_cancelled_at_each_step_is_all_or_nothing(
    store: DocumentStore, cancelled: str
) -> None:
    """The save is cancelled after 0, 1, 2... steps of the event loop, until it ends first:
    before anything is sent, while a statement or request waits, while the commit waits for
    its answer, after it. ``the save and its write``: every task is cancelled, the storage's
    write with the save (``asyncio.run``'s end, a task group torn down)."""
    with store.open_session() as sync:
        sync.store({"N": 0}, "people/1")
        sync.save_changes()

    async def attempt(k: int) -> tuple[bool, bool]:
        """Whether the save had ended before the cancel; whether it wrote."""
        session = store.open_async_session()
        person = await session.load("people/1")
        person["N"] = k + 1
        session.store({"Name": "new"}, f"people/new-{k}")
        save = asyncio.create_task(session.save_changes())
        for _ in range(k):
            await asyncio.sleep(0)
        ended = save.done()
        for task in asyncio.all_tasks():
            if task is save or (cancelled != "the save" and task is not asyncio.current_task()):
                task.cancel()
        try:
            await save
        except asyncio.CancelledError:
            pass
        except OutcomeUnknownError:
            # Only an http request cancelled itself, in flight: the server may have it.
            assert cancelled != "the save" and store.backend.capabilities.name == "http"
            written, n = _saved(store, k)
            assert (n == k + 1) is written
            return ended, written
        written, n = _saved(store, k)
        assert (n == k + 1) is written  # the batch's two writes: both or neither
        assert session.has_changes() is not written  # the session knows which
        if written:
            return ended, True
        await session.save_changes()  # unsaved, it saves later, on a connection left clean
        assert _saved(store, k) == (True, k + 1)
        assert not session.has_changes()
        return ended, False

    async def scenario() -> list[bool]:
        outcomes = []
        for k in range(400):
            ended, written = await attempt(k)
            outcomes.append(written)
            if ended:
                return outcomes
        raise AssertionError("the save never ended")

    outcomes = asyncio.run(scenario())
    assert not outcomes[0]  # cancelled before it ran: nothing sent
    assert outcomes[-1]
    if cancelled == "the save":
        assert all(outcomes[1:])  # once started, a save runs to its end: outcome learned


def test_a_cancelled_read_is_abandoned_and_its_connection_comes_back(
    store: DocumentStore,
) -> None:
    async def scenario() -> None:
        async with store.open_async_session() as session:
            for n in range(50):
                session.store({"N": n}, f"items/{n}")
            await session.save_changes()
        for k in range(30):
            async with store.open_async_session() as session:
                query = asyncio.create_task(session.query(collection_name="Items").to_list())
                for _ in range(k):
                    await asyncio.sleep(0)
                query.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    assert len(await query) == 50

        # More reads at once than connections: none was lost to a cancelled read.
        async def load(n: int) -> Any:
            async with store.open_async_session() as session:
                return await session.load(f"items/{n}")

        loaded = await asyncio.gather(*(load(n) for n in range(40)))
        assert [d["N"] for d in loaded] == list(range(40))

    asyncio.run(scenario())


def test_bridge_sleep_lets_the_loop_run_and_await_outside_it_is_refused() -> None:
    if not bridge.available:
        pytest.skip("greenlet is not installed")
    ran: list[str] = []

    def storage_code() -> str:
        bridge.sleep(0)  # another task runs here
        ran.append("storage")
        return "done"

    async def other() -> None:
        ran.append("other")

    async def scenario() -> str:
        task = asyncio.create_task(other())
        result = await bridge.run(storage_code)
        await task
        return result

    assert asyncio.run(scenario()) == "done"
    assert ran == ["other", "storage"]
    outside = asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        bridge.await_(outside)
    outside.close()


def test_the_default_follows_the_backends_measure(rookdb_store: DocumentStore) -> None:
    storage = rookdb_store._storage(rookdb_store.database)
    assert rookdb_store.conventions.async_native_io is None
    assert storage.async_native_faster is False  # threads measured faster everywhere today
    assert AsyncStorage(storage).native is False
    assert AsyncStorage(storage, native=True).native is storage.async_native


def test_async_native_io_must_be_a_bool_or_none(rookdb_new_store: Any) -> None:
    store = rookdb_new_store()
    store.conventions.async_native_io = "no"
    with pytest.raises(ConfigurationError, match="async_native_io"):
        store.initialize()

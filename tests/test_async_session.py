"""The async session (issue 17): its reads, queries and saves on every backend, and a
cancelled ``save_changes`` that leaves the session agreeing with the database, whatever the
point it was cancelled at."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from rookdb import DocumentStore
from rookdb.errors import InvalidOperationError
from rookdb.storage.base import Storage


@pytest.fixture
def store(rookdb_store: DocumentStore) -> DocumentStore:
    """An initialized store on each backend (memory, SQLite, PostgreSQL, a rookdb server)."""
    return rookdb_store


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_load_store_save_query_and_tracking(store: DocumentStore) -> None:
    async def scenario() -> None:
        async with store.open_async_session() as session:
            session.store({"Name": "Ada", "Age": 36}, "people/1")
            session.store({"Name": "Bob", "Age": 20}, "people/2")
            assert session.has_changes()
            await session.save_changes()
            assert not session.has_changes()
        async with store.open_async_session() as session:
            ada = await session.load("people/1")
            assert ada["Name"] == "Ada"
            assert await session.load("people/1") is ada  # tracked: no second request
            assert session.number_of_requests == 1
            both = await session.load(["people/2", "people/3"])
            assert both["people/2"]["Name"] == "Bob" and both["people/3"] is None
            ada["Age"] = 37
            assert "people/1" in session.advanced.what_changed()
            await session.save_changes()
            assert await session.advanced.exists("people/2")
            assert not await session.advanced.exists("people/3")
            query = session.query(collection_name="People")
            names = [p["Name"] for p in await query.order_by("Name").to_list()]
            assert names == ["Ada", "Bob"]
            young = session.query(collection_name="People").where_less_than("Age", 30)
            assert (await young.single())["Name"] == "Bob"
            assert await session.query(collection_name="People").count() == 2
            assert [p async for p in session.query(collection_name="People")]
            assert len(await session.load_starting_with("people/")) == 2
            ada["Age"] = 1
            await session.advanced.refresh(ada)
            assert ada["Age"] == 37
            session.delete("people/2")
            await session.save_changes()
        with store.open_session() as sync:
            assert sync.load("people/1")["Age"] == 37
            assert sync.load("people/2") is None

    run(scenario())


class _Gate:
    """Holds ``Storage.apply`` in its worker thread until released: a save to cancel
    while storage writes."""

    def __init__(self, storage: Storage, fail: bool = False) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self._apply = storage.apply
        self._fail = fail

    def apply(self, batch: Any) -> Any:
        self.entered.set()
        self.release.wait(10)
        if self._fail:
            raise RuntimeError("storage failed")
        result = self._apply(batch)
        self.finished.set()
        return result


@pytest.mark.parametrize("point", ["before", "during", "twice during", "after"])
def test_a_cancelled_save_is_all_or_nothing_and_the_session_knows(
    store: DocumentStore, point: str
) -> None:
    async def scenario() -> None:
        session = store.open_async_session()
        session.store({"Name": "Ada"}, "people/1")
        session.store({"Name": "Bob"}, "people/2")
        storage = session.session._storage
        gate = _Gate(storage)
        storage.apply = gate.apply  # type: ignore[method-assign]
        try:
            task = asyncio.create_task(session.save_changes())
            if point == "before":
                task.cancel()  # before the task ran: nothing is sent
            elif point in ("during", "twice during"):
                while not gate.entered.is_set():
                    await asyncio.sleep(0.001)
                task.cancel()  # storage is writing
                await asyncio.sleep(0.01)
                if point == "twice during":
                    task.cancel()
                    await asyncio.sleep(0.01)
                gate.release.set()
            else:  # as the write's result comes back to the loop
                gate.release.set()
                while not gate.finished.is_set():
                    await asyncio.sleep(0)
                task.cancel()
            gate.release.set()
            try:
                await task
            except asyncio.CancelledError:
                pass
            else:
                assert point == "after"  # the save had ended: nothing left to cancel
            assert (point == "before") is (not gate.entered.is_set())
        finally:
            del storage.apply
        with store.open_session() as sync:
            found = sync.load(["people/1", "people/2"])
        written = [v is not None for v in found.values()]
        assert written == ([False, False] if point == "before" else [True, True])
        assert session.has_changes() is not written[0]  # the session agrees
        if written[0]:
            assert session.advanced.get_change_vector_for(
                await session.load("people/1")
            ) == sync_change_vector(store, "people/1")

    run(scenario())


def sync_change_vector(store: DocumentStore, document_id: str) -> str | None:
    with store.open_session() as sync:
        return sync.advanced.get_change_vector_for(sync.load(document_id))


def test_a_cancelled_save_that_failed_wrote_nothing(store: DocumentStore) -> None:
    async def scenario() -> None:
        session = store.open_async_session()
        session.store({"Name": "Ada"}, "people/1")
        storage = session.session._storage
        gate = _Gate(storage, fail=True)
        storage.apply = gate.apply  # type: ignore[method-assign]
        try:
            task = asyncio.create_task(session.save_changes())
            while not gate.entered.is_set():
                await asyncio.sleep(0.001)
            task.cancel()
            gate.release.set()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            del storage.apply
        assert session.has_changes()
        await session.save_changes()  # the session can save it again
        with store.open_session() as sync:
            assert sync.load("people/1") is not None

    run(scenario())


def test_concurrent_sessions_on_one_loop(store: DocumentStore) -> None:
    async def one(i: int) -> None:
        async with store.open_async_session() as session:
            session.store({"N": i}, f"items/{i}")
            await session.save_changes()
            loaded = await session.load(f"items/{i}")
            loaded["N"] = i * 10
            await session.save_changes()

    async def scenario() -> None:
        await asyncio.gather(*(one(i) for i in range(16)))
        async with store.open_async_session() as session:
            found = await session.load([f"items/{i}" for i in range(16)])
            assert [found[f"items/{i}"]["N"] for i in range(16)] == [i * 10 for i in range(16)]

    run(scenario())


def test_storage_is_never_called_on_the_event_loop(store: DocumentStore) -> None:
    """Storage methods that are not the storage's own (these wrappers: middleware that may
    block) run in the worker threads; the storage's own hot calls run natively on PostgreSQL
    and http (tests/test_async_native.py)."""

    async def scenario() -> None:
        session = store.open_async_session()
        storage = session.session._storage
        threads: list[str] = []
        for name in ("get", "apply", "query", "get_prefix", "read_many"):
            method = getattr(storage, name)

            def recorded(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
                threads.append(threading.current_thread().name)
                return _method(*args, **kwargs)

            setattr(storage, name, recorded)
        try:
            session.store({"N": 1}, "items/1")
            await session.save_changes()
            await session.load(["items/1", "items/2"], includes="Other")
            await session.query(collection_name="Items").to_list()
            await session.load_starting_with("items/")
            await session.advanced.exists("items/9")
        finally:
            for name in ("get", "apply", "query", "get_prefix", "read_many"):
                delattr(storage, name)
        assert len(threads) >= 5
        assert threading.current_thread().name not in threads
        assert all(name.startswith("rookdb-async") for name in threads), threads

    run(scenario())


def test_a_stream_is_an_async_iterator(store: DocumentStore) -> None:
    async def scenario() -> None:
        async with store.open_async_session() as session:
            for n in range(600):  # more than one batch
                session.store({"N": n}, f"items/{n:04}")
            await session.save_changes()
        async with store.open_async_session() as session:
            query = session.query(collection_name="Items").order_by("N")
            async with session.advanced.stream(query) as results:
                numbers = [r.document["N"] async for r in results]
            assert numbers == list(range(600))
            prefixed = session.advanced.stream_starting_with("items/00")
            assert [r.key async for r in prefixed] == [f"items/{n:04}" for n in range(100)]
            early = session.advanced.stream(session.query(collection_name="Items"))
            async for _ in early:
                break
            await early.aclose()  # released before its end
            assert not session.advanced.get_tracked_entities()  # streams never track

    run(scenario())


def test_a_lazy_value_read_on_the_loop_before_its_operations_ran_is_refused(
    store: DocumentStore,
) -> None:
    async def scenario() -> None:
        async with store.open_async_session() as session:
            session.store({"N": 1}, "items/1")
            await session.save_changes()
        async with store.open_async_session() as session:
            lazy = session.advanced.lazily.load("items/1")
            with pytest.raises(InvalidOperationError, match="execute_all_pending_lazy"):
                lazy.value  # noqa: B018 - reading it is the point
            assert session.number_of_requests == 0  # nothing was sent
            await session.advanced.eagerly.execute_all_pending_lazy_operations()
            assert lazy.value == {"N": 1}
            assert session.number_of_requests == 1

    run(scenario())


def test_the_owned_sync_session_s_store_on_the_loop_waits_for_a_hilo_id_too(
    store: DocumentStore,
) -> None:
    """``session.session.store`` (the sync session the async one owns) on the loop is the
    async ``store``: the entity waits for its HiLo id, it does not get one storage makes."""

    async def scenario() -> tuple[str | None, str | None]:
        async with store.open_async_session() as session:
            first, second = {"N": 1, "@metadata": {"@collection": "Things"}}, {"N": 2}
            second["@metadata"] = {"@collection": "Things"}
            session.session.store(first)
            session.store(second)
            assert list(session.advanced.what_changed()) == ["things/"]
            await session.save_changes()
            return (
                session.advanced.get_document_id(first),
                session.advanced.get_document_id(second),
            )

    assert run(scenario()) == ("things/1-A", "things/2-A")


def test_a_new_hilo_range_is_never_reserved_on_the_event_loop(store: DocumentStore) -> None:
    """``store`` of an entity without an id takes a number of the generator's range when one is
    left; when a new range is needed, the entity gets its id at ``save_changes``, which
    reserves the range in a worker thread."""
    storage = store._storage(store.database)
    threads: list[str] = []
    reserve = storage.reserve_ids

    def recorded(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return reserve(*args)

    def person(name: str) -> dict[str, Any]:
        return {"Name": name, "@metadata": {"@collection": "People"}}

    async def scenario() -> list[str]:
        async with store.open_async_session() as session:
            first, gone = person("first"), person("gone")
            session.store(first)  # no range yet: its id comes with the save
            session.store(first)  # stored once
            session.store(gone)
            session.delete(gone)  # forgotten before it had an id
            evicted = person("evicted")
            session.store(evicted)
            session.advanced.evict(evicted)
            # Not yet: tracked under the provisional id, a change like any new entity (S4).
            assert session.advanced.get_document_id(first) == "people/"
            assert list(session.advanced.what_changed()) == ["people/"]
            assert session.advanced.has_changed(first) and session.has_changes()
            assert threads == []
            await session.save_changes()
            assert not session.has_changes()
            ids = [session.advanced.get_document_id(first)]
            second = person("second")
            session.store(second)  # the range has numbers left: an id at once, no request
            ids.append(session.advanced.get_document_id(second))
            assert len(threads) == 1
            many = [person(f"p{i}") for i in range(100)]  # past the first range of 32
            for entity in many:
                session.store(entity)
            await session.save_changes()
            ids += [session.advanced.get_document_id(entity) for entity in many]
        async with store.open_async_session() as session:
            found = await session.query(collection_name="People").to_list()
        assert sorted(p["Name"] for p in found) == sorted(
            ["first", "second"] + [f"p{i}" for i in range(100)]
        )
        return ids

    storage.reserve_ids = recorded  # type: ignore[method-assign]
    try:
        ids = run(scenario())
    finally:
        del storage.reserve_ids
    assert ids[:2] == ["people/1-A", "people/2-A"]
    assert len(set(ids)) == len(ids) == 102
    assert len(threads) >= 2 and threading.current_thread().name not in threads
    assert all(name.startswith("rookdb-async") for name in threads), threads


def test_an_attachment_is_an_async_iterator_of_chunks(store: DocumentStore) -> None:
    content = bytes(range(256)) * 8192  # 2 MiB: two chunks and a bit
    content += b"end"

    async def scenario() -> None:
        async with store.open_async_session() as session:
            session.store({"Name": "f"}, "files/1")
            session.advanced.attachments.store("files/1", "big.bin", content)
            await session.save_changes()
        async with store.open_async_session() as session:
            result = await session.advanced.attachments.get("files/1", "big.bin")
            assert result is not None
            async with result:
                assert result.details.size == len(content)
                chunks = [chunk async for chunk in result.stream]
            assert b"".join(chunks) == content
            assert len(chunks) >= 3 and max(map(len, chunks)) <= 1024 * 1024  # as stored
            result = await session.advanced.attachments.get("files/1", "big.bin")
            assert result is not None
            async with result:
                assert await result.data() == content
            async with await session.advanced.attachments.get("files/1", "big.bin") as result:
                async for _ in result.stream:
                    break  # left early: the rest is not read, the thread ends
            assert await session.advanced.attachments.get("files/1", "other") is None

    run(scenario())


def test_an_async_session_dropped_without_close_is_freed_at_once(store: DocumentStore) -> None:
    """An async session holds no reference cycle, nor does the sync session it owns (its
    loop-aware ``store``, ids and lazy reads are its own class's, ``advanced`` a view made on
    each access): one dropped without ``close()`` is freed with its identity map when its last
    reference goes, not at the garbage collector's next full collection (issue 18)."""
    import gc
    import weakref

    async def scenario() -> tuple[weakref.ref[Any], weakref.ref[Any], Any]:
        async with store.open_async_session() as session:
            session.store({"name": "Ada", "@metadata": {"@collection": "People"}}, "people/1")
            await session.save_changes()
        session = store.open_async_session()
        person = await session.load("people/1")
        session.store({"name": "Bob", "@metadata": {"@collection": "People"}})  # HiLo id
        session.advanced.max_number_of_requests_per_session = 99  # the session's setting
        assert session.advanced.max_number_of_requests_per_session == 99
        assert session.advanced.what_changed()
        assert session.has_changes()
        return weakref.ref(session), weakref.ref(session.session), person

    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting may free them
    try:
        gone, gone_sync, person = run(scenario())
        assert gone() is None
        assert gone_sync() is None
        assert person["name"] == "Ada"  # the user's objects stay theirs
    finally:
        if was_enabled:
            gc.enable()

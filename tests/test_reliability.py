"""The reliability suite (SPEC §11): concurrency anomalies, crashes and failures, with figures.

Every check reads with a fresh (or no-tracking) session, so the identity map cannot hide
another process's writes. Each prints its figures at the end of the run ("reliability
figures"), and a negative control shows the test can see the anomaly it rules out.

Two tiers: ``make test`` runs the counts below; ``make test-full`` (``ROOKDB_FULL=1``) runs the
counts of issue 4. Cross-process tests run on SQLite files (a private ``memory://`` database
cannot be shared by processes).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rookdb import (
    ConcurrencyError,
    DocumentStore,
    InvalidOperationError,
    SessionOptions,
    StorageError,
)
from rookdb.storage.sqlite import SqliteStorage
from tests.internals import inject_failure, remove_failure

FULL = os.environ.get("ROOKDB_FULL") == "1"
PROCESSES = 4
INCREMENTS = 250 if FULL else 40  # per process
CREATE_IDS = 200 if FULL else 50
TRANSFERS = 250 if FULL else 40  # per process
PAIR_WRITES = 2000 if FULL else 300
KILL_TRIALS = 50 if FULL else 8
KILL_BATCH = 10_000
MACHINE_EXAMPLES, MACHINE_STEPS = (200, 50) if FULL else (40, 25)

Report = Callable[[str], None]
_fork = multiprocessing.get_context("fork")


def _name(url: str) -> str:
    """The backend of a URL, for the figures: sqlite, postgresql."""
    return url.split(":", 1)[0]


def _no_tracking(store: DocumentStore) -> Any:
    return store.open_session(session_options=SessionOptions(no_tracking=True))


def _run(workers: list[Any]) -> None:
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0, f"a worker failed with exit code {worker.exitcode}"


# -- lost updates ---------------------------------------------------------------------------


def _increment(url: str, times: int, optimistic: bool, out: Any) -> None:
    conflicts = 0
    with DocumentStore(urls=url) as store:
        done = 0
        while done < times:
            with store.open_session() as session:
                session.advanced.use_optimistic_concurrency = optimistic
                counter = session.load("counters/1")
                counter["value"] += 1
                time.sleep(0.0005)  # between read and write: where a lost update happens
                try:
                    session.save_changes()
                    done += 1
                except ConcurrencyError:
                    conflicts += 1
    out.put(conflicts)


def _lost_updates(url: str, optimistic: bool) -> tuple[int, int]:
    with DocumentStore(urls=url) as store, store.open_session() as session:
        session.store({"value": 0}, "counters/1")
        session.save_changes()
    out = _fork.Queue()
    workers = [
        _fork.Process(target=_increment, args=(url, INCREMENTS, optimistic, out))
        for _ in range(PROCESSES)
    ]
    _run(workers)
    conflicts = sum(out.get() for _ in workers)
    with DocumentStore(urls=url) as store, _no_tracking(store) as session:
        return session.load("counters/1")["value"], conflicts


@pytest.mark.rookdb_requires("multi_process")
def test_no_lost_updates_with_optimistic_concurrency(store_url: str, report: Report) -> None:
    final, conflicts = _lost_updates(store_url, optimistic=True)
    expected = PROCESSES * INCREMENTS
    report(
        f"lost updates, optimistic concurrency ({_name(store_url)}): {PROCESSES} processes x "
        f"{INCREMENTS} read-modify-write, {conflicts} conflicts seen and retried, "
        f"{expected - final} updates lost"
    )
    assert final == expected
    assert conflicts > 0  # the processes did collide


@pytest.mark.rookdb_requires("multi_process")
def test_negative_control_loses_updates_without_it(store_url: str, report: Report) -> None:
    final, _ = _lost_updates(store_url, optimistic=False)
    lost = PROCESSES * INCREMENTS - final
    report(
        f"lost updates, negative control without optimistic concurrency ({_name(store_url)}): "
        f"{lost} updates lost"
    )
    assert lost > 0


# -- create race ----------------------------------------------------------------------------


def _create(url: str, ids: list[str], start: Any, out: Any) -> None:
    wins = []
    with DocumentStore(urls=url) as store:
        start.wait()
        for document_id in ids:
            with store.open_session() as session:
                session.advanced.use_optimistic_concurrency = True
                session.store({"by": os.getpid()}, document_id)
                try:
                    session.save_changes()
                    wins.append(document_id)
                except ConcurrencyError:
                    pass
    out.put((os.getpid(), wins))


@pytest.mark.rookdb_requires("multi_process")
def test_create_race_has_exactly_one_winner(store_url: str, report: Report) -> None:
    ids = [f"races/{i}" for i in range(CREATE_IDS)]
    out, start = _fork.Queue(), _fork.Barrier(PROCESSES)
    workers = [_fork.Process(target=_create, args=(store_url, ids, start, out)) for _ in range(4)]
    _run(workers)
    winners: dict[str, list[int]] = {}
    for _ in workers:
        pid, wins = out.get()
        for document_id in wins:
            winners.setdefault(document_id, []).append(pid)
    with DocumentStore(urls=store_url) as store, _no_tracking(store) as session:
        stored = session.load(ids)
    bad = [i for i in ids if len(winners.get(i, [])) != 1 or stored[i]["by"] != winners[i][0]]
    report(
        f"create race ({_name(store_url)}): {PROCESSES} processes x {CREATE_IDS} ids, "
        f"{sum(len(w) for w in winners.values())} wins, {len(bad)} ids without exactly one winner"
    )
    assert bad == []


# -- bank invariant -------------------------------------------------------------------------

ACCOUNTS = [f"accounts/{i}" for i in range(10)]


def _transfer(url: str, count: int, seed: int, out: Any) -> None:
    rng = random.Random(seed)
    conflicts = 0
    with DocumentStore(urls=url) as store:
        done = 0
        while done < count:
            source, target = rng.sample(ACCOUNTS, 2)
            amount = rng.randint(1, 20)
            with store.open_session() as session:
                session.advanced.use_optimistic_concurrency = True
                accounts = session.load([source, target])
                accounts[source]["balance"] -= amount
                accounts[target]["balance"] += amount
                time.sleep(0.0005)  # widen the window between read and write: more conflicts
                try:
                    session.save_changes()
                    done += 1
                except ConcurrencyError:
                    conflicts += 1
    out.put(conflicts)


@pytest.mark.rookdb_requires("multi_process")
def test_bank_invariant_holds_for_a_concurrent_reader(store_url: str, report: Report) -> None:
    with DocumentStore(urls=store_url) as store:
        with store.open_session() as session:
            for account in ACCOUNTS:
                session.store({"balance": 100}, account)
            session.save_changes()
        out = _fork.Queue()
        workers = [
            _fork.Process(target=_transfer, args=(store_url, TRANSFERS, seed, out))
            for seed in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        checks, off = 0, 0
        while any(w.is_alive() for w in workers) or checks == 0:
            with store.open_session() as session:  # a fresh session per check
                total = sum(doc["balance"] for doc in session.load(ACCOUNTS).values())
            checks += 1
            off += total != 1000
        for worker in workers:
            worker.join(300)
            assert worker.exitcode == 0
        conflicts = sum(out.get() for _ in workers)
    report(
        f"bank invariant ({_name(store_url)}): {PROCESSES} processes x {TRANSFERS} transfers, "
        f"{conflicts} conflicts retried, {checks} multi-load checks, {off} totals off"
    )
    assert off == 0 and checks > 1


# -- fractured reads ------------------------------------------------------------------------


def _pair_writer(url: str, count: int) -> None:
    with DocumentStore(urls=url) as store:
        for i in range(count):
            with store.open_session() as session:
                pair = session.load(["pairs/a", "pairs/b"])
                pair["pairs/a"]["v"] = pair["pairs/b"]["v"] = i
                session.save_changes()


@pytest.mark.rookdb_requires("multi_process")
def test_multi_load_never_sees_half_a_batch(store_url: str, report: Report) -> None:
    with DocumentStore(urls=store_url) as store:
        with store.open_session() as session:
            session.store({"v": -1}, "pairs/a")
            session.store({"v": -1}, "pairs/b")
            session.save_changes()
        writer = _fork.Process(target=_pair_writer, args=(store_url, PAIR_WRITES))
        writer.start()
        checks, fractured, seen = 0, 0, set()
        while writer.is_alive() or checks == 0:
            with _no_tracking(store) as session:
                pair = session.load(["pairs/a", "pairs/b"])
            checks += 1
            fractured += pair["pairs/a"]["v"] != pair["pairs/b"]["v"]
            seen.add(pair["pairs/a"]["v"])
        writer.join(300)
        assert writer.exitcode == 0
    report(
        f"fractured reads ({_name(store_url)}): {PAIR_WRITES} paired writes, {checks} multi-loads "
        f"({len(seen)} distinct versions seen), {fractured} fractured"
    )
    assert fractured == 0 and len(seen) > 1


# -- kill -9 in the middle of a large save_changes ------------------------------------------


def _bulk_writer(url: str, trial: int, pipe: Connection) -> None:
    with DocumentStore(urls=url) as store:
        batch = 0
        while True:
            with store.open_session() as session:
                for j in range(KILL_BATCH):
                    session.store({"trial": trial, "batch": batch, "j": j}, f"t{trial}b{batch}/{j}")
                pipe.send(("started", batch))
                session.save_changes()
                pipe.send(("acknowledged", batch))
            batch += 1


@pytest.mark.rookdb_requires("multi_process")
def test_kill_9_during_save_changes_is_all_or_nothing(
    store_url: str, tmp_path: Path, report: Report, backend: Any
) -> None:
    rng = random.Random(9)
    started_total = acknowledged_total = partial = lost = 0
    for trial in range(KILL_TRIALS):
        receiver, sender = _fork.Pipe(duplex=False)
        writer = _fork.Process(target=_bulk_writer, args=(store_url, trial, sender))
        writer.start()
        # The kill lands at a random moment after the writer's first save began, not after a
        # fixed delay: on a loaded machine the writer may take longer than any such delay to
        # get there, and a trial that kills it before would test nothing.
        assert receiver.poll(120), "the writer never began a save"
        started, acknowledged = {receiver.recv()[1]}, set()
        time.sleep(rng.uniform(0.0, 1.1))
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join(60)
        while receiver.poll():
            event, batch = receiver.recv()
            (started if event == "started" else acknowledged).add(batch)
        started_total += len(started)
        acknowledged_total += len(acknowledged)
        if backend.name == "sqlite":  # the file itself, as the next process finds it
            conn = sqlite3.connect(tmp_path / "data" / "default.rookdb")
            try:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            finally:
                conn.close()
        with DocumentStore(urls=store_url) as store:  # the database opens
            storage = store._storage(store.database)
            for batch in started:
                count = len(storage.get_prefix(f"t{trial}b{batch}/", 0, KILL_BATCH + 1))
                partial += count not in (0, KILL_BATCH)
                lost += batch in acknowledged and count != KILL_BATCH
    with DocumentStore(urls=store_url) as store, store.open_session() as session:
        session.store({"after": "crashes"}, "checks/1")  # the database still takes writes
        session.save_changes()
    checked = ", integrity_check ok" if backend.name == "sqlite" else ""
    report(
        f"kill -9 during save_changes ({_name(store_url)}): {KILL_TRIALS} trials, "
        f"{started_total} batches of {KILL_BATCH:,} started, {acknowledged_total} acknowledged, "
        f"{partial} partial, {lost} acknowledged but missing{checked}"
    )
    assert partial == 0 and lost == 0 and started_total > acknowledged_total


# -- an error at every position of a batch ---------------------------------------------------


def test_an_error_at_any_position_writes_nothing(store: DocumentStore, report: Report) -> None:
    storage = store._storage(store.database)
    ids = [f"batch/{i}" for i in range(50)]
    failures = 0
    for position in range(50):
        inject_failure(store, f"batch/{position}")  # the database fails at that row, mid-batch
        with store.open_session() as session:
            for document_id in ids:
                session.store({"n": 1}, document_id)
            with pytest.raises(StorageError, match="injected"):
                session.save_changes()
            failures += 1
            assert session.advanced.has_changes  # nothing in the session changed
            assert [r.id for r in storage.stream()] == []  # nothing in storage either
            remove_failure(store)
            session.save_changes()  # the next save works
        assert len(list(storage.stream())) == 50
        with store.open_session() as session:
            for document_id in ids:
                session.delete(document_id)
            session.save_changes()
    report(
        f"error injection ({_name(store.urls[0])}): a failure at each of 50 positions: "
        f"{failures} batches failed, 0 documents written, the next save worked each time"
    )


def test_an_error_deep_in_a_big_batch_writes_nothing(store: DocumentStore, report: Report) -> None:
    # PostgreSQL sends a big batch in pipelined statements of 2,000 documents: a failure in
    # the first, at the edges of the second and in the last must each undo the whole batch.
    storage = store._storage(store.database)
    positions = (0, 1999, 2000, 4001, 4999)
    for position in positions:
        inject_failure(store, f"big/{position}")
        with store.open_session() as session:
            for i in range(5000):
                session.store({"n": i}, f"big/{i}")
            with pytest.raises(StorageError, match="injected"):
                session.save_changes()
            assert [r.id for r in storage.stream()] == []
            remove_failure(store)
    with store.open_session() as session:
        for i in range(5000):
            session.store({"n": i}, f"big/{i}")
        session.save_changes()
    assert sorted(r.id for r in storage.stream()) == sorted(f"big/{i}" for i in range(5000))
    report(
        f"error injection in a 5,000-document batch ({_name(store.urls[0])}): a failure at "
        f"positions {', '.join(map(str, positions))}: {len(positions)} batches failed, "
        "0 documents written, the next save wrote all 5,000"
    )


def test_disk_full_is_a_typed_error_and_writes_nothing(tmp_path: Path, report: Report) -> None:
    with DocumentStore(urls=f"sqlite:///{tmp_path}") as store:
        with store.open_session() as session:
            session.store({"seed": True}, "seeds/1")
            session.save_changes()
        storage = store._storage("default")
        assert isinstance(storage, SqliteStorage)
        with storage._connections as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        with store.open_session() as session:
            for i in range(500):
                session.store({"filler": "x" * 1000}, f"big/{i}")
            with pytest.raises(StorageError) as raised:
                session.save_changes()
        assert isinstance(raised.value.original, sqlite3.OperationalError)
        assert [r.id for r in storage.stream()] == ["seeds/1"]
    report(f"disk full (max_page_count): {raised.value.original}: typed error, nothing written")


# -- a stateful model of the session --------------------------------------------------------

_values = st.fixed_dictionaries(
    {"v": st.integers(-5, 5)}, optional={"s": st.text(max_size=3), "l": st.lists(st.booleans())}
)
_keys = st.sampled_from([f"things/{i}" for i in range(6)])


class SessionMachine(RuleBasedStateMachine):
    """store / load / delete / save / another session's write, against a dict model."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.store = DocumentStore(urls=self.url)
        self.committed: dict[str, dict[str, Any]] = {}  # what storage holds
        self.view: dict[str, Any] = {}  # what the open session knows: entity, or None
        # What each entity of the view was when the session last read or wrote it: a save
        # writes an entity only if it differs (an edit back to that value writes nothing).
        self.synced: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.session = self.store.open_session()

    @initialize()
    def empty_database(self) -> None:
        with self.store.open_session() as session:
            for key in [r.id for r in self.store._storage(self.store.database).stream()]:
                session.delete(key)
            session.save_changes()

    @rule(key=_keys)
    def load(self, key: str) -> None:
        loaded = self.session.load(key)
        if key in self.view:
            assert loaded is self.view[key]  # the identity map, even if storage moved on
        else:
            assert loaded == self.committed.get(key)
            self.view[key] = loaded
            if loaded is not None:
                self.synced[key] = dict(loaded)

    @rule(key=_keys, value=_values)
    def store_or_edit(self, key: str, value: dict[str, Any]) -> None:
        entity = self.view.get(key)
        if entity is not None:
            entity.clear()
            entity.update(value)
        else:
            entity = dict(value)
            self.session.store(entity, key)
            self.view[key] = entity
            self.synced.pop(key, None)  # a new entity: always written
        self.dirty.add(key)

    @rule(key=_keys)
    def delete(self, key: str) -> None:
        entity = self.view.get(key)
        if entity is not None:
            self.session.delete(entity)
        else:
            try:
                self.session.delete(key)
            except InvalidOperationError:
                return
        self.view[key] = None
        self.dirty.add(key)

    @rule()
    def save(self) -> None:
        self.session.save_changes()
        for key in self.dirty:
            entity = self.view.get(key)
            if entity is None:
                self.committed.pop(key, None)
                self.synced.pop(key, None)
            elif entity != self.synced.get(key):
                self.committed[key] = dict(entity)
                self.synced[key] = dict(entity)
        self.dirty.clear()
        assert not self.session.advanced.has_changes

    @rule(key=_keys, value=_values)
    def another_session_writes(self, key: str, value: dict[str, Any]) -> None:
        with self.store.open_session() as other:
            other.store(dict(value), key)
            other.save_changes()
        self.committed[key] = dict(value)

    @rule()
    def new_session(self) -> None:
        self.session.close()
        self.session = self.store.open_session()
        self.view.clear()
        self.synced.clear()
        self.dirty.clear()

    @invariant()
    def storage_matches_the_model(self) -> None:
        with _no_tracking(self.store) as session:
            keys = sorted({*self.committed, *self.dirty})
            assert {k: v for k, v in session.load(keys).items() if v is not None} == self.committed

    def teardown(self) -> None:
        self.session.close()
        self.store.close()


def test_stateful_session_against_a_model(store_url: str, report: Report) -> None:
    url = store_url if not store_url.startswith("memory") else "memory://machine"
    machine = type("Machine", (SessionMachine,), {"url": url})  # settings apply once per class
    limits = settings(max_examples=MACHINE_EXAMPLES, stateful_step_count=MACHINE_STEPS)
    settings(limits, deadline=None)(machine).TestCase().runTest()
    report(
        f"stateful model ({_name(store_url)}): {MACHINE_EXAMPLES} sequences x up to "
        f"{MACHINE_STEPS} steps of store/load/delete/save/another session: 0 divergences"
    )

"""Reliability of the metadata storage owns (issue 15), with figures: ``@counters`` and
``@attachments`` (and their flags) always say what the counters and attachments tables hold,
however puts from stale sessions race the commands that add them.

One process creates documents and gives each, in batches of their own, its first counter and
(every other one) its first attachment, in a database that starts with neither: the first
of them is the database's first too, the case where a put may look for neither
(``storage.postgres.writes``). Other processes meanwhile save those documents again, as
sessions do: loaded a while before (their ``@counters``/``@attachments`` stale, or missing),
or stored afresh without loading (no metadata at all), with no optimistic concurrency. At
the end every document's metadata must name exactly its counters and attachments."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from rookdb import DocumentStore

FULL = os.environ.get("ROOKDB_FULL") == "1"
DOCUMENTS = 200 if FULL else 40
RESAVERS = 3

Report = Callable[[str], None]
_fork = multiprocessing.get_context("fork")


def _add(url: str, done: Any, progress: Any, saves: Any) -> None:
    """Create each document, then give it its first counter and (even ones) attachment,
    once the other processes have had a go at it (so that they race on every backend)."""
    try:
        with DocumentStore(urls=url) as store:
            for i in range(DOCUMENTS):
                progress.value = i
                document_id = f"docs/{i}"
                with store.open_session() as session:
                    session.store({"n": i, "by": "adder"}, document_id)
                    session.save_changes()
                before, deadline = saves.value, time.monotonic() + 1
                while saves.value < before + RESAVERS and time.monotonic() < deadline:
                    time.sleep(0.0005)
                with store.open_session() as session:
                    session.counters_for(document_id).increment("hits")
                    session.save_changes()
                if i % 2 == 0:
                    with store.open_session() as session:
                        session.advanced.attachments.store(document_id, "a.txt", b"x" * (i + 1))
                        session.save_changes()
                if i % 4 == 0:  # a second counter: @counters changes again
                    with store.open_session() as session:
                        session.counters_for(document_id).increment("Likes", 2)
                        session.save_changes()
    finally:
        done.set()


def _resave(url: str, seed: int, done: Any, progress: Any, saves: Any) -> None:
    """Save the adder's latest documents again from stale sessions, until it is done."""
    rng = random.Random(seed)
    with DocumentStore(urls=url) as store:
        while not done.is_set():
            latest = progress.value
            ids = [f"docs/{i}" for i in range(max(0, latest - 2), latest + 1)]
            with store.open_session() as session:
                if rng.random() < 0.3:  # stored afresh: its body has no owned metadata
                    for document_id in ids:
                        session.store({"n": -1, "by": "fresh"}, document_id)
                else:
                    loaded = session.load(ids)
                    time.sleep(rng.random() * 0.005)  # the copies grow stale meanwhile
                    for document_id, entity in loaded.items():
                        if entity is None:
                            session.store({"n": -2, "by": "resaver"}, document_id)
                        else:
                            entity["by"] = f"resaver {seed}"
                session.save_changes()
            with saves.get_lock():
                saves.value += 1


@pytest.mark.rookdb_requires("multi_process", "counters", "attachments")
def test_owned_metadata_survives_stale_saves(store_url: str, report: Report) -> None:
    done, progress, saves = _fork.Event(), _fork.Value("i", 0), _fork.Value("i", 0)
    workers = [_fork.Process(target=_add, args=(store_url, done, progress, saves))]
    workers += [
        _fork.Process(target=_resave, args=(store_url, seed, done, progress, saves))
        for seed in range(RESAVERS)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0, f"a worker failed with exit code {worker.exitcode}"
    elapsed = time.perf_counter() - started
    wrong: list[str] = []
    with DocumentStore(urls=store_url) as store:
        storage = store._storage(store.database)
        records = storage.get([f"docs/{i}" for i in range(DOCUMENTS)]).documents
        for i in range(DOCUMENTS):
            document_id = f"docs/{i}"
            record = records[document_id]
            assert record is not None
            metadata = orjson.loads(record.data).get("@metadata", {})
            flags = [f.strip() for f in metadata.get("@flags", "").split(",") if f.strip()]
            counters = list(storage.get_counters(document_id))
            attachments = [a.name for a in storage.get_attachments(document_id)]
            said_counters = metadata.get("@counters", [])
            said_attachments = [a["Name"] for a in metadata.get("@attachments", [])]
            expected_counters = ["hits", "Likes"] if i % 4 == 0 else ["hits"]
            if (
                sorted(counters, key=str.lower) != sorted(expected_counters, key=str.lower)
                or said_counters != counters
                or said_attachments != attachments
                or attachments != (["a.txt"] if i % 2 == 0 else [])
                or ("HasCounters" in flags) != bool(counters)
                or ("HasAttachments" in flags) != bool(attachments)
            ):
                wrong.append(f"{document_id}: {metadata} vs {counters} {attachments}")
    report(
        f"owned metadata ({store_url.split(':', 1)[0]}): {DOCUMENTS} documents given counters "
        f"and attachments while {RESAVERS} processes saved them from stale sessions "
        f"({saves.value} batches of 3), in "
        f"{elapsed:.1f} s: {len(wrong)} with metadata not saying their counters/attachments"
    )
    assert wrong == []

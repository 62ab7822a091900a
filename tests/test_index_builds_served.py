"""``rookdb serve`` builds a new index in the background (issue 16), as RavenDB does: the PUT is
answered once the definition is stored; the index says ``Building`` and ``IsStale`` (with
the entries made so far) until the documents already there are mapped, a transaction of
``BUILD_BATCH`` documents at a time; a query on it answers what is there with IsStale; a
server stopped mid-build leaves it ``Building`` and the next start builds it on. A real server
process over loopback, on SQLite files."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rookdb import DocumentStore
from rookdb.operations import GetIndexStatisticsOperation
from rookdb.testing.backends import BACKENDS, start_server

DOCUMENTS = 30_000
_INDEX = {"Name": "Users/ByName", "Maps": ["from u in docs.Users select new { u.Name, u.Age }"]}


def _put(base: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/databases/db/admin/indexes",
        data=json.dumps({"Indexes": [_INDEX]}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def _stats(base: str) -> dict[str, Any]:
    url = f"{base}/databases/db/indexes/stats?name=Users/ByName"
    with urllib.request.urlopen(url, timeout=60) as answer:
        found: dict[str, Any] = json.loads(answer.read())["Results"][0]
    return found


def test_a_served_put_answers_at_once_and_a_stopped_build_goes_on(tmp_path: Path) -> None:
    BACKENDS["http"].require()
    data = str(tmp_path / "data")
    process, base, _ = start_server("--data", data, "--create-databases")
    try:
        with DocumentStore(urls=base, database="db") as store, store.bulk_insert() as bulk:
            for i in range(DOCUMENTS):
                user = {"Name": f"n{i}", "Age": i % 90, "@metadata": {"@collection": "Users"}}
                bulk.store_as(user, f"users/{i}")
        assert _put(base)["Results"][0]["Index"] == "Users/ByName"
        with DocumentStore(urls=base, database="db") as store, store.open_session() as session:
            seen: list[Any] = []
            found = list(session.query_index("Users/ByName").statistics(seen.append))
        first = _stats(base)
        if not seen[0].is_stale:
            pytest.skip("the build ended before the first look at it (a very fast machine)")
        # What is there so far, IsStale (RavenDB's IndexState has no Building: the JSON's
        # State is Normal, and IsStale true).
        assert len(found) < DOCUMENTS
    finally:
        process.send_signal(signal.SIGKILL)  # mid-build (or just after it): no clean stop
        process.wait(timeout=30)
    if first["IsStale"]:
        assert first["EntriesCount"] < DOCUMENTS
    process, base, _ = start_server("--data", data, "--create-databases")
    try:
        with DocumentStore(urls=base, database="db") as store, store.open_session() as session:
            # A write during the build maintains its entries at once.
            session.store({"Name": "late", "Age": 1, "@metadata": {"@collection": "Users"}}, "z/1")
            session.save_changes()
            late = session.query_index("Users/ByName").where_equals("Name", "late")
            assert [u["Name"] for u in late] == ["late"]
            everyone = session.query_index("Users/ByName").wait_for_non_stale_results(120)
            assert len(list(everyone.where_greater_than_or_equal("Age", 0).take(1))) == 1
            stats = store.maintenance.send(GetIndexStatisticsOperation("Users/ByName"))
            assert stats.state == "Normal" and not stats.is_stale
            assert stats.entries_count == DOCUMENTS + 1
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_database_statistics_say_an_index_being_built_is_stale(tmp_path: Path) -> None:
    """``GET /stats`` lists each index with ``IsStale``, which RavenDB's test base (and its
    users) poll to wait for indexing: an index still being built is stale there too, as in
    ``/indexes/stats``. It said every index was fresh, so a wait for indexing returned before
    the build and queries missed results (the official client's test_query_map_reduce_index,
    now and then)."""
    BACKENDS["http"].require()
    process, base, _ = start_server("--data", str(tmp_path / "data"), "--create-databases")
    try:
        with DocumentStore(urls=base, database="db") as store, store.bulk_insert() as bulk:
            for i in range(DOCUMENTS):
                user = {"Name": f"n{i}", "Age": i % 90, "@metadata": {"@collection": "Users"}}
                bulk.store_as(user, f"users/{i}")
        _put(base)
        with urllib.request.urlopen(f"{base}/databases/db/stats", timeout=60) as answer:
            listed = json.loads(answer.read())["Indexes"]
        building = _stats(base)["IsStale"]  # after: a build never goes back to stale
        if not building:
            pytest.skip("the build ended before the first look at it (a very fast machine)")
        assert [(i["Name"], i["IsStale"]) for i in listed] == [("Users/ByName", True)]
    finally:
        process.terminate()
        process.wait(timeout=30)

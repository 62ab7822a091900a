"""RavenDB's own client (``ravendb`` 7.2) against ``rookdb serve``: patches (issue 15).

- ``PATCH`` batch commands: ``session.advanced.add_or_patch`` / ``add_or_increment`` /
  ``add_or_patch_array``, scripts deferred with ``PatchCommandData``; the tracked entity
  updated from the reply; a failing script refuses the whole batch.
- ``PATCH /docs?id=`` (``PatchOperation``): statuses, ``If-Match``, skip on mismatch,
  ``test=true`` writing nothing.
- A runaway script is stopped by its time limit while the server keeps answering others.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")
from ravendb import PatchCommandData, PatchOperation, PatchRequest, PatchStatus  # noqa: E402
from ravendb.exceptions.raven_exceptions import RavenException  # noqa: E402

DATABASE = "Patches"


class User:
    def __init__(
        self,
        name: str | None = None,
        age: int = 0,
        tags: list[str] | None = None,
        Id: str | None = None,
    ) -> None:
        self.name, self.age, self.tags, self.Id = name, age, tags or [], Id


@pytest.fixture
def store() -> Iterator[Any]:
    """A database of its own on the run's server (by-query operations see every document)."""
    from ravendb import DeleteDatabaseOperation

    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    database = f"{DATABASE}{uuid.uuid4().hex[:8]}"
    store = ravendb.DocumentStore(urls=[url], database=database)
    store.initialize()
    try:
        yield store
    finally:
        store.maintenance.server.send(DeleteDatabaseOperation(database, hard_delete=True))
        store.close()


def _seed(store: Any) -> None:
    with store.open_session() as session:
        session.store(User("Ann", 30, ["a"]), "users/1")
        session.save_changes()


def _load(store: Any, key: str) -> Any:
    with store.open_session() as session:
        return session.load(key, User)


def test_add_or_patch_family(store: Any) -> None:
    for _ in range(2):
        with store.open_session() as session:
            session.advanced.add_or_patch("users/7", User("New", 1), "name", "Patched")
            session.advanced.add_or_increment("users/8", User("Count", 1), "age", 5)
            session.advanced.add_or_patch_array(
                "users/9", User("Arr"), "tags", lambda a: a.add("x")
            )
            session.save_changes()
            assert session.advanced.number_of_requests == 1
    assert _load(store, "users/7").name == "Patched"
    assert _load(store, "users/8").age == 6
    assert _load(store, "users/9").tags == ["x"]


def test_script_patch_in_a_batch_updates_the_tracked_entity(store: Any) -> None:
    _seed(store)
    with store.open_session() as session:
        user = session.load("users/1", User)
        request = PatchRequest("this.age += args.by; this.tags.push('b');", {"by": 2})
        session.advanced.defer(PatchCommandData("users/1", None, request, None))
        session.save_changes()
        assert user.age == 32 and user.tags == ["a", "b"]  # from ModifiedDocument
    assert _load(store, "users/1").age == 32


def test_a_failing_script_refuses_the_batch(store: Any) -> None:
    _seed(store)
    with store.open_session() as session:
        session.store(User("Bo"), "users/2")
        session.advanced.defer(
            PatchCommandData("users/1", None, PatchRequest("this.x = 1;\nthis.a.b = 2;"), None)
        )
        with pytest.raises(RavenException, match="line 2"):
            session.save_changes()
    assert _load(store, "users/2") is None


def test_patch_operation_statuses(store: Any) -> None:
    _seed(store)
    ops = store.operations
    patched = ops.send_patch_operation(
        PatchOperation("users/1", None, PatchRequest("this.age = 40;")), None
    )
    assert patched == PatchStatus.PATCHED
    same = ops.send_patch_operation(
        PatchOperation("users/1", None, PatchRequest("this.age = 40;")), None
    )
    assert same == PatchStatus.NOT_MODIFIED
    missing = ops.send_patch_operation(
        PatchOperation("users/404", None, PatchRequest("this.age = 1;")), None
    )
    assert missing == PatchStatus.DOCUMENT_DOES_NOT_EXIST
    created = ops.send_patch_operation(
        PatchOperation(
            "users/5",
            None,
            PatchRequest("this.age = 1;"),
            PatchRequest("this.name = 'Made'; this['@metadata']['@collection'] = 'Users';"),
        ),
        None,
    )
    assert created == PatchStatus.CREATED
    assert _load(store, "users/5").name == "Made"
    skipped = ops.send_patch_operation(
        PatchOperation("users/1", "A:1-stale", PatchRequest("this.age = 1;"), None, True), None
    )
    # Skipped is a 304 from RavenDB, which this client reads as NOT_MODIFIED.
    assert skipped == PatchStatus.NOT_MODIFIED
    assert _load(store, "users/1").age == 40


def test_a_script_put_answers_the_completed_id(store: Any) -> None:
    _seed(store)
    script = (
        "this.tags = [put('users/', { name: 'Bo', '@metadata': { '@collection': 'Users' } }),"
        " put('people|', { name: 'Cy', '@metadata': { '@collection': 'People' } })];"
    )
    status = store.operations.send_patch_operation(
        PatchOperation("users/1", None, PatchRequest(script)), None
    )
    assert status == PatchStatus.PATCHED
    made, counted = _load(store, "users/1").tags
    assert made.startswith("users/") and made.endswith("-A")
    assert counted == "people/1"  # the identity's first value, as RavenDB's would be
    assert (_load(store, made).name, _load(store, counted).name) == ("Bo", "Cy")


def test_patch_operation_with_entity_class_and_test_mode(store: Any) -> None:
    _seed(store)
    result = store.operations.send_patch_operation_with_entity_class(
        User, PatchOperation("users/1", None, PatchRequest("this.name = args.n;", {"n": "Z"}))
    )
    assert result.status == PatchStatus.PATCHED and result.document.name == "Z"
    command = PatchOperation("users/1", None, PatchRequest("this.name = 'T';")).get_command(
        store, store.conventions, None, test=True
    )
    store.get_request_executor().execute_command(command)
    assert command.result.modified_document["name"] == "T"
    assert command.result.original_document["name"] == "Z"
    assert _load(store, "users/1").name == "Z"  # test mode wrote nothing


def test_runaway_script_is_stopped_while_the_server_serves_others(
    store: Any, report: Callable[[str], None]
) -> None:
    _seed(store)
    outcome: dict[str, Any] = {}

    def runaway() -> None:
        start = time.perf_counter()
        try:
            store.operations.send_patch_operation(
                PatchOperation("users/1", None, PatchRequest("while (true) {}")), None
            )
        except RavenException as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=runaway)
    thread.start()
    answered = []
    while thread.is_alive() and len(answered) < 200:
        start = time.perf_counter()
        assert _load(store, "users/1").name == "Ann"
        answered.append(time.perf_counter() - start)
    thread.join(60)
    assert not thread.is_alive()
    assert "time limit" in str(outcome["error"])
    assert len(answered) >= 3  # the server kept answering while the script ran
    assert max(answered) < 1.0, answered
    assert _load(store, "users/1").age == 30  # nothing written
    report(
        f"runaway script (while (true) {{}}) through rookdb serve: stopped after "
        f"{outcome['seconds']:.1f} s (limit: 2 s of its own CPU time), {len(answered)} loads "
        f"answered meanwhile, slowest {max(answered) * 1000:.0f} ms, nothing written"
    )


def test_patch_and_delete_by_query_operations(store: Any) -> None:
    from ravendb import DeleteByQueryOperation, IndexQuery, PatchByQueryOperation

    with store.open_session() as session:
        for i in range(4):
            session.store(User(f"u{i}", i), f"users/{i}")
        session.save_changes()
    query = IndexQuery("from Users where age >= $min update { this.age += 10; }")
    query.query_parameters = {"min": 2}
    operation = store.operations.send_async(PatchByQueryOperation(query))
    operation.wait_for_completion()
    status = operation.fetch_operations_status()
    assert status["Status"] == "Completed" and status["Result"]["Total"] == 2
    assert [_load(store, f"users/{i}").age for i in range(4)] == [0, 1, 12, 13]
    deleted = store.operations.send_async(
        DeleteByQueryOperation(IndexQuery("from Users where age < 10"))
    )
    deleted.wait_for_completion()
    assert _load(store, "users/0") is None and _load(store, "users/2") is not None
    failing = store.operations.send_async(
        PatchByQueryOperation(IndexQuery("from Users update {\n this.a.b = 1; }"))
    )
    with pytest.raises(RavenException, match="line 2"):
        failing.wait_for_completion()


def test_by_query_operations_run_in_the_background(store: Any) -> None:
    from ravendb import IndexQuery, PatchByQueryOperation

    _seed(store)
    # The script takes ~0.5 s: the answer comes before it ends, the state says InProgress.
    slow = "var t = Date.now(); while (Date.now() - t < 500) {} this.age = 31;"
    started = time.perf_counter()
    operation = store.operations.send_async(
        PatchByQueryOperation(IndexQuery(f"from Users update {{ {slow} }}"))
    )
    answered = time.perf_counter() - started
    assert operation.fetch_operations_status()["Status"] == "InProgress"
    operation.wait_for_completion()
    assert answered < 0.4, answered
    status = operation.fetch_operations_status()
    assert status["Status"] == "Completed" and status["Result"]["Total"] == 1
    assert _load(store, "users/1").age == 31
    # A failure is Faulted with the typed error, the script's line in its message.
    failing = store.operations.send_async(
        PatchByQueryOperation(IndexQuery("from Users update {\n this.a.b = 1; }"))
    )
    with pytest.raises(RavenException, match="line 2"):
        failing.wait_for_completion()
    faulted = failing.fetch_operations_status()
    assert faulted["Status"] == "Faulted"
    assert faulted["Result"]["RookdbError"] == "PatchScriptError"
    # A query that cannot run is refused at once: no operation.
    with pytest.raises(Exception, match="update"):
        store.operations.send_async(PatchByQueryOperation(IndexQuery("from Users")))

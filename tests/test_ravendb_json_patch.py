"""RavenDB's ``JsonPatchOperation`` (``PATCH /databases/{db}/json-patch?id=``) with the
official client against ``rookdb serve`` (issue 14): RFC 6902 operations applied on the server
to one document, RavenDB's answer, and typed errors for what does not apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")
from ravendb.documents.operations.json_patch import (  # noqa: E402
    JsonPatchDocument,
    JsonPatchOperation,
)
from ravendb.documents.operations.patch import PatchStatus  # noqa: E402
from ravendb.exceptions.raven_exceptions import RavenException  # noqa: E402

DATABASE = "JsonPatched"


class User:
    def __init__(self, name: str | None = None, age: int = 0, Id: str | None = None) -> None:
        self.name, self.age, self.Id = name, age, Id


@pytest.fixture
def served() -> Iterator[tuple[Any, str]]:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    store = ravendb.DocumentStore(urls=[url], database=DATABASE)
    store.initialize()
    with store.open_session() as session:
        session.store(User("Ann", 30), "users/1")
        session.save_changes()
    try:
        yield store, url
    finally:
        store.close()
        spec.clean_up(url)


def _vector(store: Any) -> str:
    with store.open_session() as session:
        return str(session.advanced.get_change_vector_for(session.load("users/1", User)))


def test_a_json_patch_is_applied_on_the_server(served: tuple[Any, str]) -> None:
    store, _ = served
    before = _vector(store)
    patch = JsonPatchDocument().replace("/name", "Bob").add("/tags", ["a"]).remove("/age")
    result = store.operations.send(JsonPatchOperation("users/1", patch))
    assert result.status == PatchStatus.PATCHED
    assert result.modified_document["name"] == "Bob" and result.modified_document["tags"] == ["a"]
    assert "age" not in result.modified_document
    assert result.modified_document["@metadata"]["@collection"] == "Users"
    with store.open_session() as session:
        loaded = session.load("users/1", dict)
        assert (loaded["name"], loaded["tags"]) == ("Bob", ["a"])
        assert session.advanced.get_change_vector_for(loaded) != before


def test_a_patch_of_tests_only_modifies_nothing(served: tuple[Any, str]) -> None:
    store, _ = served
    before = _vector(store)
    result = store.operations.send(
        JsonPatchOperation("users/1", JsonPatchDocument().test("/name", "Ann"))
    )
    assert result.status == PatchStatus.NOT_MODIFIED
    assert _vector(store) == before


@pytest.mark.parametrize(
    "patch",
    [
        JsonPatchDocument().test("/name", "Someone else").replace("/name", "x"),
        JsonPatchDocument().replace("/nowhere/deep", 1),
        JsonPatchDocument().remove("/missing"),
        JsonPatchDocument([{"op": "launch", "path": "/name"}]),
    ],
)
def test_a_patch_that_does_not_apply_is_an_error_and_writes_nothing(
    served: tuple[Any, str], patch: Any
) -> None:
    store, url = served
    before = _vector(store)
    with pytest.raises(RavenException):
        store.operations.send(JsonPatchOperation("users/1", patch))
    assert _vector(store) == before
    answer = httpx.patch(
        f"{url}/databases/{DATABASE}/json-patch",
        params={"id": "users/1"},
        json={"Operations": patch.to_json()},
    )
    assert answer.status_code == 400 and answer.json()["Type"].startswith("Raven.Client.")


def test_a_patch_of_a_missing_document_is_an_error(served: tuple[Any, str]) -> None:
    store, url = served
    patch = JsonPatchDocument().add("/name", "x")
    with pytest.raises(RavenException, match="does not exist"):
        store.operations.send(JsonPatchOperation("users/404", patch))
    answer = httpx.patch(
        f"{url}/databases/{DATABASE}/json-patch",
        params={"id": "users/404"},
        json={"Operations": patch.to_json()},
    )
    assert answer.status_code == 400
    assert answer.json()["Type"].endswith("DocumentDoesNotExistException")
    with store.open_session() as session:
        assert session.load("users/404", User) is None


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({"id": "users/1"}, b"not json"),
        ({"id": "users/1"}, b'{"Operations": "add"}'),
        ({"id": "users/1"}, b"[]"),
        ({}, b'{"Operations": []}'),
        ({"id": "users/"}, b'{"Operations": []}'),
    ],
)
def test_bad_requests_are_400(served: tuple[Any, str], params: dict[str, str], body: bytes) -> None:
    _, url = served
    answer = httpx.patch(f"{url}/databases/{DATABASE}/json-patch", params=params, content=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["Type"].startswith("Raven.Client.Exceptions.")

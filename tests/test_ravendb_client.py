"""RavenDB's own Python client (``ravendb``, pinned in the dev extra) against ``rookdb serve``
(SPEC H2 acceptance; issue 5, "must show" 2).

The requests the official client makes for these sessions are the protocol subset rookdb
serves; they are recorded in ``golden/ravendb_client_requests.json`` (method, path with the
database and ids replaced by placeholders, query parameter names, JSON body keys) and this test
fails when the client's requests change. ``ROOKDB_UPDATE_GOLDEN=1`` rewrites the file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")
from ravendb.exceptions.raven_exceptions import ConcurrencyException  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "ravendb_client_requests.json"
DATABASE = "Official"


class Employee:
    def __init__(
        self, first_name: str | None = None, last_name: str | None = None, Id: str | None = None
    ) -> None:
        self.first_name, self.last_name, self.Id = first_name, last_name, Id


def _shape(method: str, url: str, content: bytes | str | None) -> dict[str, Any]:
    """A request with what varies from run to run (port, ids, values) taken out."""
    parts = urlsplit(url)
    path = parts.path.replace(f"/databases/{DATABASE}/", "/databases/{db}/")
    body = json.loads(content) if content else None
    body = body if isinstance(body, dict) else None
    return {
        "method": method,
        "path": path,
        "query": sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}),
        "body": sorted(body) if body is not None else None,
        "commands": sorted({c["Type"] for c in body["Commands"]})
        if body and "Commands" in body
        else None,
    }


@pytest.fixture
def server_url() -> Any:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    yield url
    spec.clean_up(url)


def test_the_official_client_runs_sessions_against_rookdb_serve(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Record every request at the client's HTTP layer (requests), then send it as it was.
    import requests

    seen: list[dict[str, Any]] = []
    send = requests.Session.send

    def recording_send(self: Any, request: Any, **kwargs: Any) -> Any:
        seen.append(_shape(request.method, request.url, request.body))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording_send)
    store = ravendb.DocumentStore(urls=[server_url], database=DATABASE)
    store.initialize()
    try:
        with store.open_session() as session:
            robert, anne = Employee("Robert", "King"), Employee("Anne", "Dodsworth")
            session.store(robert)
            session.store(anne)
            session.save_changes()
        assert re.fullmatch(r"employees/\d+-A", robert.Id)  # HiLo, as RavenDB makes them
        assert robert.Id != anne.Id

        with store.open_session() as session:
            loaded = session.load(robert.Id, Employee)
            assert (loaded.first_name, loaded.last_name) == ("Robert", "King")
            both = session.load([robert.Id, anne.Id], Employee)
            assert sorted(e.first_name for e in both.values()) == ["Anne", "Robert"]
            found = list(session.query(object_type=Employee).where_equals("first_name", "Anne"))
            assert [e.last_name for e in found] == ["Dodsworth"]
            loaded.last_name = "Kingsley"
            changes = session.advanced.what_changed()
            assert [
                (c["field_name"], c["old_value"], c["new_value"]) for c in changes[robert.Id]
            ] == [("last_name", "King", "Kingsley")]
            session.save_changes()

        with store.open_session() as first, store.open_session() as second:
            first.advanced.use_optimistic_concurrency = True
            second.advanced.use_optimistic_concurrency = True
            mine, theirs = first.load(robert.Id, Employee), second.load(robert.Id, Employee)
            mine.first_name, theirs.first_name = "Bob", "Rob"
            first.save_changes()
            with pytest.raises(ConcurrencyException):
                second.save_changes()

        with store.open_session() as session:
            session.delete(anne.Id)
            session.save_changes()
        with store.open_session() as session:
            assert session.load(anne.Id, Employee) is None
            assert session.load(robert.Id, Employee).first_name == "Bob"
    finally:
        store.close()

    # What rookdb itself reads back: the same documents, through its own client.
    from rookdb import DocumentStore

    with (
        DocumentStore(urls=[server_url], database=DATABASE) as ours,
        ours.open_session() as session,
    ):
        document = session.load(robert.Id)
        assert document["first_name"] == "Bob" and document["last_name"] == "Kingsley"
        assert session.load(anne.Id) is None

    requests = sorted({json.dumps(shape, sort_keys=True) for shape in seen})
    recorded = [json.loads(r) for r in requests]
    if os.environ.get("ROOKDB_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(recorded, indent=2) + "\n")
    assert recorded == json.loads(GOLDEN.read_text()), (
        "the official client's requests changed: check them against rookdb.server and "
        "rerun with ROOKDB_UPDATE_GOLDEN=1"
    )

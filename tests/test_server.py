"""``rookdb serve`` as a process on loopback: hostile input, API keys, the layering rule
(SPEC §7 H3, H4, §9; issue 5, "must show" 3). The conformance suite runs over the server
too (``--backend http``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from rookdb import DocumentStore
from rookdb.errors import AuthenticationError, AuthorizationError
from rookdb.testing.backends import BACKENDS, server_data_directory, start_server

SRC = Path(__file__).parent.parent / "src" / "rookdb"


@pytest.fixture
def server() -> Iterator[str]:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    yield url
    spec.clean_up(url)


def _still_answers(url: str) -> None:
    assert httpx.get(f"{url}/topology", params={"name": "default"}).status_code == 200


def _files_outside(data: Path) -> set[Path]:
    """Every file under the data directory's parent but not under the data directory."""
    parent = data.parent
    return {p for p in parent.rglob("*") if data not in p.parents and p != data}


BAD_BODIES = {
    "depth 100,000": b"[" * 100_000 + b"]" * 100_000,
    "NaN": b'{"Commands": [{"Type": "PUT", "Id": "a/1", "Document": {"x": NaN}}]}',
    "invalid UTF-8": b'{"Commands": [{"Type": "PUT", "Id": "a/\xff", "Document": {}}]}',
    "5,000-digit number": b'{"Commands": [{"Type": "PUT", "Id": "a/1", "Document": {"x": '
    + b"9" * 5000
    + b"}}]}",
    "65-bit integer": b'{"Commands": [{"Type": "PUT", "Id": "a/1", "Document": {"x": '
    + b"36893488147419103232}}]}",
    "not JSON": b"{{{",
    "empty": b"",
    "wrong shape": b'{"Commands": 5}',
    "unknown command": b'{"Commands": [{"Type": "PATCH", "Id": "a/1"}]}',
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_bodies_are_400_and_write_nothing(server: str, name: str) -> None:
    answer = httpx.post(f"{server}/databases/bad/bulk_docs", content=BAD_BODIES[name])
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["Type"].startswith("Raven.Client.Exceptions.")
    assert "Traceback" not in answer.text
    with DocumentStore(urls=server, database="bad") as store:
        assert store.maintenance.get_statistics().count_of_documents == 0
    _still_answers(server)


def test_an_oversized_body_is_413_before_it_is_read(tmp_path: Path) -> None:
    with _serve(tmp_path, "--max-body-mb", "1") as url:
        big = b'{"Commands": [' + b" " * (2 * 1024 * 1024) + b"]}"
        answer = httpx.post(f"{url}/databases/x/bulk_docs", content=big)
        assert answer.status_code == 413
        assert answer.json()["Type"].startswith("Raven.Client.Exceptions.")
        _still_answers(url)


TRAVERSALS = ["..", "../etc", "..%2Fetc", "%2E%2E", "%2e%2e%2fx", "a%2F..%2F..%2Fb", ".hidden"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_database_names_cannot_leave_the_data_directory(server: str, name: str) -> None:
    data = Path(server_data_directory())
    before = _files_outside(data)
    for method, path in [
        ("POST", f"/databases/{name}/bulk_docs"),
        ("GET", f"/databases/{name}/docs?id=a"),
        ("GET", f"/databases/{name}/stats"),
        ("PUT", f"/admin/databases?name={name}"),
    ]:
        content = b'{"Commands": [{"Type": "PUT", "Id": "a/1", "Document": {}}]}'
        answer = httpx.request(method, f"{server}{path}", content=content)
        assert answer.status_code in (400, 501), (method, path, answer.status_code)
        assert answer.json()["Type"].startswith("Raven.Client.Exceptions.")
    assert _files_outside(data) == before
    _still_answers(server)


def test_unknown_routes_are_501_in_ravendb_shape(server: str) -> None:
    answer = httpx.get(f"{server}/databases/x/indexes")
    assert answer.status_code == 501
    assert answer.json()["Type"] == "Raven.Client.Exceptions.NotSupportedException"


# -- API keys ---------------------------------------------------------------------------------

KEYS = {
    "keys": [
        {"key": "admin-key-0123456789", "databases": {"*": "admin"}},
        {"key": "reader-key-0123456789", "databases": {"Shop": "read"}},
        {"key": "writer-key-0123456789", "databases": {"Shop": "write"}},
    ]
}


class _serve:
    """A ``rookdb serve`` process of its own (for options the shared test server lacks)."""

    def __init__(self, tmp: Path, *options: str) -> None:
        self.tmp, self.options = tmp, options

    def __enter__(self) -> str:
        self.process, url = start_server("--data", str(self.tmp), *self.options)
        return url

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def _store(url: str, key: str | None, monkeypatch: pytest.MonkeyPatch) -> DocumentStore:
    if key is None:
        monkeypatch.delenv("ROOKDB_API_KEY", raising=False)
    else:
        monkeypatch.setenv("ROOKDB_API_KEY", key)
    return DocumentStore(urls=url, database="Shop").initialize()


def test_api_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys.json"
    keys.write_bytes(orjson.dumps(KEYS))
    with _serve(tmp_path / "data", "--api-keys", str(keys)) as url:
        for key in (None, "wrong-key-0123456789", "admin-key-012345678"):
            with (
                _store(url, key, monkeypatch) as store,
                store.open_session() as session,
                pytest.raises(AuthenticationError),
            ):
                session.load("items/1")
            answer = httpx.get(f"{url}/databases/Shop/docs", params={"id": "items/1"})
            assert answer.status_code == 401
        with (
            _store(url, "writer-key-0123456789", monkeypatch) as store,
            store.open_session() as session,
        ):
            session.store({"n": 1}, "items/1")
            session.save_changes()
        with _store(url, "reader-key-0123456789", monkeypatch) as store:
            with store.open_session() as session:
                item = session.load("items/1")
                assert item == {"n": 1}
                item["n"] = 2
                with pytest.raises(AuthorizationError):  # 403: read-only key writing
                    session.save_changes()
            with pytest.raises(AuthorizationError):  # no access to another database
                store.open_session(database="Other").load("x/1")
            with pytest.raises(AuthorizationError):  # administration needs an admin key
                store.maintenance.create_database("New")
        with _store(url, "admin-key-0123456789", monkeypatch) as store:
            store.maintenance.create_database("New")
            assert "New" in store.maintenance.list_databases()
            assert store.open_session().load("items/1") == {"n": 1}  # "*": every database


def test_a_public_address_without_tls_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rookdb", "serve", "--host", "0.0.0.0", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "without TLS" in done.stderr and "--unsecured-allow-anywhere" in done.stderr


# -- layering (SPEC §9): the server never imports the session --------------------------------


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    "folder", ["server", "storage"], ids=["server never imports", "backends never import"]
)
def test_layers(folder: str) -> None:
    for path in (SRC / folder).rglob("*.py"):
        forbidden = {"rookdb.session", "rookdb.store"} & _imports(path)
        assert not forbidden, f"{path.relative_to(SRC)} imports {forbidden}"


def test_protocol_imports_neither() -> None:
    assert not {"rookdb.session", "rookdb.store"} & _imports(SRC / "protocol.py")

"""``rookdb serve`` as a process on loopback: hostile input, API keys, the layering rule
(SPEC §7 H3, H4, §9; issue 5, "must show" 3). The conformance suite runs over the server
too (``--rookdb-backend http``)."""

from __future__ import annotations

import ast
import contextlib
import datetime
import ipaddress
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rookdb import DocumentStore
from rookdb.cli import main
from rookdb.errors import AuthenticationError, AuthorizationError
from rookdb.testing.backends import BACKENDS, postgres_url, server_data_directory, start_server

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
    "NUL in an id": b'{"Commands": [{"Type": "PUT", "Id": "a/\\u0000", "Document": {}}]}',
    "id starting with /": b'{"Commands": [{"Type": "PUT", "Id": "/a", "Document": {}}]}',
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
    with _serve("--data", str(tmp_path), "--max-body-mb", "1") as url:
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
    answer = httpx.get(f"{server}/databases/x/subscriptions")
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
    """A ``rookdb serve`` process of its own (for options the shared test server lacks),
    creating databases on first use as the shared one does: these tests are about other
    things (``test_ravendb_setup`` is about missing databases)."""

    def __init__(self, *options: str) -> None:
        self.options = options

    def __enter__(self) -> str:
        self.process, url, self.start_line = start_server(*self.options, "--create-databases")
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
    with _serve("--data", str(tmp_path / "data"), "--api-keys", str(keys)) as url:
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


def test_a_key_lists_the_databases_it_may_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As RavenDB lists the databases a certificate may use: so a key of one database can
    see that it exists (the command line checks that before it reads)."""
    keys = tmp_path / "keys.json"
    keys.write_bytes(orjson.dumps(KEYS))
    with _serve("--data", str(tmp_path / "data"), "--api-keys", str(keys)) as url:
        with _store(url, "admin-key-0123456789", monkeypatch) as store:
            for name in ("Shop", "Other"):
                store.maintenance.create_database(name)
            assert store.maintenance.list_databases() == ["Other", "Shop"]
        with _store(url, "reader-key-0123456789", monkeypatch) as store:
            assert store.maintenance.list_databases() == ["Shop"]
        result = CliRunner().invoke(main, ["stats", "--url", url, "-d", "shop"])
        assert result.exit_code == 0 and "database   Shop" in result.output, result.output
        result = CliRunner().invoke(main, ["stats", "--url", url, "-d", "Other"])
        assert result.exit_code == 1 and "the databases there: Shop" in result.output
        with _store(url, None, monkeypatch) as store, pytest.raises(AuthenticationError):
            store.maintenance.list_databases()


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


# -- limits on connections (H4): heads, bodies, concurrency ----------------------------------


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _answer(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Read a whole answer of a connection the server closes after it."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(body)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    options = ["--header-timeout", "1", "--idle-timeout", "1", "--max-concurrency", "2"]
    with _serve("--data", str(tmp_path_factory.mktemp("strict")), *options) as url:
        yield url


def test_a_head_sent_too_slowly_is_408(strict_server: str) -> None:
    with _raw(strict_server) as sock:
        sock.sendall(b"GET /topology?name=x HTTP/1.1\r\nHost: x\r\n")  # never finished
        started = time.monotonic()
        status, body = _answer(sock)
    assert status == 408 and "request head" in str(body["Message"])
    assert 0.9 < time.monotonic() - started < 5
    with _raw(strict_server) as sock:  # a connection that sends nothing is closed too
        assert _answer(sock)[0] == 408
    _still_answers(strict_server)


def test_a_head_trickled_a_byte_at_a_time_is_cut_off(strict_server: str) -> None:
    with _raw(strict_server) as sock:
        started = time.monotonic()
        with contextlib.suppress(OSError):  # the server may close while we still send
            for byte in b"GET /topology?name=x HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        status, _ = _answer(sock)
    assert status == 408 and time.monotonic() - started < 4
    _still_answers(strict_server)


def test_an_oversized_head_is_431_and_malformed_http_400(strict_server: str) -> None:
    with _raw(strict_server) as sock:
        sock.sendall(b"GET /topology HTTP/1.1\r\nHost: x\r\nX-Big: ")
        for _ in range(40):  # 320 KB at most; stop once the server answers
            sock.sendall(b"a" * 8192)  # (data it never read would make its close a reset)
            if select.select([sock], [], [], 0.05)[0]:
                break
        status, body = _answer(sock)
    assert status == 431 and str(body["Type"]).startswith("Raven.Client.Exceptions.")
    with _raw(strict_server) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, body = _answer(sock)
    assert status == 400 and "Message" in body
    _still_answers(strict_server)


def test_a_body_that_stops_arriving_is_408(strict_server: str) -> None:
    with _raw(strict_server) as sock:
        sock.sendall(
            b"POST /databases/slow/bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b'\r\n{"Commands": ['
        )
        status, body = _answer(sock)
    assert status == 408 and str(body["Type"]).startswith("Raven.Client.Exceptions.")
    _still_answers(strict_server)


def test_past_the_concurrency_limit_the_answer_is_503(strict_server: str) -> None:
    # Two requests hold the server's two places, each waiting for the rest of its body.
    holders = [_raw(strict_server) for _ in range(2)]
    try:
        for sock in holders:
            sock.sendall(
                b"POST /databases/busy/bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{"
            )
        time.sleep(0.3)
        answer = httpx.get(f"{strict_server}/topology", params={"name": "busy"})
        assert answer.status_code == 503
        assert answer.json()["Type"].startswith("Raven.Client.Exceptions.")
    finally:
        for sock in holders:
            sock.close()
    time.sleep(0.3)
    _still_answers(strict_server)


# -- TLS with client certificates (H3) -------------------------------------------------------


def _certificate(
    name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, ca: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, signer = (subject, key) if issuer is None else (issuer[0].subject, issuer[1])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256()), key


def _write(path: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_tls_admits_only_clients_with_a_certificate_the_client_ca_signed(tmp_path: Path) -> None:
    server_ca = _certificate("server CA", None, ca=True)
    client_ca = _certificate("client CA", None, ca=True)
    stranger_ca = _certificate("some other CA", None, ca=True)
    server_pem = _write(tmp_path / "server.pem", *_certificate("rookdb", server_ca, ca=False))
    client_pem = _write(tmp_path / "client.pem", *_certificate("app", client_ca, ca=False))
    stranger_pem = _write(tmp_path / "stranger.pem", *_certificate("x", stranger_ca, ca=False))
    trust = tmp_path / "server-ca.pem"
    trust.write_bytes(server_ca[0].public_bytes(serialization.Encoding.PEM))
    client_ca_pem = tmp_path / "client-ca.pem"
    client_ca_pem.write_bytes(client_ca[0].public_bytes(serialization.Encoding.PEM))

    options = ["--certificate", str(server_pem), "--key", str(server_pem)]
    with _serve(
        "--data", str(tmp_path / "data"), *options, "--client-ca", str(client_ca_pem)
    ) as url:
        assert url.startswith("https://")

        def context(certificate: Path | None) -> ssl.SSLContext:
            made = ssl.create_default_context(cafile=str(trust))
            if certificate is not None:
                made.load_cert_chain(str(certificate))
            return made

        def get(certificate: Path | None) -> int:
            with httpx.Client(verify=context(certificate)) as client:
                return client.get(f"{url}/topology", params={"name": "x"}).status_code

        assert get(client_pem) == 200
        for refused in (None, stranger_pem):  # no certificate; one another CA signed
            with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
                get(refused)
        assert get(client_pem) == 200  # the server still answers


def test_the_start_line_names_postgresql_without_its_password() -> None:
    BACKENDS["postgres"].require()
    parts = urllib.parse.urlsplit(postgres_url())
    user, host = parts.username or "postgres", parts.netloc.rsplit("@", 1)[-1]
    url = parts._replace(netloc=f"{user}:s3cret-pw@{host}").geturl()
    serving = _serve("--postgres", url)
    with serving as served:
        _still_answers(served)
    line = serving.start_line
    assert f"data in postgresql://{user}:***@{host}" in line and "s3cret-pw" not in line

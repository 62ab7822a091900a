"""rookdb logs through ``logging`` (``rookdb.*`` loggers) and never prints nor configures
logging: what reaches a program's stderr is the program's choice. ``rookdb serve`` is a
program: it logs to stderr at ``--log-level``, with one line per request if ``--access-log``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb import DocumentStore


class Item:
    def __init__(self, name: str) -> None:
        self.name = name


def _records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


# Behind a server, the server makes the index and logs it (tests of rookdb serve see that).
@pytest.mark.rookdb_requires(remote=False)
def test_an_automatic_index_made_is_logged_once(
    store: DocumentStore, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="rookdb")
    with store.open_session() as session:
        session.store(Item("a"), "items/1")
        session.save_changes()
    for _ in range(2):
        with store.open_session() as session:
            assert session.query(Item).where_equals("name", "a").count() == 1
    (made,) = _records(caplog, "automatic index")
    assert made.name.startswith("rookdb.storage.") and made.levelno == logging.INFO
    message = made.getMessage()
    assert "'name'" in message and "Items" in message and store.database in message, message
    assert capfd.readouterr() == ("", "")


_PROGRAM = """
import logging, sys
from rookdb import DocumentStore

if sys.argv[3] == "configured":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
with DocumentStore(urls=sys.argv[1:3] if sys.argv[2] else sys.argv[1], database="logs") as store:
    with store.open_session() as session:
        session.store({"name": "a"}, "items/1")
        session.save_changes()
        session.query(collection_name="items").where_equals("name", "a").to_list()
print(len(logging.root.handlers), logging.getLogger("rookdb").level)
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args], capture_output=True, text=True, timeout=60
    )


def _refused() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.rookdb_backends("http")
def test_a_failover_reaches_stderr_only_through_the_programs_logging(store_url: str) -> None:
    dead = _refused()
    quiet = _run(dead, store_url, "unconfigured")
    assert (quiet.stdout, quiet.stderr) == ("0 0\n", "")  # no handler, no level set
    loud = _run(dead, store_url, "configured")
    assert loud.returncode == 0, loud.stderr
    assert f"WARNING rookdb.storage.http the rookdb server at {dead} failed" in loud.stderr


@pytest.mark.rookdb_backends("sqlite")
def test_an_embedded_program_sees_index_logs_when_it_asks(store_url: str) -> None:
    assert _run(f"{store_url}/quiet", "", "unconfigured").stderr == ""
    loud = _run(f"{store_url}/loud", "", "configured")
    assert re.search(r"INFO rookdb\.storage\.sqlite .*automatic index", loud.stderr), loud.stderr


# -- rookdb serve ---------------------------------------------------------------------------


@contextlib.contextmanager
def _serve(tmp_path: Path, *options: str) -> Iterator[tuple[str, Path]]:
    """A serve process with its stderr in a file: (its URL, the file)."""
    log = tmp_path / "serve.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rookdb",
                "serve",
                "--port",
                "0",
                "--data",
                str(tmp_path),
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        found = re.search(r"listening on (\S+),", process.stdout.readline())
        assert found is not None, log.read_text()
        yield found.group(1), log
    finally:
        process.terminate()
        process.wait(timeout=15)


def _use(url: str) -> None:
    with DocumentStore(urls=url, database="Shop") as store, store.open_session() as session:
        session.store(Item("a"), "items/1")
        session.save_changes()
        assert session.query(Item).where_equals("name", "a").count() == 1


def test_serve_logs_at_info_without_an_access_log_by_default(tmp_path: Path) -> None:
    with _serve(tmp_path) as (url, log):
        _use(url)
    text = log.read_text()
    assert re.search(r"INFO +rookdb\.storage\.sqlite: .*automatic index", text), text
    assert "/bulk_docs" not in text


def test_serve_access_log_has_a_line_per_request(tmp_path: Path) -> None:
    with _serve(tmp_path, "--access-log", "--log-level", "warning") as (url, log):
        _use(url)
        DocumentStore(urls=url).open_session("Shop").load("items/2")
    text = log.read_text()
    line = r'INFO +rookdb\.server\.access: 127\.0\.0\.1:\d+ "{} {}" {} \d+ B [\d.]+ ms'
    assert re.search(line.format("POST", "/databases/Shop/bulk_docs", 201), text), text
    assert re.search(line.format("POST", "/databases/Shop/queries", 200), text), text
    assert re.search(line.format("POST", "/databases/Shop/docs", 200), text), text
    assert "automatic index" not in text  # an INFO line below --log-level warning


def test_serve_refuses_an_unknown_log_level(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rookdb", "serve", "--log-level", "loud", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--log-level" in done.stderr

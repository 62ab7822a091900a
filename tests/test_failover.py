"""Several server URLs: ``DocumentStore(urls=[a, b])`` fails over between them, as RavenDB's
clients do with their topology, with real ``rookdb serve`` processes over one data directory.

A request that never reached a server (connection refused, connect timeout) goes to the next
URL, writes included; a read whose answer was lost is asked of the next one; a batch whose
answer was lost is ``OutcomeUnknownError`` and is sent nowhere else (it may have been written).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb import DocumentStore
from rookdb.errors import ConfigurationError, OutcomeUnknownError, StorageUnavailableError
from rookdb.testing.backends import Served, start_server
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.rookdb_backends("http")


@contextlib.contextmanager
def _servers(data: Path, count: int) -> Iterator[list[Served]]:
    """``count`` rookdb serve processes over the same SQLite directory: one set of data."""
    started = [start_server("--data", str(data)) for _ in range(count)]
    try:
        yield started
    finally:
        for served in started:
            _stop(served)


def _stop(served: Served) -> None:
    served.process.terminate()
    served.process.wait(timeout=15)


def _refused() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def _hanging_up(delay: float = 0.0) -> Iterator[str]:
    """A server that reads each request and closes the connection without an answer (after
    ``delay`` seconds), as a server dying mid-request does: the client cannot know what
    happened to it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    time.sleep(delay)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


class Product:
    def __init__(self, name: str) -> None:
        self.name = name


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("rookdb")
    ]


def test_with_the_first_server_down_the_second_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = _refused()
    with (
        _servers(tmp_path / "data", 1) as (served,),
        DocumentStore(urls=[dead, served.url], database="Shop") as store,
    ):
        with store.open_session() as session:
            session.store(Product("Chai"))  # HiLo, then the batch
            session.save_changes()
        for _ in range(10):
            with store.open_session() as session:
                found = session.query(Product).where_equals("name", "Chai")
                assert found.count() == 1
    # Said naming both servers, and not once a request: the store remembers the failure (and
    # tries the first server again after a second, then two, four...).
    warnings = _warnings(caplog)
    assert 1 <= len(warnings) <= 3, warnings
    assert dead in warnings[0] and served.url in warnings[0]


def test_a_server_stopped_in_use_and_the_next_one_takes_over(tmp_path: Path) -> None:
    with (
        _servers(tmp_path / "data", 2) as (first, second),
        DocumentStore(urls=[first.url, second.url], database="Shop") as store,
    ):
        with store.open_session() as session:
            session.store({"n": 1}, "items/1")
            session.save_changes()
        _stop(first)
        with store.open_session() as session:
            assert session.load("items/1") == {"n": 1}  # written through the first
            session.store({"n": 2}, "items/2")
            session.save_changes()
        _stop(second)
        with pytest.raises(StorageUnavailableError) as raised:
            store.open_session().load("items/2")
        message = str(raised.value)
        assert first.url in message and second.url in message, message


def test_every_server_down_is_one_error_naming_each(caplog: pytest.LogCaptureFixture) -> None:
    first, second = _refused(), _refused()
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as raised:
        DocumentStore(urls=[first, second]).open_session().load("items/1")
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert first in message and second in message and "refused" in message.lower(), message


def test_a_batch_whose_answer_was_lost_is_not_sent_to_the_next_server(tmp_path: Path) -> None:
    with (
        _servers(tmp_path / "data", 1) as (served,),
        _hanging_up() as hanging,
        DocumentStore(urls=[hanging, served.url], database="Shop") as store,
    ):
        live = served.url
        with store.open_session() as session:
            # Opening the database, the store read its client configuration: a read, which
            # failed over and left the first server resting for 1 s. Once it is due again,
            # the batch goes to it first.
            time.sleep(1.1)
            session.store({"n": 1}, "items/1")
            with pytest.raises(OutcomeUnknownError):
                session.save_changes()
        with DocumentStore(urls=live, database="Shop") as only_live:
            assert only_live.open_session().load("items/1") is None  # not sent again
        with store.open_session() as session:
            assert session.load("items/1") is None  # a read is asked of the next server
            session.store({"n": 2}, "items/1")
            session.save_changes()  # the first is marked down: the batch goes to the second
        with DocumentStore(urls=live, database="Shop") as only_live:
            assert only_live.open_session().load("items/1") == {"n": 2}


def test_the_first_server_is_preferred_again_once_it_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rookdb")
    with _servers(tmp_path / "data", 2) as (first, second):
        host, port = first.url.removeprefix("http://").rsplit(":", 1)
        with (
            TcpProxy((host, int(port))) as proxy,
            DocumentStore(urls=[f"http://127.0.0.1:{proxy.port}", second.url]) as store,
        ):
            via_proxy = f"http://127.0.0.1:{proxy.port}"
            store.open_session().load("items/1")
            proxy.down()
            store.open_session().load("items/1")  # the second answers
            proxy.up()
            deadline = time.monotonic() + 10
            while not any(
                via_proxy in r.getMessage() and "answers again" in r.getMessage()
                for r in caplog.records
            ):
                assert time.monotonic() < deadline, "the first server was never tried again"
                store.open_session().load("items/1")
                time.sleep(0.1)


@pytest.mark.parametrize(
    "urls",
    [
        ["sqlite:///a", "sqlite:///b"],
        ["memory://", "memory://"],
        ["postgresql://u@h/a", "postgresql://u@h/b"],
        ["http://127.0.0.1:1", "sqlite:///a"],
    ],
)
def test_several_urls_are_for_servers_only(urls: list[str], tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="URL"):
        DocumentStore(urls=urls).initialize()


def test_an_async_save_whose_answer_was_lost_is_outcome_unknown_even_cancelled(
    tmp_path: Path,
) -> None:
    """A cancelled async save waits for its request; when the server's answer is lost, the
    caller gets ``OutcomeUnknownError`` (not a bare ``CancelledError``), and the session
    still counts its changes as unsaved (issue 17)."""
    with (
        _servers(tmp_path / "data", 1) as (served,),
        _hanging_up(delay=0.5) as hanging,
        DocumentStore(urls=[hanging, served.url], database="Shop") as store,
    ):

        async def scenario() -> None:
            async with store.open_async_session() as session:
                await asyncio.sleep(1.1)  # the first server, rested, is asked the batch
                session.store({"n": 1}, "items/1")
                task = asyncio.create_task(session.save_changes())
                await asyncio.sleep(0.1)  # the request is on its way
                assert not task.done()
                task.cancel()
                with pytest.raises(OutcomeUnknownError):
                    await task
                assert session.has_changes()

        asyncio.run(scenario())

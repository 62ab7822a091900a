"""RavenDB's HiLo range sizes (``ids.hilo_capacity``), embedded and as ``/hilo/next`` applies
them to what RavenDB's clients send (``lastBatchSize``, ``lastRangeAt``, ``lastMax``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from rookdb.ids import HILO_MAX_CAPACITY, hilo_capacity
from rookdb.testing.backends import BACKENDS

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("last_size", "seconds_ago", "expected"),
    [
        (0, None, 32),  # the first range
        (32, 5, 64),  # ran out within 30 s: twice as many
        (HILO_MAX_CAPACITY, 5, HILO_MAX_CAPACITY),  # at most 2**20
        (256, 45, 256),  # within a minute: as many
        (256, 120, 128),  # after a minute: half as many
        (40, 120, 32),  # at least 32
    ],
)
def test_the_rule(last_size: int, seconds_ago: int | None, expected: int) -> None:
    at = None if seconds_ago is None else NOW - dt.timedelta(seconds=seconds_ago)
    assert hilo_capacity(last_size, at, NOW) == expected


def test_hilo_next_sizes_ranges_from_what_ravendbs_clients_send() -> None:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    try:
        next_range = f"{url}/databases/Capacity/hilo/next"

        def size(**params: object) -> int:
            answer = httpx.get(next_range, params={"tag": "users", **params})
            assert answer.status_code == 200, answer.text
            return int(answer.json()["LastSize"])

        def ago(seconds: int) -> str:  # as the official client writes it: 7 digits, no zone
            moment = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0")

        assert size(lastBatchSize=0, lastRangeAt="", lastMax=0) == 32
        assert size(lastBatchSize=64, lastRangeAt=ago(1), lastMax=32) == 128
        assert size(lastBatchSize=64, lastRangeAt=ago(120), lastMax=32) == 32
        assert size(lastBatchSize=64, lastRangeAt="not a time", lastMax=0) == 32
        answer = httpx.get(next_range, params={"tag": "users", "lastMax": 10_000})
        assert answer.json()["Low"] == 10_001  # past the client's last range
    finally:
        spec.clean_up(url)

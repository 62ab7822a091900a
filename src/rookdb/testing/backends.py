"""How the conformance suite makes a fresh database URL for each backend."""

from __future__ import annotations

import dataclasses
import functools
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

__all__ = ["BACKENDS", "POSTGRES_URL_VARIABLE", "BackendSpec", "postgres_url"]

#: The PostgreSQL database the suite uses (each test in schemas of its own).
POSTGRES_URL_VARIABLE = "ROOKDB_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)


@dataclasses.dataclass(frozen=True)
class BackendSpec:
    """A backend under test: its name, a fresh URL in a temporary directory, why it cannot
    run here (None: it can), and how to remove what a test left behind. What the backend can
    do is its ``Capabilities``, not declared here again."""

    name: str
    make_url: Callable[[Path], str]
    unavailable: Callable[[], str | None] = lambda: None
    clean_up: Callable[[str], None] = lambda url: None

    def require(self) -> None:
        """Skip the running test, with the reason, if this backend cannot run here; under
        ``CI=true`` fail it instead: CI must not pass by skipping a backend."""
        reason = self.unavailable()
        if reason is None:
            return
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and the {self.name} backend cannot run: {reason}")
        pytest.skip(f"{self.name} backend: {reason}")


@functools.cache
def _postgres_unavailable() -> str | None:
    how = (
        f"start PostgreSQL or point {POSTGRES_URL_VARIABLE} at a database "
        f"(default {DEFAULT_POSTGRES_URL}) to run them"
    )
    try:
        import psycopg
    except ImportError:
        return f"psycopg is not installed (pip install 'rookdb[postgres]'); {how}"
    try:
        psycopg.connect(postgres_url(), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {postgres_url()} ({exc}); {how}"
    return None


def _postgres_test_url(tmp: Path) -> str:
    # A schema prefix per test: its databases are its own, and dropped afterwards.
    separator = "&" if "?" in postgres_url() else "?"
    return f"{postgres_url()}{separator}schema_prefix=t{uuid.uuid4().hex[:12]}_"


def _drop_postgres_schemas(url: str) -> None:
    from rookdb.storage.postgres import PostgresBackend

    backend = PostgresBackend(url)
    try:
        backend.drop_all()
    finally:
        backend.close()


BACKENDS: dict[str, BackendSpec] = {
    "memory": BackendSpec("memory", lambda tmp: "memory://"),
    "sqlite": BackendSpec("sqlite", lambda tmp: f"sqlite:///{tmp / 'data'}"),
    "postgres": BackendSpec(
        "postgres", _postgres_test_url, _postgres_unavailable, _drop_postgres_schemas
    ),
}

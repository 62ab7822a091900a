"""Where contenders keep their data: a fresh SQLite directory, or a fresh PostgreSQL schema.

``python -m bench.run --backend postgres`` uses ``$ROOKDB_BENCH_POSTGRES_URL`` (default the local
server that the test suite uses). Every contender gets a schema of its own, dropped at close.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import uuid
from pathlib import Path

import psycopg

POSTGRES_URL = os.environ.get(
    "ROOKDB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclasses.dataclass(frozen=True)
class Place:
    """One contender's storage: ``backend`` is "sqlite" or "postgres"."""

    backend: str
    directory: Path
    #: PostgreSQL: the schema name (or, for rookdb, the schema prefix) this contender owns.
    schema: str

    @classmethod
    def fresh(cls, backend: str) -> Place:
        directory = Path(tempfile.mkdtemp(prefix="rookdb-bench-"))
        return cls(backend, directory, f"bench{uuid.uuid4().hex[:10]}_")

    def drop_schemas(self) -> None:
        """Drop every schema this place created (PostgreSQL)."""
        if self.backend != "postgres":
            return
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for (name,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (self.schema,)
            ).fetchall():
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')

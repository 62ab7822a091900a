"""The PostgreSQL backend (SPEC B3): ``postgresql://USER@HOST:PORT/DBNAME``."""

from rookdb.storage.postgres.storage import (
    FORMAT_VERSION,
    PostgresBackend,
    PostgresStorage,
    schema_name,
)

__all__ = ["FORMAT_VERSION", "PostgresBackend", "PostgresStorage", "schema_name"]

"""The PostgreSQL backend (SPEC B3): ``postgresql://USER@HOST:PORT/DBNAME``.

``backend``: the databases of one PostgreSQL database, one schema each; ``storage``: one
database, the PostgreSQL dialect of the relational core; ``schema``: its tables and their
format; ``writes``: its write path (pipelined, conditional statements, retried);
``transactions``; ``pool``: connections; ``arrays``: the put statements' array parameters,
dumped a batch at a time; ``compiler``: queries as SQL over JSONB; ``value_conditions``: a
predicate's conditions on one value, the exact one and an index's seek; ``indexes``: the
automatic indexes; ``errors``: psycopg's errors as rookdb's.
"""

from rookdb.storage.postgres.backend import PostgresBackend, schema_name
from rookdb.storage.postgres.schema import FORMAT_VERSION
from rookdb.storage.postgres.storage import PostgresStorage

__all__ = ["FORMAT_VERSION", "PostgresBackend", "PostgresStorage", "schema_name"]

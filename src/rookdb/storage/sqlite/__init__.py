"""The embedded backends on stdlib ``sqlite3`` (SPEC B2): ``sqlite:///DIR`` and ``memory://``.

``backend``: the databases of a directory, one file each, or of memory; ``storage``: one
database, the SQLite dialect of the relational core; ``writes``: its write path (a batch in one
``BEGIN IMMEDIATE`` transaction); ``schema``: the file's format, its tables and the SQL run on
them; ``connections``: connections per thread and process, transactions; ``compiler``: queries
as SQL over JSON; ``value_conditions``: a predicate's conditions on one value;
``sql_functions``: the Python functions the SQL calls; ``indexes``: the automatic indexes;
``errors``: sqlite3's errors as rookdb's.
"""

from rookdb.storage.sqlite.backend import SqliteBackend
from rookdb.storage.sqlite.schema import FILE_SUFFIX, FORMAT_VERSION
from rookdb.storage.sqlite.storage import SqliteStorage

__all__ = ["FILE_SUFFIX", "FORMAT_VERSION", "SqliteBackend", "SqliteStorage"]

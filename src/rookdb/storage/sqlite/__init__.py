"""The embedded backends on stdlib ``sqlite3`` (SPEC B2): ``sqlite:///DIR`` and ``memory://``."""

from rookdb.storage.sqlite.storage import FILE_SUFFIX, FORMAT_VERSION, SqliteBackend, SqliteStorage

__all__ = ["FILE_SUFFIX", "FORMAT_VERSION", "SqliteBackend", "SqliteStorage"]

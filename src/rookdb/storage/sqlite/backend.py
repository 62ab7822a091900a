"""The databases of a directory (``sqlite:///DIR``: one file each) or of memory (``memory://``).

Files: ``DIR/<name>.rookdb``, the name lower-cased: database names are case-insensitive, as in
RavenDB, and a file made by an earlier rookdb in another case is found too; the name as first
written is kept in the file's ``meta`` table for listings. Many processes can share one
directory: a database deleted by one is marked so before its files go, and a store of another
process that still has it open refuses its next batch. The server-wide client configuration is
``DIR/server-client-configuration.json``, replaced whole on each change (read on each use, so
every process sees the last one).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import orjson

from rookdb.errors import (
    ConfigurationError,
    DatabaseDoesNotExistError,
    StorageError,
    StorageUnavailableError,
    shown,
)
from rookdb.ids import MAX_DATABASE_NAME_LENGTH, validate_database_name
from rookdb.storage.identities import check_client_configuration, new_configuration_etag
from rookdb.storage.relational.backend import RelationalBackend
from rookdb.storage.sqlite.connections import BUSY_TIMEOUT_MS
from rookdb.storage.sqlite.schema import FILE_SUFFIX
from rookdb.storage.sqlite.storage import SqliteStorage
from rookdb.storage.statistics import Capabilities

__all__ = ["SERVER_CONFIGURATION_FILE", "SqliteBackend"]

#: The file of the server-wide client configuration, in the directory of the databases.
SERVER_CONFIGURATION_FILE = "server-client-configuration.json"


class SqliteBackend(RelationalBackend[SqliteStorage]):
    """Databases in a directory (``sqlite:///DIR``), or in memory (``directory=None``)."""

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        super().__init__()
        self._directory = Path(directory) if directory is not None else None
        self.capabilities = Capabilities(
            name="sqlite" if directory is not None else "memory",
            persistent=directory is not None,
            multi_process=directory is not None,
            shared_in_process=directory is not None,
            revisions=True,
            counters=True,
            attachments=True,
            indexes=True,
            projection_digits=True,
        )

    def _make_directory(self) -> None:
        # With the first database, not before: reading (a CLI typo, list_databases) must
        # leave no empty directory behind.
        if self._directory is not None:
            try:
                self._directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageUnavailableError(
                    f"cannot create the data directory {self._directory}: {exc}", original=exc
                ) from exc

    def _files(self, name: str) -> list[Path]:
        """The files of database ``name`` whatever the case of their names (earlier versions
        named files in the case a database was first written)."""
        assert self._directory is not None
        if not self._directory.is_dir():  # made with the first database
            return []
        key = name.lower()
        try:
            return sorted(
                path
                for path in self._directory.iterdir()
                if path.name.endswith(FILE_SUFFIX) and path.name[: -len(FILE_SUFFIX)].lower() == key
            )
        except OSError as exc:
            raise StorageUnavailableError(
                f"cannot read the data directory {self._directory}: {exc}", original=exc
            ) from exc

    def _path(self, name: str) -> str | None:
        """The file of ``name``: the one there is, whatever its case, or a new lower-cased one
        (one spelling for every process, so two cannot create two files)."""
        if self._directory is None:
            return None
        files = self._files(validate_database_name(name))
        if len(files) > 1:
            raise ConfigurationError(
                f"database {shown(name, limit=MAX_DATABASE_NAME_LENGTH)} is in {len(files)} files "
                "whose names differ only in case "
                f"({', '.join(p.name for p in files)}); database names are case-insensitive: "
                "export one (rookdb export), import it into the other, then remove its file"
            )
        if files:
            return str(files[0])
        return str(self._directory / f"{name.lower()}{FILE_SUFFIX}")

    def _stored(self, name: str) -> bool:
        # In memory, a database exists while it is open (``_open``, which the caller checks).
        return self._directory is not None and bool(self._files(name))

    def _open_storage(self, name: str) -> SqliteStorage:
        self._make_directory()
        path = self._path(name)
        if path is not None and Path(path).exists():
            name = Path(path).name[: -len(FILE_SUFFIX)]  # a legacy file's own name
        return SqliteStorage(name, path, self.capabilities)

    def get_server_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        if self._directory is None:
            return super().get_server_client_configuration()
        path = self._directory / SERVER_CONFIGURATION_FILE
        try:
            kept = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return 0, None
        except (OSError, orjson.JSONDecodeError) as exc:
            raise StorageError(f"cannot read {path}: {exc}", original=exc) from exc
        return kept["Etag"], kept["Configuration"]

    def put_server_client_configuration(self, configuration: dict[str, Any]) -> int:
        if self._directory is None:
            return super().put_server_client_configuration(configuration)
        check_client_configuration(configuration)
        self._make_directory()
        etag = new_configuration_etag()
        kept = orjson.dumps({"Etag": etag, "Configuration": {**configuration, "Etag": etag}})
        # A new file moved over the old: a reader sees one or the other, never half of one.
        try:
            fd, temporary = tempfile.mkstemp(dir=self._directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(kept)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, self._directory / SERVER_CONFIGURATION_FILE)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.remove(temporary)
                raise
        except OSError as exc:
            raise StorageError(
                f"cannot write the client configuration: {exc}", original=exc
            ) from exc
        return etag

    def delete_database(self, name: str) -> None:
        """Remove ``name`` (any case) and its files; ``DatabaseDoesNotExistError`` if there is
        no such database, ``StorageError`` if a file cannot be removed."""
        validate_database_name(name)
        with self._lock:
            storage = self._forget(name)
            if self._directory is None:
                if storage is None:
                    raise DatabaseDoesNotExistError(
                        f"no database named {shown(name, limit=MAX_DATABASE_NAME_LENGTH)}"
                    )
                return
            files = self._files(name)
            if not files and storage is None:
                raise DatabaseDoesNotExistError(
                    f"no database named {shown(name, limit=MAX_DATABASE_NAME_LENGTH)}"
                )
            for path in files:
                _mark_deleted(path)
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.remove(f"{path}{suffix}")
                    except FileNotFoundError:
                        pass
                    except OSError as exc:
                        raise StorageError(
                            "cannot delete database "
                            f"{shown(name, limit=MAX_DATABASE_NAME_LENGTH)}: {exc}",
                            original=exc,
                        ) from exc

    def list_databases(self) -> list[str]:
        """Every database, named in the case it was first written, in order without case (as
        RavenDB lists them)."""
        if self._directory is None:
            with self._lock:
                return sorted((storage.name for storage in self._open.values()), key=str.lower)
        if not self._directory.is_dir():  # made with the first database
            return []
        try:
            files = sorted(self._directory.glob(f"*{FILE_SUFFIX}"))
        except OSError as exc:
            raise StorageUnavailableError(
                f"cannot read the data directory {self._directory}: {exc}", original=exc
            ) from exc
        return sorted((_stored_name(path) for path in files), key=str.lower)


def _mark_deleted(path: Path) -> None:
    """Mark a database file deleted before it is removed, under the write lock: a store of
    another process (or this one) that still has the file open then refuses its next batch
    rather than acknowledge a write into a removed file (``sqlite.writes``)."""
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('deleted', '1')")
        conn.execute("COMMIT")
    except sqlite3.Error:  # not a rookdb file (no meta table): nothing can be writing to it
        pass
    finally:
        conn.close()


def _stored_name(path: Path) -> str:
    """The name a database file records (``meta``), or its file name where it records none."""
    fallback = path.name[: -len(FILE_SUFFIX)]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return fallback
    try:
        row = conn.execute("SELECT value FROM meta WHERE name = 'name'").fetchone()
    except sqlite3.Error:  # not initialized yet, or not a rookdb file
        return fallback
    finally:
        conn.close()
    return str(row[0]) if row is not None else fallback

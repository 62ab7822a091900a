"""Backends chosen by URL scheme (SPEC §2.1), from one registry.

``memory://`` is a private in-memory backend per store; ``memory://NAME`` is shared by every
store of the process that names it (kept for the life of the process). ``sqlite:///PATH`` is a
directory of database files (relative; ``sqlite:////abs`` is absolute); as in SQLAlchemy,
``sqlite://`` and ``sqlite:///:memory:`` are in memory (private to the store), and a URL naming a
database file (``sqlite:///app.db``) is refused rather than made into a surprising directory.
``postgresql://`` (or ``postgres://``) is a PostgreSQL database, loaded only when used (psycopg
is the ``postgres`` extra). ``http(s)://`` is a rookdb server (``rookdb serve``; httpx is the
``http`` extra); a list of them is servers of the same data to fail over between.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import re
import threading
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

from rookdb.errors import ConfigurationError, shown
from rookdb.storage.base import Backend
from rookdb.storage.sqlite import SqliteBackend

__all__ = ["ENTRY_POINT_GROUP", "SCHEMES", "BackendFactory", "open_backend", "register_backend"]

#: Makes the backend of one URL (the whole URL, scheme included). Raises ``ConfigurationError``
#: for a URL it cannot use.
BackendFactory = Callable[[str], Backend]

#: The entry-point group an installed package names its backend factories in, by scheme:
#: ``[project.entry-points."rookdb.backends"] mydb = "mypackage.backend:open_mydb"``.
ENTRY_POINT_GROUP = "rookdb.backends"

_shared_memory: dict[str, SqliteBackend] = {}
_shared_lock = threading.Lock()


def _memory(url: str) -> Backend:
    name = url[len("memory://") :]
    if not name:
        return SqliteBackend(None)
    with _shared_lock:
        backend = _shared_memory.get(name)
        if backend is None:
            backend = _shared_memory[name] = SqliteBackend(None)
            backend.shared = True
            # Every store of the process naming it sees it; still gone with the process.
            backend.capabilities = dataclasses.replace(backend.capabilities, shared_in_process=True)
        return backend


#: File names a SQLAlchemy (or sqlite3) user gives a database file, not a directory.
_FILE_SUFFIXES = (".db", ".db3", ".sqlite", ".sqlite3", ".rookdb")


def _sqlite(url: str) -> Backend:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ConfigurationError(f"sqlite URLs name a local directory: sqlite:///PATH, not {url}")
    path = unquote(parts.path)
    # sqlite:///./data and sqlite:///data are relative; sqlite:////abs/data is absolute.
    if path.startswith("/"):
        path = path[1:]
    if path in ("", ":memory:"):
        return SqliteBackend(None)
    if os.path.isfile(path):
        raise ConfigurationError(
            f"{url}: {path} is a file; sqlite:///PATH names a directory, which holds one "
            "file per database"
        )
    if path.lower().endswith(_FILE_SUFFIXES) and not os.path.isdir(path):
        directory = path[: path.rfind(".")] or "data"
        raise ConfigurationError(
            f"{url} names a database file; sqlite:///PATH names a directory, which holds one "
            f"file per database: use sqlite:///{directory} (or memory:// for no file at all)"
        )
    return SqliteBackend(path)


def _postgres(url: str) -> Backend:
    try:
        from rookdb.storage.postgres import PostgresBackend
    except ImportError as exc:  # the embedded core does not need psycopg
        raise ConfigurationError(
            "postgresql:// needs the postgres extra: pip install 'rookdb[postgres]'"
        ) from exc
    return PostgresBackend(url)


def _http(url: str | Sequence[str]) -> Backend:
    try:
        from rookdb.storage.http import HttpBackend
    except ImportError as exc:  # the embedded core does not need httpx
        raise ConfigurationError(
            "http(s):// needs the http extra: pip install 'rookdb[http]'"
        ) from exc
    return HttpBackend(url)


_SERVERS = ("http", "https")

#: Every scheme rookdb opens, built in or registered (read it; change it with
#: ``register_backend``).
SCHEMES: dict[str, BackendFactory] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgresql": _postgres,
    "postgres": _postgres,
    "http": _http,
    "https": _http,
}


_BUILT_IN = frozenset(SCHEMES)
_registry_lock = threading.Lock()
#: RFC 3986's scheme: a letter, then letters, digits, ``+``, ``-`` and ``.``.
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")


def register_backend(scheme: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Open URLs of ``scheme`` (``scheme://...``, case-insensitive) with ``factory(url)``,
    which returns a ``rookdb.storage.base.Backend``.

    A third-party backend calls this once, from the module that defines it (or names the
    factory in the ``rookdb.backends`` entry-point group instead); rookdb's own schemes cannot
    be taken over. Registering the same factory again does nothing; another factory for a
    scheme already registered is refused unless ``replace=True``. Bad input is a
    ``ConfigurationError``.
    """
    if not isinstance(scheme, str) or _SCHEME.fullmatch(scheme.lower()) is None:
        raise ConfigurationError(
            f"invalid URL scheme {shown(scheme)}: a letter, then letters, digits, '+', '-' or '.' "
            "(without '://')"
        )
    if not callable(factory):
        raise ConfigurationError(
            f"the backend factory for {scheme}:// must be callable (url -> Backend), "
            f"not {type(factory).__name__}"
        )
    key = scheme.lower()
    if key in _BUILT_IN:
        raise ConfigurationError(f"{key}:// is one of rookdb's own schemes; choose another")
    with _registry_lock:
        current = SCHEMES.get(key)
        if current is not None and current is not factory and not replace:
            raise ConfigurationError(
                f"{key}:// is already registered (to {_describe(current)}); "
                "pass replace=True to replace it"
            )
        SCHEMES[key] = factory


def _describe(factory: BackendFactory) -> str:
    module = getattr(factory, "__module__", None) or "?"
    return f"{module}.{getattr(factory, '__qualname__', type(factory).__name__)}"


def _from_entry_points(scheme: str) -> BackendFactory | None:
    """The factory an installed package names for ``scheme``, registered on first use."""
    if not scheme:
        return None
    found = [
        ep
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.name.lower() == scheme
    ]
    if not found:
        return None
    if len({ep.value for ep in found}) > 1:
        named = ", ".join(sorted({ep.value for ep in found}))
        raise ConfigurationError(f"several installed packages provide {scheme}://: {named}")
    try:
        factory = found[0].load()
    except Exception as exc:  # an import error of the other package, with its cause
        raise ConfigurationError(
            f"the {scheme}:// backend {found[0].value} could not be loaded: {exc}"
        ) from exc
    register_backend(scheme, factory)
    return SCHEMES[scheme]


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _open(factory: BackendFactory, url: str) -> Backend:
    backend = factory(url)
    if not isinstance(backend, Backend):
        raise ConfigurationError(
            f"the backend factory {_describe(factory)} returned {type(backend).__name__} for "
            f"{_scheme(url)}://, not a rookdb.storage.base.Backend"
        )
    return backend


def open_backend(urls: str | Sequence[str]) -> Backend:
    """The backend for ``urls``: one URL, or several URLs of rookdb servers (``http(s)://``)
    for the store to fail over between. An unknown scheme is a ``ConfigurationError``, and so
    are several URLs of any other kind: libpq takes several PostgreSQL hosts in one URL."""
    given = [urls] if isinstance(urls, str) else list(urls)
    if not given:
        raise ConfigurationError("no URL given")
    url = given[0]
    factory = SCHEMES.get(_scheme(url)) or _from_entry_points(_scheme(url))
    if factory is None:
        accepted = ", ".join(f"{s}://" for s in sorted(SCHEMES))
        raise ConfigurationError(f"unsupported URL {shown(url)}: rookdb accepts {accepted}")
    if len(given) == 1:
        return _open(factory, url)
    if any(_scheme(u) not in _SERVERS for u in given):
        raise ConfigurationError(
            "several URLs are for rookdb servers (http:// or https://), to fail over between; "
            f"{_scheme(url)}:// takes one URL (PostgreSQL: several hosts in one URL, "
            "postgresql://user@host1,host2/db)"
        )
    return _http(given)

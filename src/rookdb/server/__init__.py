"""``rookdb serve``: RavenDB's HTTP protocol over any rookdb storage backend (SPEC §7).

``create_app(backend)`` is the ASGI application; ``serve(backend, options)`` runs it on uvicorn.
Needs the ``server`` extra: ``pip install 'rookdb[server]'``.
"""

from rookdb.server.app import create_app
from rookdb.server.databases import MissingDatabases
from rookdb.server.limits import Limits
from rookdb.server.run import ServeOptions, serve
from rookdb.server.security import ApiKey, ApiKeys

__all__ = ["ApiKey", "ApiKeys", "Limits", "MissingDatabases", "ServeOptions", "create_app", "serve"]

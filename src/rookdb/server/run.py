"""``rookdb serve``: bind, check the security rules of SPEC H3, run the app on uvicorn.

Kept apart from the CLI so tests and embedders can start a server without click. The socket is
bound here (port 0 picks a free port), so the start line always names the real address.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import math
import socket
import ssl
from collections.abc import Callable
from typing import Any

from rookdb.errors import ConfigurationError, shown
from rookdb.server.app import create_app
from rookdb.server.background import Background
from rookdb.server.connection import protocol_class
from rookdb.server.databases import MissingDatabases
from rookdb.server.limits import Limits
from rookdb.server.logs import logging_config
from rookdb.server.security import Access
from rookdb.storage.base import Backend

__all__ = ["ServeOptions", "is_loopback", "serve"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    certificate: str | None = None
    key: str | None = None
    client_ca: str | None = None
    unsecured_allow_anywhere: bool = False
    limits: Limits = dataclasses.field(default_factory=Limits)
    #: Configure logging to stderr at this level ("debug", "info"...); None leaves the
    #: program's logging as it is (an application embedding ``serve``).
    log_level: str | None = None
    #: A line per request on ``rookdb.server.access`` (``logs``).
    access_log: bool = False
    #: A request to a database that does not exist: RavenDB's error (the default), or the
    #: database created on first use for every client (``rookdb.server.databases``).
    missing_databases: MissingDatabases = MissingDatabases.ERROR

    def check(self) -> None:
        """Refuse what SPEC H3 forbids, before anything is bound."""
        if self.log_level is not None and not isinstance(
            logging.getLevelName(self.log_level.upper()), int
        ):
            raise ConfigurationError(f"{shown(self.log_level)} is not a logging level")
        if (self.certificate is None) != (self.key is None):
            raise ConfigurationError("TLS needs both --certificate and --key")
        if self.client_ca is not None and self.certificate is None:
            raise ConfigurationError("--client-ca needs TLS (--certificate and --key)")
        if (
            not is_loopback(self.host)
            and self.certificate is None
            and not self.unsecured_allow_anywhere
        ):
            raise ConfigurationError(
                f"refusing to serve on {self.host} without TLS: anyone on the network could "
                "read and write every database. Give --certificate and --key, or "
                "--unsecured-allow-anywhere if this network is trusted."
            )

    @property
    def scheme(self) -> str:
        return "https" if self.certificate else "http"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Connections accepted from this socket inherit TCP_NODELAY (Linux): a response goes out
    # as its head and body in two sends, and with Nagle's algorithm the body would wait for
    # the client's delayed ACK: 40 ms a request on a kept-alive connection (measured).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    backend: Backend,
    options: ServeOptions,
    *,
    where: str,
    access: Access | None = None,
    announce: Callable[[str], Any] | None = None,
) -> None:
    """Serve ``backend`` until SIGINT/SIGTERM, then finish in-flight requests and close it.
    ``where`` says where the data is, for the start line, which goes to ``announce`` (the
    command line prints it) or else is logged."""
    import uvicorn  # the server extra; imported here so the CLI can say what is missing

    options.check()
    limits = options.limits
    sock = _bind(options.host, options.port)
    host, port = sock.getsockname()[:2]
    bracketed = f"[{host}]" if ":" in host else host
    level = options.log_level.lower() if options.log_level is not None else None
    background = Background()
    config = uvicorn.Config(
        create_app(
            backend,
            limits=limits,
            access=access,
            access_log=options.access_log,
            missing_databases=options.missing_databases,
            background=background,
        ),
        log_config=logging_config(level, options.access_log) if level is not None else None,
        log_level=level,
        access_log=False,  # uvicorn's: rookdb's own is in create_app
        server_header=False,
        proxy_headers=False,
        lifespan="off",
        timeout_keep_alive=math.ceil(limits.idle_timeout_s),
        timeout_graceful_shutdown=int(limits.shutdown_timeout_s),
        http=protocol_class(limits),
        limit_concurrency=None,  # the application's own limit answers 503 in RavenDB's shape
        ssl_certfile=options.certificate,
        ssl_keyfile=options.key,
        ssl_ca_certs=options.client_ca,
        ssl_cert_reqs=ssl.CERT_REQUIRED if options.client_ca else ssl.CERT_NONE,
    )
    server = uvicorn.Server(config)
    (announce or log.info)(
        f"rookdb serve: listening on {options.scheme}://{bracketed}:{port}, data in {where}"
        + (" (client certificates required)" if options.client_ca else "")
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        background.close()  # running operations stop before their storage closes
        backend.close()

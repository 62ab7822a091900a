"""What ``rookdb serve`` logs: the access log, and the logging set-up of the serve process.

The library logs on ``rookdb.*`` loggers and configures nothing. ``rookdb serve`` is a program,
so it does configure logging (``logging_config``): one handler on stderr, for rookdb's and
uvicorn's loggers at ``--log-level`` (``info`` by default: start and stop, automatic indexes
made, batches retried, errors). The access log is a line per request on
``rookdb.server.access``: off by default, because at thousands of requests a second it costs
CPU and disk for lines most deployments never read; ``--access-log`` turns it on, whatever the
level. An application embedding ``create_app(..., access_log=True)`` routes those lines with its
own logging configuration.

An access line::

    127.0.0.1:53112 "POST /databases/Shop/bulk_docs" 201 312 B 4.1 ms

the client's address, the request (path and query string as sent), the status, the bytes of
the response body and the time until its last byte.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOGGER", "AccessLog", "logging_config"]

ACCESS_LOGGER = "rookdb.server.access"

access_log = logging.getLogger(ACCESS_LOGGER)


def logging_config(level: str, access: bool) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of the serve process: rookdb's and uvicorn's loggers
    on stderr at ``level``; the access log at INFO when ``access``, else off."""
    handler = {"handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "rookdb": {**handler, "level": level.upper()},
            ACCESS_LOGGER: {"level": "INFO" if access else "CRITICAL"},
            "uvicorn": {**handler, "level": level.upper()},
            # uvicorn's own access log stays off: ours has the duration and the body size.
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


class AccessLog:
    """ASGI middleware: one INFO line per HTTP request on ``rookdb.server.access``, written
    when the response is complete (or the request failed). Costs nothing when that logger is
    off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        size = 0

        async def sending(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            path = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string") or b""
            target = (path + b"?" + query if query else path).decode("latin-1")
            access_log.info(
                '%s "%s %s" %d %d B %.1f ms',
                f"{client[0]}:{client[1]}" if client else "-",
                scope["method"],
                target,
                status,
                size,
                (time.perf_counter() - started) * 1000,
            )

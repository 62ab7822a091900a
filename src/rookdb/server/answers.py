"""RavenDB-shaped answers of ``rookdb serve``'s routes: JSON bodies, and errors in RavenDB's
error shape (``Type``, ``Message``, ``Error``)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from rookdb import protocol

__all__ = ["error_response", "json_response"]


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``value`` as a JSON answer."""
    return Response(
        orjson.dumps(value), status, headers=headers, media_type="application/json; charset=utf-8"
    )


def error_response(status: int, type_name: str, message: str) -> Response:
    """An error answer of RavenDB's shape; ``type_name`` under ``Raven.Client.Exceptions.``."""
    return json_response(protocol.raven_error(type_name, message), status)

"""Who is using the Studio and what they may do: server-side sessions, CSRF tokens, the
security headers every Studio answer carries.

A browser is given a session (a random id in an ``HttpOnly``, ``SameSite=Strict`` cookie) on
its first visit; the session holds a synchronizer token for cross-site request forgery and,
once the user has logged in on a server with ``--api-keys``, the API key. The key never
reaches the browser's JavaScript. Every Studio action asks the server's own ``Access`` object
(``rookdb.server.security``) with that key, as the JSON routes do with ``Authorization``, so
a read key can do in the Studio exactly what it can do over the protocol.

A state-changing request (``POST``) must carry the session's token in the form field
``csrf`` and, when the browser sends ``Origin`` or ``Sec-Fetch-Site``, come from this site.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hmac
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import AuthenticationError, AuthorizationError
from rookdb.server.security import Access, OpenAccess

__all__ = ["COOKIE", "SECURITY_HEADERS", "CsrfError", "Guard", "Session"]

COOKIE = "rookdb_studio"

#: On every Studio answer. No inline script or style anywhere: everything is a static file.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: A session unused this long is forgotten (its user logs in again).
IDLE_SECONDS = 8 * 3600

#: Sessions kept at most, anonymous and logged-in each; past it the least recently used is
#: forgotten (its user logs in again, or reloads a form), so that a client opening sessions
#: without end cannot exhaust the server's memory.
MAX_SESSIONS = 10_000


class CsrfError(AuthorizationError):
    """A state-changing Studio request without this session's token, or from another site."""


@dataclasses.dataclass
class Session:
    id: str
    csrf: str
    key: str | None = None  # the API key logged in with, on a server with keys
    used: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def authorization(self) -> str | None:
        return None if self.key is None else f"Bearer {self.key}"


class Guard:
    """The Studio's sessions, over the server's ``Access``."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self.needs_key = not isinstance(access, OpenAccess)
        # Anonymous sessions (no key) and logged-in ones apart: anyone can open anonymous
        # sessions by the thousand, which must never push out a logged-in user's.
        self._anonymous: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self._keyed: collections.OrderedDict[str, Session] = collections.OrderedDict()

    def session(self, request: Request) -> Session:
        """The request's session, or a new one (``set_cookie`` gives it to the browser)."""
        cookie = request.cookies.get(COOKIE, "")
        found = self._keyed.get(cookie) or self._anonymous.get(cookie)
        now = time.monotonic()
        if found is not None and now - found.used > IDLE_SECONDS:
            self.logout(found)
            found = None
        if found is not None:
            found.used = now
            self._table(found).move_to_end(found.id)
            return found
        return self._new(None)

    def _table(self, session: Session) -> collections.OrderedDict[str, Session]:
        return self._anonymous if session.key is None else self._keyed

    def _new(self, key: str | None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), key)
        table = self._table(session)
        table[session.id] = session
        while len(table) > MAX_SESSIONS:
            table.popitem(last=False)
        return session

    def login(self, old: Session, key: str) -> Session:
        """A new session (a new id: no fixation) holding ``key``, if the server knows it;
        ``AuthenticationError`` if not."""
        authorization = f"Bearer {key.strip()}"
        # A database no key names: an unknown key fails to authenticate, a known one is
        # merely not authorized there.
        with contextlib.suppress(AuthorizationError):
            self.access.check(authorization, "\x00", write=False)
        self.logout(old)
        return self._new(key.strip())

    def logout(self, session: Session) -> None:
        self._table(session).pop(session.id, None)

    def logged_in(self, session: Session) -> bool:
        return not self.needs_key or session.key is not None

    def check(
        self, session: Session, database: str | None, *, write: bool, admin: bool = False
    ) -> None:
        """Raise (401, 403) unless this session may do it (``Access.check``)."""
        if not self.logged_in(session):
            raise AuthenticationError("log in with an API key first")
        self.access.check(session.authorization, database, write=write, admin=admin)

    def may(
        self, session: Session, database: str | None, *, write: bool, admin: bool = False
    ) -> bool:
        try:
            self.check(session, database, write=write, admin=admin)
        except (AuthenticationError, AuthorizationError):
            return False
        return True

    @staticmethod
    def check_post(request: Request, session: Session, token: object) -> None:
        """Raise ``CsrfError`` unless a POST carries the session's token (a form's ``csrf``
        field, or the ``X-Studio-Token`` header of the script's requests) and, where the
        browser says where it comes from, comes from this site."""
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise CsrfError("this request came from another site")
        origin = request.headers.get("origin")
        if origin is not None and origin != _own_origin(request):
            raise CsrfError("this request came from another site")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), session.csrf.encode()
        ):
            raise CsrfError("the form's security token is missing or stale: reload the page")

    @staticmethod
    def set_cookie(request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            session.id,
            httponly=True,
            samesite="strict",
            path="/studio",
            secure=request.url.scheme == "https",  # over TLS, never sent without it
        )


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

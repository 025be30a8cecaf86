"""The web server's edge: security headers, the viewer session, CSRF tokens, login limits.

Everything that comes in is checked here before a page sees it:
- every answer carries the security headers (`SECURITY_HEADERS`: no scripts, no framing, no
  referrer — a confirmation link is a capability and must not leak to another site);
- the status pages need a viewer session: a signed cookie made when the viewer password
  was typed correctly (compared in constant time), valid `SESSION_HOURS`, and void when the
  password changes;
- every POST carries a CSRF token bound to its form (the link it confirms, or the login
  cookie), made by `reminder.links`;
- failed logins are limited per client address and overall (`LoginLimiter`), so a
  password cannot be guessed quickly; a refused attempt is logged once at WARNING.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger("reminder.web")

SESSION_COOKIE = "nhachan_phien"
FORM_COOKIE = "nhachan_form"
SESSION_HOURS = 12
FORM_MAX_AGE = 2 * 3600  # seconds a form may stay open before its CSRF token expires

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def security_headers(hsts: bool) -> Middleware:
    """A middleware adding SECURITY_HEADERS (and HSTS behind https) to every answer."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware


class LoginLimiter:
    """Failed logins: at most `per_client` per client address and `overall` in all within
    `window` seconds; past that, logins are refused until the oldest failure ages out."""

    def __init__(self, per_client: int = 5, overall: int = 30, window: float = 900.0) -> None:
        self.per_client = per_client
        self.overall = overall
        self.window = window
        self.failures: dict[str, deque[float]] = {}
        self.all: deque[float] = deque()

    def _prune(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= self.window:
            times.popleft()

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        mine = self.failures.get(client, deque())
        self._prune(mine, now)
        self._prune(self.all, now)
        waits = [0.0]
        if len(mine) >= self.per_client:
            waits.append(mine[0] + self.window - now)
        if len(self.all) >= self.overall:
            waits.append(self.all[0] + self.window - now)
        if not mine:
            self.failures.pop(client, None)
        return max(waits)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.failures.setdefault(client, deque()).append(now)
        self.all.append(now)

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)


def client_of(request: web.Request) -> str:
    """The client's address as the server sees it (the proxy's, behind a reverse proxy)."""
    return request.remote or "?"


def refuse(request: web.Request, what: str) -> None:
    """Log a refused request once at WARNING: what, from where, which path (never a token)."""
    path = request.path
    if path.startswith("/xac-nhan/"):
        path = "/xac-nhan/…"
    log.warning("refused %s %s from %s: %s", request.method, path, client_of(request), what)


# A path on this site, in the characters a URL path and query may hold unescaped (RFC 3986),
# neither "//host" nor "/\\host" (both leave the site), nothing a browser strips or folds
# (tab, CR/LF, spaces, backslash, non-ASCII such as fullwidth or division slashes).
_SAME_SITE = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


def same_site_path(target: str) -> str:
    """`target` if it is a path on this site, else "/": the redirect after logging in.

    Checked as sent and once more after each round of percent-decoding (up to 4), so
    "/%2F%2Fhost" or "/%09/host" cannot turn into a way off the site at a later decoder.
    """
    text = target
    for _ in range(4):
        if not _SAME_SITE.fullmatch(text):
            return "/"
        decoded = unquote(text, errors="replace")
        if decoded == text:
            return target
        text = decoded
    return "/"

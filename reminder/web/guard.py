"""The web server's edge: security headers, the viewer session, CSRF tokens, login limits.

Everything that comes in is checked here before a page sees it:
- every answer carries the security headers (`SECURITY_HEADERS`: no scripts, no framing, no
  referrer — a confirmation link is a capability and must not leak to another site);
- the status pages need a viewer session (`reminder.web.sessions`), opened when the viewer
  password was typed correctly (compared in constant time) and ended by logging out, by
  idleness, by age and by a change of the password;
- every POST carries a CSRF token bound to its form (the link it confirms, or the login
  cookie), made by `reminder.links`;
- failed logins back off per real client and for the account (`LoginLimiter`), so a
  password cannot be guessed quickly and one client cannot lock out the others; the real
  client is the peer, or behind a trusted proxy the address it forwards (`client_of`);
  refusals are logged at WARNING, at most one line per minute per kind with a count.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web
from aiohttp.typedefs import Middleware

from reminder.model import IPNetwork
from reminder.web.refusals import REFUSALS

log = logging.getLogger("reminder.web")

SESSION_COOKIE = "nhachan_phien"
FORM_COOKIE = "nhachan_form"
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

SERVER_NAME = "nhachan"  # the Server header: no library or version (aiohttp's names both)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def name_the_server(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the Server header of every answer, the router's too."""
    response.headers["Server"] = SERVER_NAME


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
        response.headers["Server"] = SERVER_NAME
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware


class LoginLimiter:
    """Failed logins, with backoff per client (the real client, `client_of`) and for the
    account (the viewer password) as a whole.

    A client may get the password wrong `free` times within `window` seconds; after that it
    waits `backoff` seconds after its last failure, doubling with each further failure up to
    `window`. Other clients are not held up: a colleague's typos or an attacker's guesses
    from one address never lock out an office. When the account as a whole has seen
    `account_pressure` failures within `window` (guessing from many addresses), a client
    that has failed even once waits until `window` after its last failure: each address
    then gets one guess per window, while a client with no failure may still log in.
    """

    def __init__(
        self,
        free: int = 5,
        backoff: float = 60.0,
        window: float = 900.0,
        account_pressure: int = 30,
        max_clients: int = 10_000,
    ) -> None:
        self.free = free
        self.backoff = backoff
        self.window = window
        self.account_pressure = account_pressure
        self.max_clients = max_clients
        self.failures: dict[str, deque[float]] = {}
        self.all: deque[float] = deque()

    def _prune(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= self.window:
            times.popleft()

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        self._prune(self.all, now)
        mine = self.failures.get(client)
        if mine is None:
            return 0.0
        self._prune(mine, now)
        if not mine:
            del self.failures[client]
            return 0.0
        last, count = mine[-1], len(mine)
        wait = 0.0
        if count >= self.free:
            wait = min(self.window, self.backoff * 2 ** (count - self.free))
        if len(self.all) >= self.account_pressure:
            wait = self.window
        return max(0.0, last + wait - now)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if client not in self.failures and len(self.failures) >= self.max_clients:
            self._forget_oldest(now)
        self.failures.setdefault(client, deque()).append(now)
        self.all.append(now)
        while len(self.all) > self.account_pressure * 4:
            self.all.popleft()

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)

    def _forget_oldest(self, now: float) -> None:
        """Keep the table bounded: drop the clients whose failures aged out, else the one
        whose last failure is oldest."""
        for client in [c for c, t in self.failures.items() if now - t[-1] >= self.window]:
            del self.failures[client]
        if len(self.failures) >= self.max_clients:
            del self.failures[min(self.failures, key=lambda c: self.failures[c][-1])]


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Proxies = Callable[[], tuple[IPNetwork, ...]]
PROXIES: web.AppKey[Proxies] = web.AppKey("proxies")


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        found = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def real_client(
    peer: str | None,
    forwarded_for: list[str],
    real_ip: str | None,
    trusted: tuple[IPNetwork, ...],
) -> str:
    """The client's address: the direct peer, unless the peer is a trusted proxy; then the
    nearest address in X-Forwarded-For (read from the right) that is not itself a trusted
    proxy, or X-Real-IP when there is no X-Forwarded-For. A client cannot forge its way in:
    what it writes into the header stands left of what its proxy appends, and a peer that is
    not trusted is taken as it is, whatever it sends."""
    found = _address(peer)
    if found is None or not any(found in net for net in trusted):
        return str(found) if found is not None else (peer or "?")
    hops = [h for h in ",".join(forwarded_for).split(",") if h.strip()]
    if not hops and real_ip:
        hops = [real_ip]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        found = address
        if not any(address in net for net in trusted):
            break
    return str(found)


def _trusted_peer(request: web.Request) -> bool:
    proxies = request.app.get(PROXIES)
    peer = _address(request.remote)
    return peer is not None and proxies is not None and any(peer in n for n in proxies())


def forwarded_https(request: web.Request) -> bool:
    """Whether a trusted proxy says the client came over https (X-Forwarded-Proto)."""
    proto = request.headers.get("X-Forwarded-Proto", "")
    return proto.strip().lower() == "https" and _trusted_peer(request)


def client_of(request: web.Request) -> str:
    """The real client's address (behind a trusted reverse proxy: the one it forwards)."""
    proxies = request.app.get(PROXIES)
    return real_client(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        request.headers.get("X-Real-IP"),
        proxies() if proxies is not None else (),
    )


def refuse(request: web.Request, what: str) -> None:
    """Log a refused request at WARNING, aggregated per kind (`reminder.web.refusals`):
    what, from where, which path (never a token)."""
    path = request.path
    if path.startswith("/xac-nhan/"):
        path = "/xac-nhan/…"
    request.app[REFUSALS].refused(what, f"{request.method} {path} from {client_of(request)}")


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

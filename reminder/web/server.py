"""The web server inside the daemon's event loop (aiohttp's AppRunner + TCPSite).

aiohttp's runner installs no signal handlers, so SIGHUP and SIGTERM stay the daemon's. The
server is started after the ledger is open and stopped before it is closed; it is off unless
`[web] listen` is set. Connections are cheap coroutines on the same loop: a slow or hung
client holds a socket, not the loop, and every page does its database and planning work in
a thread, so reminders are never held up by a page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from aiohttp import web, web_response

from reminder.config import Settings
from reminder.health import Health
from reminder.ledger import Ledger
from reminder.model import IPNetwork
from reminder.web.guard import (
    PROXIES,
    SERVER_NAME,
    LoginLimiter,
    name_the_server,
    security_headers,
)
from reminder.web.pages import Site
from reminder.web.refusals import REFUSALS, ProtocolLog, RefusalLog, flushing
from reminder.web.sessions import Sessions

log = logging.getLogger("reminder.web")

# aiohttp names itself and its version in the Server header of the answers it makes before
# a page is reached (a malformed request's 400); the pages' own answers are named by the
# middleware. Nothing else in the process serves HTTP to the outside.
web_response.SERVER_SOFTWARE = SERVER_NAME

CLIENT_MAX_SIZE = 64 * 1024  # a form is a few hundred bytes
SESSIONS: web.AppKey[Sessions] = web.AppKey("sessions")  # the viewer sessions (tests reach them)


def make_app(
    settings: Callable[[], Settings],
    ledger: Ledger,
    clock: Callable[[], datetime],
    health: Health | None = None,
    extra: Sequence[web.RouteDef] = (),
) -> web.Application:
    """The aiohttp application with every page and the security middleware; `extra`: the
    routes of other parts of the daemon (the Zalo webhook)."""
    current = settings()
    hsts = bool(current.web and (current.web.public_url or "").startswith("https://"))
    site = Site(settings, ledger, clock, LoginLimiter(), Sessions(), health)
    app = web.Application(
        middlewares=[security_headers(hsts), site.error_pages], client_max_size=CLIENT_MAX_SIZE
    )
    app[SESSIONS] = site.sessions
    app[REFUSALS] = RefusalLog()
    app.cleanup_ctx.append(flushing)
    app.on_response_prepare.append(name_the_server)
    app[PROXIES] = lambda: _proxies(settings())
    app.add_routes(site.routes())
    app.add_routes(list(extra))
    return app


def runner_for(app: web.Application) -> web.AppRunner:
    """The runner serving `app`. No access log: the confirmation links in request lines are
    capabilities; malformed requests are refusals (ProtocolLog), not tracebacks."""
    return web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=15,
        shutdown_timeout=2.0,
        logger=ProtocolLog(app[REFUSALS]),
    )


def _proxies(settings: Settings) -> tuple[IPNetwork, ...]:
    return settings.web.trusted_proxies if settings.web else ()


class WebServer:
    """Serves the pages on `[web] listen` until stopped."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        ledger: Ledger,
        clock: Callable[[], datetime],
        health: Health | None = None,
        extra: Sequence[web.RouteDef] = (),
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.clock = clock
        self.health = health
        self.extra = extra
        self.runner: web.AppRunner | None = None
        self.address: tuple[str, int] | None = None

    async def start(self) -> None:
        """Listen on the configured address (OSError when it is taken or not allowed)."""
        web_settings = self.settings().web
        assert web_settings is not None and web_settings.listen is not None
        host, port = web_settings.listen
        app = make_app(self.settings, self.ledger, self.clock, self.health, self.extra)
        runner = runner_for(app)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self.runner = runner
        bound = runner.addresses[0]
        self.address = (str(bound[0]), int(bound[1]))
        log.info("web server listening on http://%s:%d", *self.address)

    async def stop(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()

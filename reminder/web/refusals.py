"""Refused requests in the log, aggregated: at most one WARNING line per minute per kind.

The first refusal of a kind is logged at once (what, which path, from where; never a
token). Further refusals of that kind within the next `every` seconds are only counted;
the count is logged in one line when the minute is over: by the next refusal of that
kind, or by `flush`, which the web server calls once a minute from the daemon's event
loop (no thread). So a scanner's 10,000 bad requests are a few lines, not 10,000.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("reminder.web")

EVERY = 60.0  # seconds: at most one line per kind in this time


@dataclass
class _Kind:
    logged: float  # when its last line was written
    more: int = 0  # refusals since then, not yet logged
    last: str = ""  # the last of them: "POST /dang-nhap from 1.2.3.4"


class RefusalLog:
    """Counts refusals per kind and logs them at most once per `every` seconds each."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, every: float = EVERY) -> None:
        self.clock = clock
        self.every = every
        self.kinds: dict[str, _Kind] = {}

    def refused(self, kind: str, where: str) -> None:
        """One refused request of `kind` ("wrong viewer password") `where` it came from."""
        now = self.clock()
        seen = self.kinds.get(kind)
        if seen is not None and now - seen.logged < self.every:
            seen.more += 1
            seen.last = where
            return
        if seen is not None and seen.more:  # the minute is over: this one joins the count
            seen.more += 1
            seen.last = where
            self._say_more(kind, seen)
        else:
            log.warning("refused %s: %s", where, kind)
        self.kinds[kind] = _Kind(now)

    def flush(self, *, all_: bool = False) -> None:
        """Log the counts of the kinds whose minute is over (`all_`: every count, at the end)."""
        now = self.clock()
        for kind, seen in list(self.kinds.items()):
            if now - seen.logged < self.every and not all_:
                continue
            if seen.more:
                self._say_more(kind, seen)
                self.kinds[kind] = _Kind(now)
            else:
                del self.kinds[kind]

    def _say_more(self, kind: str, seen: _Kind) -> None:
        log.warning(
            "refused %d more request(s) in the last %.0f s: %s (the last: %s)",
            seen.more,
            self.clock() - seen.logged,
            kind,
            seen.last,
        )


REFUSALS: web.AppKey[RefusalLog] = web.AppKey("refusals")


async def flushing(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: flush the app's RefusalLog every EVERY seconds, and all
    that is left when the server stops."""
    refusals = app[REFUSALS]

    async def every_minute() -> None:
        while True:
            await asyncio.sleep(refusals.every)
            refusals.flush()

    task = asyncio.get_running_loop().create_task(every_minute())
    yield
    task.cancel()
    refusals.flush(all_=True)


class ProtocolLog(logging.Logger):
    """aiohttp's server logger (`logger=` of the runner): a request too malformed to reach
    a page (a bad request line or header, a scanner's noise) is a refusal, aggregated like
    the others, not an ERROR with a traceback; anything else goes to "aiohttp.server"."""

    def __init__(self, refusals: RefusalLog) -> None:
        super().__init__("aiohttp.server")
        self.refusals = refusals
        self.real = logging.getLogger("aiohttp.server")

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError) and exc.code < 500:
            peer = args[0] if args else "?"
            self.refusals.refused("malformed HTTP request", f"from {peer}")
            return
        self.real.exception(msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.real.debug(msg, *args, **kwargs)

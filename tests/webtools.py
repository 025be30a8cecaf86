"""The built-in web server for tests: the shipped config with [web], a real ledger, real HTTP
on 127.0.0.1 (aiohttp's runner on a free port), and a fixed clock."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from helpers import write_config

from reminder.config import Settings, load
from reminder.health import Health
from reminder.ledger import Ledger
from reminder.links import Confirmation, Links
from reminder.model import VN_TZ
from reminder.web import make_app
from reminder.web.server import runner_for

WEB_SECRET = "bí-mật-ký-liên-kết-0123456789abcdef"
WEB_PASSWORD = "mật-khẩu-xem-2026"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=VN_TZ)


def web_config(
    folder: Path, *, listen: str = "127.0.0.1:0", public_url: str = "", extra: str = ""
) -> Path:
    """The shipped config in `folder` with a [web] table (secrets from the environment:
    REMINDER_WEB_SECRET and REMINDER_WEB_PASSWORD, set by the caller); `extra` are more
    lines of that table."""
    path = write_config(folder)
    url = f'public_url = "{public_url}"\n' if public_url else ""
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[web]\nlisten = "{listen}"\n{url}{extra}')
    return path


@dataclass
class WebSite:
    """A running site: its base URL, settings, ledger and a client session."""

    base: str
    settings: Settings
    ledger: Ledger
    client: aiohttp.ClientSession
    clock: list[datetime]
    app: web.Application

    @property
    def links(self) -> Links:
        return Links(WEB_SECRET)

    async def get(self, path: str, **kw: object) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.client.get(self.base + path, allow_redirects=False, **kw) as r:  # type: ignore[arg-type]
            return r.status, await r.text(), r

    async def post(
        self, path: str, data: dict[str, str], **kw: object
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.client.post(
            self.base + path,
            data=data,
            allow_redirects=False,
            **kw,  # type: ignore[arg-type]
        ) as r:
            return r.status, await r.text(), r

    async def login(self, password: str = WEB_PASSWORD) -> int:
        _, page, _ = await self.get("/dang-nhap")
        status, _, _ = await self.post(
            "/dang-nhap", {"csrf": csrf_of(page), "mat_khau": password, "tiep": "/"}
        )
        return status

    def confirm_path(self, c: Confirmation) -> str:
        return f"/xac-nhan/{self.links.confirmation(c)}"


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, "no CSRF field in the page"
    return m.group(1)


@asynccontextmanager
async def running_site(
    folder: Path,
    ledger_url: str | None = None,
    *,
    public_url: str = "",
    web_extra: str = "",
    health: Health | None = None,
    plans: dict[str, str] | None = None,
) -> AsyncIterator[WebSite]:
    """Serve the pages of a fresh config in `folder` on 127.0.0.1 until the block ends
    (`public_url`, `web_extra`: more of its [web] table; `plans`: more plan files, by
    file name, in its plans/ folder)."""
    config = web_config(folder, public_url=public_url, extra=web_extra)
    for name, text in (plans or {}).items():
        (folder / "plans").mkdir(exist_ok=True)
        (folder / "plans" / name).write_text(text, encoding="utf-8")
    settings = load(config)
    ledger = Ledger(ledger_url or settings.database_url)
    if ledger_url is None:
        ledger.migrate()
    clock = [NOW]
    app = make_app(lambda: settings, ledger, lambda: clock[0], health)
    runner = runner_for(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    jar = aiohttp.CookieJar(unsafe=True)
    try:
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            yield WebSite(f"http://127.0.0.1:{port}", settings, ledger, client, clock, app)
    finally:
        await runner.cleanup()
        ledger.close()


@contextmanager
def site_in_thread(folder: Path) -> Iterator[tuple[str, Settings, Ledger]]:
    """The site served from a thread with its own event loop (for a synchronous browser
    driver): yields (base URL, settings, ledger)."""
    loop = asyncio.new_event_loop()
    settings = load(web_config(folder))
    ledger = Ledger(settings.database_url)
    ledger.migrate()
    app = make_app(lambda: settings, ledger, lambda: NOW)
    runner = runner_for(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    port = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, name="web-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", settings, ledger
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.run_until_complete(runner.cleanup())
        loop.close()
        ledger.close()

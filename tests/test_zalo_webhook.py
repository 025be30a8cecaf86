"""The Zalo webhook on the daemon's web server (127.0.0.1): the secret header compared in
constant time, refused without it or with another, accepted updates answered through the
shared chat module, setWebhook on the fake Zalo Bot API, and the configuration it needs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fakes.zalo_api import TOKEN, FakeZaloAPI
from test_zalo_dispatch import zalo_config
from webtools import WEB_PASSWORD, WEB_SECRET

from reminder.answers import Answers
from reminder.channels.zalo_poll import SECRET_HEADER, ZaloWebhook, secret_matches
from reminder.config import ConfigError, Settings, load
from reminder.ledger import Ledger
from reminder.model import VN_TZ
from reminder.web import WebServer

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
SECRET = "webhook-bí-mật-0123456789"
NOI_VU = "zsnv001"
PUBLIC = "https://nhachan.tinh.example"


def webhook_config(folder: Path, base_url: str, *, web: bool = True) -> Path:
    path = zalo_config(folder, base_url=base_url)
    text = path.read_text(encoding="utf-8").replace(
        f'base_url = "{base_url}"', f'base_url = "{base_url}"\nreceive = "webhook"', 1
    )
    if web:
        text += f'\n[web]\nlisten = "127.0.0.1:0"\npublic_url = "{PUBLIC}"\n'
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", TOKEN)
    monkeypatch.setenv("REMINDER_ZALO_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


@dataclass
class Site:
    api: FakeZaloAPI
    settings: Settings
    ledger: Ledger
    hook: ZaloWebhook
    url: str

    async def post(self, body: Any, secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with aiohttp.ClientSession() as s, s.post(self.url, json=body, headers=headers) as r:
            return r.status


def update(chat: str, text: str) -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": "m1",
            "from": {"id": "u-9", "display_name": "Phạm D"},
            "chat": {"id": chat, "chat_type": "PRIVATE"},
            "date": 1,
            "text": text,
        },
    }


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The daemon's web server with the webhook route, the fake Zalo API for the answers."""
    async with FakeZaloAPI() as api:
        api.add_chat(NOI_VU)
        settings = load(webhook_config(tmp_path, api.base_url))
        assert settings.zalo is not None and settings.zalo.webhook_secret == SECRET
        ledger = Ledger(settings.database_url)
        ledger.migrate()
        hook = ZaloWebhook(settings.zalo, Answers(lambda: settings, ledger, lambda: NOW))
        server = WebServer(lambda: settings, ledger, lambda: NOW, None, hook.routes())
        await server.start()
        assert server.address is not None
        url = "http://{}:{}/zalo/webhook".format(*server.address)
        try:
            yield Site(api, settings, ledger, hook, url)
        finally:
            await server.stop()
            await hook.close()
            ledger.close()


async def test_right_secret_is_answered_through_the_shared_module(site: Site) -> None:
    """An update with the right secret gets 200, and "xong 1" from Sở Nội vụ's chat is
    recorded and answered on the fake Zalo server."""
    assert await site.post(update(NOI_VU, "xong 1")) == 200
    for _ in range(300):
        if site.hook.handled:
            break
        await asyncio.sleep(0.02)
    [reply] = site.api.texts(NOI_VU)
    assert reply.startswith("Đã ghi nhận hoàn thành nhiệm vụ số 1")
    assert site.ledger.completions.current("nv01")


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0000", SECRET[:-1], SECRET + "x"])
async def test_missing_or_wrong_secret_is_refused(
    site: Site, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the header, or with another secret, the answer is 403, nothing is read or
    recorded, and one WARNING says so without the secret."""
    caplog.set_level(logging.WARNING, "reminder.channels.zalo")
    for _ in range(3):
        assert await site.post(update(NOI_VU, "xong 1"), secret=secret) == 403
    await asyncio.sleep(0.1)
    assert site.hook.handled == 0 and site.api.sent == []
    assert site.ledger.completions.current("nv01") == {}
    lines = [r.getMessage() for r in caplog.records if "webhook call refused" in r.getMessage()]
    assert len(lines) == 1 and SECRET not in caplog.text


async def test_secret_header_not_utf8_is_refused(site: Site) -> None:
    """A secret header whose bytes are not UTF-8 gets 403, not a server error."""
    host, port = site.url.split("//")[1].split("/")[0].split(":")
    body = json.dumps(update(NOI_VU, "xong 1")).encode()
    request = (
        b"POST /zalo/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + SECRET_HEADER.encode()
        + b": \xff\xfe\x80"
        + SECRET.encode()
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.split()[1] == b"403"
    assert site.hook.handled == 0 and site.ledger.completions.current("nv01") == {}


async def test_bad_body_is_refused(site: Site) -> None:
    """A body that is not an update gets 400."""
    assert await site.post([1, 2]) == 400


async def test_register_sets_the_webhook_on_the_api(site: Site) -> None:
    """setWebhook gets <public_url>/zalo/webhook and the secret; getUpdates then conflicts."""
    await asyncio.wait_for(site.hook.register(PUBLIC), 10)
    assert site.api.webhook == {"url": f"{PUBLIC}/zalo/webhook", "secret_token": SECRET}


def test_secret_compare() -> None:
    """The comparison needs both sides and an exact match."""
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(None, SECRET) and not secret_matches(SECRET, "")
    assert not secret_matches(SECRET.upper(), SECRET)


def test_webhook_needs_the_web_server(tmp_path: Path) -> None:
    """receive = "webhook" without [web] listen and an https public_url is a config error."""
    with pytest.raises(ConfigError) as err:
        load(webhook_config(tmp_path, "http://127.0.0.1:1/bot", web=False))
    assert 'receive = "webhook" needs the daemon\'s web server' in str(err.value)

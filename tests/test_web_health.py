"""What the server tells about itself (issue 19, item 7): no library version in `Server`, and
/healthz reports the scheduler's last and next wake-up, the ledger and each channel's last
error: 200 when healthy, 503 with the reason otherwise."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess
from helpers import write_config
from webtools import NOW, WEB_PASSWORD, WEB_SECRET, running_site

from reminder.health import Health


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


async def _raw(port: int, request: bytes) -> bytes:
    """Send `request` as it is and read the answer's head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return head


async def test_server_header_names_no_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Pages, redirects, 404, 405, a refusal and a malformed request: `Server: nhachan`; the
    malformed request is a refusal line, not an ERROR with a traceback."""
    caplog.set_level(logging.DEBUG)
    async with running_site(tmp_path) as site:
        answers = [
            await site.get("/healthz"),
            await site.get("/"),
            await site.get("/khong-co-trang-nay"),
            await site.post("/healthz", {}),
            await site.get("/xac-nhan/gia-mao"),
        ]
        port = int(site.base.rsplit(":", 1)[1])
        bad = await _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert [s for s, _, _ in answers] == [200, 303, 404, 405, 403]
    assert {r.headers["Server"] for _, _, r in answers} == {"nhachan"}
    assert bad.startswith(b"HTTP/1.0 400") and b"\r\nServer: nhachan\r\n" in bad
    assert b"aiohttp" not in bad.lower() and b"python" not in bad.lower()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "refused from 127.0.0.1: malformed HTTP request" in caplog.text


def _health() -> Health:
    """A daemon that woke a minute ago, wakes in an hour and sent on both channels."""
    h = Health(started=NOW - timedelta(hours=2))
    h.last_wake, h.next_wake = NOW - timedelta(minutes=1), NOW + timedelta(hours=1)
    h.sent("email", NOW - timedelta(minutes=1))
    h.sent("telegram", NOW - timedelta(minutes=1))
    return h


async def test_healthz_reports_each_part(tmp_path: Path) -> None:
    """Healthy: 200, "ok" and one line each for the scheduler, the ledger and the channels."""
    health = _health()
    health.failed("telegram", NOW - timedelta(hours=1), "chat not found")  # before the last send
    async with running_site(tmp_path, health=health) as site:
        status, text, _ = await site.get("/healthz")
    lines = text.splitlines()
    assert status == 200 and lines[0] == "ok"
    assert lines[1] == (
        "scheduler: last wake-up 2026-12-01T08:59:00+07:00, next 2026-12-01T10:00:00+07:00"
    )
    assert lines[2] == "ledger: ok"
    assert lines[3] == "email: last sent 2026-12-01T08:59:00+07:00; last error none"
    assert lines[4] == (
        "telegram: last sent 2026-12-01T08:59:00+07:00; "
        "last error 2026-12-01T08:00:00+07:00: chat not found"
    )


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (
            lambda h: setattr(h, "last_wake", NOW - timedelta(minutes=20)),
            "scheduler: no wake-up since 2026-12-01T08:40:00+07:00",
        ),
        (
            lambda h: setattr(h, "last_wake", None),
            "scheduler: has not woken up since the start",
        ),
        (lambda h: setattr(h, "ledger_error", "database is locked"), "ledger: database is locked"),
        (
            lambda h: h.failed("email", NOW, "[Errno 111] Connection refused"),
            "email: the last send failed at 2026-12-01T09:00:00+07:00: [Errno 111] Connection",
        ),
    ],
)
async def test_healthz_503_with_the_reason(tmp_path: Path, break_it: object, reason: str) -> None:
    """A stuck scheduler, an unusable ledger or a channel whose last send failed: 503, and the
    first line says why."""
    health = _health()
    break_it(health)  # type: ignore[operator]
    async with running_site(tmp_path, health=health) as site:
        status, text, _ = await site.get("/healthz")
    assert status == 503
    assert text.startswith("unhealthy: ") and reason in text.splitlines()[0]


async def test_healthz_hides_error_texts_from_outside(tmp_path: Path) -> None:
    """From another machine (behind the proxy) the failure shows, its text does not."""
    health = _health()
    health.failed("email", NOW, "550 vanthu@tinh.example: no such user")
    async with running_site(tmp_path, health=health, web_extra="behind_proxy = true\n") as site:
        status, text, _ = await site.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
        local, local_text, _ = await site.get("/healthz")
    assert status == local == 503
    assert "email: the last send failed at 2026-12-01T09:00:00+07:00" in text
    assert "vanthu" not in text and "vanthu@tinh.example" in local_text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_daemon_keeps_health_up_to_date(tmp_path: Path) -> None:
    """The real daemon: after its first cycle /healthz names the wake-ups, the outbox channel
    that sent and the SMTP server that refused, and answers 503 for that."""
    dead = _free_port()  # nothing listens there: every e-mail send fails
    config = write_config(tmp_path, smtp=("127.0.0.1", dead), telegram="outbox")
    for name, value in (("web_secret", WEB_SECRET), ("web_password", WEB_PASSWORD)):
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")
    with config.open("a", encoding="utf-8") as f:
        f.write(
            '\n[web]\nlisten = "127.0.0.1:0"\nsecret_file = "web_secret"\n'
            'password_file = "web_password"\n'
        )
    d = DaemonProcess(config, NOW)
    try:
        line = d.wait_for_line(r"web server listening on http://127\.0\.0\.1:\d+", 60)
        port = int(re.search(r":(\d+)$", line).group(1))  # type: ignore[union-attr]
        d.wait_for_line(r"failed, retry at", 60)
        d.wait_for_line(r"next wake-up at|next reminders at", 60)
        status, text = _healthz(port)
        assert d.stop(60) == 0
    finally:
        d.close()
    lines = text.splitlines()
    assert status == 503, text
    assert lines[0].startswith("unhealthy: email: the last send failed at 2026-12-01T09:00")
    assert re.match(r"scheduler: last wake-up 2026-12-01T09:00:\d\d\+07:00, next 2026-", lines[1])
    assert lines[2] == "ledger: ok"
    assert any(
        re.match(r"telegram: last sent 2026-12-01T09:00:\d\d\+07:00; last error none", x)
        for x in lines
    )

"""The daemon with answer-back on, as a subprocess: web server and Telegram poller inside its
loop, a button press recorded, and SIGHUP/SIGTERM still the daemon's own (each handled once)."""

from __future__ import annotations

import re
import signal
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from daemon_harness import DaemonProcess
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from webtools import WEB_PASSWORD, WEB_SECRET

from reminder.config import load
from reminder.ledger import Ledger
from reminder.model import VN_TZ

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
NOI_VU = "-1001000000001"


def answer_config(folder: Path, base_url: str) -> Path:
    """The shipped config: Telegram through the fake with poll on, the web server on a free
    port; the secrets in files (the test harness passes no REMINDER_* variables)."""
    path = write_config(folder, telegram_url=base_url, email="off")
    for name, value in (
        ("tg_token", TOKEN),
        ("web_secret", WEB_SECRET),
        ("web_password", WEB_PASSWORD),
    ):
        (folder / name).write_text(value + "\n", encoding="utf-8")
        (folder / name).chmod(0o600)
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'token_env = "REMINDER_TELEGRAM_TOKEN"',
        'token_env = "REMINDER_TELEGRAM_TOKEN"\ntoken_file = "tg_token"\npoll = true',
        1,
    )
    text += (
        '\n[web]\nlisten = "127.0.0.1:0"\nsecret_file = "web_secret"\n'
        'password_file = "web_password"\n'
    )
    path.write_text(text, encoding="utf-8")
    return path


def _until(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as r:
        return int(r.status)


def test_daemon_with_web_and_poller(tmp_path: Path) -> None:
    """The daemon serves /healthz, sends reminders with buttons, records a press, reloads on
    SIGHUP with the server still up, and stops once on SIGTERM (exit 0)."""
    api = FakeTelegramAPI()
    base_url, stop_api = api.start_in_thread()
    config = answer_config(tmp_path, base_url)
    d = DaemonProcess(config, NOW)
    try:
        line = d.wait_for_line(r"web server listening on http://127\.0\.0\.1:\d+", 60)
        port = int(re.search(r":(\d+)$", line).group(1))  # type: ignore[union-attr]
        d.wait_for_line("receiving Telegram button presses", 60)
        assert _get(f"http://127.0.0.1:{port}/healthz") == 200
        _until(lambda: api.sent_to(NOI_VU))
        markup = api.sent_to(NOI_VU)[-1].reply_markup
        assert markup is not None
        data = markup["inline_keyboard"][0][0]["callback_data"]
        api.add_callback_query(NOI_VU, data)
        _until(lambda: api.answers and api.edits)
        assert "Đã ghi nhận hoàn thành" in api.edits[-1].text
        mark = len(d.lines())
        d.signal(signal.SIGHUP)
        d.wait_for_line(r"reloaded ", 60, after=mark)
        assert _get(f"http://127.0.0.1:{port}/healthz") == 200
        assert d.stop(60) == 0
    finally:
        d.close()
        stop_api()
    text = d.text()
    assert text.count("INFO reminder.daemon: stopping") == 1
    assert text.count("reloading") == 1
    assert TOKEN not in text and WEB_SECRET not in text and WEB_PASSWORD not in text
    settings = load(config)
    with Ledger(settings.database_url) as ledger:
        done = ledger.completions.current("nv01")
    assert done[("nv01", "2026", "bao-cao")].done_on.isoformat() == "2026-12-01"

"""The daemon with Zalo on, as a subprocess: it sends the digest to the fake Zalo Bot API,
its poller reads "xong 1" from the chat and records it, and it stops once on SIGTERM."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from daemon_harness import DaemonProcess
from fakes.zalo_api import TOKEN, FakeZaloAPI
from test_zalo_dispatch import zalo_config

from reminder.config import load
from reminder.ledger import Ledger
from reminder.model import VN_TZ

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
NOI_VU = "zsnv001"


def _until(check: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_daemon_sends_on_zalo_and_records_a_typed_answer(tmp_path: Path) -> None:
    """[channels.zalo] bot with poll = true: the digest reaches Sở Nội vụ's chat, "xong 1"
    is recorded and acknowledged, and the token is in no log line."""
    api = FakeZaloAPI(max_poll_wait=2)
    api.add_chat(NOI_VU)
    api.add_chat("zkhcn002")
    api.add_chat("zlhh003")
    base_url, stop_api = api.start_in_thread()
    config = zalo_config(tmp_path, base_url=base_url)
    (tmp_path / "zalo_token").write_text(TOKEN + "\n", encoding="utf-8")
    (tmp_path / "zalo_token").chmod(0o600)
    text = config.read_text(encoding="utf-8").replace(
        f'base_url = "{base_url}"',
        f'base_url = "{base_url}"\ntoken_file = "zalo_token"\npoll = true',
    )
    config.write_text(text, encoding="utf-8")
    d = DaemonProcess(config, NOW)
    try:
        d.wait_for_line("receiving Zalo answers and link codes", 60)
        _until(lambda: api.texts(NOI_VU))
        sent = len(api.sent)
        api.add_message(NOI_VU, "xong 1")
        _until(lambda: any(s.chat_id == NOI_VU for s in api.sent[sent:]))
        assert api.sent[-1].text.startswith("Đã ghi nhận hoàn thành nhiệm vụ số 1")
        assert d.stop(60) == 0
    finally:
        d.close()
        stop_api()
    assert d.text().count("INFO reminder.daemon: stopping") == 1
    assert TOKEN not in d.text() and TOKEN.partition(":")[2] not in d.text()
    with Ledger(load(config).database_url) as ledger:
        assert ledger.completions.current("nv01")

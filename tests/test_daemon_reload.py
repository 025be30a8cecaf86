"""SIGHUP whatever goes wrong: the old configuration keeps running, READY=1 follows RELOADING=1.

One test runs the real daemon (a 500-level nested array written over config.toml); one runs
`Daemon.reload` in-process with a reader that fails in a way nobody planned for.
"""

from __future__ import annotations

import re
import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemon_harness import Config, DaemonProcess, TimedSMTPServer, line_of, write_config
from fakes.notify_socket import FakeNotifySocket

from reminder import daemon as daemon_module
from reminder.config import load
from reminder.model import VN_TZ

X = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # the harness config's one reminder


@pytest.mark.timeout(40)
def test_sighup_with_deeply_nested_toml_is_refused_in_one_line(
    tmp_path: Path, smtp: TimedSMTPServer, notify: FakeNotifySocket
) -> None:
    """A 500-level array on SIGHUP: "reload refused: file:line: …", READY=1 with STATUS=, no traceback."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = DaemonProcess(cfg, X - timedelta(days=3), notify_socket=notify.path)
    try:
        notify.wait_for("READY=1", timeout=20)
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text + "\n[x]\ny = " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
        bad_line = line_of(cfg, "y = [[[")
        mark = len(daemon.lines())
        daemon.signal(signal.SIGHUP)
        ready = notify.wait_for("READY=1", timeout=15, count=2)
        assert "STATUS=reload FAILED (1 error(s)" in ready
        daemon.wait_for_line(
            rf"ERROR reminder\.daemon: reload refused: {re.escape(str(cfg))}:{bad_line}: "
            r"arrays or inline tables nested 500 levels deep",
            5,
            after=mark,
        )
        assert daemon.proc.poll() is None, "the daemon died on a bad reload"
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.text()
        assert "RecursionError" not in daemon.text()
    finally:
        daemon.close()


async def test_reload_survives_any_exception(
    tmp_path: Path,
    smtp: TimedSMTPServer,
    notify: FakeNotifySocket,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unforeseen exception while reloading: refused with its reason, READY=1 and STATUS= sent."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    daemon = daemon_module.Daemon(cfg, daemon_module.Clock(X))
    daemon.settings = load(cfg)
    daemon.started = True

    def broken(_path: object) -> None:
        raise MemoryError("the reader ran out of memory")

    monkeypatch.setattr(daemon_module, "load_checked", broken)
    await daemon.reload()
    notify.wait_for("READY=1", timeout=5)
    messages = notify.messages()
    reloading = next(i for i, m in enumerate(messages) if "RELOADING=1" in m)
    ready = [m for m in messages[reloading:] if "READY=1" in m]
    assert ready, messages
    assert "STATUS=reload FAILED (1 error(s), see the journal)" in ready[0]
    assert daemon.settings.source == cfg  # the previous configuration still runs
    refused = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert (
        refused[0] == "reload refused: unexpected error: MemoryError: the reader ran out of memory"
    )

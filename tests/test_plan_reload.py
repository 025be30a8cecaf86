"""A reload (SIGHUP) and plan files (issue 20): a new or edited plan file is picked up; a bad
one is refused, naming its file, line and key, and the running plans keep going."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
from fakes.notify_socket import FakeNotifySocket
from test_plans import office, plan_text

from reminder import daemon as daemon_module
from reminder.config import load
from reminder.ledger import Ledger
from reminder.model import VN_TZ

X = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)


async def test_reload_takes_new_plans_and_refuses_bad_ones(
    tmp_path: Path,
    notify: FakeNotifySocket,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bad plan file on reload: refused, the running plans go on; fixed, it is taken."""
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a", ("1",))))
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    daemon = daemon_module.Daemon(cfg, daemon_module.Clock(X))
    daemon.settings = load(cfg)
    daemon.ledger = Ledger(daemon.settings.database_url, lease=daemon.settings.lease)
    daemon.ledger.migrate()
    daemon.dispatcher = daemon_module.Dispatcher(daemon.settings, daemon.ledger)
    daemon.started = True
    caplog.set_level(logging.INFO, logger="reminder.daemon")
    try:
        bad = tmp_path / "plans" / "kh-b.toml"
        bad.write_text(plan_text("kh-b", ("1",), lead="so-noivu"), encoding="utf-8")
        await daemon.reload()
        assert list(daemon.settings.catalog.plans) == ["kh-a"]
        refused = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
        assert refused and f"{bad}:12: tasks[1].lead: unknown agency" in refused[0]
        bad.write_text(plan_text("kh-b", ("1", "2")), encoding="utf-8")
        edited = plan_text("kh-a", ("1", "1a"))
        (tmp_path / "plans" / "kh-a.toml").write_text(edited, encoding="utf-8")
        await daemon.reload()
        names = [t.name for t in daemon.settings.catalog.tasks]
        assert names == ["kh-a/1", "kh-a/1a", "kh-b/1", "kh-b/2"]
    finally:
        daemon.ledger.close()

"""Moving today's inline plan into plans/ (issue 20): a ledger written with the inline
config.toml goes on with the plan file, on SQLite and on PostgreSQL: nothing is sent again,
no completion is lost, the reminder keys and the calendar UIDs stay the same."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from helpers import write_config
from pgcluster import PgCluster

from reminder.cli import main
from reminder.config import load
from reminder.config.moveplan import split_inline
from reminder.dispatch import Dispatcher
from reminder.feed import uid_of
from reminder.ledger import Ledger
from reminder.model import VN_TZ
from reminder.planner import plan

FIRST = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # 14 days before the 15/12 reports
LATER = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)  # 7 days before


def database(backend: str, request: pytest.FixtureRequest, mp: pytest.MonkeyPatch) -> str | None:
    """None (a SQLite file beside the config) or a new PostgreSQL database's URL."""
    if backend == "sqlite":
        return None
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    mp.setenv("REMINDER_DATABASE_PASSWORD", cluster.password)
    return cluster.url(cluster.new_database(), password=False)


def move_inline(config: Path) -> Path:
    """What ops do: the inline [plan] and [[tasks]] into plans/ke-hoach.toml."""
    office, plan_file = split_inline(config.read_text(encoding="utf-8"), "ke-hoach")
    config.write_text(office, encoding="utf-8")
    folder = config.parent / "plans"
    folder.mkdir()
    (folder / "ke-hoach.toml").write_text(plan_file, encoding="utf-8")
    return folder / "ke-hoach.toml"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_moving_the_plan_into_plans_sends_nothing_again(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger written with the inline config keeps its sends and completions after the move."""
    config = write_config(
        tmp_path, database=database(backend, request, monkeypatch), email="outbox", inline=True
    )
    before = load(config)
    ledger = Ledger(before.database_url, lease=before.lease, password=before.database_password)
    ledger.migrate()
    first = await Dispatcher(before, ledger).cycle(FIRST)
    assert first.sent > 0
    ledger.completions.record_done(
        "nv02", "2026", "bao-cao", date(2026, 12, 2), by="ops:test", now=FIRST
    )
    ledger.close()

    moved = move_inline(config)
    after = load(config)
    assert after.catalog.plans["ke-hoach"].source == moved
    assert [t.name for t in after.catalog.tasks] == [f"ke-hoach/{n}" for n in range(1, 12)]
    assert [t.id for t in after.catalog.tasks] == [t.id for t in before.catalog.tasks]
    window = (FIRST, datetime(2028, 12, 31, tzinfo=VN_TZ))
    assert {r.key for r in plan(after.catalog, *window)} == {
        r.key for r in plan(before.catalog, *window)
    }
    assert [uid_of(t.id, "2026", "bao-cao") for t in after.catalog.tasks] == [
        uid_of(t.id, "2026", "bao-cao") for t in before.catalog.tasks
    ]

    ledger = Ledger(after.database_url, lease=after.lease, password=after.database_password)
    ledger.migrate()
    try:
        dispatcher = Dispatcher(after, ledger)
        again = await dispatcher.cycle(FIRST)
        assert (again.sent, again.messages) == (0, 0)
        assert ("nv02", "2026", "bao-cao") in ledger.completions.current()
        later = await dispatcher.cycle(LATER)
        assert later.sent > 0
        sent_later = {
            d.key for d in ledger.history(limit=100_000) if d.key.startswith("nv02|2026|bao-cao|")
        }
        assert all("|D-7|" not in key for key in sent_later), sent_later  # done: not reminded
        assert any(
            d.key.startswith("nv01|2026|bao-cao|D-7|") for d in ledger.history(limit=100_000)
        )
    finally:
        ledger.close()


def test_check_with_the_moved_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After the move `check` names the plan file and no longer asks for a move; names and old ids both work."""
    config = write_config(tmp_path, email="outbox", inline=True)
    move_inline(config)
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert f"plans: 1 in {tmp_path / 'plans'}" in out and "inline" not in out
    for ref in ("ke-hoach/9", "9", "nv09"):
        assert main(["--config", str(config), "explain", ref, "--now", FIRST.isoformat()]) == 0
        assert "Task 9 (nv09)" in capsys.readouterr().out

"""Completion records: append-only events, corrections, undo, the migration, `reminder done`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from helpers import SHIPPED_CONFIG, copy_shipped, write_config
from inprocess import run_main

from reminder.completions import Action, NothingToUndo
from reminder.config import load
from reminder.ledger import Ledger
from reminder.model import VN_TZ
from reminder.planner import plan

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NOW = "2026-12-01T09:00:00+07:00"


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """A migrated ledger on each back-end (SQLite, PostgreSQL)."""
    led = Ledger(db_url)
    led.migrate()
    yield led
    led.close()


def test_done_correction_undo_are_appended_never_overwritten(ledger: Ledger) -> None:
    """done, a correction and an undo are three events; the current view follows the last."""
    book = ledger.completions
    first = book.record_done(
        "nv01", "2026", "bao-cao", date(2026, 11, 20), by="ops:lan", ref="BC 12", now=T0
    )
    assert first is not None and first.action is Action.DONE
    assert book.current()[("nv01", "2026", "bao-cao")].done_on == date(2026, 11, 20)
    book.record_done("nv01", "2026", "bao-cao", date(2026, 11, 18), by="ops:lan", now=T0)
    (current,) = book.current().values()
    assert (current.done_on, current.ref, current.by) == (date(2026, 11, 18), "", "ops:lan")
    assert ledger.done() == {("nv01", "2026", "bao-cao")}
    book.undo("nv01", "2026", "bao-cao", by="ops:lan", note="nhầm", now=T0 + timedelta(hours=1))
    assert book.current() == {} and ledger.done() == frozenset()
    history = book.events()
    assert [e.action for e in history] == [Action.DONE, Action.DONE, Action.UNDO]
    assert [e.done_on for e in history] == [date(2026, 11, 20), date(2026, 11, 18), None]
    assert history[0].ref == "BC 12" and history[2].note == "nhầm"
    assert all(e.recorded_at.tzinfo is not None for e in history)


def test_repeat_is_a_no_op_and_undo_of_nothing_is_refused(ledger: Ledger) -> None:
    """The same record twice writes one event; undo with no current record raises, writes nothing."""
    book = ledger.completions
    assert book.record_done("t", "2026", None, date(2026, 11, 2), by="x", now=T0) is not None
    assert book.record_done("t", "2026", None, date(2026, 11, 2), by="x", now=T0) is None
    with pytest.raises(NothingToUndo):
        book.undo("t", "2026", "other", now=T0)
    book.undo("t", "2026", None, now=T0)
    with pytest.raises(NothingToUndo):
        book.undo("t", "2026", None, now=T0)
    assert len(book.events()) == 2
    assert len(book.events("t")) == 2 and book.events("nobody") == []


def test_undo_brings_back_the_reminders_still_ahead(ledger: Ledger) -> None:
    """A finished milestone gets no reminders (lead or support); after undo the future ones return."""
    catalog = load(SHIPPED_CONFIG).catalog
    since = datetime(2026, 12, 2, tzinfo=VN_TZ)
    until = since + timedelta(days=30)

    def nv01() -> set[str]:
        found = plan(catalog, since, until, done=ledger.done())
        return {r.key for r in found if (r.task_id, r.milestone_id) == ("nv01", "bao-cao")}

    before = nv01()
    assert before
    ledger.completions.record_done("nv01", "2026", "bao-cao", date(2026, 11, 20), now=T0)
    assert nv01() == set()
    ledger.completions.undo("nv01", "2026", "bao-cao", now=T0)
    assert nv01() == before


def test_migration_keeps_the_old_completion_rows(tmp_path: Path) -> None:
    """A 0001 ledger's completion rows become done events (done_on = their day in Vietnam)."""
    with Ledger(f"sqlite:///{tmp_path / 'old.db'}") as led:
        with led._write() as conn:
            command.upgrade(led.alembic_config(conn), "0001")
        with led._write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO completion VALUES "
                    "('nv01', '2026', '', '2026-11-20 18:30:00.000000', 'xong'),"
                    "('nv02', '2026', 'bao-cao', '2026-11-25 02:00:00.000000', '')"
                )
            )
        led.migrate()
        events = led.completions.events()
        assert led.done() == {("nv01", "2026", None), ("nv02", "2026", "bao-cao")}
    by_task = {e.task_id: e for e in events}
    assert by_task["nv01"].done_on == date(2026, 11, 21)  # 01:30 on the 21st in Vietnam
    assert by_task["nv01"].recorded_at == datetime(2026, 11, 20, 18, 30, tzinfo=UTC)
    assert by_task["nv01"].note == "xong" and by_task["nv02"].done_on == date(2026, 11, 25)
    with sqlite3.connect(tmp_path / "old.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "completion" not in tables and "completion_event" in tables


# -- the command ---------------------------------------------------------------------------


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`reminder --config CONFIG ARGS…` in this process (tests/inprocess.py)."""
    return run_main(["--config", str(config), *args], cwd=config.parent)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return copy_shipped(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["99", "2026"], "no task '99'"),
        (["1", "2O26"], "task 1 has no occurrence '2O26'"),
        (["1", "2026", "khong-co"], "task 1 has no milestone 'khong-co'"),
        (["1", "2026", "--on", "2026-12-02"], "2026-12-02 is in the future"),
        (["1", "2026", "--on", "31/12/2025"], "before occurrence 2026 of task 1 begins"),
        (["1", "2026", "bao-cao", "--undo"], "has no completion record to undo"),
    ],
)
def test_done_refusals_exit_65_and_write_nothing(
    config: Path, args: list[str], message: str
) -> None:
    """Bad task/occurrence/milestone, a future date, an undo of nothing: one line, exit 65."""
    proc = cli(config, "done", *args, "--now", NOW)
    assert proc.returncode == 65, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert message in proc.stderr
    db = config.parent / "reminder.db"
    if db.exists():  # the undo opened the ledger: it must hold no event
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM completion_event").fetchone() == (0,)


def test_done_with_options_then_list_and_undo(config: Path) -> None:
    """--on/--by/--ref/--note are recorded; --list shows the history; --undo appends."""
    rec = cli(
        config,
        *("done", "1", "2026", "bao-cao", "--on", "2026-11-20", "--by", "ops:lan"),
        *("--ref", "Báo cáo số 12/BC-SNV", "--note", "đã nhận", "--now", NOW),
    )
    assert rec.returncode == 0, rec.stderr
    assert "recorded as done on 20/11/2026" in rec.stdout
    again = cli(
        config,
        "done",
        "1",
        "2026",
        "bao-cao",
        "--on",
        "2026-11-20",
        "--by",
        "ops:lan",
        "--ref",
        "Báo cáo số 12/BC-SNV",
        "--note",
        "đã nhận",
        "--now",
        NOW,
    )
    assert "already recorded" in again.stdout
    undo = cli(config, "done", "1", "2026", "bao-cao", "--undo", "--now", NOW)
    assert undo.returncode == 0 and "withdrawn" in undo.stdout
    other = cli(config, "done", "2", "2026", "--now", NOW)
    assert other.returncode == 0
    listing = cli(config, "done", "--list", "--task", "1").stdout.splitlines()
    assert len(listing) == 2
    assert (
        "done  1/nv01 2026 bao-cao  on 20/11/2026  by ops:lan  Báo cáo số 12/BC-SNV  đã nhận"
        in listing[0]
    )
    assert "undo  1/nv01 2026 bao-cao" in listing[1]
    assert len(cli(config, "done", "--list").stdout.splitlines()) == 3
    usage = cli(config, "done", "1")
    assert usage.returncode == 64


def test_done_and_history_ask_for_no_channel_secret(tmp_path: Path) -> None:
    """With Telegram, SMTP and [web] configured but none of their secrets at hand, `reminder
    done` (record, --list) and `history` work; `check` still asks for them."""
    config = write_config(
        tmp_path, smtp=("127.0.0.1", 2525), username="nhachan", telegram_url="http://127.0.0.1:9"
    )
    with config.open("a", encoding="utf-8") as f:
        f.write('\n[web]\nlisten = "127.0.0.1:0"\n')
    unset = [k for k in os.environ if k.startswith("REMINDER_") and "CACHE" not in k]
    env: dict[str, str | None] = dict.fromkeys([*unset, "CREDENTIALS_DIRECTORY"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_main(["--config", str(config), *args], env=env)

    recorded = run("done", "1", "2026", "--by", "ops:lan", "--now", NOW)
    assert recorded.returncode == 0, recorded.stderr
    listing = run("done", "--list")
    assert listing.returncode == 0, listing.stderr
    assert "done  1/nv01 2026" in listing.stdout and "by ops:lan" in listing.stdout
    assert "token" not in listing.stderr + recorded.stderr
    assert run("history").returncode == 0
    check = run("check")
    assert check.returncode == 78 and "Telegram bot token" in check.stderr

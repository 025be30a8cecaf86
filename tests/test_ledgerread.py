"""The read-only commands read a SQLite ledger with sqlite3 (reminder.ledgerread): the same
rows as the Ledger, nothing heavier imported, no migration and no file created on a read."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from helpers import copy_shipped, run_without_database_stack
from inprocess import run_main

from reminder import ledgerread
from reminder.ledger import Ledger, Status
from reminder.model import LeadUnit, Reminder, Role

T0 = datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC)


def reminder(i: int) -> Reminder:
    return Reminder(
        key=f"t{i % 2}|2026|m1|7|so-tc|email|a{i}@example.gov.vn",
        task_id=f"t{i % 2}",
        occurrence="2026",
        milestone_id="m1",
        deadline=date(2026, 3, 9),
        send_at=T0,
        lead_days=7,
        lead_unit=LeadUnit.CALENDAR,
        agency="so-tc",
        named_as="so-tc",
        role=Role.LEAD,
        channel="email",
        address=f"a{i}@example.gov.vn",
    )


def test_the_sqlite3_reads_equal_the_ledgers(tmp_path: Path) -> None:
    """Completions (records, a correction, an undo) and delivery history (every status
    filter, a task filter, a limit) read the same through sqlite3 as through the Ledger."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url, lease=timedelta(minutes=5)) as led:
        led.migrate()
        c = led.completions
        c.record_done("t1", "2026", "m1", date(2026, 3, 1), by="ops:lan", ref="Số 1", now=T0)
        c.record_done("t1", "2026", "m1", date(2026, 2, 28), note="sửa ngày", now=T0)
        c.record_done("t2", "2026", None, date(2026, 3, 2), by="email:x@y.vn", now=T0)
        c.record_done("t3", "2026", "m2", date(2026, 3, 2), now=T0)
        c.undo("t3", "2026", "m2", now=T0 + timedelta(hours=1))
        claimed = led.claim([reminder(i) for i in range(6)], T0)
        led.mark_sent([claimed[0].key], T0 + timedelta(minutes=1))
        led.mark_failed(claimed[1].key, T0, "421 busy", T0 + timedelta(minutes=5))
        led.mark_gave_up(claimed[2].key, T0, "550 no such user")
        want_done = c.current()
        want = {
            (status, task, limit): led.history(limit=limit, status=status, task_id=task)
            for status in (None, *Status)
            for task in (None, "t0", "t1")
            for limit in (2, 200)
        }
    assert ledgerread.current_completions(url) == want_done
    assert set(want_done) == {("t1", "2026", "m1"), ("t2", "2026", "")}
    for (status, task, limit), rows in want.items():
        assert ledgerread.history(url, limit=limit, status=status, task_id=task) == rows


def test_no_fast_path_for_postgresql_or_a_schema_it_does_not_know(tmp_path: Path) -> None:
    """None (the caller opens the Ledger) for PostgreSQL, a file without the tables and a
    file that is not there (which is not created)."""
    assert ledgerread.current_completions("postgresql+psycopg://u@h/db") is None
    empty = tmp_path / "other.db"
    empty.write_bytes(b"")
    assert ledgerread.current_completions(f"sqlite:///{empty}") is None
    missing = tmp_path / "missing.db"
    assert ledgerread.history(f"sqlite:///{missing}", limit=5) is None
    assert not missing.exists()


def test_report_history_and_upcoming_import_no_database_stack(tmp_path: Path) -> None:
    """With a ledger in place, `report`, `history` and `upcoming` run without importing
    SQLAlchemy, SQLModel or alembic (nor Jinja, python-docx, openpyxl: the terminal forms
    need none), and leave the ledger file as it was (no migration)."""
    config = copy_shipped(tmp_path)
    base = [sys.executable, "-m", "reminder", "--config", str(config)]
    done = [*base, "done", "1", "2026", "bao-cao", "--on", "2026-11-20"]
    subprocess.run([*done, "--now", "2026-12-07T09:00+07:00"], check=True, cwd=tmp_path)
    ledger = tmp_path / "reminder.db"
    before = ledger.stat().st_mtime_ns, ledger.read_bytes()
    probe = (
        "HEAVY = ('sqlalchemy', 'sqlmodel', 'alembic', 'jinja2', 'docx', 'openpyxl')\n"
        "import sys, runpy; sys.argv = ['reminder', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('reminder', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in HEAVY if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    for command in (["report", "--year", "2026"], ["history"], ["upcoming"]):
        run = subprocess.run(
            [sys.executable, "-c", probe, "--config", str(config), *command],
            capture_output=True,
            cwd=tmp_path,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert b"HEAVY []" in run.stderr, (command, run.stderr[-300:])
    assert (ledger.stat().st_mtime_ns, ledger.read_bytes()) == before


def test_done_list_reads_the_events_as_the_ledger_does_without_the_database_stack(
    tmp_path: Path,
) -> None:
    """`done --list` reads the completion events (records, a correction, an undo) through
    sqlite3 exactly as the Ledger gives them, all or one task's, and imports no SQLAlchemy,
    SQLModel or alembic; PostgreSQL gets None (the Ledger's way)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url, lease=timedelta(minutes=5)) as led:
        led.migrate()
        c = led.completions
        c.record_done("t1", "2026", "m1", date(2026, 3, 1), by="ops:lan", ref="Số 1", now=T0)
        c.record_done("t1", "2026", "m1", date(2026, 2, 28), note="sửa ngày", now=T0)
        c.record_done("t3", "2026", None, date(2026, 3, 2), now=T0)
        c.undo("t3", "2026", None, now=T0 + timedelta(hours=1))
        want = {task: c.events(task) for task in (None, "t1", "t3", "t9")}
    assert len(want[None]) == 4 and want[None][-1].done_on is None
    for task, events in want.items():
        assert ledgerread.completion_events(url, task) == events
    assert ledgerread.completion_events("postgresql+psycopg://u@h/db") is None

    (tmp_path / "office").mkdir()
    config = copy_shipped(tmp_path / "office")
    recorded = run_main(
        ["--config", str(config), "done", "1", "2026", "--on", "2026-11-20"],
        cwd=config.parent,
        env={"REMINDER_CONFIG": None},
    )
    assert recorded.returncode == 0, recorded.stderr
    listing = run_without_database_stack(config, "done", "--list")
    [line] = listing.stdout.splitlines()
    assert line.startswith("#1  ") and "  done  " in line and "on 20/11/2026" in line


def test_preview_reads_the_records_without_the_database_stack(tmp_path: Path) -> None:
    """`preview` (the next message of a task, its finished work left out) imports no
    SQLAlchemy, SQLModel or alembic: the digest grouping lives in reminder.render."""
    config = copy_shipped(tmp_path)
    now = "--now", "2026-11-26T09:00:00+07:00"
    recorded = run_main(
        ["--config", str(config), "done", "1", "2026", *now],
        cwd=config.parent,
        env={"REMINDER_CONFIG": None},
    )
    assert recorded.returncode == 0, recorded.stderr
    shown = run_without_database_stack(config, "preview", "1", *now)
    assert shown.stdout.startswith("# email to sonoivu@tinh.example at 2027-"), shown.stdout[:200]

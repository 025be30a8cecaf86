"""`reminder ledger copy --to URL`: an office's SQLite ledger into an empty PostgreSQL one."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import write_config
from inprocess import run_main
from pgcluster import PgCluster

from reminder.ledger import Ledger, Status
from reminder.ledgercopy import tables
from reminder.model import LeadUnit, Reminder, Role

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def rem(i: int) -> Reminder:
    """A reminder with a unique key."""
    return Reminder(
        key=f"nv01|2026|bao-cao|D-14|so-{i}|email|a{i}@tinh.example",
        task_id="nv01",
        occurrence="2026",
        milestone_id="bao-cao",
        deadline=date(2026, 12, 15),
        send_at=T0,
        lead_days=14,
        lead_unit=LeadUnit.CALENDAR,
        agency=f"so-{i}",
        named_as=f"so-{i}",
        role=Role.LEAD,
        channel="email",
        address=f"a{i}@tinh.example",
    )


def _office(folder: Path) -> tuple[Path, Ledger]:
    """A config with a SQLite ledger holding every kind of row: sent, failed, missed,
    sending, completions with an undo."""
    cfg = write_config(folder)
    led = Ledger(f"sqlite:///{folder / 'ledger.db'}")
    led.migrate()
    rs = [rem(i) for i in range(2500)]  # more than one copy batch
    led.claim(rs[:2400], T0, owner="node-a:1")
    led.mark_sent([r.key for r in rs[:2000]], T0 + timedelta(seconds=5), note="Message-ID <x@y>")
    led.mark_failed(rs[2000].key, T0, "451 thử lại sau", T0 + timedelta(minutes=5))
    led.record_missed(rs[2400:], T0)
    led.record_done("nv01", "2026", None, T0, note="Đã nộp báo cáo")
    led.record_done("nv02", "2026", "ke-hoach", T0)
    led.completions.undo("nv02", "2026", "ke-hoach", now=T0 + timedelta(hours=1), by="vanthu")
    return cfg, led


def _copy(cfg: Path, to: str, password: str | None) -> subprocess.CompletedProcess[str]:
    """`reminder ledger copy --to TO` in this process (tests/inprocess.py), the database
    password (if any) in REMINDER_DATABASE_PASSWORD, no other REMINDER_ variable."""
    env: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith("REMINDER_") and k != "REMINDER_CACHE_DIR"
    }
    env["REMINDER_DATABASE_PASSWORD"] = password
    return run_main(["--config", str(cfg), "ledger", "copy", "--to", to], env=env)


def test_copy_moves_every_table_checks_counts_and_says_what_to_change(
    tmp_path: Path, pg_cluster: PgCluster
) -> None:
    """Every table (deliveries in every state, completion events) arrives with the same rows;
    the command prints the counts and the [database] lines to put in config.toml; the copy
    works as a ledger afterwards (new completion events get fresh ids)."""
    cfg, src = _office(tmp_path)
    to = pg_cluster.url(pg_cluster.new_database(), password=False)
    done = _copy(cfg, to, pg_cluster.password)
    assert done.returncode == 0, done.stderr
    print("\n" + done.stdout)
    assert f'url = "{to}"' in done.stdout
    assert "delivery" in done.stdout and "2,500" in done.stdout
    assert pg_cluster.password not in done.stdout + done.stderr
    with Ledger(to, password=pg_cluster.password) as dst:
        for table in tables():
            assert table.name in done.stdout
        assert dst.history(limit=10_000) == src.history(limit=10_000)
        assert dst.done() == src.done() == {("nv01", "2026", None)}
        assert dst.completions.events() == src.completions.events()
        assert dst.known_keys([rem(2000).key]) == {rem(2000).key: Status.FAILED}
        dst.record_done("nv03", "2026", None, T0)  # the id sequence is past the copied ids
        assert len(dst.completions.events()) == len(src.completions.events()) + 1
    src.close()


def test_copy_refuses_a_target_that_is_not_empty(tmp_path: Path, pg_cluster: PgCluster) -> None:
    """A second copy into the same database is refused (exit 69), naming the tables with rows."""
    cfg, src = _office(tmp_path)
    src.close()
    to = pg_cluster.url(pg_cluster.new_database(), password=False)
    assert _copy(cfg, to, pg_cluster.password).returncode == 0
    again = _copy(cfg, to, pg_cluster.password)
    assert again.returncode == 69
    assert "is not empty: " in again.stderr and "delivery (2500 rows)" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("postgresql+psycopg://r:secret@127.0.0.1/r", "leave the password out of the URL"),
        ("sqlite:///other.db", "expected postgresql+psycopg://"),
    ],
)
def test_copy_refuses_a_password_in_the_url_or_another_target(
    tmp_path: Path, to: str, expected: str
) -> None:
    """--to with a password (shell history) or not PostgreSQL: exit 64, nothing touched."""
    cfg = write_config(tmp_path)
    done = _copy(cfg, to, None)
    assert done.returncode == 64
    assert expected in done.stderr and "secret" not in done.stderr

"""`run --once` on a ledger that refuses writes (a full disk): a bounded wait, exit 75 with the
reason; SIGTERM during the wait: a clean stop, not 143 (issue 24 item 8).

The command runs as a real subprocess against the loopback SMTP server. A prelude makes the
ledger refuse every write once the batch is claimed (the disk "fills" after the claims, as in
the middle of a batch): the messages go out, their sent marks cannot be written, and the
recorder holds the batch back waiting for space, as the daemon does.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_harness import Agency, Config, Task, TimedSMTPServer, child_env, write_config

NOW = "2026-12-01T08:00:00+07:00"  # the harness config's reminders are due then

# Once the reminders are claimed, every later write transaction of the SQLite ledger is
# refused by SQLite itself (query_only: "attempt to write a readonly database"), which the
# ledger reports as "refuses writes", like a full disk.
FILLS_AFTER_CLAIM = """
import reminder.commands.ops as ops
import reminder.ledger as L
from sqlalchemy import event
from sqlalchemy.engine import Engine
ops.LEDGER_WAIT = {wait}
full = []
_claim = L.Ledger.claim
def claim(self, reminders, *args, **kwargs):
    won = _claim(self, reminders, *args, **kwargs)
    if won:
        full.append(True)
    return won
L.Ledger.claim = claim
@event.listens_for(Engine, "begin")
def _full(conn):
    conn.exec_driver_sql("PRAGMA query_only = %d" % bool(full))
"""


def _config(tmp_path: Path, smtp: TimedSMTPServer) -> Path:
    agencies = tuple(Agency(f"so-{i}", f"Sở số {i}", (f"so{i}@tinh.example",)) for i in range(1, 6))
    tasks = tuple(Task(f"nv0{i}", i, f"Nhiệm vụ số {i}", f"so-{i}") for i in range(1, 6))
    return write_config(tmp_path, Config(smtp_port=smtp.port, agencies=agencies, tasks=tasks))


def _start(config: Path, wait: float) -> subprocess.Popen[str]:
    code = (
        FILLS_AFTER_CLAIM.format(wait=wait)
        + "import sys\nfrom reminder.cli import main\n"
        + f"sys.exit(main(['--config', {str(config)!r}, 'run', '--once', '--now', {NOW!r}]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=config.parent,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(90)
def test_run_once_gives_up_on_a_full_ledger_with_exit_75(
    tmp_path: Path, smtp: TimedSMTPServer
) -> None:
    """The ledger refuses the sent marks: after the bounded wait (2 s here), exit 75 with one
    line naming the ledger, the reason and what stays claimed; no traceback."""
    proc = _start(_config(tmp_path, smtp), wait=2.0)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 75, err
    # How many leave before the first refused mark holds the rest back depends on the
    # machine's speed; the line counts exactly those that went out.
    sent = smtp.count()
    assert 1 <= sent <= 5
    said = [line for line in err.splitlines() if line.startswith("reminder run: ")]
    assert said == [
        f"reminder run: the ledger sqlite:///{tmp_path / 'ledger.db'} refuses writes (attempt "
        f"to write a readonly database): gave up waiting after 2 s; {sent} reminder(s) sent "
        "but not recorded stay claimed (the next run sends them again): free space and run "
        "again"
    ], err
    assert "ERROR reminder.ledger: the ledger" in err and "refuses writes" in err
    assert "Traceback" not in err and out == ""


@pytest.mark.timeout(90)
def test_sigterm_while_run_once_waits_for_the_ledger_stops_cleanly(
    tmp_path: Path, smtp: TimedSMTPServer
) -> None:
    """SIGTERM while the batch waits for a full ledger: exit 0 within seconds (not 143),
    one line saying how many reminders stay claimed, no traceback."""
    proc = _start(_config(tmp_path, smtp), wait=3600.0)
    try:
        assert proc.stderr is not None
        seen = ""
        deadline = time.monotonic() + 45
        while "refuses writes" not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
        assert "refuses writes" in seen, seen
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    err = seen + err
    assert proc.returncode == 0, err
    stopped = [line for line in err.splitlines() if line.startswith("reminder run: stopped")]
    assert stopped == [
        "reminder run: stopped by SIGTERM: 5 reminder(s) left claimed; they go out at the next run"
    ], err
    assert "Traceback" not in err

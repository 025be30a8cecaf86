"""The daemon as a real subprocess: timing, sd_notify, reloads, crashes, outages, idle cost.

Each test starts `python -m reminder --config CFG run --now ISO` (tests/daemon_harness.py)
against the loopback SMTP server of tests/fakes and a fake NOTIFY_SOCKET. `--now` shifts the
daemon's clock by a fixed offset, so a reminder planned for 2026-12-01 08:00 +07:00 falls a
few real seconds after the start. Run with -s to see the measured figures.
"""

from __future__ import annotations

import glob
import re
import signal
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import (
    Agency,
    Config,
    Group,
    LedgerDb,
    Spawn,
    Task,
    TimedSMTPServer,
    history,
    line_of,
    plain_text,
    reminder_cli,
    reminder_keys,
    write_config,
)
from fakes.notify_socket import FakeNotifySocket
from pgcluster import PgCluster

import reminder
from reminder.model import VN_TZ
from reminder.recorder import GROUP_KEYS

# With the harness's default config (ladder "14 days before", deadline 15/12) the one
# reminder of task nv01 is planned for this instant.
X = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
KEY_X = "nv01|2026|bao-cao|D-14|so-mot|email|somot@tinh.example"
LATE_WORDING = (
    "được gửi chậm so với lịch do hệ thống nhắc hạn bị gián đoạn"  # _macros.txt late_note
)


def _datagram_index(sock: FakeNotifySocket, text: str, count: int = 1) -> int:
    hits = [i for i, m in enumerate(sock.messages()) if text in m]
    assert len(hits) >= count, f"{text!r} x{count} not in {sock.messages()!r}"
    return hits[count - 1]


def _context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of every thread of `pid` (Linux /proc)."""
    total = 0
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        with open(status) as f:
            total += sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
    return total


def _ledger_status(db: Path) -> dict[str, str]:
    """key → status, read straight from a SQLite ledger."""
    return LedgerDb(f"sqlite:///{db}").statuses()


@pytest.fixture
def ledger_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> LedgerDb:
    """The daemons' ledger on `backend`: the SQLite file next to the config, or a new
    PostgreSQL database whose password the daemons read from [database] password_file."""
    if backend == "sqlite":
        return LedgerDb(f"sqlite:///{tmp_path / 'ledger.db'}")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_database()
    secret = tmp_path / "db.password"
    secret.write_text(cluster.password + "\n")
    secret.chmod(0o600)
    return LedgerDb(cluster.url(name), cluster.url(name, password=False), str(secret))


# ---------------------------------------------------------------------------------------


# How late "on time" may be: about 0.1 s on a quiet machine, seconds on a loaded one, and
# 5 minutes (the safety sweep) if the daemon missed its wake-up.
ON_TIME = 10.0


@pytest.mark.timeout(40)
def test_reminder_due_soon_is_sent_on_time_and_exactly_once(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn, ledger_db: LedgerDb
) -> None:
    """A reminder due 3 s after start reaches the SMTP server at its instant, once: within
    ON_TIME (a loaded machine is slow; a missed wake-up would wait for the 5-minute sweep)."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port, **ledger_db.config()))
    daemon = spawn(cfg, X - timedelta(seconds=3), log_level="DEBUG")

    assert smtp.wait_for(1, timeout=20) == 1, daemon.text()
    received_at, message = smtp.received()[0]
    # The instant converted through the daemon's offset, as APScheduler scheduled it.
    line = daemon.wait_for_line(r'Running job "Daemon\._wake.*\(scheduled at [^)]+\)', 5)
    m = re.search(r"\(scheduled at ([^)]+)\)\s*$", line)
    assert m, line
    real_instant = datetime.fromisoformat(m.group(1)).timestamp()
    delay = received_at - real_instant
    # The daemon's own clock when the cycle ran (the shifted clock, in its log).
    cycle = daemon.wait_for_line(r"cycle at \S+: 1 message", 5)
    m = re.search(r"cycle at (\S+):", cycle)
    assert m, cycle
    cycle_lag = (datetime.fromisoformat(m.group(1)) - X).total_seconds()
    since_launch = received_at - (daemon.launched + 3)
    print(
        f"\non-time: received {delay * 1000:.0f} ms after its instant (cycle began "
        f"{cycle_lag * 1000:.0f} ms after it on the daemon's clock; {since_launch:.2f} s after "
        "launch + 3 s, which includes the interpreter's start-up)"
    )
    assert real_instant >= daemon.launched + 3 - 0.01, "the offset must be taken after launch"
    assert -0.01 <= delay <= ON_TIME
    assert 0 <= cycle_lag <= ON_TIME
    assert message.rcpt_tos == ("somot@tinh.example",)
    assert reminder_keys(message) == [KEY_X]
    assert LATE_WORDING not in plain_text(message)

    time.sleep(2.5)  # a second copy would come now if the wake-up or a sweep repeated it
    assert smtp.count() == 1
    assert daemon.stop() == 0
    assert ledger_db.statuses() == {KEY_X: "sent"}


@pytest.mark.timeout(40)
def test_sd_notify_ready_reload_watchdog_stopping(
    tmp_path: Path, smtp: TimedSMTPServer, notify: FakeNotifySocket, spawn: Spawn
) -> None:
    """NOTIFY_SOCKET gets READY, STATUS= with the version, RELOADING+MONOTONIC_USEC then READY on SIGHUP, WATCHDOG pings, STOPPING; exit 0."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = spawn(cfg, X - timedelta(days=3), notify_socket=notify.path, watchdog_usec=400_000)

    first = notify.wait_for("READY=1", timeout=20)
    assert "STATUS=catching up" in first.split("\n")  # READY comes before the catch-up cycle
    notify.wait_for("STATUS=1 tasks; next wake-up none within two days", timeout=10)
    # Which code runs: the installed version, in STATUS= and in the start-up line.
    running = reminder.version()
    assert f"STATUS=1 tasks; next wake-up none within two days; version {running}" in "\n".join(
        notify.messages()
    )
    daemon.wait_for_line(rf"started with .*; version {re.escape(running)}$", 5)

    # The pings keep coming (every 0.2 s; a loaded machine may space them out).
    pings = len([m for m in notify.messages() if m == "WATCHDOG=1"])
    notify.wait_for("WATCHDOG=1", timeout=20, count=pings + 2)

    daemon.signal(signal.SIGHUP)
    notify.wait_for("READY=1", timeout=15, count=2)
    mono_now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading = notify.wait_for("RELOADING=1", timeout=1)
    fields = dict(line.split("=", 1) for line in reloading.split("\n"))
    assert set(fields) == {"RELOADING", "MONOTONIC_USEC"}
    usec = int(fields["MONOTONIC_USEC"])
    assert mono_now - 10_000_000 < usec <= mono_now  # the same CLOCK_MONOTONIC, moments ago
    assert (
        _datagram_index(notify, "READY=1")
        < _datagram_index(notify, "RELOADING=1")
        < _datagram_index(notify, "READY=1", 2)
    )
    daemon.wait_for_line(r"reloaded .*config\.toml \(1 tasks\)", 5)

    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0
    assert _datagram_index(notify, "STOPPING=1") > _datagram_index(notify, "READY=1", 2)
    assert daemon.lines()[-1].endswith("reminder.daemon: stopped")
    assert "Traceback" not in daemon.text()


@pytest.mark.timeout(40)
def test_sighup_with_a_valid_change_applies_it(
    tmp_path: Path, smtp: TimedSMTPServer, notify: FakeNotifySocket, spawn: Spawn
) -> None:
    """SIGHUP after adding a lead time makes the new reminder (due seconds later) go out."""
    y = X - timedelta(days=1)  # Monday 30/11/2026 08:00: 15 days before the 15/12 deadline
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = spawn(cfg, y - timedelta(seconds=5), notify_socket=notify.path)
    notify.wait_for("READY=1", timeout=20)
    daemon.wait_for_line(r"next wake-up at 2026-12-01T08:00:00\+07:00", 20)

    write_config(tmp_path, Config(smtp_port=smtp.port, lead_before=(15, 14)))
    daemon.signal(signal.SIGHUP)
    ready = notify.wait_for("READY=1", timeout=15, count=2)
    assert "FAILED" not in ready
    daemon.wait_for_line(r"next wake-up at 2026-11-30T08:00:00\+07:00", 5)
    assert smtp.count() == 0, "sent before its instant"

    assert smtp.wait_for(1, timeout=15) == 1, daemon.text()
    received_at, message = smtp.received()[0]
    assert received_at >= daemon.launched + 5 - 0.01  # not before its instant
    assert reminder_keys(message) == ["nv01|2026|bao-cao|D-15|so-mot|email|somot@tinh.example"]
    assert daemon.stop() == 0
    assert smtp.count() == 1


@pytest.mark.timeout(50)
def test_sighup_with_a_broken_file_keeps_the_old_config(
    tmp_path: Path, smtp: TimedSMTPServer, notify: FakeNotifySocket, spawn: Spawn
) -> None:
    """A TOML syntax error, then an unknown agency id, on SIGHUP: old config kept, errors logged, reminder still sent."""
    good = Config(smtp_port=smtp.port)
    cfg = write_config(tmp_path, good)
    daemon = spawn(cfg, X - timedelta(seconds=6), notify_socket=notify.path)
    notify.wait_for("READY=1", timeout=20)

    # 1. TOML syntax error: an unclosed string.
    text = cfg.read_text(encoding="utf-8")
    broken = text.replace(
        'title = "Nhiệm vụ thử nghiệm số một"', 'title = "Nhiệm vụ thử nghiệm số một'
    )
    assert broken != text
    cfg.write_text(broken, encoding="utf-8")
    bad_line = line_of(cfg, 'title = "Nhiệm vụ thử nghiệm số một')
    mark = len(daemon.lines())
    daemon.signal(signal.SIGHUP)
    ready = notify.wait_for("READY=1", timeout=15, count=2)
    assert "STATUS=reload FAILED (1 error(s)" in ready
    assert "running the previous configuration" in ready
    daemon.wait_for_line(
        rf"ERROR reminder\.daemon: reload refused: {re.escape(str(cfg))}:{bad_line}: TOML syntax error",
        5,
        after=mark,
    )
    daemon.wait_for_line(r"still running the previous configuration", 5, after=mark)

    # 2. A cross-reference error: the lead agency does not exist.
    cfg.write_text(text.replace('lead = "so-mot"', 'lead = "so-khong-co"'), encoding="utf-8")
    bad_line = line_of(cfg, 'lead = "so-khong-co"')
    mark = len(daemon.lines())
    daemon.signal(signal.SIGHUP)
    ready = notify.wait_for("READY=1", timeout=15, count=3)
    assert "STATUS=reload FAILED" in ready
    daemon.wait_for_line(
        rf"reload refused: {re.escape(str(cfg))}:{bad_line}: tasks\[nv01\]\.lead: unknown agency",
        5,
        after=mark,
    )

    assert daemon.proc.poll() is None, "the daemon died on a bad reload"
    assert smtp.count() == 0, "the reminder came before the reloads were over: test too slow"
    assert smtp.wait_for(1, timeout=15) == 1, daemon.text()
    _at, message = smtp.received()[0]
    assert message.rcpt_tos == ("somot@tinh.example",)
    assert reminder_keys(message) == [KEY_X]
    daemon.wait_for_line(r"next reminders at|nothing due in the next", 5)
    time.sleep(0.1)
    # After the send the status changed (no next wake-up) and still says the reload failed.
    last = [m for m in notify.messages() if "STATUS=" in m][-1]
    assert "STATUS=reload FAILED (1 error(s), see the journal); running the previous " in last
    assert "1 tasks; next wake-up none within two days; version " in last
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.text()


@pytest.mark.timeout(40)
def test_transient_smtp_failure_is_retried_at_the_backoff_instant(
    tmp_path: Path,
    smtp: TimedSMTPServer,
    notify: FakeNotifySocket,
    spawn: Spawn,
    ledger_db: LedgerDb,
) -> None:
    """A 451 at the instant: the daemon wakes again after the backoff (said in local time) and sends."""
    smtp.tempfail.add("somot@tinh.example")
    config = Config(smtp_port=smtp.port, retry_initial_seconds=2, **ledger_db.config())
    cfg = write_config(tmp_path, config)
    daemon = spawn(cfg, X - timedelta(seconds=2), notify_socket=notify.path)
    failed = daemon.wait_for_line(r"WARNING reminder\.dispatch: failed, retry at \S+: ", 20)
    retry_at = datetime.fromisoformat(re.findall(r"retry at (\S+): ", failed)[0])
    # 2 s after the failed attempt, which came at X (later on a loaded machine).
    assert X + timedelta(seconds=2) <= retry_at <= X + timedelta(seconds=2 + ON_TIME), failed
    # The retry instant is stored in UTC; the log and STATUS= give it in Vietnamese time.
    wake = daemon.wait_for_line(
        r"next wake-up at \S+\+07:00: retries: 1 failed send\(s\) to retry$", 5
    )
    assert datetime.fromisoformat(re.findall(r"at (\S+): ", wake)[0]) == retry_at, wake
    notify.wait_for("STATUS=1 tasks; next wake-up 01/12/2026 08:00", timeout=5)
    smtp.tempfail.clear()
    assert smtp.wait_for(1, timeout=15) == 1, daemon.text()
    assert reminder_keys(smtp.received()[0][1]) == [KEY_X]
    daemon.wait_for_line(r"next reminders at|nothing due in the next", 5)
    assert daemon.stop() == 0
    rows = history(cfg)
    assert [(r["key"], r["status"], r["attempts"]) for r in rows] == [(KEY_X, "sent", 2)]


SLOW_CYCLE = """
import asyncio
from reminder import dispatch
_cycle = dispatch.Dispatcher.cycle
async def _slow_cycle(self, now):
    outcome = await _cycle(self, now)
    await asyncio.sleep(3)  # a big batch, a slow disk: the cycle ends well after `now`
    return outcome
dispatch.Dispatcher.cycle = _slow_cycle
"""


@pytest.mark.timeout(40)
def test_instant_passing_during_the_start_up_cycle_is_not_left_to_the_sweep(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn
) -> None:
    """A reminder due while the start-up cycle still runs (slowed to 3 s) is sent right after it."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    # The start-up cycle reads the clock before X and ends after it; the next sweep is 5 min away.
    daemon = spawn(cfg, X - timedelta(seconds=2), python_prelude=SLOW_CYCLE)
    assert smtp.wait_for(1, timeout=15) == 1, daemon.text()
    assert reminder_keys(smtp.received()[0][1]) == [KEY_X]
    assert daemon.stop() == 0


SLOW_START = """
import time
from reminder import daemon
_load = daemon.load_checked
def _slow_load(path):
    time.sleep(3)  # a loaded machine: reading the configuration takes seconds
    return _load(path)
daemon.load_checked = _slow_load
"""


@pytest.mark.timeout(40)
def test_run_now_is_the_clock_when_a_slow_start_up_ends(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn
) -> None:
    """`run --now T` with a 3 s start-up: the first cycle runs at T (not T + 3 s), so a
    reminder due 2 s after T waits for its wake-up, as it would after a quick start."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = spawn(cfg, X - timedelta(seconds=2), python_prelude=SLOW_START)
    daemon.wait_for_line(r"next wake-up at 2026-12-01T08:00:00\+07:00: 1 reminder", 20)
    assert smtp.wait_for(1, timeout=15) == 1, daemon.text()
    daemon.wait_for_line(r"cycle at 2026-12-01T08:00:\S+: 1 message", 5)
    assert daemon.stop() == 0


@pytest.mark.timeout(40)
@pytest.mark.parametrize("mistake", ["toml-syntax", "unknown-agency"])
def test_bad_config_at_start_exits_78_with_one_line_errors(
    tmp_path: Path, notify: FakeNotifySocket, spawn: Spawn, mistake: str
) -> None:
    """A broken config at start: exit 78, one `file:line:` error line each, no traceback, no READY."""
    cfg = write_config(tmp_path, Config(smtp_port=2525))
    text = cfg.read_text(encoding="utf-8")
    if mistake == "toml-syntax":
        bad, needle = text.replace("max_attempts = 3", "max_attempts = "), "max_attempts ="
    else:
        bad, needle = text.replace('lead = "so-mot"', 'lead = "so-hai"'), 'lead = "so-hai"'
    cfg.write_text(bad, encoding="utf-8")
    daemon = spawn(cfg, X - timedelta(seconds=3), notify_socket=notify.path)

    assert daemon.wait(30) == 78
    lines = daemon.lines()
    assert lines, "no error printed"
    where = f"{cfg}:{line_of(cfg, needle)}:"
    assert any(where in line for line in lines), lines
    for line in lines:
        assert re.match(r"^\S+ \S+ ERROR reminder\.daemon: config: \S+:\d+: \S", line), line
    assert "Traceback" not in daemon.text()
    assert daemon.stdout() == []
    statuses = notify.messages()
    assert not any("READY=1" in m for m in statuses), statuses
    assert any(m.startswith("STATUS=invalid configuration") for m in statuses), statuses


@pytest.mark.timeout(90)
def test_sigkill_mid_batch_then_restart_delivers_everything_with_few_duplicates(
    tmp_path: Path, spawn: Spawn, ledger_db: LedgerDb
) -> None:
    """SIGKILL during a 301-message batch to a slow server, restart: the dead process's claims
    are taken at once (lease 5 min), all delivered; duplicates only among the keys unrecorded
    at the kill: the sends in flight plus one group (≤ 32 keys)."""
    members = [
        Agency(f"cq-{i:03d}", f"Cơ quan {i:03d}", (f"cq{i:03d}@tinh.example",)) for i in range(300)
    ]
    with TimedSMTPServer(delay=0.02) as smtp:
        config = Config(
            smtp_port=smtp.port,
            agencies=(Agency("so-mot", "Sở Một", ("somot@tinh.example",)), *members),
            groups=(Group("tat-ca", "các cơ quan trên địa bàn tỉnh", [a.id for a in members]),),
            tasks=(Task("nv01", 1, "Nhiệm vụ thử nghiệm số một", "so-mot", support=("tat-ca",)),),
            support_before=(14,),
            lease_minutes=5,  # the default: a restart must not wait it out
            **ledger_db.config(),
        )
        cfg = write_config(tmp_path, config)
        expected = {KEY_X} | {f"nv01|2026|bao-cao|D-14|{a.id}|email|{a.email[0]}" for a in members}
        first = spawn(cfg, X - timedelta(seconds=1))
        got = smtp.wait_for(100, timeout=40)
        assert got >= 100, first.text()
        first.kill()
        time.sleep(0.3)  # the server notices the closed connection
        at_kill = smtp.received()
        assert len(at_kill) < len(expected), "the batch finished before the kill: make it slower"
        ledger_at_kill = ledger_db.statuses()
        marked = {k for k, s in ledger_at_kill.items() if s == "sent"}
        received_keys = {k for _t, m in at_kill for k in reminder_keys(m)}
        in_flight = received_keys - marked  # on the wire, or accepted but not yet marked
        claimed_at_kill = set(ledger_at_kill)
        assert claimed_at_kill < expected  # claimed slice by slice (CLAIM_SLICE messages)
        assert marked <= received_keys  # never marked sent without being sent

        # What systemd does: a restart 10 s later. The claims of the killed process (this
        # host, its pid gone) are taken at once, not after the 5-minute lease.
        second = spawn(cfg, X + timedelta(seconds=10))
        second.wait_for_line(r"recovering nv01\|.*its process is gone", 60)
        second.wait_for_line(r"cycle at \S+: \d+ message", 60)
        assert second.stop() == 0
        everything = smtp.received()

    counts = Counter(k for _t, m in everything for k in reminder_keys(m))
    duplicates = sum(n - 1 for n in counts.values())
    recovered = len(re.findall(r"recovering nv01\|", second.text()))
    print(
        f"\ncrash: killed after {len(at_kill)} of {len(expected)} messages; {len(marked)} marked sent, "
        f"{len(in_flight)} in flight at the kill; {recovered} taken over at the restart; "
        f"{duplicates} duplicate(s) in {len(everything)} messages"
    )
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:5]}"
    assert duplicates <= len(in_flight)
    assert len(in_flight) <= GROUP_KEYS + 1  # one group + the one message on the wire
    assert {k for k, n in counts.items() if n > 1} <= in_flight
    assert recovered == len(claimed_at_kill) - len(marked)
    assert set(ledger_db.statuses().values()) == {"sent"}


@pytest.mark.timeout(60)
def test_outage_sends_recent_late_reminder_and_records_old_one_as_missed(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn, ledger_db: LedgerDb
) -> None:
    """After downtime: a reminder 2 h late is sent once saying it is late; one 3 days late is recorded missed."""
    config = Config(
        smtp_port=smtp.port,
        agencies=(
            Agency("so-mot", "Sở Một", ("somot@tinh.example",)),
            Agency("so-hai", "Sở Hai", ("sohai@tinh.example",)),
        ),
        tasks=(
            # reminders at Fri 06/11 08:00 (kế hoạch) and Fri 04/12 08:00 (báo cáo)
            Task(
                "nv01",
                1,
                "Nhiệm vụ thử nghiệm số một",
                "so-mot",
                milestones=(("ke-hoach", "Kế hoạch", "20/11"), ("bao-cao", "Báo cáo", "18/12")),
            ),
            # reminder at Tue 01/12 08:00
            Task("nv02", 2, "Nhiệm vụ thử nghiệm số hai", "so-hai"),
        ),
        catch_up_hours=24,
        **ledger_db.config(),
    )
    cfg = write_config(tmp_path, config)
    # The ledger already has rows: the daemon ran on 06/11 and sent that day's reminder.
    once = reminder_cli(cfg, "run", "--once", "--now", "2026-11-06T08:00:00+07:00")
    assert once.returncode == 0, once.stderr
    assert smtp.count() == 1
    key_recent = "nv01|2026|bao-cao|D-14|so-mot|email|somot@tinh.example"
    key_old = "nv02|2026|bao-cao|D-14|so-hai|email|sohai@tinh.example"

    # Back on Friday 04/12 at 10:00: 2 h after one reminder, 3 days and 2 h after the other.
    daemon = spawn(cfg, datetime(2026, 12, 4, 10, 0, tzinfo=VN_TZ))
    daemon.wait_for_line(
        r"cycle at \S+: 1 message\(s\): 1 reminder\(s\) sent \(1 late\).* 1 missed", 20
    )
    daemon.wait_for_line(
        rf"missed \(instant 2026-12-01T08:00:00\+07:00 .*key={re.escape(key_old)}", 1
    )
    time.sleep(0.5)
    assert daemon.stop() == 0

    messages = [m for _t, m in smtp.received()]
    assert len(messages) == 2
    late = messages[1]
    assert reminder_keys(late) == [key_recent]
    assert LATE_WORDING in plain_text(late)
    assert LATE_WORDING not in plain_text(messages[0])
    assert not smtp.received_for("sohai@tinh.example")
    rows = {r["key"]: r for r in history(cfg)}
    assert rows[key_old]["status"] == "missed"
    assert rows[key_old]["sent_at"] is None
    assert rows[key_recent]["status"] == "sent"
    assert rows[key_recent]["late"] is True
    assert rows[key_recent]["attempts"] == 1


@pytest.mark.timeout(60)
def test_two_daemons_and_a_clock_jumped_back_cannot_duplicate(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn, ledger_db: LedgerDb
) -> None:
    """Two daemons on one ledger wake at the same instant, then a third restarts before it: one copy."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port, **ledger_db.config()))
    a = spawn(cfg, X - timedelta(seconds=2))
    b = spawn(cfg, X - timedelta(seconds=2))
    assert smtp.wait_for(1, timeout=30) == 1, f"{a.text()}\n---\n{b.text()}"
    for d in (a, b):  # past X, each has nothing left to send (or waits on the other's claim)
        d.wait_for_line(r"next reminders at|nothing due in the next|: retries", 20)
    time.sleep(0.5)
    assert smtp.count() == 1
    assert a.stop() == 0 and b.stop() == 0
    senders = [d for d in (a, b) if "reminder.dispatch: sent email" in d.text()]
    assert len(senders) == 1
    raced = all("next wake-up at 2026-12-01T08:00:00+07:00" in d.text() for d in (a, b))
    print(f"\ntwo daemons: {'both' if raced else 'one'} woke at the instant; 1 copy sent")

    # The wall clock goes back 2 s after the send (NTP step, VM snapshot): the instant comes again.
    c = spawn(cfg, X - timedelta(seconds=2))
    start = c.wait_for_line(r"next wake-up at 2026-12-01T08:00:00\+07:00", 20)
    c.wait_for_line(r"next reminders at|nothing due in the next", 20, after=c.lines().index(start))
    time.sleep(0.5)
    assert c.stop() == 0
    assert smtp.count() == 1
    assert "sent email" not in c.text()
    assert ledger_db.statuses() == {KEY_X: "sent"}


@pytest.mark.timeout(40)
def test_idle_daemon_makes_no_connections_logs_nothing_and_does_not_wake(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn
) -> None:
    """Nothing due for days, no watchdog: 8 s without SMTP connections, log lines, CPU or wake-ups."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = spawn(cfg, X - timedelta(days=5))
    daemon.wait_for_line(r"next reminders at|nothing due in the next", 20)
    time.sleep(0.3)  # start-up is over
    lines, cpu, switches = len(daemon.lines()), daemon.cpu_seconds(), _context_switches(daemon.pid)
    time.sleep(8)
    cpu = daemon.cpu_seconds() - cpu
    switches = _context_switches(daemon.pid) - switches
    print(
        f"\nidle 8 s: {cpu:.2f} s CPU, {switches} context switches, {smtp.connections} SMTP connections"
    )
    assert daemon.proc.poll() is None
    assert daemon.lines()[lines:] == []
    assert smtp.connections == 0 and smtp.count() == 0
    assert cpu <= 0.1
    assert switches <= 10  # an event loop with a timer firing would show here
    assert daemon.stop() == 0


@pytest.mark.timeout(40)
def test_sweeps_are_silent_when_nothing_changes(
    tmp_path: Path, smtp: TimedSMTPServer, notify: FakeNotifySocket, spawn: Spawn
) -> None:
    """The safety sweep (shortened to 0.25 s here) logs nothing while the next wake-up stays the same."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = spawn(
        cfg,
        X - timedelta(days=1),  # next wake-up within two days: the sweep re-derives it each time
        notify_socket=notify.path,
        log_level="DEBUG",  # APScheduler then logs each sweep it runs
        python_prelude="import datetime, reminder.daemon\n"
        "reminder.daemon.SWEEP = datetime.timedelta(seconds=0.25)",
    )
    notify.wait_for("READY=1", timeout=20)
    daemon.wait_for_line(r"next wake-up at", 20)  # the start-up cycle (after READY) is done
    start = lines = len(daemon.lines())
    sweep = r'Running job "Daemon\._sweep'
    for _ in range(3):  # three sweeps (0.75 s on a quiet machine), each after the last
        found = daemon.wait_for_line(sweep, 20, after=lines)
        lines = daemon.lines().index(found) + 1
    daemon.wait_for_line(r"Job \"Daemon\._sweep.*executed successfully", 20, after=lines - 1)
    new = daemon.lines()[start:]
    ours = [line for line in new if " reminder." in line]
    assert ours == [], "a sweep that changes nothing should say nothing"
    assert smtp.connections == 0
    assert daemon.stop() == 0


# A full disk on demand: while the file FULL exists next to the config, every transaction of
# the daemon's ledger runs with `PRAGMA max_page_count` at the pages it has (tests/helpers.py
# FullDisk does the same in-process).
FULL_DISK = """
import os
from sqlalchemy import event
from sqlalchemy.engine import Engine
@event.listens_for(Engine, "begin")
def _full_disk(conn):
    if os.path.exists("FULL"):
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
    else:
        conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
"""


def _wide_config(smtp_port: int, agencies: int, **options: Any) -> tuple[Config, set[str]]:
    """Task nv01 led by so-mot with `agencies` supporting agencies, all due at X; its keys."""
    members = [
        Agency(f"cq-{i:03d}", f"Cơ quan {i:03d}", (f"cq{i:03d}@tinh.example",))
        for i in range(agencies)
    ]
    config = Config(
        smtp_port=smtp_port,
        agencies=(Agency("so-mot", "Sở Một", ("somot@tinh.example",)), *members),
        groups=(Group("tat-ca", "các cơ quan trên địa bàn tỉnh", [a.id for a in members]),),
        tasks=(Task("nv01", 1, "Nhiệm vụ thử nghiệm số một", "so-mot", support=("tat-ca",)),),
        support_before=(14,),
        **options,
    )
    expected = {KEY_X} | {f"nv01|2026|bao-cao|D-14|{a.id}|email|{a.email[0]}" for a in members}
    return config, expected


@pytest.mark.timeout(120)
def test_full_ledger_mid_batch_stops_sending_and_resumes_without_duplicates(
    tmp_path: Path, spawn: Spawn
) -> None:
    """The disk fills after 60 of 301 sends: no message leaves while the ledger refuses writes,
    the daemon says so once and keeps running; freed, it finishes the batch, each key once."""
    with TimedSMTPServer(delay=0.01) as smtp:
        config, expected = _wide_config(smtp.port, 300)
        cfg = write_config(tmp_path, config)
        daemon = spawn(cfg, X - timedelta(seconds=1), python_prelude=FULL_DISK)
        assert smtp.wait_for(60, timeout=60) >= 60, daemon.text()
        (tmp_path / "FULL").touch()
        refused = daemon.wait_for_line(r"ERROR reminder\.ledger: the ledger \S+ refuses writes", 30)
        time.sleep(0.5)  # the send that was on the wire when the write was refused ends
        at_refusal = smtp.count()
        marked = {k for k, s in _ledger_status(tmp_path / "ledger.db").items() if s == "sent"}
        received = {k for _t, m in smtp.received() for k in reminder_keys(m)}
        time.sleep(3)  # the recorder tries again and again: still nothing may leave
        assert smtp.count() == at_refusal, "messages left while the ledger refused to record them"
        assert at_refusal < len(expected)
        assert len(received - marked) <= GROUP_KEYS + 1  # one group, plus the message in flight
        assert daemon.proc.poll() is None

        (tmp_path / "FULL").unlink()
        daemon.wait_for_line(r"reminder\.ledger: the ledger \S+ accepts writes again", 60)
        daemon.wait_for_line(r"cycle at \S+: \d+ message", 60)
        assert daemon.stop() == 0
        everything = smtp.received()

    counts = Counter(k for _t, m in everything for k in reminder_keys(m))
    print(
        f"\nfull ledger: refused after {at_refusal} messages ({len(received - marked)} keys "
        f"unrecorded then); {len(everything)} messages in all for {len(expected)} keys"
    )
    assert set(counts) == expected and max(counts.values()) == 1
    assert "database or disk is full" in refused
    errors = [line for line in daemon.lines() if " ERROR " in line]
    assert errors == [refused]
    assert "Traceback" not in daemon.text()
    assert set(_ledger_status(tmp_path / "ledger.db").values()) == {"sent"}


@pytest.mark.timeout(240)
def test_a_batch_longer_than_the_lease_keeps_its_claims(tmp_path: Path, spawn: Spawn) -> None:
    """A batch still going out past its 12 s lease (a slow server, made fast again only once
    a second daemon has woken at the lease's end): its daemon renewed the lease while sending,
    so the second daemon on the same ledger takes over nothing and no key is sent twice."""
    lease = timedelta(minutes=0.2)  # renewed every 4 s: a renewal may come 8 s late
    # 151 messages, one claim slice (dispatch.CLAIM_SLICE): all claimed by the first daemon.
    # 1 s each (the client's timeout is 10 s) until released: 151 s, far past the lease.
    with TimedSMTPServer(delay=1.0) as smtp:
        config, expected = _wide_config(smtp.port, 150, lease_minutes=lease / timedelta(minutes=1))
        cfg = write_config(tmp_path, config)
        first = spawn(cfg, X - timedelta(seconds=1), log_level="DEBUG")
        read, renewed = first.wait_for_timed_line(
            r"renewed the lease of \d+ claim\(s\) at (\S+)", 90
        )
        # The second daemon's clock starts at the first's time of that renewal plus the time
        # since the line was read: never ahead of the first's clock, so the claims look no
        # older to it than they are (only just behind: its start-up time).
        at = datetime.fromisoformat(re.findall(r" at (\S+)$", renewed)[0])
        second = spawn(cfg, at + timedelta(seconds=time.time() - read))
        wake = r"next wake-up at (\S+): retries: "
        first_wake = second.wait_for_line(wake, 60)
        until = datetime.fromisoformat(re.findall(wake, first_wake)[0])
        # It wakes when the first claims' lease ends, finds them renewed, and waits again.
        later = second.wait_for_line(wake, 90, after=second.lines().index(first_wake) + 1)
        assert datetime.fromisoformat(re.findall(wake, later)[0]) > until, second.text()
        assert first.proc.poll() is None and smtp.count() < len(expected)
        smtp.delay = 0  # the server is fast again: the first daemon finishes its batch
        first.wait_for_line(r"cycle at \S+: \d+ message", 90)
        assert first.stop() == 0 and second.stop() == 0
        everything = smtp.received()
    counts = Counter(k for _t, m in everything for k in reminder_keys(m))
    print(f"\nlease renewal: {len(everything)} messages for {len(expected)} keys")
    assert set(counts) == expected
    assert max(counts.values()) == 1, "the second daemon took over claims still being sent"
    assert "recovering" not in second.text()


@pytest.mark.timeout(120)
def test_sigterm_past_the_stop_timeout_logs_one_warning_and_no_traceback(
    tmp_path: Path, spawn: Spawn
) -> None:
    """SIGTERM during a long batch (stop timeout shortened to 1 s): exit 0, one WARNING saying
    how many reminders were left in flight, nothing at ERROR, no CancelledError traceback."""
    with TimedSMTPServer(delay=0.2) as smtp:
        config, expected = _wide_config(smtp.port, 100)
        cfg = write_config(tmp_path, config)
        daemon = spawn(
            cfg,
            X - timedelta(seconds=1),
            python_prelude="import reminder.daemon\nreminder.daemon.STOP_TIMEOUT = 1.0",
        )
        assert smtp.wait_for(5, timeout=60) >= 5, daemon.text()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
    status = Counter(_ledger_status(tmp_path / "ledger.db").values())
    warning = [line for line in daemon.lines() if "left in flight" in line]
    print(f"\nSIGTERM mid-batch: {status['sent']} sent, {status['sending']} left in flight")
    assert len(warning) == 1 and " WARNING reminder.daemon: " in warning[0], daemon.text()
    assert f": {status['sending']} reminder(s) were left in flight" in warning[0]
    assert 0 < status["sending"] < len(expected)
    assert "Traceback" not in daemon.text() and "CancelledError" not in daemon.text()
    assert not [line for line in daemon.lines() if " ERROR " in line or " CRITICAL " in line]


@pytest.mark.timeout(180)
def test_wrong_password_fixed_after_three_hours_is_delivered(tmp_path: Path, spawn: Spawn) -> None:
    """A refused SMTP login retried with the shipped backoff (60 s doubling to 1 h, no attempt
    limit) for 3 simulated hours (run --once at each retry instant); then ops fix the
    password file and the restarted daemon delivers the reminder."""
    user, password = "nhachan@tinh.example", "Mật-khẩu-đúng-3h"
    with TimedSMTPServer(auth=(user, password)) as smtp:
        (tmp_path / "smtp_password").write_text("mật-khẩu-sai", encoding="utf-8")
        config = Config(
            smtp_port=smtp.port,
            max_attempts=None,
            retry_initial_seconds=60,
            smtp_username=user,
            smtp_password_file="smtp_password",
        )
        cfg = write_config(tmp_path, config)
        now, attempts = X, 0
        while now < X + timedelta(hours=3):
            once = reminder_cli(cfg, "run", "--once", "--now", now.isoformat())
            assert once.returncode == 75, once.stdout + once.stderr
            attempts += 1
            [row] = history(cfg)
            assert row["status"] == "failed", f"given up at attempt {attempts}"
            now = datetime.fromisoformat(row["next_attempt_at"]).astimezone(VN_TZ)
        assert smtp.count() == 0 and attempts == 8

        (tmp_path / "smtp_password").write_text(password, encoding="utf-8")
        daemon = spawn(cfg, now - timedelta(seconds=1))
        assert smtp.wait_for(1, timeout=60) == 1, daemon.text()
        daemon.wait_for_line(r"cycle at \S+: 1 message", 30)
        assert daemon.stop() == 0
    [(_t, message)] = smtp.received()
    assert reminder_keys(message) == [KEY_X]
    assert LATE_WORDING in plain_text(message)  # 3 hours after its instant
    [row] = history(cfg)
    assert (row["status"], row["attempts"], row["late"]) == ("sent", 9, True)
    assert (
        row["last_error"].startswith("sent at attempt 9; earlier: ") and "535" in row["last_error"]
    )

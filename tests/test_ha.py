"""Two daemons, one PostgreSQL ledger: the faults of issue 10, with real daemons on 127.0.0.1.

Each test runs `reminder run` subprocesses (tests/daemon_harness.py) against the loopback
SMTP sink and a throw-away PostgreSQL cluster (tests/pgcluster.py); "another host" is a
daemon whose socket.gethostname() says so (its claims' owner names that host). Run with -s
to see the figures (the split between the daemons, duplicates, outage times).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import start_cluster
from daemon_harness import (
    Agency,
    Config,
    DaemonProcess,
    Group,
    LedgerDb,
    Spawn,
    Task,
    TimedSMTPServer,
    reminder_keys,
    write_config,
)
from pgcluster import PgCluster, free_port

from reminder.ledger import Ledger
from reminder.model import VN_TZ
from reminder.recorder import GROUP_KEYS

X = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # the instant of every reminder below
OTHER_HOST = "import socket\nsocket.gethostname = lambda: 'node-b.tinh.example'\n"
MEMBERS = 1000
# Seconds from the end of a daemon's start-up to X. `run --now` starts its clock when the
# start-up ends (Clock.begin), however long that took on a loaded machine, so this only has
# to cover the first cycle (planning 1,001 reminders: well under a second quiet); a first
# cycle that outlasts it is handled too (test_daemon: instant passing during the start-up).
LEAD = 10


def _ledger_on(cluster: PgCluster, tmp_path: Path) -> LedgerDb:
    """A new database on `cluster`; the daemons read its password from a 0600 file."""
    name = cluster.new_database()
    secret = tmp_path / "db.password"
    secret.write_text(cluster.password + "\n")
    secret.chmod(0o600)
    return LedgerDb(cluster.url(name), cluster.url(name, password=False), str(secret))


def _big_batch(smtp_port: int, ledger: LedgerDb, **options: Any) -> Config:
    """1,001 reminders at X: task nv01's lead agency and a group of 1,000 supporting ones."""
    members = [
        Agency(f"cq-{i:04d}", f"Cơ quan {i:04d}", (f"cq{i:04d}@tinh.example",))
        for i in range(MEMBERS)
    ]
    return Config(
        smtp_port=smtp_port,
        agencies=(Agency("so-mot", "Sở Một", ("somot@tinh.example",)), *members),
        groups=(Group("tat-ca", "các cơ quan trên địa bàn tỉnh", [a.id for a in members]),),
        tasks=(Task("nv01", 1, "Nhiệm vụ thử nghiệm số một", "so-mot", support=("tat-ca",)),),
        support_before=(14,),
        **ledger.config(),
        **options,
    )


def _owners(ledger: LedgerDb) -> dict[str, Counter[str]]:
    """status → Counter of the pid in each row's owner (host:pid:…)."""
    out: dict[str, Counter[str]] = {}
    with Ledger(ledger.url) as led, led.engine.connect() as conn:
        for owner, status in conn.execute(sa.text("SELECT owner, status FROM delivery")):
            pid = owner.split(":")[1] if owner.count(":") >= 1 else owner
            out.setdefault(status, Counter())[pid] += 1
    return out


def _rows(ledger: LedgerDb) -> dict[str, tuple[str, str]]:
    """key → (the pid in its owner, status)."""
    with Ledger(ledger.url) as led, led.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, owner, status FROM delivery"))
        return {k: ([*o.split(":"), ""][1], s) for k, o, s in rows}


def _sent_by(daemon: DaemonProcess) -> int:
    return sum(1 for line in daemon.lines() if "reminder.dispatch: sent email" in line)


def _wait_idle(*daemons: DaemonProcess, timeout: float = 60) -> None:
    for d in daemons:
        d.wait_for_line(r"next reminders at|nothing due in the next|: retries: ", timeout)


@pytest.mark.timeout(240)
def test_two_daemons_share_1000_reminders_at_one_instant_without_duplicates(
    tmp_path: Path, pg_cluster: PgCluster, spawn: Spawn
) -> None:
    """Two daemons on one PostgreSQL ledger, 1,001 reminders due at the same instant: every
    one delivered exactly once, and both daemons send a share of them."""
    ledger = _ledger_on(pg_cluster, tmp_path)
    expected = MEMBERS + 1
    with TimedSMTPServer() as smtp:
        cfg = write_config(tmp_path, _big_batch(smtp.port, ledger))
        a = spawn(cfg, X - timedelta(seconds=LEAD))
        b = spawn(cfg, X - timedelta(seconds=LEAD))
        for d in (a, b):  # both are up and waiting for X before it comes
            d.wait_for_line(r"started with", 90)  # on a loaded machine it may be after X
        assert smtp.wait_for(expected, timeout=150) == expected, a.text()[-2000:]
        _wait_idle(a, b)
        time.sleep(0.5)
        received = [m for _t, m in smtp.received()]
        assert a.stop() == 0 and b.stop() == 0
    counts = Counter(k for m in received for k in reminder_keys(m))
    owners = _owners(ledger)
    split = (_sent_by(a), _sent_by(b))
    print(
        f"\ntwo daemons, {expected} reminders at one instant: {len(received)} messages, "
        f"{sum(n - 1 for n in counts.values())} duplicate(s); split {split[0]} / {split[1]}; "
        f"ledger rows by owner pid {dict(owners['sent'])}"
    )
    assert len(counts) == expected and set(counts.values()) == {1}
    assert len(received) == expected
    assert set(owners) == {"sent"}
    assert sum(split) == expected and min(split) > 0
    assert dict(owners["sent"]) == {str(a.pid): split[0], str(b.pid): split[1]}


@pytest.mark.timeout(240)
def test_daemon_killed_mid_batch_the_other_host_finishes_after_the_lease(
    tmp_path: Path, pg_cluster: PgCluster, spawn: Spawn
) -> None:
    """One of two daemons (on different hosts) is SIGKILLed after ~300 deliveries and not
    restarted: the other one sends everything, the dead one's claims after their lease (a
    live process on another host cannot tell the dead one from a slow one); duplicates ≤
    the messages in flight at the kill."""
    ledger = _ledger_on(pg_cluster, tmp_path)
    lease = timedelta(seconds=12)
    expected = MEMBERS + 1
    with TimedSMTPServer(delay=0.01) as smtp:
        config = _big_batch(smtp.port, ledger, lease_minutes=lease.total_seconds() / 60)
        cfg = write_config(tmp_path, config)
        a = spawn(cfg, X - timedelta(seconds=LEAD))
        b = spawn(cfg, X - timedelta(seconds=LEAD), python_prelude=OTHER_HOST)
        for d in (a, b):
            d.wait_for_line(r"started with", 90)  # on a loaded machine it may be after X
        assert smtp.wait_for(300, timeout=60) >= 300, a.text()[-2000:]
        a.kill()
        killed_at = time.time()
        time.sleep(0.3)  # the sink notices the closed connection
        # The ledger first, then the sink: a key marked sent was received before it was marked.
        rows = _rows(ledger)
        at_kill = smtp.received()
        received_at_kill = {k for _t, m in at_kill for k in reminder_keys(m)}
        marked = {k for k, (_pid, status) in rows.items() if status == "sent"}
        left = {k for k, (pid, status) in rows.items() if pid == str(a.pid) and status == "sending"}
        in_flight = left & received_at_kill  # the dead daemon sent them, never recorded them
        assert len(at_kill) < expected, "the batch ended before the kill: make the sink slower"
        assert marked <= received_at_kill  # never marked sent without being sent
        assert smtp.wait_for(expected, timeout=120) >= expected, "\n".join(
            line for line in b.lines() if "sent email" not in line
        )[-5000:]
        _wait_idle(b)
        time.sleep(0.5)
        everything = smtp.received()
        assert b.stop() == 0
    counts = Counter(k for _t, m in everything for k in reminder_keys(m))
    duplicates = sum(n - 1 for n in counts.values())
    recoveries = [
        (t, line) for t, line in b.timed_lines() if "recovering nv01|" in line and a_owner(line, a)
    ]
    first_recovery = min(t for t, _l in recoveries) - killed_at if recoveries else -1.0
    print(
        f"\nkill without restart: {len(at_kill)} of {expected} delivered at the kill, "
        f"{len(in_flight)} in flight, {len(left)} left claimed by the dead daemon; the other "
        f"host took them over {first_recovery:.1f} s after the kill (lease {lease.seconds} s); "
        f"{duplicates} duplicate(s)"
    )
    final = ledger.statuses()
    assert set(counts) == set(final) and len(counts) == expected
    assert set(final.values()) == {"sent"}
    assert duplicates <= len(in_flight)
    assert {k for k, n in counts.items() if n > 1} <= in_flight
    assert len(recoveries) == len(left) > 0
    assert all(f"(lease {lease})" in line for _t, line in recoveries)
    # Not before the lease: the dead daemon renewed its claims at most lease/3 before dying.
    assert first_recovery >= lease.total_seconds() * 2 / 3 - 1


def a_owner(line: str, daemon: DaemonProcess) -> bool:
    """Whether a recovery line names `daemon` as the previous owner."""
    return re.search(rf"left SENDING by [^:]+:{daemon.pid}:", line) is not None


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of this test's own (it is stopped and started)."""
    cluster = start_cluster()
    yield cluster
    cluster.destroy()


OUTAGE = 60.0  # seconds PostgreSQL stays down


@pytest.mark.timeout(360)
def test_postgresql_down_60_s_mid_batch_both_daemons_survive_and_deliver_everything(
    tmp_path: Path, own_cluster: PgCluster, spawn: Spawn
) -> None:
    """PostgreSQL stopped for 60 s in the middle of a 1,001-message batch, then started: both
    daemons stay up, each logs the outage once with the server's reason, nothing is sent
    while it is down beyond the sends already in flight, everything is delivered after, and
    no row is marked sent that was not received."""
    ledger = _ledger_on(own_cluster, tmp_path)
    expected = MEMBERS + 1
    with TimedSMTPServer(delay=0.01) as smtp:
        # The lease outlasts the outage: a batch held back meanwhile is still its daemon's.
        config = _big_batch(smtp.port, ledger, lease_minutes=2)
        cfg = write_config(tmp_path, config)
        daemons = [spawn(cfg, X - timedelta(seconds=LEAD)) for _ in range(2)]
        for d in daemons:
            d.wait_for_line(r"started with", 90)  # on a loaded machine it may be after X
        assert smtp.wait_for(200, timeout=60) >= 200
        own_cluster.stop()
        stopped_at = time.time()
        time.sleep(5)  # the sends in flight end; then nothing may leave
        held = smtp.count()
        time.sleep(OUTAGE - 5)
        during = smtp.count() - held
        assert all(d.proc.poll() is None for d in daemons), "a daemon exited during the outage"
        own_cluster.start()
        assert smtp.wait_for(expected, timeout=150) >= expected, daemons[0].text()[-3000:]
        for d in daemons:
            _wait_idle(d, timeout=60)
        time.sleep(0.5)
        everything = smtp.received()
        codes = [d.stop() for d in daemons]
    counts = Counter(k for _t, m in everything for k in reminder_keys(m))
    statuses = ledger.statuses()
    outage_lines = [
        [
            line
            for line in d.lines()
            if " ERROR " in line and ("refuses writes" in line or "cannot be reached" in line)
        ]
        for d in daemons
    ]
    back = [
        any("accepts writes again" in line or "reached again" in line for line in d.lines())
        for d in daemons
    ]
    print(
        f"\nPostgreSQL down {OUTAGE:.0f} s mid-batch: {held} delivered before it "
        f"(+{during} during), {len(everything)} messages in all, "
        f"{sum(n - 1 for n in counts.values())} duplicate(s); outage lines: "
        + " | ".join(lines[0].split(": ", 1)[1][:160] for lines in outage_lines if lines)
    )
    assert codes == [0, 0]
    assert during == 0
    # Resent at most: what each daemon had sent but not yet recorded (one group + one send).
    assert sum(n - 1 for n in counts.values()) <= 2 * (GROUP_KEYS + 1)
    assert set(counts) == set(statuses) and len(counts) == expected
    assert set(statuses.values()) == {"sent"}  # …and every one of them was received
    assert [len(lines) for lines in outage_lines] == [1, 1]
    assert all("127.0.0.1" in lines[0] or "connection" in lines[0] for lines in outage_lines)
    assert back == [True, True]
    assert not any("Traceback" in d.text() for d in daemons)
    assert own_cluster.password not in "\n".join(d.text() for d in daemons)
    assert time.time() - stopped_at >= OUTAGE


SLOW_FIRST_TRY = """
import time
_open, _tries = d.open_ledger, []
def _slow_open(*args, **kwargs):
    _tries.append(1)
    if len(_tries) == 1:
        time.sleep(4)
    return _open(*args, **kwargs)
d.open_ledger = _slow_open
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("slow_first_try", [False, True], ids=["quick", "slow-first-try"])
def test_unreachable_database_at_start_exits_75_after_a_bounded_wait(
    tmp_path: Path, spawn: Spawn, slow_first_try: bool
) -> None:
    """Nothing listens at the ledger's address: the daemon says so, tries again for
    START_WAIT (3 s here, counted from the first failure, however slow that first try
    was), then exits 75 (temporary: the unit restarts it) with the reason and no traceback."""
    port = free_port()
    secret = tmp_path / "db.password"
    secret.write_text("Mật-khẩu-không-được-lộ\n")
    secret.chmod(0o600)
    url = f"postgresql+psycopg://reminder@127.0.0.1:{port}/reminder"
    cfg = write_config(
        tmp_path,
        Config(smtp_port=1, database_url=url, database_password_file=str(secret)),
    )
    prelude = "import reminder.daemon as d\nd.START_WAIT = 3.0\nd.START_RETRY = 0.5\n"
    if slow_first_try:  # a loaded machine: the first try (imports, connect) outlasts START_WAIT
        prelude += SLOW_FIRST_TRY
    daemon = spawn(cfg, X, python_prelude=prelude)
    code = daemon.wait(60)
    text = daemon.text()
    print(f"\nunreachable at start: exit {code}; {daemon.lines()[-1]}")
    assert code == 75
    waiting = daemon.wait_for_line(r"WARNING reminder\.daemon: cannot reach the ledger", 1)
    assert f"127.0.0.1:{port}/reminder" in waiting and "refused" in waiting.lower()
    assert "trying again for up to 3 s" in waiting
    daemon.wait_for_line(
        r"ERROR reminder\.daemon: cannot reach the ledger .*gave up after 3 s \(exit 75", 1
    )
    assert "Traceback" not in text and "Mật-khẩu" not in text

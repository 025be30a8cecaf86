"""The delivery ledger against a real SQLite file and a real PostgreSQL database (every test
that takes `ledger` or `db_url` runs on both): claims, retries, leases, migrations."""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from reminder import owner
from reminder.ledger import (
    CHUNK,
    ERROR_MAX_CHARS,
    Ledger,
    LedgerError,
    LedgerUnwritable,
    SentMark,
    Status,
)
from reminder.model import VN_TZ, LeadUnit, Reminder, Role

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
LEASE = timedelta(minutes=5)


def rem(i: int | str, *, task: str = "t1", send_at: datetime = T0) -> Reminder:
    """A reminder with a unique key built from `i`."""
    return Reminder(
        key=f"{task}|2026|m1|7|so-tc|email|a{i}@example.gov.vn",
        task_id=task,
        occurrence="2026",
        milestone_id="m1",
        deadline=date(2026, 3, 9),
        send_at=send_at,
        lead_days=7,
        lead_unit=LeadUnit.CALENDAR,
        agency="so-tc",
        named_as="so-tc",
        role=Role.LEAD,
        channel="email",
        address=f"a{i}@example.gov.vn",
    )


def url(tmp_path: Path, name: str = "ledger.db") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    led = Ledger(db_url, lease=LEASE)
    led.migrate()
    yield led
    led.close()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(url(tmp_path), lease=LEASE)
    led.migrate()
    yield led
    led.close()


def keys(rs: list[Reminder]) -> list[str]:
    return [r.key for r in rs]


# -- claiming -----------------------------------------------------------------------------


def test_claim_once_then_not_again(ledger: Ledger) -> None:
    """A new key is claimed once (SENDING, attempt 1); a second claim gets nothing."""
    rs = [rem(i) for i in range(3)]
    assert ledger.claim(rs, T0, owner="host:1") == rs
    assert ledger.claim(rs, T0) == []
    assert ledger.claim(rs, T0 + LEASE / 2) == []
    d = ledger.get(rs[0].key)
    assert d is not None
    assert (d.status, d.attempts, d.claimed_at, d.owner) == (Status.SENDING, 1, T0, "host:1")


def test_claim_keeps_input_order_and_claims_repeated_key_once(ledger: Ledger) -> None:
    """Claimed reminders come back in input order, and a key repeated in a batch only once."""
    a, b, c = rem("a"), rem("b"), rem("c")
    ledger.claim([b], T0)
    assert ledger.claim([c, a, b, a, c], T0) == [c, a]


def test_claim_stores_the_reminder_columns(ledger: Ledger) -> None:
    """The row keeps task, occurrence, milestone, deadline, lead, recipient, planned time, late."""
    r = rem(1, send_at=T0 - timedelta(hours=3))
    ledger.claim([r], T0, late=True, owner="o")
    d = ledger.get(r.key)
    assert d is not None
    assert (d.task_id, d.occurrence, d.milestone_id, d.deadline, d.lead_days) == (
        "t1",
        "2026",
        "m1",
        date(2026, 3, 9),
        7,
    )
    assert (d.agency, d.channel, d.address) == ("so-tc", "email", "a1@example.gov.vn")
    assert d.planned_at == T0 - timedelta(hours=3)
    assert d.late is True
    assert (d.created_at, d.updated_at, d.sent_at, d.next_attempt_at) == (T0, T0, None, None)


def _claim_in_batches(
    led: Ledger, todo: list[Reminder], seed: int, now: datetime, start: Any
) -> list[str]:
    """Wait at `start`, then claim `todo` in small shuffled batches; return the keys won."""
    order = todo[:]
    random.Random(seed).shuffle(order)
    led.known_keys([order[0].key])  # connect and warm up before the race starts
    start.wait()
    won: list[str] = []
    for i in range(0, len(order), 7):
        won += keys(led.claim(order[i : i + 7], now, owner=f"w{seed}"))
        time.sleep(0.001)  # let the other side in between batches
    return won


def _race_in_threads(db: str, todo: list[Reminder], now: datetime) -> dict[int, list[str]]:
    results: dict[int, list[str]] = {}
    start = threading.Barrier(2)

    def work(seed: int) -> None:
        with Ledger(db, lease=LEASE) as led:
            results[seed] = _claim_in_batches(led, todo, seed, now, start)

    threads = [threading.Thread(target=work, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_ledgers_in_threads_claim_each_key_exactly_once(db_url: str) -> None:
    """Two threads with separate Ledgers race over 200 keys, then over their stale rows:
    every key is won exactly once each time."""
    db = db_url
    Ledger(db).migrate()
    todo = [rem(i) for i in range(200)]
    for now in (T0, T0 + LEASE + timedelta(seconds=1)):  # fresh claims, then lease recoveries
        results = _race_in_threads(db, todo, now)
        counts = Counter(results[1] + results[2])
        assert set(counts) == set(keys(todo))
        assert set(counts.values()) == {1}
        print(f"\nthreads at {now:%H:%M:%S}: won {len(results[1])} and {len(results[2])}")
    with Ledger(db) as led:
        assert {d.attempts for d in led.history(limit=1000)} == {2}


def _process_worker(db_url: str, seed: int, start: Any, out: Any) -> None:
    todo = [rem(i) for i in range(200)]
    with Ledger(db_url, lease=LEASE) as led:
        out.put((seed, _claim_in_batches(led, todo, seed, T0, start)))


def test_two_processes_claim_each_key_exactly_once(db_url: str) -> None:
    """Two OS processes racing over the same 200 keys: each key is won by exactly one."""
    db = db_url
    Ledger(db).migrate()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(db, s, start, out)) for s in (1, 2)]
    for p in procs:
        p.start()
    got = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    counts = Counter(got[1] + got[2])
    assert len(counts) == 200
    assert set(counts.values()) == {1}
    print(f"\nprocesses: won {len(got[1])} and {len(got[2])}")


def test_failed_row_claimable_only_from_next_attempt_at(ledger: Ledger) -> None:
    """A FAILED row is not claimed before next_attempt_at, and is claimed (attempt 2) after."""
    r = rem(1)
    ledger.claim([r], T0)
    retry_at = T0 + timedelta(minutes=10)
    ledger.mark_failed(r.key, T0 + timedelta(seconds=5), "SMTP 451 try later", retry_at)
    assert ledger.claim([r], retry_at - timedelta(seconds=1)) == []
    assert ledger.claim([r], retry_at) == [r]
    d = ledger.get(r.key)
    assert d is not None
    assert (d.status, d.attempts, d.claimed_at, d.next_attempt_at) == (
        Status.SENDING,
        2,
        retry_at,
        None,
    )
    assert d.last_error == "SMTP 451 try later"


def test_stale_sending_row_is_reclaimed_and_logged(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """A SENDING row older than the lease (a crashed process) is claimed again, with a WARNING."""
    r = rem(1)
    ledger.claim([r], T0, owner="dead:42")
    with caplog.at_level(logging.WARNING, logger="reminder.ledger"):
        assert ledger.claim([r], T0 + LEASE + timedelta(seconds=1), owner="new:7") == [r]
    assert any(r.key in m and "dead:42" in m for m in caplog.messages)
    d = ledger.get(r.key)
    assert d is not None
    assert (d.status, d.attempts, d.owner) == (Status.SENDING, 2, "new:7")


def test_claims_of_a_dead_process_of_this_host_are_taken_at_once(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """Within the lease, SENDING rows whose owner process (this host) is gone are claimed
    again at once, late flag as this claim says; due_retries and next_retry_at show them."""
    from test_owner import dead_owner

    rs = [rem(i) for i in range(3)]
    dead = dead_owner()
    ledger.claim(rs, T0, owner=dead)
    later = T0 + timedelta(seconds=10)
    assert ledger.next_retry_at() == T0
    assert ledger.due_retries(later) == keys(rs)
    with caplog.at_level(logging.WARNING, logger="reminder.ledger"):
        assert ledger.claim(rs, later, late=True, owner=str(owner.current())) == rs
    assert sum("its process is gone" in m and dead in m for m in caplog.messages) == 3
    for r in rs:
        d = ledger.get(r.key)
        assert d is not None
        assert (d.status, d.attempts, d.owner, d.late) == (
            Status.SENDING,
            2,
            str(owner.current()),
            True,
        )


def test_claims_of_a_live_or_unknown_owner_wait_for_the_lease(ledger: Ledger) -> None:
    """Rows of a live process, of another host or of an old-format owner stay within the lease."""
    from test_owner import dead_owner

    dead = owner.Owner.parse(dead_owner())
    assert dead is not None
    owners = [str(owner.current()), str(replace(dead, host="may-chu-khac")), "may:123"]
    for i, who in enumerate(owners):
        ledger.claim([rem(i)], T0, owner=who)
    assert ledger.claim([rem(i) for i in range(3)], T0 + LEASE, owner="x") == []
    assert ledger.due_retries(T0 + LEASE) == []
    assert ledger.next_retry_at() == T0 + LEASE


def test_renew_extends_the_lease_of_the_owners_sending_rows(ledger: Ledger) -> None:
    """renew(owner, now) moves claimed_at of that owner's SENDING rows only; a claim after
    the first lease but within the renewed one gets nothing."""
    mine, other, done = rem("m"), rem("o"), rem("d")
    ledger.claim([mine, done], T0, owner="me")
    ledger.claim([other], T0, owner="other")
    ledger.mark_sent([done.key], T0)
    assert ledger.renew("me", T0 + timedelta(minutes=4)) == 1
    late = T0 + LEASE + timedelta(seconds=1)
    assert ledger.claim([mine, other, done], late, owner="x") == [other]


def test_fresh_sending_row_is_not_reclaimed(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """A SENDING row within its lease (exactly at the lease too) is left to its owner."""
    r = rem(1)
    ledger.claim([r], T0)
    with caplog.at_level(logging.WARNING, logger="reminder.ledger"):
        assert ledger.claim([r], T0 + LEASE) == []
    assert caplog.messages == []


def test_sent_and_gave_up_are_never_reclaimed(ledger: Ledger) -> None:
    """SENT and GAVE_UP rows stay final, however late the claim."""
    sent, gave_up = rem("s"), rem("g")
    ledger.claim([sent, gave_up], T0)
    ledger.mark_sent([sent.key], T0)
    ledger.mark_failed(gave_up.key, T0, "451", T0 + timedelta(minutes=1))
    ledger.mark_gave_up(gave_up.key, T0 + timedelta(minutes=2), "550 no such user")
    for later in (T0 + timedelta(hours=1), T0 + timedelta(days=400)):
        assert ledger.claim([sent, gave_up], later) == []
    assert ledger.known_keys([sent.key, gave_up.key]) == {
        sent.key: Status.SENT,
        gave_up.key: Status.GAVE_UP,
    }
    assert ledger.due_retries(T0 + timedelta(days=400)) == []


def test_missed_recorded_once_and_never_claimable(ledger: Ledger) -> None:
    """record_missed inserts MISSED only where no row exists, once; MISSED is never claimed."""
    claimed, missed = rem("c"), rem("m")
    ledger.claim([claimed], T0)
    assert ledger.record_missed([claimed, missed, missed], T0) == [missed]
    assert ledger.record_missed([missed], T0 + timedelta(days=1)) == []
    assert ledger.claim([missed], T0 + timedelta(days=30)) == []
    d = ledger.get(missed.key)
    assert d is not None
    assert (d.status, d.attempts, d.claimed_at) == (Status.MISSED, 0, None)
    assert ledger.known_keys([claimed.key]) == {claimed.key: Status.SENDING}


# -- outcomes -----------------------------------------------------------------------------


def test_mark_sent_batch_and_late_success_wins(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """mark_sent takes a batch; a success reported after a FAILED still records SENT;
    a failure reported after SENT does not undo it; unknown keys are only logged."""
    rs = [rem(i) for i in range(3)]
    ledger.claim(rs, T0)
    ledger.mark_failed(rs[0].key, T0, "timeout", T0 + timedelta(minutes=5))
    ledger.mark_sent(keys(rs), T0 + timedelta(seconds=3), note="Message-ID <x@y>")
    with caplog.at_level(logging.WARNING, logger="reminder.ledger"):
        ledger.mark_failed(rs[1].key, T0 + timedelta(seconds=4), "late", T0 + timedelta(hours=1))
        ledger.mark_sent(["no|such|key"], T0)
    assert any("no|such|key" in m for m in caplog.messages)
    for d in ledger.history():
        assert (d.status, d.sent_at, d.note) == (
            Status.SENT,
            T0 + timedelta(seconds=3),
            "Message-ID <x@y>",
        )
        assert d.next_attempt_at is None


def test_record_sent_commits_several_messages_in_one_transaction(ledger: Ledger) -> None:
    """record_sent writes every message of a group (own note each) in ONE commit."""
    rs = [rem(i) for i in range(5)]
    ledger.claim(rs, T0)
    commits: list[int] = []
    sa.event.listen(ledger.engine, "commit", lambda _conn: commits.append(1))
    marks = [SentMark((r.key,), T0, f"250 ok {i}") for i, r in enumerate(rs)]
    ledger.record_sent(marks)
    assert len(commits) == 1
    assert [ledger.get(r.key).note for r in rs] == [f"250 ok {i}" for i in range(5)]  # type: ignore[union-attr]


def test_sent_after_a_failed_attempt_says_so_in_last_error(ledger: Ledger) -> None:
    """A row sent at a later attempt keeps the earlier error, prefixed "sent at attempt N";
    a row sent at the first attempt has no last_error."""
    a, b = rem("a"), rem("b")
    ledger.claim([a, b], T0)
    ledger.mark_failed(a.key, T0, "451 4.3.0 try later", T0 + timedelta(minutes=1))
    assert ledger.claim([a], T0 + timedelta(minutes=1)) == [a]
    ledger.mark_sent([a.key, b.key], T0 + timedelta(minutes=1))
    got_a, got_b = ledger.get(a.key), ledger.get(b.key)
    assert got_a is not None and got_b is not None
    assert got_a.last_error == "sent at attempt 2; earlier: 451 4.3.0 try later"
    assert got_b.last_error is None


def test_mark_sent_records_whether_the_message_carried_the_late_notice(
    ledger: Ledger,
) -> None:
    """mark_sent(late=True) sets the flag on a row claimed on time (a digest made late by
    another of its keys, a retry sent late); late=None keeps the claim's flag."""
    a, b = rem("a"), rem("b")
    ledger.claim([a], T0)
    ledger.claim([b], T0, late=True)
    ledger.mark_sent([a.key], T0, late=True)
    ledger.mark_sent([b.key], T0)
    assert [ledger.get(k).late for k in (a.key, b.key)] == [True, True]  # type: ignore[union-attr]


def _raw_rows(led: Ledger) -> list[tuple[Any, ...]]:
    with led.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM delivery ORDER BY key")]


def test_sqlite_claims_and_sent_marks_store_what_sqlalchemy_binds(tmp_path: Path) -> None:
    """The SQLite claim (one multi-row INSERT, values converted once) and sent marks (the
    statement compiled once) store the bytes SQLAlchemy's own executemany stores: instants,
    dates, flags, notes kept or replaced, an earlier error prefixed, unknown keys ignored."""
    from reminder.ledger import _D, _MARK_SENT

    fast, slow = Ledger(url(tmp_path, "fast.db"), lease=LEASE), Ledger(url(tmp_path, "s.db"))
    for led in (fast, slow):
        led.migrate()
    rs = [rem(i, send_at=T0 - timedelta(minutes=i)) for i in range(1600)]  # 2 statements
    now = T0 + timedelta(microseconds=123456)
    assert keys(fast.claim(rs, now, late=True, owner="o")) == keys(rs)
    rows = [fast._new_row(r, _utc_now(now), Status.SENDING, True, "o") for r in rs]
    with slow._write() as conn:
        conn.execute(sa.insert(_D), sorted(rows, key=lambda row: row["key"]))
    failed = rs[0].key
    for led in (fast, slow):
        led.mark_failed(failed, now, "451 try later", now)
        assert keys(led.claim([rs[0]], now, owner="p")) == [failed]
    marks = [
        SentMark(tuple(r.key for r in rs[:600]), now, "250 ok", False),
        SentMark((*(r.key for r in rs[600:1000]), "no|such|key"), now, "", None),
        SentMark(tuple(r.key for r in rs[1000:]), T0 + timedelta(hours=1), "", True),
    ]
    fast.record_sent(marks)
    with slow._write() as conn:
        conn.execute(
            _MARK_SENT,
            [
                {"k": k, "now": m.now.astimezone(UTC), "note": m.note, "late": m.late}
                for m in marks
                for k in m.keys
            ],
        )
    got, want = _raw_rows(fast), _raw_rows(slow)
    assert len(got) == 1600 and got == want
    assert any(row[13] and row[13].startswith("sent at attempt 2") for row in got)


def _utc_now(at: datetime) -> datetime:
    return at.astimezone(UTC)


def test_a_full_database_raises_unwritable_and_is_logged_once(
    sqlite_ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """A full database: every write raises LedgerUnwritable with SQLite's reason, the ERROR
    is logged once, and the first write that succeeds again logs the recovery once."""
    from helpers import FullDisk

    rs = [rem(i) for i in range(200)]
    disk = FullDisk(sqlite_ledger.engine)
    disk.on = True
    caplog.set_level(logging.INFO, logger="reminder.ledger")
    for _ in range(3):
        with pytest.raises(LedgerUnwritable, match="database or disk is full"):
            sqlite_ledger.claim(rs, T0)
    assert sqlite_ledger.refusing == "database or disk is full"
    disk.on = False
    assert len(sqlite_ledger.claim(rs, T0)) == 200
    sqlite_ledger.mark_sent(keys(rs), T0)
    assert sqlite_ledger.refusing is None
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]
    assert "refuses writes (database or disk is full)" in caplog.messages[0]
    assert "accepts writes again" in caplog.messages[1]


def test_chat_moves_are_remembered_and_replaced(ledger: Ledger) -> None:
    """record_move stores (channel, address) → new address; a second move replaces it."""
    assert ledger.moves() == {}
    ledger.record_move("telegram", "-1001", "-1002", T0, "so-tc")
    ledger.record_move("telegram", "-1001", "-1003", T0 + timedelta(days=1), "so-tc")
    assert ledger.moves() == {("telegram", "-1001"): ("-1003", T0 + timedelta(days=1))}


def test_long_errors_are_truncated(ledger: Ledger) -> None:
    """last_error keeps at most ERROR_MAX_CHARS characters."""
    r = rem(1)
    ledger.claim([r], T0)
    ledger.mark_gave_up(r.key, T0, "x" * 10_000)
    d = ledger.get(r.key)
    assert d is not None and d.last_error is not None
    assert len(d.last_error) == ERROR_MAX_CHARS
    assert d.last_error.endswith("…")


def test_due_retries_and_next_retry_at(ledger: Ledger) -> None:
    """due_retries lists due FAILED and stale SENDING keys; next_retry_at is the earliest of
    next_attempt_at (FAILED) and claimed_at + lease (SENDING), or None."""
    assert ledger.next_retry_at() is None
    a, b, c = rem("a"), rem("b"), rem("c")
    ledger.claim([a, b], T0)
    ledger.claim([c], T0 + timedelta(minutes=1))
    ledger.mark_failed(a.key, T0, "451", T0 + timedelta(minutes=2))
    ledger.mark_sent([b.key], T0)
    nra = ledger.next_retry_at()
    assert nra == T0 + timedelta(minutes=2)
    assert nra is not None and nra.utcoffset() == timedelta(0)
    assert ledger.due_retries(T0 + timedelta(minutes=1)) == []
    assert ledger.due_retries(T0 + timedelta(minutes=2)) == [a.key]
    assert ledger.due_retries(T0 + timedelta(minutes=7)) == [a.key, c.key]
    ledger.claim([a], T0 + timedelta(minutes=3))
    assert ledger.next_retry_at() == T0 + timedelta(minutes=1) + LEASE


def test_known_keys_over_many_chunks(ledger: Ledger) -> None:
    """known_keys answers for more keys than one IN clause holds, and skips unknown ones."""
    rs = [rem(i) for i in range(CHUNK * 2 + 17)]
    ledger.claim(rs, T0)
    ledger.mark_sent(keys(rs[:10]), T0)
    known = ledger.known_keys([*keys(rs), "unknown"])
    assert len(known) == len(rs)
    assert Counter(known.values()) == {Status.SENT: 10, Status.SENDING: len(rs) - 10}


# -- time ---------------------------------------------------------------------------------


def test_aware_datetimes_round_trip(ledger: Ledger) -> None:
    """Times written in Asia/Ho_Chi_Minh come back in UTC and compare equal."""
    now_vn = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)
    r = rem(1, send_at=datetime(2026, 3, 2, 7, 30, tzinfo=VN_TZ))
    ledger.claim([r], now_vn)
    d = ledger.get(r.key)
    assert d is not None
    assert d.claimed_at == now_vn == T0
    assert d.claimed_at is not None and d.claimed_at.tzinfo == UTC
    assert d.planned_at == datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    # a retry time given in local time is compared correctly against a UTC now
    ledger.mark_failed(r.key, now_vn, "451", datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ))
    assert ledger.claim([r], datetime(2026, 3, 2, 1, 59, tzinfo=UTC)) == []
    assert ledger.claim([r], datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) == [r]


def test_naive_datetimes_are_rejected(ledger: Ledger) -> None:
    """A naive `now` is a ValueError before anything is written."""
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.claim([rem(1)], datetime(2026, 3, 2, 8, 0))
    assert ledger.known_keys([rem(1).key]) == {}


# -- history and completions --------------------------------------------------------------


def test_history_newest_first_with_filters(ledger: Ledger) -> None:
    """history lists the most recently updated rows first, filtered by status and task."""
    a, b = rem("a", task="t1"), rem("b", task="t2")
    c = rem("c", task="t2")
    ledger.claim([a], T0)
    ledger.claim([b], T0 + timedelta(minutes=1))
    ledger.record_missed([c], T0 + timedelta(minutes=2))
    ledger.mark_sent([a.key], T0 + timedelta(minutes=3))
    assert [d.key for d in ledger.history()] == [a.key, c.key, b.key]
    assert [d.key for d in ledger.history(limit=2)] == [a.key, c.key]
    assert [d.key for d in ledger.history(task_id="t2")] == [c.key, b.key]
    assert [d.key for d in ledger.history(status=Status.MISSED)] == [c.key]
    assert ledger.history(status=Status.SENT, task_id="t2") == []


def test_record_done_is_idempotent_and_done_lists_it(ledger: Ledger) -> None:
    """record_done is True the first time only; done() holds occurrences and milestones."""
    assert ledger.done() == frozenset()
    assert ledger.record_done("t1", "2026", None, T0, note="CV 123/STC") is True
    assert ledger.record_done("t1", "2026", None, T0 + timedelta(days=1)) is False
    assert ledger.record_done("t2", "2026-Q1", "report", T0) is True
    assert ledger.record_done("t2", "2026-Q1", "report", T0) is False
    assert ledger.done() == {("t1", "2026", None), ("t2", "2026-Q1", "report")}


# -- storage and migrations ---------------------------------------------------------------


def test_sqlite_pragmas(sqlite_ledger: Ledger) -> None:
    """Connections run in WAL mode with synchronous=NORMAL, a busy timeout and foreign keys."""
    with sqlite_ledger.engine.connect() as conn:
        got = [
            conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        ]
    assert got == ["wal", 1, 15000, 1]


def _head() -> str:
    with Ledger("sqlite://") as led:
        head = ScriptDirectory.from_config(led.alembic_config()).get_current_head()
    assert head is not None
    return head


def _version(path_or_url: Path | str) -> list[str]:
    db = path_or_url if isinstance(path_or_url, str) else f"sqlite:///{path_or_url}"
    with Ledger(db) as led, led.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _schema(led: Ledger) -> list[tuple[str, list[tuple[str, str]], list[str]]]:
    """Every table with its columns (name, type) and its index names."""
    with led.engine.connect() as conn:
        insp = sa.inspect(conn)
        return [
            (
                t,
                [(c["name"], str(c["type"])) for c in insp.get_columns(t)],
                sorted(str(i["name"]) for i in insp.get_indexes(t)),
            )
            for t in sorted(insp.get_table_names())
        ]


def test_migrate_twice_is_a_no_op(db_url: str) -> None:
    """A second migrate() leaves the version and the schema as they were."""
    with Ledger(db_url) as led:
        led.migrate()
        before = _schema(led)
        led.migrate()
        after = _schema(led)
    assert before == after
    assert _version(db_url) == [_head()]


def test_migrate_existing_db_keeps_rows(db_url: str) -> None:
    """Re-running migrate() on a populated database (a restart) keeps every row."""
    with Ledger(db_url) as led:
        led.migrate()
        led.claim([rem(1), rem(2)], T0)
        led.mark_sent([rem(1).key], T0)
        led.record_done("t1", "2026", None, T0)
    with Ledger(db_url) as led:
        led.migrate()
        assert led.known_keys([rem(1).key, rem(2).key]) == {
            rem(1).key: Status.SENT,
            rem(2).key: Status.SENDING,
        }
        assert led.done() == {("t1", "2026", None)}


def test_migrate_adopts_a_db_without_alembic_version(db_url: str) -> None:
    """Tables created without alembic are stamped at the baseline, upgraded, and kept."""
    with Ledger(db_url) as led:
        SQLModel.metadata.create_all(led.engine)
        led.claim([rem(1)], T0)
        led.migrate()
        assert led.known_keys([rem(1).key]) == {rem(1).key: Status.SENDING}
    assert _version(db_url) == [_head()]


def test_migrate_refuses_a_half_made_db(db_url: str) -> None:
    """A database with only some of the ledger tables and no version is an error, not a guess."""
    with Ledger(db_url) as led:
        with led.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE delivery (key TEXT PRIMARY KEY)"))
        with pytest.raises(LedgerError, match="unknown state"):
            led.migrate()


def test_models_match_migrations(db_url: str) -> None:
    """The `alembic check` equivalent: the migrated database has no diff with the models."""
    with Ledger(db_url) as led:
        led.migrate()
        with led.engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(mc, SQLModel.metadata) == []
            command.check(led.alembic_config(conn))  # raises if autogenerate finds anything


def _alembic(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REMINDER_ALEMBIC_URL"}
    if url:
        env["REMINDER_ALEMBIC_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_alembic_check_command_passes_and_leaves_no_file() -> None:
    """`alembic check` with the repository's alembic.ini passes on its in-memory scratch
    database (brought to head first) and writes nothing into the repository."""
    before = set(REPO.glob("*.db*"))
    done = _alembic("check")
    assert done.returncode == 0, done.stderr
    assert "No new upgrade operations detected" in done.stdout
    assert set(REPO.glob("*.db*")) == before


def test_alembic_command_line_on_a_file_database(tmp_path: Path) -> None:
    """With REMINDER_ALEMBIC_URL, check refuses a fresh file until `upgrade head` is run."""
    db = url(tmp_path, "cli.db")
    assert "not up to date" in _alembic("check", url=db).stderr
    assert _alembic("upgrade", "head", url=db).returncode == 0
    done = _alembic("check", url=db)
    assert done.returncode == 0, done.stderr
    assert _version(tmp_path / "cli.db") == [_head()]


def test_unsupported_database_is_refused() -> None:
    """Only sqlite and postgresql URLs are accepted."""
    with pytest.raises(LedgerError, match="unsupported"):
        Ledger("mysql+pymysql://u:p@localhost/x")


# -- scale --------------------------------------------------------------------------------


def test_batch_claim_of_5000_is_fast(ledger: Ledger) -> None:
    """5,000 new keys are claimed in one call (one transaction), well within seconds."""
    rs = [rem(i) for i in range(5000)]
    t = time.perf_counter()
    won = ledger.claim(rs, T0)
    first = time.perf_counter() - t
    t = time.perf_counter()
    again = ledger.claim(rs, T0)
    second = time.perf_counter() - t
    print(f"\nclaim 5,000 new: {first:.3f} s; claim the same 5,000 again: {second:.3f} s")
    assert len(won) == 5000 and again == []
    assert first < 10 and second < 10
    with ledger.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM delivery")).scalar() == 5000


def test_first_activity_is_the_first_rows_creation(ledger: Ledger) -> None:
    """first_activity() is None on an empty ledger, then the instant of the first row, unchanged later."""
    assert ledger.first_activity() is None
    ledger.claim([rem(1)], T0)
    ledger.claim([rem(2)], T0 + timedelta(hours=3))
    assert ledger.first_activity() == T0

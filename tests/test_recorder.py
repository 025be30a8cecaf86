"""The sent-mark recorder against a real SQLite ledger: groups, the unrecorded bound, and a
ledger that refuses writes (a full database) holding every send back until it accepts them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FullDisk
from test_ledger import T0, rem

from reminder.ledger import Ledger, Status
from reminder.recorder import GROUP_KEYS, Recorder


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A migrated ledger on a temp SQLite file with 300 claimed (SENDING) rows."""
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    led.migrate()
    led.claim([rem(i) for i in range(300)], T0)
    yield led
    led.close()


def spy_groups(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the number of keys of every record_sent call (one call = one transaction)."""
    sizes: list[int] = []
    real = ledger.record_sent

    def record_sent(marks: Any) -> None:
        real(marks)
        sizes.append(sum(len(m.keys) for m in marks))

    monkeypatch.setattr(ledger, "record_sent", record_sent)
    return sizes


async def test_marks_are_committed_in_groups_of_at_most_32_keys(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 marks added as fast as they come: every commit holds ≤ 32 keys, all are recorded."""
    sizes = spy_groups(ledger, monkeypatch)
    recorder = Recorder(ledger)
    for i in range(200):
        await recorder.admit()
        await recorder.sent([rem(i).key], T0, f"note {i}", None)
        assert recorder.unrecorded <= GROUP_KEYS
    await recorder.close()
    assert sum(sizes) == 200 and max(sizes) <= GROUP_KEYS
    assert len(sizes) < 200 / 4, "marks should share commits"
    rows = {d.key: d for d in ledger.history(limit=1000)}
    assert all(rows[rem(i).key].status is Status.SENT for i in range(200))
    assert rows[rem(7).key].note == "note 7"


async def test_a_lone_mark_is_committed_after_the_group_wait_without_closing(
    ledger: Ledger,
) -> None:
    """One mark and nothing after it: it reaches the ledger after ~50 ms, not only at close()."""
    recorder = Recorder(ledger, group_wait=0.05)
    await recorder.sent([rem(1).key], T0, "", None)
    for _ in range(200):  # up to 10 s on a very busy machine
        await asyncio.sleep(0.05)
        if ledger.known_keys([rem(1).key]) == {rem(1).key: Status.SENT}:
            break
    assert ledger.known_keys([rem(1).key]) == {rem(1).key: Status.SENT}
    await recorder.close()


async def test_a_full_group_holds_the_next_send_until_it_is_committed(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 32 keys unrecorded (the commit is slow), admit() waits until they are committed."""
    real = ledger.record_sent
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_record_sent(marks: Any) -> None:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        real(marks)

    monkeypatch.setattr(ledger, "record_sent", slow_record_sent)
    recorder = Recorder(ledger, group_wait=10)
    await recorder.sent([rem(i).key for i in range(GROUP_KEYS)], T0, "", None)
    admitted = asyncio.create_task(recorder.admit())
    await asyncio.sleep(0.3)
    assert not admitted.done(), "a send left while a whole group was unrecorded"
    release.set()
    await asyncio.wait_for(admitted, 10)
    await recorder.close()
    assert set(ledger.known_keys(rem(i).key for i in range(GROUP_KEYS)).values()) == {Status.SENT}


async def test_full_ledger_stops_sends_until_it_accepts_writes_and_says_so_once(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """A full database: admit() blocks from the first refused commit on, the ledger logs the
    reason once (ERROR) and the recovery once; lifting it records the marks and reopens."""
    caplog.set_level(logging.INFO)
    disk = FullDisk(ledger.engine)
    recorder = Recorder(ledger, group_wait=0.01, retry_first=0.05, retry_max=0.1)
    disk.on = True
    sent = 0
    blocked = False
    for i in range(100):
        try:
            await asyncio.wait_for(recorder.admit(), 1.0)
        except TimeoutError:
            blocked = True
            break
        await recorder.sent([rem(i).key, rem(200 + i).key], T0, "SMTP 250 " + "x" * 80, None)
        sent += 1
        await asyncio.sleep(0.005)  # the wire
    assert blocked, "sends went on while the ledger refused to record them"
    assert sent * 2 <= GROUP_KEYS + 2  # at most one group (+ the message in flight) unrecorded
    await asyncio.sleep(0.5)  # several refused retries
    assert disk.refused >= 3

    disk.on = False
    await asyncio.wait_for(recorder.admit(), 10)
    await recorder.close()
    marked = ledger.known_keys(k for i in range(sent) for k in (rem(i).key, rem(200 + i).key))
    assert set(marked.values()) == {Status.SENT} and len(marked) == 2 * sent
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "refuses writes (database or disk is full)" in errors[0].getMessage()
    assert "Traceback" not in caplog.text
    recovered = [m for m in caplog.messages if "accepts writes again" in m]
    assert len(recovered) == 1


async def test_abandon_gives_up_quickly_on_a_full_ledger(ledger: Ledger) -> None:
    """Stopping while the ledger is full: abandon() returns within seconds, rows stay SENDING."""
    disk = FullDisk(ledger.engine)
    disk.on = True
    recorder = Recorder(ledger, group_wait=0.0, retry_first=0.05)
    await recorder.sent([rem(1).key], T0, "n" * 200, None)
    await asyncio.sleep(0.3)
    await asyncio.wait_for(recorder.abandon(), 8)
    assert ledger.known_keys([rem(1).key]) == {rem(1).key: Status.SENDING}

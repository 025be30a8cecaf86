"""Zalo: throughput against the fake Zalo Bot API's allowed rate, and the poller's idle cost.

Throughput. Path: one `Dispatcher.cycle(now)` on a synthetic config (plan → claim → render →
ZaloChannel → mark sent): N agencies, each with its own Zalo chat, one reminder each, all
due at one instant — a burst of N messages (3,000; --quick 300). The fake (bench/
zalo_server.py, its own process) allows RATE messages a second for the bot (429 +
retry_after above it) and logs each request with its arrival time; the channel is set to
the same `send_per_second`. Allowed = RATE. Achieved = N / (time from the start of the
cycle, planning included, to the last delivery); also the deliveries' own span rate.
Goal: achieved / allowed ≥ 0.95, no message lost or sent twice.

Idle cost. The ZaloPoller alone in this process, long polling the fake (which holds an
empty poll POLL_WAIT seconds, then answers 408 as the real server does), watched for
`seconds`: CPU seconds of this process (time.process_time) and getUpdates calls the
server received (a poll held over the window's edge counts when it starts).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from typing import Any

from bench.common import say, start_server, tmpdir
from bench.synth import DUE_AT, dispatch_config

RATE = 50  # messages a second the fake allows, and the channel's send_per_second
POLL_WAIT = 30  # seconds the fake holds an empty long poll (the poller asks for 30)


class FakeZalo:
    def __init__(self, *args: str) -> None:
        self.proc, fields = start_server("bench.zalo_server", "the fake Zalo Bot API", *args)
        self.base_url, self.token = fields[0], fields[1]

    def dump(self) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("dump\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        try:
            assert self.proc.stdin
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


async def _cycle(settings: Any, db: str) -> tuple[float, float, Any, dict[str, int]]:
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Ledger

    ledger = Ledger(db, lease=settings.lease)
    ledger.migrate()
    try:
        dispatcher = Dispatcher(settings, ledger)
        t0 = time.monotonic()
        outcome = await dispatcher.cycle(DUE_AT)
        t1 = time.monotonic()
        statuses = Counter(str(d.status) for d in ledger.history(limit=10**7))
    finally:
        ledger.close()
    return t0, t1, outcome, dict(statuses)


def throughput(quick: bool) -> dict[str, Any]:
    n = 300 if quick else 3000
    say(
        f"\n== Zalo throughput: a burst of {n} messages to {n} chats, the fake allowing {RATE}/s =="
    )
    api = FakeZalo("--rate", str(RATE))
    try:
        with tmpdir("zalo") as folder:
            os.environ["BENCH_ZALO_TOKEN"] = api.token
            config = dispatch_config(folder, n, zalo_url=api.base_url, zalo_rate=RATE)
            from reminder.config import load

            settings = load(config)
            t0, t1, outcome, statuses = asyncio.run(_cycle(settings, f"sqlite:///{folder}/l.db"))
        data = api.dump()
    finally:
        api.close()
    sent = data["sent"]
    delivered = Counter(chat for chat, _at in sent)
    lost = n - len(delivered)
    duplicates = sum(c - 1 for c in delivered.values() if c > 1)
    refused = sum(1 for _at, _chat, status in data["log"] if status == 429)
    errors = sum(1 for _at, _chat, status in data["log"] if status not in (200, 429))
    first = min(at for _c, at in sent)
    last = max(at for _c, at in sent)
    achieved = len(sent) / (last - t0)
    span = len(sent) / (last - first) if last > first else float("nan")
    res = {
        "n": n,
        "allowed_msgs_s": RATE,
        "cycle_s": round(t1 - t0, 2),
        "first_delivery_after_s": round(first - t0, 2),
        "achieved_msgs_s": round(achieved, 2),
        "span_msgs_s": round(span, 2),
        "zalo_vs_limit": round(achieved / RATE, 3),
        "zalo_429s": refused,
        "zalo_lost": lost,
        "zalo_duplicates": duplicates,
        "other_errors": errors,
        "outcome": str(outcome),
        "ledger": statuses,
    }
    say(
        f"  cycle {t1 - t0:.1f} s; first delivery after {first - t0:.2f} s, last after "
        f"{last - t0:.1f} s: {achieved:.2f} msg/s = {achieved / RATE:.3f} of allowed (goal ≥ "
        f"0.95); deliveries alone {span:.2f} msg/s"
    )
    say(
        f"  429s: {refused}; lost: {lost}; duplicates: {duplicates}; other errors: {errors}; ledger: {statuses}"
    )
    return res


async def _idle(api: FakeZalo, seconds: float) -> tuple[float, int]:
    from reminder.channels.zalo_poll import ZaloPoller
    from reminder.model import ZaloSettings

    class Nobody:
        async def on_press(self, press: Any) -> Any: ...
        async def on_command(self, *a: Any) -> None: ...
        async def on_text(self, *a: Any) -> None: ...
        async def on_chat(self, *a: Any) -> None: ...

    poller = ZaloPoller(ZaloSettings(api.token, api.base_url, 30.0, poll=True), Nobody())
    await poller.start()
    await asyncio.sleep(1.0)  # the first poll is out
    cpu0, polls0 = time.process_time(), api.dump()["polls"]
    await asyncio.sleep(seconds)
    cpu, polls = time.process_time() - cpu0, api.dump()["polls"] - polls0
    await poller.stop()
    return cpu, polls


def idle(quick: bool) -> dict[str, Any]:
    seconds = 30.0 if quick else 120.0
    say(f"\n== Zalo poller idle cost: {seconds:.0f} s of long polling with no update ==")
    api = FakeZalo("--poll-wait", str(POLL_WAIT))
    try:
        cpu, polls = asyncio.run(_idle(api, seconds))
    finally:
        api.close()
    per_min = 60.0 / seconds
    res = {
        "seconds": seconds,
        "zalo_idle_cpu_s_per_min": round(cpu * per_min, 4),
        "zalo_idle_polls_per_min": round(polls * per_min, 2),
    }
    say(
        f"  CPU {cpu * per_min * 1000:.1f} ms a minute; {polls * per_min:.1f} getUpdates a "
        f"minute (each held {POLL_WAIT} s by the server)"
    )
    return res


def run(quick: bool) -> dict[str, Any]:
    return {**throughput(quick), **idle(quick)}


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

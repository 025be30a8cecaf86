"""2. Telegram throughput against the fake Bot API enforcing the real limits.

Path: one `Dispatcher.cycle(now)` on a synthetic config (the real dispatch path: plan →
claim → render → TelegramChannel → mark sent). 10 messages per chat come from 10 distinct
agencies sharing each chat: the digest key is (agency, channel, address), so they stay 10
messages (no merging), and one cycle sends all of them. Chats: every third is a supergroup
("-100…"), the others private chats.

The fake (bench/tg_server.py, its own process) answers 429 + retry_after whenever a request
would exceed 30 msg/s overall, 1 msg/s per chat or 20 msg/min per group, and logs every
request with its arrival time.

Allowed rate: computed from the three limits for this very mix of chats, by simulating an
ideal sender that knows the limits exactly, has no latency and always sends the message that
may go earliest: allowed = N / (its first-to-last span). Each limit alone is reported too
(overall: (⌈N/30⌉−1) s; a chat: (n−1) s; a group: (⌈n/20⌉−1) min). Achieved = N / (time from
the start of the cycle, planning included, to the last delivery). A 429 is honoured when the
next request to that chat comes at least retry_after seconds after it. Lost = messages
expected at a chat that never arrived there (whatever the ledger says).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import math
import os
import subprocess
import time
from collections import Counter, defaultdict, deque
from typing import Any

from bench.common import say, start_server, tmpdir
from bench.synth import DUE_AT, chat_ids, dispatch_config

OVERALL, PER_CHAT, PER_GROUP = (30, 1.0), (1, 1.0), (20, 60.0)


def is_group(chat: str) -> bool:
    return chat.startswith("-") or chat.startswith("@")


def ideal_schedule(per_chat: dict[str, int]) -> list[float]:
    """Send instants of an ideal sender that knows the three limits exactly, has no latency
    and always sends the message that can go earliest (ties: the chat with most left)."""
    (o_n, o_s), (c_n, c_s), (g_n, g_s) = OVERALL, PER_CHAT, PER_GROUP
    overall: deque[float] = deque()
    windows: dict[str, tuple[deque[float], deque[float]]] = {
        c: (deque(), deque()) for c in per_chat
    }
    left = dict(per_chat)
    heap = [(0.0, -n, c) for c, n in per_chat.items() if n]
    heapq.heapify(heap)
    out: list[float] = []
    while heap:
        ready, _, chat = heapq.heappop(heap)
        at = ready
        if len(overall) == o_n:
            at = max(at, overall[0] + o_s)
        out.append(at)
        overall.append(at)
        if len(overall) > o_n:
            overall.popleft()
        mine, group = windows[chat]
        mine.append(at)
        if len(mine) > c_n:
            mine.popleft()
        nxt = mine[0] + c_s if len(mine) == c_n else at
        if is_group(chat):
            group.append(at)
            if len(group) > g_n:
                group.popleft()
            if len(group) == g_n:
                nxt = max(nxt, group[0] + g_s)
        left[chat] -= 1
        if left[chat]:
            heapq.heappush(heap, (nxt, -left[chat], chat))
    return out


def limit_bounds(per_chat: dict[str, int]) -> dict[str, float]:
    """For each limit alone, the least span (first to last send) it allows."""
    n = sum(per_chat.values())
    return {
        "overall 30/s": (math.ceil(n / OVERALL[0]) - 1) * OVERALL[1],
        "per chat 1/s": max((c - 1) * PER_CHAT[1] for c in per_chat.values()),
        "per group 20/min": max(
            ((math.ceil(c / PER_GROUP[0]) - 1) * PER_GROUP[1]
             for ch, c in per_chat.items() if is_group(ch)),
            default=0.0,
        ),
    }  # fmt: skip


class FakeAPI:
    def __init__(self) -> None:
        self.proc, fields = start_server("bench.tg_server", "the fake Bot API")
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


def run(quick: bool) -> dict[str, Any]:
    n_chats = 30 if quick else 300
    per_chat = 10
    n = n_chats * per_chat
    chats = chat_ids(n_chats, groups_every=3)
    groups = sum(map(is_group, chats))
    expected = {c: per_chat for c in chats}
    schedule = ideal_schedule(expected)
    t_allowed = max(schedule) - min(schedule)
    bounds = limit_bounds(expected)
    binding = max(bounds, key=lambda k: bounds[k])
    allowed_rate = n / t_allowed
    say(
        f"\n== 2. Telegram throughput: {n} messages to {n_chats} chats "
        f"({groups} groups, {n_chats - groups} private), {per_chat} each =="
    )
    say(
        f"  allowed: an ideal sender needs {t_allowed:.1f} s from first to last message "
        f"→ {allowed_rate:.2f} msg/s (each limit alone: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in bounds.items())
        + ")"
    )
    api = FakeAPI()
    try:
        with tmpdir("telegram") as folder:
            os.environ["BENCH_TELEGRAM_TOKEN"] = api.token
            # a task's recipients must not share a chat (they would be one recipient)
            config = dispatch_config(
                folder, n, per_task=min(5, n_chats), telegram_url=api.base_url, chats=chats
            )
            from reminder.config import load

            settings = load(config)
            t0, t1, outcome, statuses = asyncio.run(_cycle(settings, f"sqlite:///{folder}/l.db"))
        data = api.dump()
    finally:
        api.close()

    sent = data["sent"]
    log = data["log"]
    delivered = Counter(chat for chat, _at in sent)
    lost = sum(max(0, expected[c] - delivered.get(c, 0)) for c in expected)
    duplicates = sum(max(0, delivered[c] - expected.get(c, 0)) for c in delivered)
    floods = [(at, chat, ra) for at, chat, status, ra in log if status == 429]
    by_chat: dict[str, list[float]] = defaultdict(list)
    for at, chat, _status, _ra in log:
        by_chat[chat].append(at)
    violations = 0
    for at, chat, ra in floods:
        later = [t for t in by_chat[chat] if t > at]
        if later and min(later) < at + ra - 0.05:
            violations += 1
    elapsed = t1 - t0
    first = min(at for _c, at in sent) if sent else t0
    last = max(at for _c, at in sent) if sent else t1
    # like the ideal sender's span, but counted from the start of the cycle (planning,
    # claiming and rendering included) to the last delivery
    achieved = len(sent) / (last - t0)
    span_rate = len(sent) / (last - first) if last > first else float("nan")
    kinds = Counter(
        "group" if is_group(chat) else "private" for _at, chat, status, _ra in log if status == 429
    )
    errors = sum(1 for _at, _c, status, _ra in log if status not in (200, 429))
    res = {
        "n": n,
        "chats": n_chats,
        "groups": groups,
        "allowed_msgs_s": round(allowed_rate, 2),
        "binding_limit": binding,
        "cycle_s": round(elapsed, 2),
        "first_delivery_after_s": round(first - t0, 2),
        "delivery_span_s": round(last - first, 2),
        "achieved_msgs_s": round(achieved, 2),
        "span_msgs_s": round(span_rate, 2),
        "planned": outcome.sent + outcome.failed + outcome.gave_up,
        "429_chats": dict(kinds),
        "telegram_vs_limit": round(achieved / allowed_rate, 3),
        "telegram_429s": len(floods),
        "telegram_429_not_honoured": violations,
        "telegram_lost": lost,
        "telegram_duplicates": duplicates,
        "other_errors": errors,
        "outcome": str(outcome),
        "ledger": statuses,
    }
    say(
        f"  cycle {elapsed:.1f} s; first delivery after {first - t0:.2f} s, last after "
        f"{last - t0:.1f} s: {achieved:.2f} msg/s = {achieved / allowed_rate:.3f} of allowed "
        f"(goal ≥ 0.9); deliveries alone {span_rate:.2f} msg/s"
    )
    say(
        f"  429s received: {len(floods)} {dict(kinds)} (not honoured: {violations}); lost: {lost}; "
        f"duplicates: {duplicates}; other errors: {errors}; ledger: {statuses}"
    )
    return res


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

"""3b. The daemon's own work per wake-up: the shipped catalog and a 1,000-task one.

What the daemon does at each wake-up (daemon.Daemon.cycle): `Dispatcher.cycle(now)` (plan
the catch-up window and, on a start, the missed ones before it; claim; render; hand each
message to its channel; record the sent marks) and then `next_wakeup(now)` for the next
timer. Here the channels accept every message at once, so the figure is the daemon's own
work, not the network's (the email and Telegram runs measure sending); the time spent
rendering the messages is reported beside it.

In a fresh process (`python -m bench.wakeup --child N W`), a Dispatcher on bench/synth's
catalog of N tasks (50 agencies, e-mail and Telegram addresses, the shipped ladders), the
shipped settings otherwise (escalation and weekly summary included), an SQLite ledger in /tmp. The process starts on 02/03/2026 07:00, then steps as the daemon
does: it wakes at each next due instant the dispatcher names, and twice more 5 and 10
minutes later, as the safety sweep does (nothing due then). The start-up cycle is reported apart; "due" is
the median over the wake-ups that sent something, "sweep" over those that had nothing to
do; each with the process's CPU time beside the wall time (a busy machine stretches the
latter). The shipped-size catalog (11 tasks) is the same-run baseline.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bench.common import PYTHON, REPO, child_env, median, percentile, say, tmpdir

START = "2026-03-02T07:00:00+07:00"
SWEEP = timedelta(minutes=5)


class _Accept:
    """A channel that takes every message at once."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def open(self) -> None:
        return None

    async def send(self, message: object) -> Any:
        from reminder.channels.base import Receipt

        return Receipt(note="accepted")

    async def close(self) -> None:
        return None


def child(n_tasks: int, wakeups: int) -> dict[str, Any]:
    from bench.synth import catalog
    from reminder.config import load
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Ledger

    with tmpdir("wakeup") as folder:
        shipped = load(REPO / "config.toml")
        cat = catalog(n_tasks)
        # the shipped agencies too: the shipped escalation and weekly summary address them
        cat = replace(cat, agencies={**shipped.catalog.agencies, **cat.agencies})
        settings = replace(shipped, catalog=cat, database_url=f"sqlite:///{folder / 'ledger.db'}")
        ledger = Ledger(settings.database_url, lease=settings.lease)
        ledger.migrate()
        channels: dict[str, Any] = {"email": _Accept("email"), "telegram": _Accept("telegram")}
        dispatcher = Dispatcher(settings, ledger, channels=channels)
        dispatcher.renderer = _TimedRenderer(dispatcher.renderer)  # type: ignore[assignment]
        return asyncio.run(_steps(dispatcher, datetime.fromisoformat(START), wakeups))


class _TimedRenderer:
    """The dispatcher's renderer, adding up the wall time spent rendering."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def render(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self.inner.render, *args, **kwargs)

    def render_followup(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self.inner.render_followup, *args, **kwargs)

    def _timed(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


async def _steps(dispatcher: Any, now: datetime, wakeups: int) -> dict[str, Any]:
    """Wake as the daemon does; time each wake-up (cycle + next_wakeup)."""
    due: list[float] = []
    rendering: list[float] = []
    sweeps: list[float] = []
    due_cpu: list[float] = []
    sweep_cpu: list[float] = []
    start_ms = 0.0
    messages = swept = 0
    for i in range(wakeups):
        dispatcher.renderer.seconds = 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        outcome = await dispatcher.cycle(now)
        found = await asyncio.to_thread(dispatcher.next_wakeup, now)
        ms = (time.perf_counter() - t0) * 1000
        cpu_ms = (time.process_time() - c0) * 1000  # all threads of the process
        messages += outcome.messages
        if i == 0:
            start_ms = ms
        elif outcome.messages:
            due.append(ms)
            due_cpu.append(cpu_ms)
            rendering.append(dispatcher.renderer.seconds * 1000)
        else:
            sweeps.append(ms)
            sweep_cpu.append(cpu_ms)
        nxt = found[0] if found else now + timedelta(days=2)
        # two sweeps after each due wake-up, then on to the next due instant
        if outcome.messages or i == 0:
            swept = 0
        if swept < 2 and now + SWEEP < nxt:
            swept += 1
            now += SWEEP
        else:
            now = max(nxt, now + timedelta(microseconds=1))
    return {
        "tasks": len(dispatcher.settings.catalog.tasks),
        "wakeups": wakeups,
        "messages": messages,
        "start_ms": round(start_ms, 1),
        "due_ms": round(median(due), 1) if due else None,
        "due_p95_ms": round(percentile(due, 95), 1) if due else None,
        "due_cpu_ms": round(median(due_cpu), 1) if due_cpu else None,
        "due_render_ms": round(median(rendering), 1) if rendering else None,
        "due_n": len(due),
        "sweep_ms": round(median(sweeps), 1) if sweeps else None,
        "sweep_cpu_ms": round(median(sweep_cpu), 1) if sweep_cpu else None,
        "sweep_n": len(sweeps),
        "until": now.isoformat(),
    }


def _run_child(n: int, wakeups: int) -> dict[str, Any]:
    out = subprocess.run(
        [PYTHON, "-m", "bench.wakeup", "--child", str(n), str(wakeups)],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(quick: bool) -> dict[str, Any]:
    wakeups = 120 if quick else 400
    say(f"\n== 3b. Daemon work per wake-up (cycle + next wake-up), {wakeups} wake-ups ==")
    rows = {}
    for n in (11, 1000):
        row = _run_child(n, wakeups)
        rows[str(n)] = row
        say(
            f"  {n:5d} tasks: start-up {row['start_ms']:7.1f} ms; due wake-up median "
            f"{row['due_ms']} ms ({row['due_cpu_ms']} ms CPU, rendering "
            f"{row['due_render_ms']} ms; p95 {row['due_p95_ms']}, "
            f"n={row['due_n']}); sweep median {row['sweep_ms']} ms ({row['sweep_cpu_ms']} ms "
            f"CPU, n={row['sweep_n']}); {row['messages']} messages, until {row['until'][:16]}"
        )
    one_k = rows["1000"]
    res: dict[str, Any] = {"sizes": rows, "wakeup_1k_ms": one_k["due_ms"]}
    res["wakeup_1k_cpu_ms"] = one_k["due_cpu_ms"]
    res["wakeup_1k_render_ms"] = one_k["due_render_ms"]
    res["wakeup_1k_sweep_ms"] = one_k["sweep_ms"]
    say(
        f"  → 1,000 tasks: {one_k['due_ms']} ms per due wake-up ({one_k['due_render_ms']} ms of "
        f"it rendering {one_k['messages'] / max(one_k['due_n'] + 1, 1):.0f} messages), "
        f"{one_k['sweep_ms']} ms per sweep (goal ≤ 50 ms)"
    )
    return res


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        run("--quick" in sys.argv)

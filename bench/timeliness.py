"""5. Timeliness: how long after its instant a due reminder reaches the SMTP server.

A synthetic config (bench/synth.py) gives 50 agencies one reminder each at DUE_AT (15/12/2026 08:00, the
calendar's send time: every reminder of a day shares that instant). The daemon (`reminder
run`, a subprocess, SMTP transport to the sink process) is started with `--now` a few seconds
before DUE_AT, so it starts, finds nothing due, and sets its wake-up for DUE_AT. The sink
records each message's receipt time (time.time()).

The instant, in real time, is when the daemon's shifted clock reads DUE_AT. The daemon sets
its clock offset when it starts (not exactly when it was launched), so that real instant is
taken from the daemon's own APScheduler DEBUG line ('Running job "Daemon._wake …" (scheduled
at <real instant, µs>)'). Delay = receipt − that instant, per message. Full mode repeats
the run 3 times (150 messages).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from datetime import datetime, timedelta
from typing import Any

from bench.common import REMINDER, Sink, child_env, percentile, say, tmpdir
from bench.synth import DUE_AT, dispatch_config

SCHEDULED = re.compile(r'Running job "Daemon\._wake[^"]*" \(scheduled at ([^)]+)\)')


def _one(lead_s: float, n: int) -> tuple[list[float], dict[str, Any]]:
    with tmpdir("timely") as folder, Sink() as sink:
        config = dispatch_config(folder, n, smtp_port=sink.port)
        log_path = folder / "daemon.log"
        with log_path.open("wb") as log:
            fake_now = DUE_AT - timedelta(seconds=lead_s)
            t_launch = time.time()
            proc = subprocess.Popen(
                [REMINDER, "--config", str(config), "--log-level", "DEBUG", "run",
                 "--now", fake_now.isoformat()],
                cwd=folder,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
            try:
                got = sink.wait_for(n, timeout=lead_s + 60)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(40)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        text = log_path.read_text(encoding="utf-8", errors="replace")
        records = sink.records()
        connections = sink.connections()
    if got != n:
        raise RuntimeError(f"timeliness: {got} of {n} messages arrived; log:\n{text[-3000:]}")
    m = SCHEDULED.search(text)
    if m is None:
        raise RuntimeError(f"no APScheduler 'Running job' line for the wake-up:\n{text[-3000:]}")
    instant = datetime.fromisoformat(m.group(1)).timestamp()
    delays = [rec[0] - instant for rec in records]
    info = {
        "clock_set_after_launch_s": round(instant - lead_s - t_launch, 3),
        "first_s": round(min(delays), 3),
        "last_s": round(max(delays), 3),
        "connections": connections,
    }
    return delays, info


def run(quick: bool) -> dict[str, Any]:
    reps, lead, n = (1, 4.0, 50) if quick else (3, 6.0, 50)
    say(f"\n== 5. Timeliness: {n} reminders due {lead:.0f} s after the daemon's start, ×{reps} ==")
    delays: list[float] = []
    runs = []
    for _ in range(reps):
        d, info = _one(lead, n)
        delays += d
        runs.append(info)
        say(
            f"  run: first message {info['first_s'] * 1000:.0f} ms after the instant, last "
            f"{info['last_s'] * 1000:.0f} ms ({info['connections']} SMTP connection(s); the "
            f"daemon set its clock {info['clock_set_after_launch_s']:.2f} s after launch)"
        )
    res = {
        "messages": len(delays),
        "timely_p50_s": round(percentile(delays, 50), 3),
        "timely_p95_s": round(percentile(delays, 95), 3),
        "timely_max_s": round(max(delays), 3),
        "runs": runs,
    }
    say(
        f"  → delay p50 {res['timely_p50_s']:.3f} s, p95 {res['timely_p95_s']:.3f} s "
        f"(goal ≤ 1 s), max {res['timely_max_s']:.3f} s over {len(delays)} messages"
    )
    return res


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

"""4. Idle cost of the daemon on the shipped config.

`reminder run --now 2026-05-12T09:00:00+07:00 --log-level DEBUG` on a copy of config.toml in
a /tmp folder (outbox transport, SQLite ledger there): on the shipped plan nothing is due
from then until 15/06/2026, so after its start-up cycle the daemon only waits. Once it has
logged its first schedule (and 1 s more), it is watched for `seconds`:

- CPU seconds: utime + stime of the process (all threads) from /proc/<pid>/stat;
- wake-ups: voluntary context switches summed over its threads (/proc/<pid>/task/*/status):
  a thread that wakes up and blocks again counts at least one; and the daemon's own DEBUG
  log lines in the window (APScheduler logs "Looking for jobs to run" at every wake-up);
- peak RSS: VmHWM from /proc/<pid>/status (the whole life, start-up included).

Two daemons are watched in the same window: one started as installed here (the venv's
bytecode compiled by uv, the project's modules compiled at start), one compiling every
module from source (a venv without bytecode; see bench/common.py). Baselines in
the same window validate the counters: `signal.pause()` (never wakes) and a loop of
`time.sleep(1)` (60 wake-ups a minute).

The window may overlap another measurement: an idle daemon's own counters do not depend on
what else runs. The "after" reading is taken by a timer thread at exactly `seconds`.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    REMINDER,
    REPO,
    child_env,
    proc_cpu_seconds,
    proc_kb,
    proc_switches,
    say,
    tmpdir,
)

QUIET_NOW = "2026-05-12T09:00:00+07:00"
# what the daemon logs once its start-up cycle has set (or decided not to set) a wake-up
READY_LINES = ("next wake-up at", "next reminders at", "nothing due in the next")


def _voluntary(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> int:
    return sum(after[t][0] - before.get(t, (0, 0))[0] for t in after)


class Daemon:
    """`reminder run` on a copy of the shipped config, logging at DEBUG to a file."""

    def __init__(self, folder: Path, *, bytecode: str = "installed") -> None:
        folder.mkdir()
        shutil.copy(REPO / "config.toml", folder / "config.toml")
        shutil.copytree(REPO / "plans", folder / "plans")  # the seed plan's tasks
        self.log_path = folder / "daemon.log"
        self._log = self.log_path.open("wb")
        self.t_launch = time.monotonic()
        self.proc = subprocess.Popen(
            [REMINDER, "--config", str(folder / "config.toml"), "--log-level", "DEBUG", "run",
             "--now", QUIET_NOW],
            cwd=folder,
            env=child_env(bytecode),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )  # fmt: skip
        try:
            self.ready_s = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_cpu = proc_cpu_seconds(self.proc.pid)

    def lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def _wait_ready(self) -> float:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited: {self.log_path.read_text()[-2000:]}")
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            if any(line in text for line in READY_LINES):
                return time.monotonic() - self.t_launch
            time.sleep(0.05)
        raise RuntimeError("the daemon did not schedule a wake-up within 60 s")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._log.close()
        return code


class IdleRun:
    """Start the daemons and baselines now; `finish()` waits for the window and reports."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._tmp = tmpdir("idle")
        folder = self._tmp.__enter__()
        self.daemons: dict[str, Daemon] = {}
        try:
            self.daemons["as installed"] = Daemon(folder / "installed")
            self.daemons["no bytecode"] = Daemon(folder / "none", bytecode="none")
        except BaseException:
            for daemon in self.daemons.values():
                daemon.stop()
            self._tmp.__exit__(None, None, None)
            raise
        time.sleep(1.0)  # let the start-up threads settle
        self.baselines = {
            "signal.pause()": subprocess.Popen(
                [PYTHON, "-c", "import signal; signal.pause()"], env=child_env()
            ),
            "sleep(1) loop": subprocess.Popen(
                [PYTHON, "-c", "import time\nwhile True: time.sleep(1)"], env=child_env()
            ),
        }
        time.sleep(0.5)
        self.before = self._read()
        self.t0 = time.monotonic()
        self.after: dict[str, dict[str, Any]] = {}
        self._timer = threading.Timer(self.seconds, self._take_after)
        self._timer.start()

    def _pids(self) -> dict[str, int]:
        out = {name: d.proc.pid for name, d in self.daemons.items()}
        out.update({name: p.pid for name, p in self.baselines.items()})
        return out

    def _read(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, pid in self._pids().items():
            out[name] = {
                "t": time.monotonic(),
                "cpu": proc_cpu_seconds(pid),
                "switches": proc_switches(pid),
                "hwm_kb": proc_kb(pid, "VmHWM"),
                "rss_kb": proc_kb(pid, "VmRSS"),
                "lines": len(self.daemons[name].lines()) if name in self.daemons else 0,
            }
        return out

    def _take_after(self) -> None:
        self.after = self._read()

    def finish(self) -> dict[str, Any]:
        self._timer.join()
        for p in self.baselines.values():
            p.kill()
            p.wait()
        res: dict[str, Any] = {}
        rows = {}
        for name, _pid in self._pids().items():
            b, a = self.before[name], self.after[name]
            window = a["t"] - b["t"]
            rows[name] = {
                "window_s": round(window, 1),
                "cpu_s": round(a["cpu"] - b["cpu"], 3),
                "voluntary_switches": _voluntary(b["switches"], a["switches"]),
                "wakeups_per_min": round(_voluntary(b["switches"], a["switches"]) * 60 / window, 2),
                "threads": len(a["switches"]),
                "peak_rss_mb": round(a["hwm_kb"] / 1024, 1),
                "rss_mb": round(a["rss_kb"] / 1024, 1),
            }
            if name in self.daemons:
                d = self.daemons[name]
                new = d.lines()[b["lines"] : a["lines"]]
                rows[name].update(
                    ready_s=round(d.ready_s, 2),
                    startup_cpu_s=round(d.startup_cpu, 2),
                    log_lines=len(new),
                    scheduler_wakeups=sum("Looking for jobs to run" in x for x in new),
                    exit_code=d.stop(),
                )
        self._tmp.__exit__(None, None, None)
        main = rows["as installed"]
        res.update(
            idle_cpu_s=main["cpu_s"],
            idle_wakeups_per_min=main["wakeups_per_min"],
            idle_rss_mb=main["peak_rss_mb"],
            idle_rss_no_bytecode_mb=rows["no bytecode"]["peak_rss_mb"],
            daemons=rows,
        )
        say(
            f"\n== 4. Idle daemon, shipped config, --now {QUIET_NOW}, {self.seconds:.0f} s window =="
        )
        for name, r in rows.items():
            if name in self.daemons:
                say(
                    f"  daemon ({name}): ready {r['ready_s']:.2f} s after launch "
                    f"({r['startup_cpu_s']:.2f} CPU s); idle: {r['cpu_s']:.3f} CPU s, "
                    f"{r['voluntary_switches']} voluntary switches ({r['wakeups_per_min']}/min), "
                    f"{r['log_lines']} log lines, {r['scheduler_wakeups']} scheduler wake-ups; "
                    f"{r['threads']} threads; peak RSS {r['peak_rss_mb']} MB, now {r['rss_mb']} MB; "
                    f"SIGTERM → exit {r['exit_code']}"
                )
            else:
                say(f"  baseline {name}: {r['wakeups_per_min']} switches/min")
        say(
            f"  → {main['wakeups_per_min']} wake-ups/min (goal ≤ 1), peak RSS "
            f"{main['peak_rss_mb']} MB (goal ≤ 100; {rows['no bytecode']['peak_rss_mb']} MB with "
            f"no bytecode at all)"
        )
        return res


def run(quick: bool) -> dict[str, Any]:
    return IdleRun(10.0 if quick else 60.0).finish()


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

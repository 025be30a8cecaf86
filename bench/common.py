"""Helpers shared by the measurements: the sink process, /proc readings, timing, printing."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
REMINDER = str(Path(sys.executable).with_name("reminder"))  # the venv's console script
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOOPBACK = "127.0.0.1"


def say(text: str = "") -> None:
    """Print a figure as soon as it is known."""
    print(text, flush=True)


@contextmanager
def tmpdir(prefix: str) -> Iterator[Path]:
    """A fresh folder under /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"reminder-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# Bytecode. This machine's environment sets PYTHONDONTWRITEBYTECODE=1, so no process ever
# writes a .pyc; `uv sync` compiles the venv's packages at install (pyproject:
# tool.uv.compile-bytecode), but not the project's own modules (an editable install), which
# are therefore compiled at every start. Subprocesses start in one of three ways:
#   "installed": as this machine runs `uv run reminder …`: the venv's bytecode as uv compiled
#                it, the project's modules compiled at each start, nothing written;
#   "cached":    every module's bytecode cached, the project's too (PYTHONPYCACHEPREFIX in
#                /tmp, filled by warm_bytecode()): a wheel installed with compiled bytecode;
#   "none":      every module compiled from source (PYTHONPYCACHEPREFIX pointing at an empty
#                folder, nothing written): a venv installed without bytecode on a read-only
#                /usr or under PYTHONDONTWRITEBYTECODE.
PYCACHE = Path(tempfile.gettempdir()) / "reminder-bench-pycache"
# The bench's processes, and this one, keep reminder's cache (holidays, compiled templates:
# reminder.cachedir) here, not in the user's ~/.cache; a measurement may pass its own.
CACHE = Path(tempfile.gettempdir()) / "reminder-bench-cache"
os.environ.setdefault("REMINDER_CACHE_DIR", str(CACHE))
NO_PYCACHE = Path(tempfile.gettempdir()) / "reminder-bench-no-pycache"
_warmed = False


def child_env(bytecode: str = "installed", **extra: str) -> dict[str, str]:
    """The environment for subprocesses: this repo importable, no journald, no proxies,
    bytecode as `bytecode` says (see above)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    if bytecode == "cached":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    elif bytecode == "none":
        NO_PYCACHE.mkdir(exist_ok=True)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = str(NO_PYCACHE)
    elif bytecode == "installed":
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # never write .pyc into the venv or the repo
    else:
        raise ValueError(bytecode)
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def warm_bytecode() -> None:
    """Fill PYCACHE (the "cached" start) for what the subprocesses import, once per bench
    process: `reminder
    check` and `upcoming`, the channel and server modules, and a daemon start on the shipped
    config (until its first schedule)."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    from bench.idle import Daemon

    t0 = time.perf_counter()
    with tmpdir("warm") as folder:
        shutil.copy(REPO / "config.toml", folder / "config.toml")
        shutil.copytree(REPO / "plans", folder / "plans")  # the seed plan's tasks
        cfg = str(folder / "config.toml")
        imports = (
            "import aiosmtplib, aiosmtpd.smtp, aiohttp.web, apprise, reminder.cli, "
            "reminder.commands.daily, reminder.commands.ops, reminder.daemon, reminder.channels.email, "
            "reminder.channels.outbox, reminder.channels.telegram, bench.sink, bench.tg_server"
        )
        for cmd in (
            [PYTHON, "-c", imports],
            [REMINDER, "--config", cfg, "check"],
            [REMINDER, "--config", cfg, "upcoming"],
        ):
            subprocess.run(
                cmd, cwd=folder, env=child_env("cached"), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, check=False,
            )  # fmt: skip
        Daemon(folder / "daemon", bytecode="cached").stop()
    say(f"  (bytecode cache {PYCACHE} warmed in {time.perf_counter() - t0:.1f} s)")


# -- the SMTP sink ----------------------------------------------------------------------------


def start_server(module: str, what: str, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `python -m <module> [args]` (a bench server) and read its "READY <fields…>" line."""
    proc = subprocess.Popen(
        [PYTHON, "-m", module, *args],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        proc.kill()
        raise RuntimeError(f"{what} did not start")
    return proc, line[1:]


class Sink:
    """`python -m bench.sink` in its own process: an SMTP server that records receipts."""

    def __init__(self) -> None:
        self.proc, fields = start_server("bench.sink", "the SMTP sink")
        self.port, self.control_port = int(fields[0]), int(fields[1])
        self._sock = socket.create_connection((LOOPBACK, self.control_port))
        self._file = self._sock.makefile("rw", encoding="utf-8", newline="\n")

    def _ask(self, command: str) -> str:
        self._file.write(command + "\n")
        self._file.flush()
        return self._file.readline().strip()

    def count(self) -> int:
        return int(self._ask("count"))

    def connections(self) -> int:
        return int(self._ask("connections"))

    def reset(self) -> None:
        self._ask("reset")

    def records(self) -> list[tuple[float, str, list[str], int, int]]:
        """(receipt time.time(), mail_from, rcpt_tos, size, client port) per message."""
        self._file.write("dump\n")
        self._file.flush()
        out = []
        while (line := self._file.readline().strip()) != "END":
            out.append(tuple(json.loads(line)))
        return out

    def wait_for(self, n: int, timeout: float = 30.0) -> int:
        """Wait until `n` messages arrived (or the timeout); return the count."""
        deadline = time.monotonic() + timeout
        while (got := self.count()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return got

    def close(self) -> None:
        with suppress(OSError):
            self._ask("quit")
        self._sock.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- /proc ---------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the ")": state is fields[0]; utime and stime are the 14th and 15th stat fields
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid: int, task: int | None = None) -> dict[str, str]:
    path = f"/proc/{pid}/task/{task}/status" if task else f"/proc/{pid}/status"
    out = {}
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def proc_kb(pid: int, key: str) -> int:
    """A "... kB" line of /proc/<pid>/status (VmHWM, VmRSS), in kB."""
    return int(proc_status(pid)[key].split()[0])


def proc_switches(pid: int) -> dict[int, tuple[int, int]]:
    """(voluntary, involuntary) context switches of each thread of the process."""
    out = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            st = proc_status(pid, int(task))
        except FileNotFoundError:
            continue
        out[int(task)] = (
            int(st["voluntary_ctxt_switches"]),
            int(st["nonvoluntary_ctxt_switches"]),
        )
    return out


def self_hwm_mb() -> float:
    return proc_kb(os.getpid(), "VmHWM") / 1024


# -- numbers ---------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100), nearest-rank on sorted values."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def machine() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }

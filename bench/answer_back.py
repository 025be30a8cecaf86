"""7. Answer-back on: the web server and the Telegram poller must not delay reminders, and
must keep the idle daemon cheap.

a) Timeliness under attack: the timeliness run of bench/timeliness.py (50 e-mail reminders
   due a few seconds after the daemon's start, to the SMTP sink; delay = receipt − the
   daemon's own scheduled instant), with `[web] listen` on and `poll = true`, while
   - the Bot API is down: its address accepts connections and never answers (the poller's
     getMe and every Telegram send hang until their timeout);
   - 20 slow-loris connections send one header byte every 0.5 s, 5 clients connect and say
     nothing, and one client fetches a calendar feed (a planning + ledger read in a thread)
     and posts wrong passwords, back to back, for the whole run.
   The same-run baseline is the plain run (no web server, no poller, no load). The reminders
   fall due 15 s after launch, so that even a loaded machine has the daemon waiting for them.
b) Idle with both on: the shipped config, --now in a quiet stretch, web server listening and
   the poller long-polling a fake Bot API (bench/tg_server.py, long polls of 50 s), measured
   like bench/idle.py (voluntary context switches over a window, VmHWM), beside two
   same-window baselines: the shipped config as it is (outbox) and with the bot transport
   but answer-back off (python-telegram-bot loaded, nothing polled).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    REMINDER,
    REPO,
    Sink,
    child_env,
    percentile,
    proc_cpu_seconds,
    proc_kb,
    proc_switches,
    say,
    start_server,
    tmpdir,
)
from bench.idle import QUIET_NOW, READY_LINES
from bench.synth import DUE_AT, dispatch_config
from bench.timeliness import SCHEDULED

SECRET = "bench-signing-secret-0123456789"
PASSWORD = "bench-viewer-password"
TOKEN = "123456789:AAFakeTokenForTests-do-not-use_0123456"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts connections and never answers: an outage."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


class Attack:
    """Slow-loris and silent connections, and a busy client, against the web server."""

    def __init__(self, port: int, feed_path: str) -> None:
        self.port = port
        self.feed_path = feed_path
        self.stop = threading.Event()
        self.requests = 0
        self.errors = 0
        self.socks: list[socket.socket] = []
        self.threads = [
            threading.Thread(target=self._loris, daemon=True),
            threading.Thread(target=self._busy, daemon=True),
        ]

    def start(self) -> None:
        for _ in range(5):
            self.socks.append(socket.create_connection(("127.0.0.1", self.port)))
        for t in self.threads:
            t.start()

    def _loris(self) -> None:
        conns = [socket.create_connection(("127.0.0.1", self.port)) for _ in range(20)]
        self.socks += conns
        for c in conns:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        while not self.stop.wait(0.5):
            for c in conns:
                with contextlib.suppress(OSError):
                    c.sendall(b"X")

    def _busy(self) -> None:
        base = f"http://127.0.0.1:{self.port}"
        while not self.stop.is_set():
            for req in (
                urllib.request.Request(base + self.feed_path),
                urllib.request.Request(
                    base + "/dang-nhap", data=b"mat_khau=sai&csrf=x", method="POST"
                ),
            ):
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        r.read()
                except Exception:
                    self.errors += 1
                self.requests += 1

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)
        for s in self.socks:
            s.close()


def _answer_back_config(config: Path, web_port: int, bot_url: str) -> None:
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        '[channels.telegram]\ntransport = "off"',
        "[channels.telegram]\n"
        'transport = "bot"\n'
        "[channels.telegram.bot]\n"
        'credential = ""\n'
        'token_env = "BENCH_TELEGRAM_TOKEN"\n'
        f'base_url = "{bot_url}"\n'
        "timeout_seconds = 30\n"
        "poll = true",
    )
    text += f'\n[web]\nlisten = "127.0.0.1:{web_port}"\n'
    config.write_text(text, encoding="utf-8")


def _timely(lead_s: float, n: int, answer_back: bool) -> tuple[list[float], dict[str, Any]]:
    from reminder.links import Links

    env = child_env(
        BENCH_TELEGRAM_TOKEN=TOKEN, REMINDER_WEB_SECRET=SECRET, REMINDER_WEB_PASSWORD=PASSWORD
    )
    hole = BlackHole() if answer_back else None
    attack: Attack | None = None
    with tmpdir("answers-timely") as folder, Sink() as sink:
        config = dispatch_config(folder, n, smtp_port=sink.port)
        port = _free_port()
        if hole is not None:
            _answer_back_config(config, port, f"http://127.0.0.1:{hole.port}/bot")
        log_path = folder / "daemon.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [REMINDER, "--config", str(config), "--log-level", "DEBUG", "run",
                 "--now", (DUE_AT - timedelta(seconds=lead_s)).isoformat()],
                cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
            try:
                if hole is not None:
                    _wait_for_line(log_path, "web server listening", 30)
                    attack = Attack(port, f"/lich/a00000.ics?k={Links(SECRET).feed_key('a00000')}")
                    attack.start()
                got = sink.wait_for(n, timeout=lead_s + 60)
            finally:
                if attack is not None:
                    attack.close()
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(40)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait()
                if hole is not None:
                    hole.close()
        text = log_path.read_text(encoding="utf-8", errors="replace")
        records = sink.records()
    if got != n:
        raise RuntimeError(f"answer-back timeliness: {got} of {n} arrived:\n{text[-3000:]}")
    m = SCHEDULED.search(text)
    if m is None:
        raise RuntimeError(f"no 'Running job' line for the wake-up:\n{text[-3000:]}")
    instant = datetime.fromisoformat(m.group(1)).timestamp()
    delays = [rec[0] - instant for rec in records]
    info = {
        "p95_s": round(percentile(delays, 95), 3),
        "max_s": round(max(delays), 3),
        "exit_code": code,
        "web_requests": attack.requests if attack else 0,
    }
    return delays, info


def _wait_for_line(path: Path, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{needle!r} not logged within {timeout:.0f} s")


def timely(quick: bool) -> dict[str, Any]:
    reps, lead, n = (1, 15.0, 50) if quick else (3, 15.0, 50)
    say(
        f"\n== 7a. Timeliness with the web server under slow-loris/busy clients and the poller "
        f"facing a Bot API outage: {n} reminders, ×{reps} =="
    )
    res: dict[str, Any] = {}
    for label, on in (("plain (baseline)", False), ("answer-back on", True)):
        delays: list[float] = []
        runs = []
        for _ in range(reps):
            d, info = _timely(lead, n, on)
            delays += d
            runs.append(info)
        p95 = round(percentile(delays, 95), 3)
        extra = (
            f", {sum(r['web_requests'] for r in runs)} web requests served meanwhile" if on else ""
        )
        say(
            f"  {label}: p50 {percentile(delays, 50):.3f} s, p95 {p95:.3f} s, max "
            f"{max(delays):.3f} s over {len(delays)} messages{extra}; SIGTERM → exit "
            f"{[r['exit_code'] for r in runs]}"
        )
        res["answers_timely_p95_s" if on else "plain_timely_p95_s"] = p95
        res["runs_on" if on else "runs_plain"] = runs
    say(
        f"  → p95 {res['answers_timely_p95_s']:.3f} s with answer-back on (goal ≤ 1 s), "
        f"{res['plain_timely_p95_s']:.3f} s without"
    )
    return res


IDLE_VARIANTS = {
    "outbox (shipped)": "",
    "bot transport, answer-back off": "bot",
    "bot + web server + poller": "bot+answers",
}


def _idle_config(folder: Path, variant: str, base_url: str) -> Path:
    folder.mkdir()
    config = folder / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    shutil.copytree(REPO / "plans", folder / "plans")  # the seed plan's tasks
    if not variant:
        return config
    text = config.read_text(encoding="utf-8")
    poll = "\npoll = true" if "answers" in variant else ""
    text = text.replace(
        '[channels.telegram]\ntransport = "outbox"', '[channels.telegram]\ntransport = "bot"', 1
    ).replace(
        'token_env = "REMINDER_TELEGRAM_TOKEN"',
        f'token_env = "BENCH_TELEGRAM_TOKEN"\nbase_url = "{base_url}"{poll}',
        1,
    )
    if "answers" in variant:
        text += f'\n[web]\nlisten = "127.0.0.1:{_free_port()}"\n'
    config.write_text(text, encoding="utf-8")
    return config


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(40)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def idle(quick: bool) -> dict[str, Any]:
    """Three daemons in the same window: the shipped config (outbox), the same with the bot
    transport, and the bot transport with the web server and the poller on."""
    seconds = 20.0 if quick else 120.0
    proc_api, fields = start_server("bench.tg_server", "the fake Bot API", "--poll-wait", "50")
    base_url, token = fields
    env = child_env(
        BENCH_TELEGRAM_TOKEN=token, REMINDER_WEB_SECRET=SECRET, REMINDER_WEB_PASSWORD=PASSWORD
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    rows: dict[str, dict[str, Any]] = {}
    try:
        with tmpdir("answers-idle") as folder:
            logs = {}
            for n, (name, variant) in enumerate(IDLE_VARIANTS.items()):
                config = _idle_config(folder / f"d{n}", variant, base_url)
                logs[name] = config.with_name("daemon.log")
                with logs[name].open("wb") as log:
                    procs[name] = subprocess.Popen(
                        [REMINDER, "--config", str(config), "--log-level", "DEBUG", "run",
                         "--now", QUIET_NOW],
                        cwd=config.parent, env=env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=log,
                    )  # fmt: skip
            for name, path in logs.items():
                _wait_for_any(path, READY_LINES, 90)
                if "answers" in IDLE_VARIANTS[name]:
                    _wait_for_any(path, "receiving Telegram button presses", 90)
            time.sleep(2.0)
            before = {k: (proc_switches(p.pid), proc_cpu_seconds(p.pid)) for k, p in procs.items()}
            t0 = time.monotonic()
            time.sleep(seconds)
            window = time.monotonic() - t0
            for name, p in procs.items():
                sw, cpu = proc_switches(p.pid), proc_cpu_seconds(p.pid)
                switches = sum(sw[t][0] - before[name][0].get(t, (0, 0))[0] for t in sw)
                rows[name] = {
                    "wakeups_per_min": round(switches * 60 / window, 2),
                    "cpu_s": round(cpu - before[name][1], 3),
                    "threads": len(sw),
                    "peak_rss_mb": round(proc_kb(p.pid, "VmHWM") / 1024, 1),
                    "rss_mb": round(proc_kb(p.pid, "VmRSS") / 1024, 1),
                }
    finally:
        for name, p in procs.items():
            rows.setdefault(name, {})["exit_code"] = _stop(p)
        if proc_api.stdin:
            proc_api.stdin.write("quit\n")
            proc_api.stdin.flush()
        proc_api.wait(10)
    say(
        f"\n== 7b. Idle daemons in one {seconds:.0f} s window, shipped config, --now {QUIET_NOW} "
        f"(the poller long-polls a fake Bot API, 50 s per poll) =="
    )
    for name, r in rows.items():
        say(
            f"  {name}: {r['wakeups_per_min']} wake-ups/min, {r['cpu_s']:.3f} CPU s, "
            f"{r['threads']} threads, peak RSS {r['peak_rss_mb']} MB, now {r['rss_mb']} MB; "
            f"SIGTERM → exit {r['exit_code']}"
        )
    on, bot = rows["bot + web server + poller"], rows["bot transport, answer-back off"]
    say(
        f"  → with answer-back on: {on['wakeups_per_min']} wake-ups/min (goal ≤ 2), peak RSS "
        f"{on['peak_rss_mb']} MB (goal ≤ 120; +{on['peak_rss_mb'] - bot['peak_rss_mb']:.1f} MB "
        f"over the same bot transport without it)"
    )
    return {
        "answers_idle_wakeups_per_min": on["wakeups_per_min"],
        "answers_idle_rss_mb": on["peak_rss_mb"],
        "idle_daemons": rows,
    }


def _wait_for_any(path: Path, needles: str | tuple[str, ...], timeout: float) -> None:
    wanted = (needles,) if isinstance(needles, str) else needles
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(n in text for n in wanted):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{wanted!r} not logged within {timeout:.0f} s:\n{text[-2000:]}")


def run(quick: bool) -> dict[str, Any]:
    return timely(quick) | idle(quick)


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

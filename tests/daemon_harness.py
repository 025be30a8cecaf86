"""Helpers for tests/test_daemon.py: temp configs, the daemon as a subprocess, a timed SMTP server.

- `config_text` / `write_config`: a small config.toml (agencies, groups, tasks with day/month
  milestones, one lead and one support ladder) delivering by SMTP to 127.0.0.1 and keeping its
  ledger in a SQLite file next to it.
- `DaemonProcess`: `python -m reminder --config CFG run --now ISO` with NOTIFY_SOCKET /
  WATCHDOG_USEC as asked; its stderr (and stdout) are read by background threads, so a test
  can wait for a line without blocking and look at everything the daemon logged.
- `TimedSMTPServer`: the loopback server of tests/fakes with the receipt time of every
  message, a count of connections (EHLO) and an optional delay before each 250 (a slow server).
- `reminder_cli`: one `reminder` command run to completion (run --once, history --json),
  in this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fakes import patient
from fakes.smtp_server import FakeSMTPServer, Received, _Handler
from inprocess import run_main

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------
# Configuration


@dataclass
class Agency:
    """An agency with e-mail addresses."""

    id: str
    name: str
    email: Sequence[str]


@dataclass
class Group:
    """A group of agencies (or groups)."""

    id: str
    name: str
    members: Sequence[str]


@dataclass
class Task:
    """A yearly task; milestones are (id, name, "dd/mm")."""

    id: str
    number: int
    title: str
    lead: str
    support: Sequence[str] = ()
    milestones: Sequence[tuple[str, str, str]] = (("bao-cao", "Báo cáo kết quả", "15/12"),)
    timing: str = "Hằng năm"


@dataclass
class Config:
    """What `config_text` writes. The defaults make one reminder at 2026-12-01 08:00 +07:00."""

    smtp_port: int
    database: str = "ledger.db"  # relative to the config file's folder
    agencies: Sequence[Agency] = (Agency("so-mot", "Sở Một", ("somot@tinh.example",)),)
    groups: Sequence[Group] = ()
    tasks: Sequence[Task] = (Task("nv01", 1, "Nhiệm vụ thử nghiệm số một", "so-mot"),)
    lead_before: Sequence[int] = (14,)
    support_before: Sequence[int] = ()
    days_off: Sequence[str] = ()  # ISO dates
    catch_up_hours: float = 24
    lease_minutes: float = 5
    max_attempts: int | None = 3  # None: no line (retried while useful)
    smtp_username: str | None = None
    smtp_password_file: str | None = None  # relative to the config folder
    retry_initial_seconds: float = 5
    extra: str = ""  # appended verbatim
    database_url: str | None = None  # instead of the SQLite file `database` (no password in it)
    database_password_file: str | None = None  # [database] password_file


@dataclass
class LedgerDb:
    """Where a test's daemons keep their ledger: `config()` for Config(**…), `url` for Ledger."""

    url: str  # with the password, for the test's own Ledger
    config_url: str | None = None  # None: the SQLite file of Config.database
    password_file: str | None = None

    def config(self) -> dict[str, Any]:
        """The Config fields that put the ledger here."""
        return {"database_url": self.config_url, "database_password_file": self.password_file}

    def statuses(self) -> dict[str, str]:
        """key → status, read straight from the ledger."""
        import sqlalchemy as sa

        from reminder.ledger import Ledger

        with Ledger(self.url) as led, led.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT key, status FROM delivery"))
            return {k: s for k, s in rows}


def _toml_list(items: Iterable[object]) -> str:
    return "[" + ", ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def _toml_dates(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def config_text(c: Config) -> str:
    """The TOML text of `c`."""
    out = [
        "[plan]",
        'title = "Kế hoạch thử nghiệm nhắc hạn"',
        'issuer = "Ủy ban nhân dân tỉnh"',
        'sender = "Văn phòng Ủy ban nhân dân tỉnh"',
        "",
        "[calendar]",
        'timezone = "Asia/Ho_Chi_Minh"',
        f"days_off = {_toml_dates(c.days_off)}",
        'send_time = "08:00"',
        "",
        "[reminders.lead]",
        f"before = {_toml_list(c.lead_before)}",
        "overdue = []",
        "",
        "[reminders.support]",
        f"before = {_toml_list(c.support_before)}",
        "",
        "[delivery]",
        f"catch_up_hours = {c.catch_up_hours}",
        *([f"max_attempts = {c.max_attempts}"] if c.max_attempts is not None else []),
        f"retry_initial_seconds = {c.retry_initial_seconds}",
        f"lease_minutes = {c.lease_minutes}",
        "",
        "[database]",
        f'url = "{c.database_url or "sqlite:///" + c.database}"',
        *([f'password_file = "{c.database_password_file}"'] if c.database_password_file else []),
        "",
        "[channels.email]",
        'transport = "smtp"',
        "",
        "[channels.email.smtp]",
        'host = "127.0.0.1"',
        f"port = {c.smtp_port}",
        'security = "plain"',
        'from = "Văn phòng UBND tỉnh <nhachan@tinh.example>"',
        "timeout_seconds = 10",
        *([f'username = "{c.smtp_username}"'] if c.smtp_username else []),
        *([f'password_file = "{c.smtp_password_file}"'] if c.smtp_password_file else []),
        "",
        "[channels.telegram]",
        'transport = "off"',
        "",
    ]
    for a in c.agencies:
        out += [
            "[[agencies]]",
            f'id = "{a.id}"',
            f'name = "{a.name}"',
            f"email = {_toml_list(a.email)}",
            "",
        ]
    for g in c.groups:
        out += [
            "[[groups]]",
            f'id = "{g.id}"',
            f'name = "{g.name}"',
            f"members = {_toml_list(g.members)}",
            "",
        ]
    for t in c.tasks:
        out += [
            "[[tasks]]",
            f'id = "{t.id}"',
            f"number = {t.number}",
            f'title = "{t.title}"',
            f'timing = "{t.timing}"',
            f'lead = "{t.lead}"',
            f"support = {_toml_list(t.support)}",
            "",
        ]
        for mid, name, due in t.milestones:
            out += [
                "[[tasks.milestones]]",
                f'id = "{mid}"',
                f'name = "{name}"',
                f'due = "{due}"',
                "",
            ]
    out.append(c.extra)
    return "\n".join(out)


def write_config(folder: Path, c: Config, name: str = "config.toml") -> Path:
    """Write `c` as folder/name (atomically: a reload never sees half a file); return the path."""
    path = folder / name
    tmp = folder / f".{name}.tmp"
    tmp.write_text(config_text(c), encoding="utf-8")
    tmp.replace(path)
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the first line of `path` containing `needle`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# ---------------------------------------------------------------------------------------
# The daemon as a subprocess


def child_env(**extra: str | None) -> dict[str, str]:
    """The environment for a child `reminder`: ours minus systemd/reminder variables, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")
        and not k.startswith("REMINDER_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["TZ"] = "UTC"  # the daemon must not depend on the server's own zone
    for k, v in extra.items():
        if v is not None:
            env[k] = v
    return env


class DaemonProcess:
    """`reminder --config CFG run --now NOW` in a subprocess, its output read in the background.

    `lines()` is everything it wrote to stderr so far (one logging event a line), and
    `times()` when each line was read. Always `close()` it (it kills a process still running).
    """

    def __init__(
        self,
        config: Path,
        now: datetime | None,
        *,
        notify_socket: str | None = None,
        watchdog_usec: int | None = None,
        log_level: str = "INFO",
        python_prelude: str | None = None,
    ) -> None:
        self.config = config
        self.now = now
        args = ["--config", str(config), "--log-level", log_level, "run"]
        if now is not None:
            args += ["--now", now.isoformat()]
        if python_prelude is None:
            cmd = [sys.executable, "-m", "reminder", *args]
        else:  # run the CLI after some set-up code (e.g. a shorter sweep period)
            code = f"{python_prelude}\nimport sys\nfrom reminder.cli import main\nsys.exit(main({args!r}))"
            cmd = [sys.executable, "-c", code]
        env = child_env(
            NOTIFY_SOCKET=notify_socket,
            WATCHDOG_USEC=str(watchdog_usec) if watchdog_usec else None,
        )
        self._lock = threading.Condition()
        self._err: list[tuple[float, str]] = []
        self._out: list[str] = []
        self.launched = time.time()
        self.proc = subprocess.Popen(
            cmd,
            cwd=config.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stderr, True), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, False), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read(self, stream: Any, is_err: bool) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                if is_err:
                    self._err.append((time.time(), line))
                else:
                    self._out.append(line)
                self._lock.notify_all()
        with self._lock:
            self._lock.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def lines(self) -> list[str]:
        """Every stderr line so far."""
        with self._lock:
            return [line for _t, line in self._err]

    def timed_lines(self) -> list[tuple[float, str]]:
        """Every stderr line so far, with the time.time() it was read."""
        with self._lock:
            return list(self._err)

    def stdout(self) -> list[str]:
        with self._lock:
            return list(self._out)

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for_line(self, pattern: str, timeout: float = 10.0, *, after: int = 0) -> str:
        """The first stderr line from index `after` on matching the regex `pattern`.

        Raises AssertionError (with the log) if it does not come within `timeout` or the
        process exits first.
        """
        return self.wait_for_timed_line(pattern, timeout, after=after)[1]

    def wait_for_timed_line(
        self, pattern: str, timeout: float = 10.0, *, after: int = 0
    ) -> tuple[float, str]:
        """Like `wait_for_line`, with the time.time() at which the line was read."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + patient(timeout)
        with self._lock:
            while True:
                for t, line in self._err[after:]:
                    if rx.search(line):
                        return t, line
                left = deadline - time.monotonic()
                exited = self.proc.poll() is not None and not any(
                    t.is_alive() for t in self._threads
                )
                if left <= 0 or exited:
                    why = (
                        f"exited {self.proc.returncode}"
                        if exited
                        else f"not within {patient(timeout):g}s"
                    )
                    raise AssertionError(
                        f"no line matching {pattern!r} ({why}); stderr:\n" + self._dump()
                    )
                self._lock.wait(min(left, 0.1))

    def _dump(self) -> str:
        return "\n".join(line for _t, line in self._err)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 15.0) -> int:
        """Wait for the exit code; the reader threads have finished when this returns."""
        code = self.proc.wait(patient(timeout))
        for t in self._threads:
            t.join(timeout=5)
        return code

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL (a crash) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait(10)

    def close(self) -> None:
        """Kill the process if it still runs; close the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        finally:
            for t in self._threads:
                t.join(timeout=5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


def reminder_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `reminder` command to completion (text output), in this process
    (tests/inprocess.py: the same main() without a subprocess's start-up), in the config's
    folder, without the REMINDER_ variables a daemon child also goes without."""
    unset = [k for k in os.environ if k.startswith("REMINDER_") and k != "REMINDER_CACHE_DIR"]
    return run_main(["--config", str(config), *args], cwd=config.parent, env=dict.fromkeys(unset))


def history(config: Path) -> list[dict[str, Any]]:
    """`reminder history --json` (every row)."""
    done = reminder_cli(config, "history", "--json", "--limit", "100000")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


# ---------------------------------------------------------------------------------------
# SMTP with receipt times, connection counts and a per-message delay


class _TimedHandler(_Handler):
    server: TimedSMTPServer

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.server._lock:
            self.server.connections += 1
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        with self.server._lock:  # no await since the append: the lists stay aligned
            self.server.times.append(time.time())
        if self.server.delay:
            # A slow server (a queue fsync, a virus scan): the message is already taken, the
            # client waits for the 250. A client killed now never learns it arrived.
            await asyncio.sleep(self.server.delay)
        return reply


class TimedSMTPServer(FakeSMTPServer):
    """FakeSMTPServer (plain) that also records receipt times, EHLO count and can be slow.

    delay: seconds between taking a message and answering 250 to it.
    """

    def __init__(self, *, delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delay = delay
        self.times: list[float] = []
        self.connections = 0

    def start(self) -> TimedSMTPServer:
        super().start()
        assert self._controller is not None
        self._controller.handler = _TimedHandler(self)  # used for every new connection
        return self

    def received(self) -> list[tuple[float, Received]]:
        """(receipt time.time(), message) for every message so far."""
        with self._lock:
            return list(zip(self.times, self.messages, strict=True))

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def wait_for(self, count: int, timeout: float) -> int:
        """Wait until at least `count` messages arrived (or `timeout`); return the count."""
        deadline = time.monotonic() + patient(timeout)
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.count()


def reminder_keys(message: Received) -> list[str]:
    """The reminder keys an e-mail carries (X-Reminder-Keys)."""
    header = message.message["X-Reminder-Keys"]
    assert header, f"no X-Reminder-Keys in {message.message['Subject']!r}"
    return [k.strip() for k in str(header).split(",") if k.strip()]


def plain_text(message: Received) -> str:
    """The text/plain body of an e-mail, decoded."""
    part = message.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


Spawn = Callable[..., DaemonProcess]  # the `spawn` fixture (conftest.py): start a daemon

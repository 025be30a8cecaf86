"""Idle memory of the daemon as installed, by what is switched on (issue 24: ≤ 100 MB with the
web page and a chat poller on).

The daemon is measured as docs/install.md installs it: a virtual environment made by
`uv sync --locked --no-dev --no-editable --compile-bytecode` (no test or bench packages, every
module's bytecode compiled once), in a /tmp folder. (`uv run reminder` in a checkout is not
that: the dev group's packages are installed, and httpx/httpcore then import rich, pygments,
click and trio, which a server never has; its own modules are compiled at every start.)

Variants, each a copy of the shipped config with `--now` in a quiet stretch (nothing due):
plain (outbox), + web page, + Telegram poller (bot transport long-polling the fake Bot API,
bench/tg_server.py), + Zalo poller (bench/zalo_server.py), web + Telegram, web + Telegram +
Zalo. Each is started twice on the same folder: the first start creates the ledger (alembic
runs), the restart finds it at head, which is the daemon's usual state. Read after `seconds`
of idling: VmRSS (what `ps` and `systemctl status` show as memory of the process, in MB of
2^20 bytes), VmHWM (peak), and /proc/<pid>/smaps_rollup's anonymous part (Python objects,
heap) and file-backed part (shared libraries, mapped files).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.answer_back import PASSWORD, SECRET, _free_port, _wait_for_any
from bench.common import REPO, child_env, proc_kb, say, start_server, tmpdir
from bench.idle import QUIET_NOW, READY_LINES

VARIANTS = {
    "plain": (),
    "web": ("web",),
    "telegram poller": ("telegram",),
    "zalo poller": ("zalo",),
    "web + telegram": ("web", "telegram"),
    "web + telegram + zalo": ("web", "telegram", "zalo"),
}
GOAL_MB = 100.0


def install(folder: Path) -> Path:
    """The installed layout of docs/install.md in `folder`; its `reminder` script."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is not on PATH: it makes the installed layout")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PROJECT_ENVIRONMENT"] = str(folder)
    subprocess.run(
        [uv, "sync", "--locked", "--no-dev", "--no-editable", "--compile-bytecode",
         "--reinstall-package", "reminder", "--quiet"],
        cwd=REPO, env=env, check=True,
    )  # fmt: skip
    return folder / "bin" / "reminder"


def _config(folder: Path, parts: tuple[str, ...], tg_url: str, zalo_url: str) -> Path:
    folder.mkdir()
    if (REPO / "plans").is_dir():
        shutil.copytree(REPO / "plans", folder / "plans")  # the seed plan's tasks
    config = folder / "config.toml"
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    for channel, url in (("telegram", tg_url), ("zalo", zalo_url)):
        if channel not in parts:
            continue
        text = text.replace(
            f'[channels.{channel}]\ntransport = "outbox"',
            f'[channels.{channel}]\ntransport = "bot"',
            1,
        ).replace(
            f'token_env = "REMINDER_{channel.upper()}_TOKEN"',
            f'token_env = "BENCH_{channel.upper()}_TOKEN"\nbase_url = "{url}"\npoll = true',
            1,
        )
    if "web" in parts:
        text += f'\n[web]\nlisten = "127.0.0.1:{_free_port()}"\n'
    config.write_text(text, encoding="utf-8")
    return config


def _start(reminder: Path, config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with config.with_name("daemon.log").open("wb") as log:
        return subprocess.Popen(
            [str(reminder), "--config", str(config), "--log-level", "DEBUG", "run",
             "--now", QUIET_NOW],
            cwd=config.parent, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip


def _ready(config: Path, parts: tuple[str, ...]) -> None:
    log = config.with_name("daemon.log")
    _wait_for_any(log, READY_LINES, 120)
    if "telegram" in parts:
        _wait_for_any(log, "receiving Telegram button presses", 90)


def _read(pid: int) -> dict[str, float]:
    rollup: dict[str, int] = {}
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    for line in lines:
        key, value = line.split(":", 1)
        rollup[key] = int(value.split()[0])
    anon = rollup["Anonymous"]
    return {
        "rss_mb": round(proc_kb(pid, "VmRSS") / 1024, 1),
        "peak_mb": round(proc_kb(pid, "VmHWM") / 1024, 1),
        "anon_mb": round(anon / 1024, 1),
        "file_mb": round((rollup["Rss"] - anon - rollup.get("Shmem", 0)) / 1024, 1),
    }


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in procs.values():
        p.send_signal(signal.SIGTERM)
    for p in procs.values():
        try:
            p.wait(40)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def measure(reminder: Path, seconds: float) -> dict[str, dict[str, dict[str, float]]]:
    """{variant: {"first start": readings, "restart": readings}}, all variants side by side."""
    servers = [
        start_server("bench.tg_server", "the fake Bot API", "--poll-wait", "50"),
        start_server("bench.zalo_server", "the fake Zalo Bot API", "--poll-wait", "30"),
    ]
    (_, (tg_url, tg_token)), (_, (zalo_url, zalo_token)) = servers
    env = child_env(
        BENCH_TELEGRAM_TOKEN=tg_token,
        BENCH_ZALO_TOKEN=zalo_token,
        REMINDER_WEB_SECRET=SECRET,
        REMINDER_WEB_PASSWORD=PASSWORD,
    )
    env.pop("PYTHONPATH")  # the installed package, not this checkout
    out: dict[str, dict[str, dict[str, float]]] = {name: {} for name in VARIANTS}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with tmpdir("memory") as folder:
            configs = {
                name: _config(folder / f"d{n}", parts, tg_url, zalo_url)
                for n, (name, parts) in enumerate(VARIANTS.items())
            }
            for start in ("first start", "restart"):
                procs = {name: _start(reminder, configs[name], env) for name in VARIANTS}
                for name, parts in VARIANTS.items():
                    _ready(configs[name], parts)
                time.sleep(seconds)
                for name, p in procs.items():
                    out[name][start] = _read(p.pid)
                _stop(procs)
                procs = {}
    finally:
        _stop(procs)
        for proc, _ in servers:
            proc.kill()
            proc.wait()
    return out


def run(quick: bool) -> dict[str, Any]:
    seconds = 5.0 if quick else 20.0
    with tmpdir("memory-venv") as folder:
        reminder = install(folder / "venv")
        rows = measure(reminder, seconds)
    say(
        f"\n== Idle memory as installed (uv sync --no-dev --no-editable --compile-bytecode), "
        f"shipped config, --now {QUIET_NOW}, read {seconds:.0f} s after ready =="
    )
    for name, by_start in rows.items():
        for start, r in by_start.items():
            say(
                f"  {name:24s} {start:12s} RSS {r['rss_mb']:6.1f} MB (peak {r['peak_mb']:6.1f}; "
                f"anonymous {r['anon_mb']:5.1f}, file-backed {r['file_mb']:5.1f})"
            )
    on = rows["web + telegram"]["restart"]["rss_mb"]
    say(f"  → web page + Telegram poller, restarted: {on} MB (goal ≤ {GOAL_MB:.0f})")
    return {
        "memory_plain_mb": rows["plain"]["restart"]["rss_mb"],
        "memory_web_telegram_mb": on,
        "memory_all_mb": rows["web + telegram + zalo"]["restart"]["rss_mb"],
        "memory_web_telegram_first_mb": rows["web + telegram"]["first start"]["rss_mb"],
        "memory": rows,
    }


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

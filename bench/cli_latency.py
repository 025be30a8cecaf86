"""6. CLI latency: `reminder check`, `upcoming`, `report` and `history` on the shipped config
(issue 23: the read-only commands `report`, `history`, `upcoming` ≤ 0.3 s), the ledger holding
two completion records (written first by `reminder done`, so that the reads read something).

The venv's `reminder` console script is run directly (no `uv run` in between) on a copy of
config.toml in /tmp, output to /dev/null; wall time per run, median of several, the commands
interleaved so that machine noise hits them alike. Baseline in the same run: the same
interpreter's `python -c pass`.

The figure compared with the goal is the program as docs/install.md installs it: every
module's bytecode compiled ("cached" in bench/common.py), and the cache folder
(reminder.cachedir: Vietnam's holidays, compiled templates) filled by an earlier run. In the
full run also: "editable", the development venv (`uv sync`: the project's own modules
compiled at each start); "no bytecode", every module compiled from source; "empty cache", a
new empty cache folder for each run (the first command after installing).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REMINDER, REPO, child_env, median, say, tmpdir, warm_bytecode


def _time(cmd: list[str], cwd: str, bytecode: str, cache: Path) -> float:
    if cache.name == "empty":
        shutil.rmtree(cache, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=cwd,
        env=child_env(bytecode, REMINDER_CACHE_DIR=str(cache)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - t0


def run(quick: bool) -> dict[str, Any]:
    reps = 3 if quick else 7
    warm_bytecode()
    say(f"\n== 6. CLI latency on the shipped config, median of {reps} ==")
    with tmpdir("cli") as folder:
        shutil.copy(REPO / "config.toml", folder / "config.toml")
        shutil.copytree(REPO / "plans", folder / "plans")  # the seed plan's tasks
        cfg = str(folder / "config.toml")
        check = [REMINDER, "--config", cfg, "check"]
        upcoming = [REMINDER, "--config", cfg, "upcoming"]
        report = [REMINDER, "--config", cfg, "report"]
        history = [REMINDER, "--config", cfg, "history"]
        cache, empty = folder / "cache", folder / "empty"
        for done in (["1", "2026", "bao-cao"], ["5", "2026"]):
            when = ["--on", "2026-11-20", "--now", "2026-12-07T09:00:00+07:00"]
            _time([REMINDER, "--config", cfg, "done", *done, *when], str(folder), "cached", cache)
        commands = {
            "python -c pass": ([PYTHON, "-c", "pass"], "installed", cache),
            "reminder check": (check, "cached", cache),
            "reminder upcoming": (upcoming, "cached", cache),
            "reminder report": (report, "cached", cache),
            "reminder history": (history, "cached", cache),
        }
        if not quick:
            commands.update({
                "check, editable": (check, "installed", cache),
                "upcoming, editable": (upcoming, "installed", cache),
                "check, no bytecode": (check, "none", cache),
                "upcoming, no bytecode": (upcoming, "none", cache),
                "check, empty cache": (check, "cached", empty),
                "upcoming, empty cache": (upcoming, "cached", empty),
            })  # fmt: skip
        for cmd, bytecode, where in commands.values():  # fill the cache, warm the page cache
            _time(cmd, str(folder), bytecode, where)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(reps):
            for name, (cmd, bytecode, where) in commands.items():
                times[name].append(_time(cmd, str(folder), bytecode, where))
    med = {k: median(v) for k, v in times.items()}
    for name, value in med.items():
        say(
            f"  {name:24s} {value:6.3f} s  (min {min(times[name]):.3f}, max {max(times[name]):.3f})"
        )
    res = {
        "python_pass_s": round(med["python -c pass"], 3),
        "cli_check_s": round(med["reminder check"], 3),
        "cli_upcoming_s": round(med["reminder upcoming"], 3),
        "cli_report_s": round(med["reminder report"], 3),
        "cli_history_s": round(med["reminder history"], 3),
        **{
            f"cli_{cmd}_{mode.replace(' ', '_')}_s": round(med[f"{cmd}, {mode}"], 3)
            for cmd in ("check", "upcoming")
            for mode in ("editable", "no bytecode", "empty cache")
            if f"{cmd}, {mode}" in med
        },
        "runs": {k: [round(x, 3) for x in v] for k, v in times.items()},
    }
    say(
        f"  → check {res['cli_check_s']:.2f} s, upcoming {res['cli_upcoming_s']:.2f} s "
        f"(goal ≤ 0.25 s), report {res['cli_report_s']:.2f} s, history "
        f"{res['cli_history_s']:.2f} s (goal ≤ 0.3 s); interpreter start-up "
        f"{res['python_pass_s']:.3f} s"
    )
    return res


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

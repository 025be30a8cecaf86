"""6. CLI latency: `reminder check` and `reminder upcoming` on the shipped config.

The venv's `reminder` console script is run directly (no `uv run` in between) on a copy of
config.toml in /tmp, output to /dev/null; wall time per run, median of several, the commands
interleaved so that machine noise hits them alike. Baseline in the same run: the same
interpreter's `python -c pass`.

Three ways of starting (bench/common.py): "installed", the environment as it is (the venv's
packages from the bytecode uv compiled, the project's modules compiled at each start: the
figure compared with the goal); in the full run also "cached" (every module's bytecode
cached) and "none" (every module compiled from source).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Any

from bench.common import PYTHON, REMINDER, REPO, child_env, median, say, tmpdir


def _time(cmd: list[str], cwd: str, bytecode: str = "installed") -> float:
    t0 = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=cwd,
        env=child_env(bytecode),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - t0


def run(quick: bool) -> dict[str, Any]:
    reps = 3 if quick else 7
    say(f"\n== 6. CLI latency on the shipped config, median of {reps} ==")
    with tmpdir("cli") as folder:
        shutil.copy(REPO / "config.toml", folder / "config.toml")
        cfg = str(folder / "config.toml")
        check = [REMINDER, "--config", cfg, "check"]
        upcoming = [REMINDER, "--config", cfg, "upcoming"]
        commands = {
            "python -c pass": ([PYTHON, "-c", "pass"], "installed"),
            "reminder check": (check, "installed"),
            "reminder upcoming": (upcoming, "installed"),
        }
        if not quick:
            commands.update({
                "check, all cached": (check, "cached"),
                "upcoming, all cached": (upcoming, "cached"),
                "check, no bytecode": (check, "none"),
                "upcoming, no bytecode": (upcoming, "none"),
            })  # fmt: skip
            for cmd, bytecode in commands.values():  # warm the page cache
                _time(cmd, str(folder), bytecode)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(reps):
            for name, (cmd, bytecode) in commands.items():
                times[name].append(_time(cmd, str(folder), bytecode))
    med = {k: median(v) for k, v in times.items()}
    for name, value in med.items():
        say(
            f"  {name:24s} {value:6.3f} s  (min {min(times[name]):.3f}, max {max(times[name]):.3f})"
        )
    res = {
        "python_pass_s": round(med["python -c pass"], 3),
        "cli_check_s": round(med["reminder check"], 3),
        "cli_upcoming_s": round(med["reminder upcoming"], 3),
        **{
            f"cli_{cmd}_{mode.replace(' ', '_')}_s": round(med[f"{cmd}, {mode}"], 3)
            for cmd in ("check", "upcoming")
            for mode in ("all cached", "no bytecode")
            if f"{cmd}, {mode}" in med
        },
        "runs": {k: [round(x, 3) for x in v] for k, v in times.items()},
    }
    say(
        f"  → check {res['cli_check_s']:.2f} s, upcoming {res['cli_upcoming_s']:.2f} s "
        f"(goal ≤ 0.5 s); interpreter start-up {res['python_pass_s']:.3f} s"
    )
    return res


if __name__ == "__main__":
    import sys

    from bench.common import warm_bytecode

    if "--quick" not in sys.argv:
        warm_bytecode()
    run("--quick" in sys.argv)

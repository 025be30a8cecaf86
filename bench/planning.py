"""3. Planning scale: `plan()` over a one-year horizon for synthetic catalogs of 100, 1,000 and
10,000 tasks × 50 agencies (bench/synth.py: 60 % yearly with 2 milestones, 25 % quarterly,
10 % monthly, 5 % half-yearly; a lead and 3 supporting agencies each; every agency has an
e-mail address, every third a Telegram group too; the shipped ladders).

Each size runs in a fresh subprocess (`python -m bench.planning --child N`), so that its peak
RSS (VmHWM) is its own: "cold" is the first plan() in the process, "warm" a second plan()
with a new WorkCalendar (holidays already in memory, as in the daemon's later cycles). The
holiday cache (reminder.vnholidays) lives in a folder of the bench's own: filled by the
first size's process, read by the others; the largest size runs once more with an empty
cache ("no cache": the process imports `holidays` and computes the holidays, as every
process did before the cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REPO, child_env, say, tmpdir


def child(n_tasks: int) -> dict[str, Any]:
    from bench.common import proc_kb
    from bench.synth import PLAN_END, PLAN_START, catalog
    from reminder.planner import plan

    pid = os.getpid()
    t0 = time.perf_counter()
    cat = catalog(n_tasks)
    build = time.perf_counter() - t0
    rss_before = proc_kb(pid, "VmRSS")
    t0 = time.perf_counter()
    found = plan(cat, PLAN_START, PLAN_END)
    cold = time.perf_counter() - t0
    count = len(found)
    del found
    t0 = time.perf_counter()
    found = plan(cat, PLAN_START, PLAN_END)
    warm = time.perf_counter() - t0
    assert len(found) == count
    return {
        "tasks": n_tasks,
        "reminders": count,
        "catalog_s": round(build, 3),
        "plan_s": round(cold, 3),
        "plan_warm_s": round(warm, 3),
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(proc_kb(pid, "VmHWM") / 1024, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    sizes = [100, 1000] if quick else [100, 1000, 10000]
    say(
        f"\n== 3. Planning scale: one-year horizon, {'/'.join(map(str, sizes))} tasks × 50 agencies =="
    )
    rows = []
    with tmpdir("plan-cache") as cache:
        for n in sizes:
            row = _child(n, cache)
            rows.append(row)
            say(
                f"  {n:6d} tasks → {row['reminders']:7d} reminders: plan {row['plan_s']:6.2f} s "
                f"cold, {row['plan_warm_s']:6.2f} s warm ({row['plan_warm_s'] / n * 1000:.2f} "
                f"ms/task); peak RSS {row['peak_rss_mb']:.0f} MB "
                f"({row['peak_rss_mb'] - row['rss_before_mb']:.0f} MB above the "
                f"{row['rss_before_mb']:.0f} MB before planning)"
            )
        with tmpdir("plan-no-cache") as empty:
            no_cache = _child(sizes[-1], empty)
    say(
        f"  {sizes[-1]:6d} tasks, empty holiday cache: plan {no_cache['plan_s']:.2f} s cold, "
        f"peak RSS {no_cache['peak_rss_mb']:.0f} MB"
    )
    base = rows[0]
    growth = {
        str(r["tasks"]): round(
            (r["plan_warm_s"] / base["plan_warm_s"]) / (r["tasks"] / base["tasks"]), 2
        )
        for r in rows[1:]
    }
    res: dict[str, Any] = {"sizes": rows, "no_cache": no_cache, "time_growth_vs_linear": growth}
    for row in rows:
        if row["tasks"] in (1000, 10000):
            name = f"plan_{row['tasks'] // 1000}k"
            res[f"{name}_s"] = row["plan_s"]
            res[f"{name}_peak_mb"] = row["peak_rss_mb"]
    res[f"plan_{sizes[-1] // 1000}k_no_cache_s"] = no_cache["plan_s"]
    last = rows[-1]
    say(
        f"  → {last['tasks']:,} tasks: {last['plan_s']:.2f} s cold, peak {last['peak_rss_mb']:.0f} "
        f"MB (goal for 10,000: ≤ 3 s, ≤ 200 MB); time per task relative to {base['tasks']} "
        "tasks: " + ", ".join(f"{k}: {v}×" for k, v in growth.items()) + " (1.0 = linear)"
    )
    return res


def _child(n: int, cache: Path) -> dict[str, Any]:
    out = subprocess.run(
        [PYTHON, "-m", "bench.planning", "--child", str(n)],
        cwd=REPO,
        env=child_env(REMINDER_CACHE_DIR=str(cache)),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        run("--quick" in sys.argv)

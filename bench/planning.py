"""3. Planning scale: `plan()` over a one-year horizon for synthetic catalogs of 100, 1,000 and
10,000 tasks × 50 agencies (bench/synth.py: 60 % yearly with 2 milestones, 25 % quarterly,
10 % monthly, 5 % half-yearly; a lead and 3 supporting agencies each; every agency has an
e-mail address, every third a Telegram group too; the shipped ladders).

Each size runs in a fresh subprocess (`python -m bench.planning --child N`), so that its peak
RSS (VmHWM) is its own: "cold" is the first plan() in the process (it imports `holidays` and
computes the holidays of the years it touches), "warm" a second plan() with a new
WorkCalendar (holidays already cached, as in the daemon's later cycles).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import PYTHON, REPO, child_env, say


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
    for n in sizes:
        out = subprocess.run(
            [PYTHON, "-m", "bench.planning", "--child", str(n)],
            cwd=REPO,
            env=child_env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        say(
            f"  {n:6d} tasks → {row['reminders']:7d} reminders: plan {row['plan_s']:6.2f} s cold, "
            f"{row['plan_warm_s']:6.2f} s warm ({row['plan_warm_s'] / n * 1000:.2f} ms/task); "
            f"peak RSS {row['peak_rss_mb']:.0f} MB ({row['peak_rss_mb'] - row['rss_before_mb']:.0f} MB "
            f"above the {row['rss_before_mb']:.0f} MB before planning)"
        )
    base = rows[0]
    growth = {
        str(r["tasks"]): round(
            (r["plan_warm_s"] / base["plan_warm_s"]) / (r["tasks"] / base["tasks"]), 2
        )
        for r in rows[1:]
    }
    res: dict[str, Any] = {"sizes": rows, "time_growth_vs_linear": growth}
    one_k = next(r for r in rows if r["tasks"] == 1000)
    res["plan_1k_s"] = one_k["plan_s"]
    res["plan_1k_peak_mb"] = one_k["peak_rss_mb"]
    say(
        f"  → 1,000 tasks: {one_k['plan_s']:.2f} s (goal ≤ 3 s); time per task relative to "
        f"{base['tasks']} tasks: "
        + ", ".join(f"{k}: {v}×" for k, v in growth.items())
        + " (1.0 = linear)"
    )
    return res


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        run("--quick" in sys.argv)

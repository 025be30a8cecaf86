"""3c. `reminder report`: status and its four forms on a 1,000-task catalog and on the shipped
config over ten years (issue 8: each ≤ 1 s).

In a fresh process (`python -m bench.report --child`):
- bench/synth's 1,000-task catalog (50 agencies), deadlines of 2026, at 05/01/2027, with
  completion records for two thirds of the deadlines (one in four of them 3 days late):
  "cold" is the first report in the process (it computes the year's holidays), "warm" a
  second one. The figure is build (status + matrix) plus every format (table, CSV, HTML,
  JSON). The same-run baseline is `plan()` of the same catalog over the same year (what
  the daemon already does at start-up), warm.
- the shipped config.toml, deadlines of 2026–2035, no completion records, same steps.
Then `reminder report --format html` on the shipped config over ten years, as a command
(interpreter start and imports included), against `reminder history --limit 1` (the same
start-up and ledger opening), medians of 3 runs.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REMINDER, REPO, child_env, say

AT = "2027-01-05T09:00:00+07:00"


def _all_formats(catalog: Any, book: dict[Any, Any], first: date, last: date) -> float:
    from reminder import report

    now = datetime.fromisoformat(AT)
    t0 = time.perf_counter()
    rep = report.build(catalog, book, first, last, now)
    report.table(rep)
    report.csv_bytes(rep)
    report.html(rep)
    report.json_text(rep)
    return time.perf_counter() - t0


def _synthetic_book(catalog: Any, first: date, last: date) -> dict[Any, Any]:
    """Completion records for two deadlines in three; one record in four 3 days late."""
    from reminder.model import Completion
    from reminder.status import period_deadlines
    from reminder.workdays import WorkCalendar

    book = {}
    recorded = datetime.fromisoformat(AT)
    for n, d in enumerate(period_deadlines(catalog, first, last, WorkCalendar(catalog.calendar))):
        if n % 3 == 2:
            continue
        on = d.due + timedelta(days=3 if n % 4 == 0 else -1)
        key = (d.task_id, d.occurrence, d.milestone_id)
        book[key] = Completion(*key, min(on, date(2027, 1, 5)), recorded, "ops:bench")
    return book


def child() -> dict[str, Any]:
    from bench.synth import PLAN_END, PLAN_START, catalog
    from reminder.config import load
    from reminder.planner import plan

    cat = catalog(1000)
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    book = _synthetic_book(cat, first, last)
    cold = _all_formats(cat, book, first, last)
    warm = _all_formats(cat, book, first, last)
    t0 = time.perf_counter()
    plan(cat, PLAN_START, PLAN_END)
    plan_s = time.perf_counter() - t0
    shipped = load(REPO / "config.toml").catalog
    ten = _all_formats(shipped, {}, date(2026, 1, 1), date(2035, 12, 31))
    return {
        "records": len(book),
        "report_1k_s": round(cold, 3),
        "report_1k_warm_s": round(warm, 3),
        "plan_1k_warm_s": round(plan_s, 3),
        "report_shipped_10y_s": round(ten, 3),
    }


def _median_run(cmd: list[str], folder: Path) -> float:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=folder, env=child_env(), check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _cli_html(folder: Path) -> tuple[float, float]:
    """(`report --format html` over ten years, `history --limit 1`: the same start-up and
    ledger opening, the same-run baseline), medians of 3."""
    config = folder / "config.toml"
    config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copytree(REPO / "plans", folder / "plans", dirs_exist_ok=True)  # the seed plan
    base = [REMINDER, "--config", str(config)]
    cmd = [*base, "report", "--from", "2026-01-01", "--to", "2035-12-31", "--now", AT]
    cmd += ["--format", "html", "-o", str(folder / "r.html")]
    subprocess.run(cmd, cwd=folder, env=child_env(), check=True, capture_output=True)  # migrates
    return _median_run(cmd, folder), _median_run([*base, "history", "--limit", "1"], folder)


def run(quick: bool) -> dict[str, Any]:
    say("\n== 3c. reminder report: 1,000 tasks × one year; the shipped config × ten years ==")
    out = subprocess.run(
        [PYTHON, "-m", "bench.report", "--child"],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory(prefix="reminder-bench-report-") as tmp:
        cli_s, history_s = _cli_html(Path(tmp))
    res["report_cli_s"], res["history_cli_s"] = round(cli_s, 3), round(history_s, 3)
    res["report_vs_plan"] = round(res["report_1k_warm_s"] / res["plan_1k_warm_s"], 2)
    say(
        f"  1,000 tasks, {res['records']} completion records: build + 4 formats "
        f"{res['report_1k_s']:.3f} s cold, {res['report_1k_warm_s']:.3f} s warm (goal ≤ 1 s); "
        f"{res['report_vs_plan']}× the same year's plan() ({res['plan_1k_warm_s']:.3f} s)"
    )
    say(
        f"  shipped config, 2026–2035: {res['report_shipped_10y_s']:.3f} s in process; "
        f"`reminder report --format html` {res['report_cli_s']:.3f} s as a command, against "
        f"{res['history_cli_s']:.3f} s for `reminder history --limit 1` (medians of 3)"
    )
    return res


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(child()))
    else:
        run("--quick" in sys.argv)

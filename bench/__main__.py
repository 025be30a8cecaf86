"""`python -m bench [--quick] [--only NAMES]`: run the measurements, print figures as they come,
end with one `SUMMARY key=value …` line, and save everything to bench/results/<time>.json.

Order: CLI latency first (a quiet machine), then email, timeliness and planning; the Telegram
run (about 100 s of waiting on rate limits, little CPU) overlaps the idle daemon's window.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from typing import Any

from bench import (
    answer_back,
    cli_latency,
    email_throughput,
    ha,
    idle,
    import_big,
    importing,
    memory,
    office,
    planning,
    report,
    telegram_throughput,
    timeliness,
    wakeup,
    zalo_throughput,
)
from bench.common import REPO, machine, say

NAMES = (
    "cli",
    "email",
    "timely",
    "plan",
    "wakeup",
    "report",
    "telegram",
    "zalo",
    "idle",
    "import",
    "import20",
    "answers",
    "ha",
    "office",
    "memory",
)
SUMMARY_KEYS = (
    ("email", "email_vs_limit"),
    ("email", "email_vs_apprise"),
    ("email", "dispatch_msgs_s"),
    ("email", "limit_msgs_s"),
    ("email", "apprise_msgs_s"),
    ("telegram", "telegram_vs_limit"),
    ("telegram", "telegram_429s"),
    ("telegram", "telegram_429_not_honoured"),
    ("telegram", "telegram_lost"),
    ("zalo", "zalo_vs_limit"),
    ("zalo", "zalo_429s"),
    ("zalo", "zalo_lost"),
    ("zalo", "zalo_duplicates"),
    ("zalo", "zalo_idle_cpu_s_per_min"),
    ("zalo", "zalo_idle_polls_per_min"),
    ("plan", "plan_1k_s"),
    ("plan", "plan_1k_peak_mb"),
    ("plan", "plan_10k_s"),
    ("plan", "plan_10k_peak_mb"),
    ("wakeup", "wakeup_1k_ms"),
    ("wakeup", "wakeup_1k_cpu_ms"),
    ("wakeup", "wakeup_1k_render_ms"),
    ("wakeup", "wakeup_1k_sweep_ms"),
    ("report", "report_1k_s"),
    ("report", "report_shipped_10y_s"),
    ("report", "report_cli_s"),
    ("report", "history_cli_s"),
    ("report", "report_vs_plan"),
    ("idle", "idle_rss_mb"),
    ("idle", "idle_wakeups_per_min"),
    ("idle", "idle_cpu_s"),
    ("timely", "timely_p50_s"),
    ("timely", "timely_p95_s"),
    ("timely", "timely_max_s"),
    ("cli", "cli_check_s"),
    ("cli", "cli_upcoming_s"),
    ("cli", "cli_report_s"),
    ("cli", "cli_history_s"),
    ("cli", "python_pass_s"),
    ("import", "import_rows"),
    ("import", "import_slowest_s"),
    ("import", "import_docx_vs_read"),
    ("import20", "import20_slowest_s"),
    ("import20", "import20_peak_mb"),
    ("answers", "answers_timely_p95_s"),
    ("answers", "plain_timely_p95_s"),
    ("answers", "answers_idle_wakeups_per_min"),
    ("answers", "answers_idle_rss_mb"),
    ("ha", "pg_vs_sqlite"),
    ("ha", "two_nodes_vs_one"),
    ("ha", "ha_pg2_msgs_s"),
    ("ha", "ha_split"),
    ("office", "office_check_s"),
    ("office", "office_upcoming_s"),
    ("office", "office_plan_5y_s"),
    ("office", "office_report_5y_s"),
    ("office", "office_plans_s"),
    ("memory", "memory_plain_mb"),
    ("memory", "memory_web_telegram_mb"),
    ("memory", "memory_all_mb"),
    ("memory", "memory_web_telegram_first_mb"),
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="reduced sizes: the whole run < 60 s")
    p.add_argument("--only", default=",".join(NAMES), help=f"comma-separated subset of {NAMES}")
    args = p.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(only) - set(NAMES)
    if unknown:
        p.error(f"unknown measurement(s) {sorted(unknown)}; known: {', '.join(NAMES)}")

    start = time.monotonic()
    info = machine()
    mode = "quick" if args.quick else "full"
    say(
        f"reminder bench ({mode}): {info['cores']} cores ({info['cpu']}), {info['memory_gb']} GB, "
        f"Python {info['python']}, Linux {info['kernel']}"
    )
    results: dict[str, Any] = {}
    q = args.quick
    if "cli" in only:
        results["cli"] = cli_latency.run(q)
    if "email" in only:
        results["email"] = email_throughput.run(q)
    if "timely" in only:
        results["timely"] = timeliness.run(q)
    if "plan" in only:
        results["plan"] = planning.run(q)
    if "wakeup" in only:
        results["wakeup"] = wakeup.run(q)
    if "report" in only:
        results["report"] = report.run(q)
    idle_run = idle.IdleRun(10.0 if q else 60.0) if "idle" in only else None
    if "telegram" in only:
        results["telegram"] = telegram_throughput.run(q)
    if "zalo" in only:
        results["zalo"] = zalo_throughput.run(q)
    if idle_run is not None:
        results["idle"] = idle_run.finish()
    if "import" in only:
        results["import"] = importing.run(q)
    if "import20" in only:
        results["import20"] = import_big.run(q)
    if "office" in only:
        results["office"] = office.run(q)
    if "answers" in only:
        results["answers"] = answer_back.run(q)
    if "ha" in only:
        results["ha"] = ha.run(q)
    if "memory" in only:
        results["memory"] = memory.run(q)

    elapsed = time.monotonic() - start
    summary: dict[str, object] = {"mode": mode}
    for section, key in SUMMARY_KEYS:
        if section in results and key in results[section]:
            summary[key] = results[section][key]
    summary["total_s"] = round(elapsed, 1)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = out_dir / f"{stamp}-{mode}.json"
    out.write_text(
        json.dumps(
            {"machine": info, "argv": sys.argv, "summary": summary, "results": results},
            indent=2,
            ensure_ascii=False,
            default=str,
        ),
        encoding="utf-8",
    )
    say(f"\n{mode} run: {elapsed:.1f} s; details in {out.relative_to(REPO)}")
    say("SUMMARY " + " ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

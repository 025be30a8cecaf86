"""13. The office (issue 20): 50 plan files × 20 tasks in plans/, 60 agencies, 5 years
(2026–2030), beside an office-only config.toml (outbox transports, SQLite ledger).

Tasks per plan: 12 yearly (2 milestones), 5 quarterly, 2 monthly, 1 half-yearly; a lead and 3
supporting agencies each, spread over the 60. Goals: `check` and `upcoming` ≤ 0.5 s,
planning (plan() over the 5 years, in-process after load) ≤ 1 s, the report for the whole
office ≤ 1 s (`reminder report` over the 5 years). `reminder plans` is measured too.
Commands run as installed (bytecode compiled, cache filled), median of several runs.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import REMINDER, child_env, median, say, tmpdir, warm_bytecode

N_PLANS, N_TASKS, N_AGENCIES = 50, 20, 60
NOW = "2028-06-15T09:00:00+07:00"
_KINDS = (
    (12, "Hằng năm", ['id = "ke-hoach"\nname = "Ban hành kế hoạch"\ndue = "31/03"',
                      'id = "bao-cao"\nname = "Báo cáo kết quả"\ndue = "15/12"']),
    (5, "Hằng quý", ['id = "bao-cao"\nname = "Báo cáo quý"\ndue_day = 20']),
    (2, "Hằng tháng", ['id = "bao-cao"\nname = "Báo cáo tháng"\ndue_day = 25']),
    (1, "6 tháng/lần", ['id = "so-ket"\nname = "Sơ kết"\ndue_day = 15']),
)  # fmt: skip


def write_office(folder: Path) -> Path:
    """folder/config.toml (the office) and folder/plans/kh-NN.toml; the config's path."""
    lines = [
        "[database]",
        'url = "sqlite:///ledger.db"',
        "[outbox]",
        'dir = "outbox"',
        "",
    ]
    for i in range(N_AGENCIES):
        lines += [
            "[[agencies]]",
            f'id = "a{i:02d}"',
            f'name = "Sở thử số {i}"',
            f'email = ["a{i:02d}@bench.example"]',
            "",
        ]
    (folder / "config.toml").write_text("\n".join(lines), encoding="utf-8")
    plans = folder / "plans"
    plans.mkdir()
    kinds = [(phrase, ms) for share, phrase, ms in _KINDS for _ in range(share)]
    for p in range(N_PLANS):
        out = [
            "[plan]",
            f'id = "kh-{p:02d}"',
            f'title = "Kế hoạch thử số {p}"',
            'issuer = "Ủy ban nhân dân tỉnh"',
            f'number = "{p + 1}/KH-UBND"',
            "signed_on = 2026-01-05",
            'period = "2026–2030"',
            "",
        ]
        for t in range(N_TASKS):
            phrase, milestones = kinds[t]
            lead = (p * 7 + t) % N_AGENCIES
            support = ", ".join(f'"a{(lead + k * 11) % N_AGENCIES:02d}"' for k in (1, 2, 3))
            out += [
                "[[tasks]]",
                f'number = "{t + 1}"',
                f'title = "Nhiệm vụ {t + 1} của kế hoạch {p}"',
                f'timing = "{phrase}"',
                f'lead = "a{lead:02d}"',
                f"support = [{support}]",
                "",
            ]
            for m in milestones:
                out += ["[[tasks.milestones]]", m, ""]
        (plans / f"kh-{p:02d}.toml").write_text("\n".join(out), encoding="utf-8")
    return folder / "config.toml"


def _time(cmd: list[str], cwd: Path, cache: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=cwd,
        env=child_env("cached", REMINDER_CACHE_DIR=str(cache)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - t0


def _planning(config: Path) -> tuple[float, float, int]:
    """(load s, plan() over the 5 years s, reminders), in this process."""
    from reminder.config import load
    from reminder.model import VN_TZ
    from reminder.planner import plan

    t0 = time.perf_counter()
    settings = load(config)
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = plan(
        settings.catalog,
        datetime(2026, 1, 1, tzinfo=VN_TZ),
        datetime(2030, 12, 31, 23, 59, tzinfo=VN_TZ),
        channels=settings.channels,
    )
    return loaded, time.perf_counter() - t0, len(found)


def run(quick: bool) -> dict[str, Any]:
    reps = 3 if quick else 7
    warm_bytecode()
    say(
        f"\n== 13. The office: {N_PLANS} plans × {N_TASKS} tasks, {N_AGENCIES} agencies, "
        f"5 years; median of {reps} =="
    )
    with tmpdir("office") as folder:
        config = write_office(folder)
        cfg, cache = str(config), folder / "cache"
        now = ["--now", NOW]
        commands = {
            "check": [REMINDER, "--config", cfg, "check"],
            "upcoming": [REMINDER, "--config", cfg, "upcoming", *now],
            "report (5 years)": [REMINDER, "--config", cfg, "report", "--from", "2026-01-01",
                                 "--to", "2030-12-31", *now],
            "report (a year)": [REMINDER, "--config", cfg, "report", *now],
            "plans": [REMINDER, "--config", cfg, "plans", *now],
        }  # fmt: skip
        for cmd in commands.values():  # fill the caches (and create the ledger)
            _time(cmd, folder, cache)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(reps):
            for name, cmd in commands.items():
                times[name].append(_time(cmd, folder, cache))
        planning = [_planning(config) for _ in range(reps)]
    med = {k: median(v) for k, v in times.items()}
    for name, value in med.items():
        say(
            f"  {name:18s} {value:6.3f} s  (min {min(times[name]):.3f}, max {max(times[name]):.3f})"
        )
    load_s = median([p[0] for p in planning])
    plan_s = median([p[1] for p in planning])
    say(f"  load (in-process)  {load_s:6.3f} s")
    say(f"  plan 5 years       {plan_s:6.3f} s  ({planning[0][2]:,} reminders)")
    res = {
        "office_check_s": round(med["check"], 3),
        "office_upcoming_s": round(med["upcoming"], 3),
        "office_report_5y_s": round(med["report (5 years)"], 3),
        "office_report_1y_s": round(med["report (a year)"], 3),
        "office_plans_s": round(med["plans"], 3),
        "office_load_s": round(load_s, 3),
        "office_plan_5y_s": round(plan_s, 3),
        "office_reminders_5y": planning[0][2],
    }
    say(
        f"  → check {res['office_check_s']:.2f} s, upcoming {res['office_upcoming_s']:.2f} s "
        f"(goal ≤ 0.5 s), planning {res['office_plan_5y_s']:.2f} s (goal ≤ 1 s), report "
        f"{res['office_report_5y_s']:.2f} s (goal ≤ 1 s)"
    )
    return res


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)

"""`reminder plans`: the plans the office runs, with their period, task count and how their
deadlines stand; `--archive ID` moves a plan file into plans/archive/ (it is no longer
reminded; its records stay in the ledger); `--move-inline` moves a [plan] inline in
config.toml into plans/<id>.toml."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from reminder.commands.common import current_completions, now_of, settings_of
from reminder.config import Settings
from reminder.exitcodes import EX_CANTCREAT, EX_CONFIG, EX_DATAERR, EX_OK, UsageError
from reminder.model import PlanInfo


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One plan as `reminder plans` lists it; counts are of deadlines up to today."""

    id: str
    title: str
    number: str
    signed_on: date | None
    period: tuple[int, int] | None
    tasks: int
    on_time: int
    late: int  # done after its deadline
    overdue: int  # past its deadline, not done
    file: str


def plans(args: argparse.Namespace) -> int:
    """List the plans, or archive one (--archive), or move the inline one (--move-inline)."""
    if args.move_inline:
        return _move_inline(Path(args.config))
    settings = settings_of(args)
    if args.archive:
        return _archive(settings, args.archive)
    lines = plan_lines(settings, now_of(args))
    if args.json:
        print(json.dumps([_as_json(p) for p in lines], ensure_ascii=False, indent=2))
        return EX_OK
    print(f"{'ID':<20} {'PERIOD':<10} {'TASKS':>5} {'ON TIME':>7} {'LATE':>5} {'OVERDUE':>7}  PLAN")
    for p in lines:
        period = f"{p.period[0]}–{p.period[1]}" if p.period else "—"
        number = f" số {p.number}" if p.number else " (chưa có số)"
        print(
            f"{p.id:<20} {period:<10} {p.tasks:>5} {p.on_time:>7} {p.late:>5} {p.overdue:>7}  "
            f"{p.title[:60]}{number} — {p.file}"
        )
    return EX_OK


def plan_lines(settings: Settings, now: object) -> list[PlanLine]:
    """Each plan with its counts of deadlines from its period's start (or 5 years back) to
    today: done on time, done late, overdue."""
    from datetime import datetime

    from reminder.status import State, classify, period_deadlines
    from reminder.workdays import WorkCalendar

    assert isinstance(now, datetime)
    catalog = settings.catalog
    today = now.astimezone(catalog.calendar.timezone).date()
    starts = [p.period[0] for p in catalog.plans.values() if p.period]
    first = date(min([*starts, today.year - 5]), 1, 1)
    deadlines = period_deadlines(catalog, first, today, WorkCalendar(catalog.calendar))
    items = classify(catalog, deadlines, current_completions(settings), now)
    plan_of = {t.id: t.plan for t in catalog.tasks}
    counts: dict[str, dict[State, int]] = {pid: dict.fromkeys(State, 0) for pid in catalog.plans}
    for item in items:
        counts[plan_of[item.task_id]][item.state] += 1
    return [
        _line(settings, p, counts[p.id], sum(1 for t in catalog.tasks if t.plan == p.id))
        for p in catalog.plans.values()
    ]


def _line(settings: Settings, p: PlanInfo, counts: dict[Any, int], tasks: int) -> PlanLine:
    from reminder.status import State

    where = str(p.source) if p.source else f"{settings.source} (inline)"
    return PlanLine(
        p.id,
        p.title,
        p.number,
        p.signed_on,
        p.period,
        tasks,
        counts[State.DONE_ON_TIME],
        counts[State.DONE_LATE],
        counts[State.OVERDUE],
        where,
    )


def _as_json(p: PlanLine) -> dict[str, object]:
    return {
        "id": p.id,
        "title": p.title,
        "number": p.number,
        "signed_on": p.signed_on.isoformat() if p.signed_on else None,
        "period": list(p.period) if p.period else None,
        "tasks": p.tasks,
        "on_time": p.on_time,
        "late": p.late,
        "overdue": p.overdue,
        "file": p.file,
    }


def _archive(settings: Settings, plan_id: str) -> int:
    """Move plans/<file> of `plan_id` into plans/archive/: no more reminders, records kept."""
    from reminder.config.plans import ARCHIVE

    plan = settings.catalog.plans.get(plan_id)
    if plan is None:
        known = ", ".join(settings.catalog.plans)
        raise UsageError(f"no plan {plan_id!r} in {settings.source} (known: {known})", EX_DATAERR)
    if plan.source is None:
        raise UsageError(
            f"plan {plan_id!r} is inline in {settings.source}: move it into plans/ first "
            "(reminder plans --move-inline)",
            EX_DATAERR,
        )
    target = plan.source.parent / ARCHIVE / plan.source.name
    if target.exists():
        raise UsageError(f"{target} exists already: nothing moved", EX_CANTCREAT)
    try:
        target.parent.mkdir(exist_ok=True)
        plan.source.rename(target)
    except OSError as exc:
        raise UsageError(
            f"cannot move {plan.source}: {exc.strerror or exc}", EX_CANTCREAT
        ) from None
    print(
        f"plan {plan_id} archived: {plan.source} → {target}; no more reminders for it once the "
        "daemon reloads (systemctl reload reminder); its records stay in the ledger"
    )
    return EX_OK


def _move_inline(config: Path) -> int:
    """config.toml's inline [plan] and [[tasks]] → plans/<id>.toml; config.toml rewritten
    without them (the original kept beside it as config.toml.before-plans), then checked."""
    from reminder.config import ConfigError, load
    from reminder.config.load import INLINE_PLAN_ID
    from reminder.config.moveplan import split_inline

    settings = load(config)
    inline = [p for p in settings.catalog.plans.values() if p.source is None]
    if not inline:
        raise UsageError(f"{config} has no inline [plan]: nothing to move", EX_DATAERR)
    pid = inline[0].id or INLINE_PLAN_ID
    assert settings.plans_dir is not None
    target = settings.plans_dir / f"{pid}.toml"
    backup = config.with_name(config.name + ".before-plans")
    for path in (target, backup):
        if path.exists():
            raise UsageError(f"{path} exists already: nothing moved", EX_CANTCREAT)
    text = config.read_text(encoding="utf-8")
    try:
        office, plan_file = split_inline(text, pid)  # both halves read back as before
    except ValueError as exc:
        raise UsageError(
            f"{config}: cannot move its plan line by line ({exc}): nothing changed; move "
            "[plan] and [[tasks]] into plans/ by hand (docs/config.md, Plan files)",
            EX_CONFIG,
        ) from None
    settings.plans_dir.mkdir(exist_ok=True)
    target.write_text(plan_file, encoding="utf-8")
    backup.write_text(text, encoding="utf-8")
    config.write_text(office, encoding="utf-8")
    try:
        load(config)
    except ConfigError as exc:
        config.write_text(text, encoding="utf-8")
        target.unlink()
        backup.unlink()
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{config}: the moved plan does not check; nothing changed", file=sys.stderr)
        return EX_CONFIG
    print(
        f"plan {pid} moved into {target} (its tasks keep their ids as former_id: no reminder "
        f"is sent again); {config} keeps the office settings; the original is {backup}"
    )
    return EX_OK

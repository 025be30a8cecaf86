"""Plan files: one file per plan in the plans folder (`[plans] dir`, default plans/ beside
config.toml), each a `[plan]` and its `[[tasks]]` numbered as printed in its appendix.

`read_plans(folder, ids)` reads every `*.toml` directly in the folder (not in archive/ or
other sub-folders, not hidden files) in name order and checks each against the agencies of
config.toml (`ids`). Problems name the plan file, its line and key. Nothing here builds the
model: `reminder.config.load` does, from the `PlanSource`s returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reminder.config import schema
from reminder.config.crosscheck import check_tasks, duplicates
from reminder.config.locate import key_lines, line_of
from reminder.config.problems import Collector, ConfigError, Problem
from reminder.config.shape import build
from reminder.config.tomlfile import parse_toml, read_text
from reminder.model import Recurrence

ARCHIVE = "archive"  # plans/archive/: archived plans, not loaded (their records stay)


@dataclass(frozen=True, slots=True)
class PlanSource:
    """A plan file that passed its checks: its tables, each task's recurrence by number."""

    file: Path
    plan: schema.Plan
    id: str
    tasks: tuple[schema.PlanTask, ...]
    recurrences: dict[str, Recurrence]
    out: Collector  # its lines, for warnings about its keys


def plan_files(folder: Path) -> list[Path]:
    """The plan files of the folder, in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if p.is_file() and not p.name.startswith("."))


def read_plans(
    folder: Path, ids: set[str], taken: dict[str, str], errors: list[Problem]
) -> list[PlanSource]:
    """Every plan file of `folder`, checked. `taken` holds plan ids already used (by the
    inline [plan]) → where; problems go to `errors` (a file with errors is left out)."""
    found: list[PlanSource] = []
    where: dict[str, str] = dict(taken)
    for file in plan_files(folder):
        source = read_plan(file, ids, errors)
        if source is None:
            continue
        if source.id in where:
            line = line_of(("plan", "id"), source.out.lines)
            errors.append(
                Problem(
                    file,
                    line,
                    "plan.id",
                    f"duplicate plan id {source.id!r} (also in {where[source.id]}): "
                    "give each plan its own id",
                )
            )
            continue
        where[source.id] = str(file)
        found.append(source)
    return found


def read_plan(file: Path, ids: set[str], errors: list[Problem]) -> PlanSource | None:
    """One plan file, checked; None (with its problems in `errors`) if it cannot be used."""
    try:
        text = read_text(file)
        data = parse_toml(file, text)
    except ConfigError as exc:
        errors.extend(exc.problems)
        return None
    out = Collector(file, key_lines(text), data)
    pf = build(schema.PlanFile, data, out)
    if pf is not None and pf.plan.id is None:
        out.error(("plan",), 'required key "id" is missing: the plan\'s id, e.g. "kh-45-2026"')
    if pf is None or out.errors:
        errors.extend(out.errors)
        return None
    numbers = [t.number for t in pf.tasks]
    duplicates(out, ("tasks", "number"), numbers, "task number")
    recurrences = check_tasks(pf.tasks, numbers, ids, out)
    if out.errors:
        errors.extend(out.errors)
        return None
    assert pf.plan.id is not None
    return PlanSource(file, pf.plan, pf.plan.id, tuple(pf.tasks), recurrences, out)

"""`reminder import`: a plan's task appendix (.docx, PDF text, pasted table) → config tasks.

readers (`docx`, `text`, `layout`, chosen by `sources`) → `Row`s → `tasks.build` (timing
checked, agencies matched by `names`) → `writer` (a TOML fragment, or the config merged).
Pure apart from reading the appendix file: the caller reads the config and writes files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from reminder.importer.names import Directory, Entry
from reminder.importer.sources import read_rows
from reminder.importer.table import BadInput
from reminder.importer.tasks import Outcome, build
from reminder.importer.wording import Wording, read_wording
from reminder.importer.writer import fragment, merge

__all__ = ["BadInput", "Imported", "Wording", "directory_of", "import_appendix", "read_wording"]


@dataclass(frozen=True)
class Imported:
    """An import's result: what was found, the kind of file, the TOML to write."""

    outcome: Outcome
    kind: str
    toml: str


def directory_of(config: dict[str, object]) -> Directory:
    """The agencies and groups a parsed config.toml knows (loosely: a config still being
    written, without tasks, is fine)."""
    d = Directory()
    for table, is_group in (("agencies", False), ("groups", True)):
        items = config.get(table, [])
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                name = str(item.get("name") or item["id"])
                succ = item.get("succeeded_by")
                entry = Entry(item["id"], name, is_group, succeeded_by=succ if succ else None)
                short = item.get("short_name")
                d.add(entry, *([short] if isinstance(short, str) else []))
    return d


def _taken(config: dict[str, object]) -> tuple[set[int], set[str]]:
    tasks = config.get("tasks", [])
    numbers: set[int] = set()
    ids: set[str] = set()
    for t in tasks if isinstance(tasks, list) else []:
        if isinstance(t, dict):
            if isinstance(t.get("number"), int):
                numbers.add(t["number"])
            if isinstance(t.get("id"), str):
                ids.add(t["id"])
    return numbers, ids


def import_appendix(
    path: Path,
    *,
    wanted: str | None,
    config_text: str | None,
    config_name: str,
    year: int,
    wording: Wording,
    plan_title: str | None = None,
    merge_into: bool = False,
) -> Imported:
    """Read the appendix at `path` against the config (its text, or None when there is
    none) and return the fragment, or with `merge_into` the whole config merged."""
    config = tomllib.loads(config_text) if config_text else {}
    directory = directory_of(config)
    rows, kind = read_rows(path, wanted, directory)
    numbers, ids = _taken(config)
    outcome = build(
        rows,
        directory,
        taken_numbers=numbers,
        taken_ids=ids,
        year=year,
        milestone_names=wording.milestones,
    )
    for task in outcome.tasks:
        notes = [wording.note_plan.format(title=plan_title)] if plan_title else []
        notes += [wording.note_product.format(product=task.product)] if task.product else []
        if notes:
            task.extra = {"note": "; ".join(notes), **task.extra}
    if merge_into:
        plan = {"title": plan_title or wording.plan_title, "issuer": wording.plan_issuer}
        text = merge(config_text or "", outcome, plan, f"imported from {path.name}")
    else:
        text = fragment(outcome, _heading(path, kind, config_name, outcome, plan_title))
    return Imported(outcome, kind, text)


def _heading(
    path: Path, kind: str, config_name: str, outcome: Outcome, plan_title: str | None
) -> list[str]:
    lines = [
        f"Imported by `reminder import` from {path.name} ({kind}): {outcome.summary()}.",
    ]
    if plan_title:
        lines.append(f"Plan: {plan_title}")
    lines += [
        f"Agencies were matched against {config_name}; the ones it lacks are proposed below.",
        'Every line marked "check:" needs a look. Deadlines (milestones) are assumptions',
        "(assumed = true) until ops confirm them: see docs/import.md.",
        f"Append this to {config_name}, or run `reminder import {path.name} --merge {config_name}`.",
    ]
    return lines

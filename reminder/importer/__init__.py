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
from reminder.importer.writer import fragment, heading, merge, plan_file, review_list

__all__ = ["BadInput", "Imported", "Wording", "directory_of", "import_appendix", "read_wording"]


@dataclass(frozen=True)
class Imported:
    """An import's result: what was found, the kind of file, the TOML to write."""

    outcome: Outcome
    kind: str
    toml: str
    review: list[str]  # every point to review, in Vietnamese (also atop the file)


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
    plan_id: str | None = None,
) -> Imported:
    """Read the appendix at `path` against the config (its text, or None when there is
    none) and return the fragment, with `merge_into` the whole config merged, or with
    `plan_id` a plan file (plans/<plan_id>.toml: its own numbering, [plan] id)."""
    config = tomllib.loads(config_text) if config_text else {}
    directory = directory_of(config)
    rows, kind = read_rows(path, wanted, directory)
    numbers, ids = _taken(config) if plan_id is None else (set(), set())
    outcome = build(
        rows,
        directory,
        taken_numbers=numbers,
        taken_ids=ids,
        year=year,
        milestone_names=wording.milestones,
    )
    review = review_list(outcome, wording, directory)
    if plan_id is not None:
        first = _first_lines(path, kind, outcome, wording, plan_title)
        first.append(wording.file["matched"].format(config=config_name))
        plan = {"id": plan_id, "title": plan_title or wording.plan_title}
        plan |= {"issuer": wording.plan_issuer, "check": "" if plan_title else "yes"}
        lines = heading(outcome, wording, directory, first)
        return Imported(outcome, kind, plan_file(outcome, plan, lines, wording), review)
    if merge_into:
        plan = {"title": plan_title or wording.plan_title, "issuer": wording.plan_issuer}
        lines = heading(
            outcome, wording, directory, _first_lines(path, kind, outcome, wording, plan_title)
        )
        text = merge(config_text or "", outcome, plan, f"imported from {path.name}", wording, lines)
    else:
        first = _first_lines(path, kind, outcome, wording, plan_title)
        first += [
            wording.file["matched"].format(config=config_name),
            wording.file["merge"].format(config=config_name, file=path.name),
        ]
        text = fragment(outcome, heading(outcome, wording, directory, first), wording)
    return Imported(outcome, kind, text, review)


def _first_lines(
    path: Path, kind: str, outcome: Outcome, wording: Wording, plan_title: str | None
) -> list[str]:
    lines = [
        wording.file["imported"].format(
            file=path.name,
            kind=kind,
            tasks=len(outcome.tasks),
            sections=outcome.sections,
            understood=outcome.timing_understood,
            matched=len(outcome.matched),
            proposed=len(outcome.proposed),
        )
    ]
    if plan_title:
        lines.append(wording.file["plan"].format(title=plan_title))
    return lines

"""Moving a plan inline in config.toml ([plan] and [[tasks]], the shape before plans/) into a
plan file, line by line so every comment and blank line stays as written: `[plan]` gains its
`id`; each task's `id` becomes its `former_id` (so its ledger records, completion records and
calendar UIDs stay its own) and its number becomes text. `reminder plans --move-inline` uses it.

Where a comment goes: a comment block belongs to the table it stands above (the NEXT table),
when a blank line (or the start of the file) separates it from what comes before; a comment
directly under a key stays with that key's table. So the "--- Calendar" comment after the
last [plan] key stays with [calendar] in config.toml and the header of [office] after the last
task stays with [office]. Both halves are checked to read back as exactly what they were.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

_HEADER = re.compile(r'^\[(\[)?\s*([A-Za-z0-9_\-"\'. ]+?)\s*\](?(1)\])\s*(#.*)?$')
_KEY = re.compile(r"^\s*(id|number)\s*=")
PLAN_KEYS = ("plan", "tasks")


@dataclass
class _Segment:
    """One table: the comment block standing above it, its header and its body lines."""

    first: str  # the first part of its dotted name: "plan", "tasks", "calendar", …
    array: bool  # [[…]]
    name: str
    lines: list[str] = field(default_factory=list)


def split_inline(config_text: str, plan_id: str) -> tuple[str, str]:
    """(config.toml without its [plan] and [[tasks]], the plan file's text). KeyError if the
    text has no inline [plan] or no [[tasks]]; ValueError if the split would not read back as
    the same settings (a layout this line-wise split does not understand)."""
    before = tomllib.loads(config_text)
    plan, tasks = before["plan"], before["tasks"]
    preamble, segments = _segments(config_text.splitlines(keepends=True))
    office = _join([preamble, *(s.lines for s in segments if s.first not in PLAN_KEYS)])
    moved = [s for s in segments if s.first in PLAN_KEYS]
    body = _rewrite(moved, plan, tasks, plan_id)
    head = f"# The plan {plan_id}: moved out of config.toml (docs/config.md, Plan files).\n"
    plan_file = _join([[head, "\n"], *body])
    _same(office, plan_file, before, plan_id)
    return office, plan_file


def _segments(lines: list[str]) -> tuple[list[str], list[_Segment]]:
    """The lines before the first table's comment block, and each table with its own."""
    starts: list[tuple[int, int, re.Match[str]]] = []  # (first line, header line, match)
    for i, line in enumerate(lines):
        m = _HEADER.match(line.rstrip("\r\n"))
        if m is None:
            continue
        start = i
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        k = j
        while k >= 0 and lines[k].lstrip().startswith("#"):
            k -= 1
        # a block under a blank line (or at the top) stands above this table
        if k < j and (k < 0 or not lines[k].strip()):
            start = k + 1
        if starts and start <= starts[-1][1]:
            start = i
        starts.append((start, i, m))
    segments = []
    for n, (start, _, m) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        name = m.group(2).replace('"', "").replace("'", "")
        first = name.split(".")[0].strip()
        segments.append(_Segment(first, m.group(1) is not None, name, lines[start:end]))
    return lines[: starts[0][0]] if starts else lines, segments


def _rewrite(
    moved: list[_Segment], plan: dict[str, Any], tasks: list[dict[str, Any]], plan_id: str
) -> list[list[str]]:
    """The plan's segments with `id` added to [plan] and each [[tasks]]'s id → former_id."""
    out: list[list[str]] = []
    task_no = -1
    for seg in moved:
        lines = list(seg.lines)
        if seg.name == "plan" and "id" not in plan:
            at = next(i for i, line in enumerate(lines) if _HEADER.match(line.rstrip("\r\n")))
            lines.insert(at + 1, f"id = {json.dumps(plan_id, ensure_ascii=False)}\n")
        elif seg.name == "tasks" and seg.array:
            task_no += 1
            lines = _task_lines(lines, tasks[task_no])
        out.append(lines)
    return out


def _task_lines(lines: list[str], task: dict[str, Any]) -> list[str]:
    """A [[tasks]] table's lines: `id = …` dropped, `number = 1` → `number = "1"` followed by
    `former_id = "<id>"`."""
    out: list[str] = []
    for line in lines:
        m = _KEY.match(line)
        if m is None:
            out.append(line)
        elif m.group(1) == "number":
            out.append(f'number = "{task["number"]}"\n')
            out.append(f"former_id = {json.dumps(task['id'], ensure_ascii=False)}\n")
    return out


def _join(parts: list[list[str]]) -> str:
    """The parts one after the other: one blank line where two meet if either had one there
    (never two, even where a table was taken out between them), one newline at the end."""
    text, blank = "", False
    for part in parts:
        lines = list(part)
        lead = 0
        while lead < len(lines) and not lines[lead].strip():
            lead += 1
        if lead == len(lines):
            blank = blank or bool(lines)
            continue
        tail = len(lines)
        while not lines[tail - 1].strip():
            tail -= 1
        if text and (blank or lead):
            text += "\n"
        text += "".join(lines[lead:tail])
        blank = tail < len(lines)
    return text


def _same(office: str, plan_file: str, before: dict[str, Any], plan_id: str) -> None:
    """ValueError unless the two halves read back as the original settings."""
    want_office = {k: v for k, v in before.items() if k not in PLAN_KEYS}
    want_plan = {"id": plan_id, **before["plan"]}
    want_tasks = []
    for t in before["tasks"]:
        task = {k: v for k, v in t.items() if k not in ("id", "number")}
        want_tasks.append({**task, "number": str(t["number"]), "former_id": t["id"]})
    got_office = tomllib.loads(office)
    got = tomllib.loads(plan_file)
    if got_office != want_office or set(got) != {"plan", "tasks"} or got["plan"] != want_plan:
        raise ValueError("the split does not read back as the same settings")
    if got["tasks"] != want_tasks:
        raise ValueError("the moved tasks do not read back as the same tasks")

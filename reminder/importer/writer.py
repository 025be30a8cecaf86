"""The imported tasks as TOML (tomlkit, so that the `# check:` comments are real comments).

`fragment` is a document of `[[agencies]]`/`[[groups]]` proposals and `[[tasks]]` ready to
append to config.toml; `merge` adds the same tables to a parsed config, keeping every
comment and key of the original.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from reminder.importer.names import Entry
from reminder.importer.tasks import ImportedTask, Outcome


def fragment(outcome: Outcome, heading: Iterable[str]) -> str:
    """A TOML fragment: a comment heading, the proposed agencies and groups, the tasks."""
    doc = tomlkit.document()
    for line in heading:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    _add_all(doc, outcome)
    return tomlkit.dumps(doc)


def merge(config_text: str, outcome: Outcome, plan: dict[str, str] | None, banner: str) -> str:
    """config.toml's text with the outcome's tables appended to its own arrays of tables;
    `banner` is a comment atop the first imported agency and task (where the import starts).

    `plan` ({"title": …, "issuer": …}) is added only when the config has no [plan]."""
    doc = tomlkit.parse(config_text)
    if plan is not None and "plan" not in doc:
        table = tomlkit.table()
        for k, v in plan.items():
            table.add(k, v)
        table.add(tomlkit.comment("check: the plan's title and issuer, as they should read"))
        doc.add("plan", table)
    _add_all(doc, outcome, banner)
    return tomlkit.dumps(doc)


def _add_all(doc: Any, outcome: Outcome, banner: str = "") -> None:
    agencies = [_entry(e) for e in outcome.proposed if not e.is_group]
    groups = [_entry(e) for e in outcome.proposed if e.is_group]
    tasks = [_task(t) for t in outcome.tasks]
    for tables in (agencies, groups, tasks):
        if banner and tables:
            tables[0].comment(banner)
    _append(doc, "agencies", agencies)
    _append(doc, "groups", groups)
    _append(doc, "tasks", tasks)


def _append(doc: Any, key: str, tables: list[Table]) -> None:
    if not tables:
        return
    if key in doc and isinstance(doc[key], AoT):
        for t in tables:
            doc[key].append(t)
        return
    aot = tomlkit.aot()
    for t in tables:
        aot.append(t)
    doc.add(key, aot)


def _entry(e: Entry) -> Table:
    t = tomlkit.table()
    t.add("id", e.id)
    t.add("name", e.name)
    kind = "group" if e.is_group else "agency"
    t.add(
        tomlkit.comment(
            f"check: new {kind}, not in the config: add its email/telegram"
            + (" or members" if e.is_group else "")
            + ", or replace its id in the tasks by a known one"
            + ("" if e.is_group else " (a 2025 merger: add it with succeeded_by)")
        )
    )
    return t


def _task(task: ImportedTask) -> Table:
    t = tomlkit.table()
    t.add("id", task.id)
    t.add("number", task.number)
    t.add("title", task.title)
    t.add("timing", task.timing)
    for key, value in task.extra.items():
        item = tomlkit.item(value)
        if key in task.extra_comments:
            item.comment(task.extra_comments[key])
        t.add(key, item)
    lead = tomlkit.item(task.lead.id if task.lead else "")
    if task.lead is not None:
        lead.comment(_ref_comment(task.lead.written, task.lead.doubt))
    t.add("lead", lead)
    support = tomlkit.array()
    support.multiline(len(task.support) > 1)
    for ref in task.support:
        support.add_line(ref.id, comment=_ref_comment(ref.written, ref.doubt))
    t.add("support", support)
    for info in task.info:
        t.add(tomlkit.comment(info))
    for check in task.checks:
        t.add(tomlkit.comment(f"check: {check}"))
    t.add(tomlkit.nl())
    milestones = tomlkit.aot()
    for m in task.milestones:
        mt = tomlkit.table()
        mt.add("id", m.id)
        mt.add("name", m.name)
        for key, value in m.fields.items():
            item = tomlkit.item(value)
            if m.comment:
                item.comment(m.comment)
            mt.add(key, item)
        if m.assumed:
            mt.add("assumed", True)
        milestones.append(mt)
    if task.milestones:
        t.add("milestones", milestones)
    return t


def _ref_comment(written: str, doubt: str) -> str:
    text = f'"{written}"'
    return f"{text} — check: {doubt}" if doubt else text

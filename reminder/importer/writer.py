"""The imported tasks as TOML (tomlkit, so that the comments are real comments).

The file opens with its review list: every point ops must look at, numbered, in
Vietnamese (templates/import.toml [file] and [notes]). Each task then carries the
appendix's own number, its section, product and note, and its own `review = [...]`
(which `reminder check` lists until ops remove it). `fragment` is a document of
`[[agencies]]`/`[[groups]]` proposals and `[[tasks]]`; `merge` adds the same tables to a
parsed config, keeping every comment and key of the original.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from reminder.importer.names import Directory, Entry
from reminder.importer.tasks import ImportedTask, Outcome
from reminder.importer.wording import Wording


def review_list(outcome: Outcome, words: Wording, directory: Directory) -> list[str]:
    """Every point to review, in Vietnamese: each task's, then each proposed agency."""
    out: list[str] = []
    for task in outcome.tasks:
        number = task.label or str(task.number)
        for text in task_review(task, words):
            where = words.place(task.where)
            out.append(words.file["review_task"].format(number=number, where=where, text=text))
    for entry in outcome.proposed:
        out.append(_agency_review(entry, words, directory))
    return out


def task_review(task: ImportedTask, words: Wording) -> list[str]:
    """A task's points to review: its checks, then any doubtful agency name."""
    out = [words.say(c) for c in task.checks]
    for ref in [*([task.lead] if task.lead else []), *task.support]:
        if ref.doubt:
            out.append(f'"{ref.written}": {words.say(ref.doubt)}')
    return out


def _agency_review(entry: Entry, words: Wording, directory: Directory) -> str:
    near = directory.closest(entry.name)
    closest = ""
    if near:
        names = ", ".join(f'"{e.name}" ({e.id})' for e in near)
        closest = words.file["closest"].format(names=names)
    return words.file["review_agency"].format(name=entry.name, id=entry.id, closest=closest)


def heading(
    outcome: Outcome, words: Wording, directory: Directory, first: Iterable[str]
) -> list[str]:
    """The comment lines atop the file: `first`, then the numbered review list."""
    lines = list(first)
    review = review_list(outcome, words, directory)
    lines.append("")
    if review:
        lines.append(words.file["review_title"].format(count=len(review)))
        width = len(str(len(review)))
        lines += [f"{n:>{width}}. {text}" for n, text in enumerate(review, start=1)]
    else:
        lines.append(words.file["review_none"])
    lines += ["", words.file["assumed"]]
    return lines


def fragment(outcome: Outcome, lines: Iterable[str], words: Wording) -> str:
    """A TOML fragment: the comment heading, the proposed agencies and groups, the tasks."""
    doc = tomlkit.document()
    for line in lines:
        doc.add(tomlkit.comment(line) if line else tomlkit.comment(""))
    doc.add(tomlkit.nl())
    agencies = [_entry(e, words) for e in outcome.proposed if not e.is_group]
    groups = [_entry(e, words) for e in outcome.proposed if e.is_group]
    parts = [tomlkit.dumps(doc)]
    parts += [
        _dumps(key, t) for key, ts in (("agencies", agencies), ("groups", groups)) for t in ts
    ]
    parts += [_dumps("tasks", _task(t, words)) for t in outcome.tasks]
    return "".join(parts)


def _dumps(key: str, table: Table) -> str:
    """One `[[key]]` table as text, rendered alone: for 12,855 tasks the file is written in
    7.7 s instead of 10.1 s as one array of tables (same process, docs/performance.md)."""
    doc = tomlkit.document()
    aot = tomlkit.aot()
    aot.append(table)
    doc.add(key, aot)
    return tomlkit.dumps(doc)


def merge(
    config_text: str,
    outcome: Outcome,
    plan: dict[str, str] | None,
    banner: str,
    words: Wording,
    lines: Iterable[str] = (),
) -> str:
    """config.toml's text with the outcome's tables appended to its own arrays of tables;
    `banner` is a comment atop the first imported agency and task (where the import starts),
    `lines` (the review list) atop the first imported task.

    `plan` ({"title": …, "issuer": …}) is added only when the config has no [plan]."""
    doc = tomlkit.parse(config_text)
    if plan is not None and "plan" not in doc:
        table = tomlkit.table()
        for k, v in plan.items():
            table.add(k, v)
        table.add(tomlkit.comment(words.notes.get("plan_check", "check: the plan's title")))
        doc.add("plan", table)
    _add_all(doc, outcome, words, banner, list(lines))
    return tomlkit.dumps(doc)


def _add_all(
    doc: Any, outcome: Outcome, words: Wording, banner: str = "", lines: list[str] | None = None
) -> None:
    agencies = [_entry(e, words) for e in outcome.proposed if not e.is_group]
    groups = [_entry(e, words) for e in outcome.proposed if e.is_group]
    tasks = [_task(t, words) for t in outcome.tasks]
    for tables in (agencies, groups, tasks):
        if banner and tables:
            tables[0].comment(banner)
    if lines and tasks:
        for line in lines:
            tasks[0].add(tomlkit.comment(line))
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


def _entry(e: Entry, words: Wording) -> Table:
    t = tomlkit.table()
    t.add("id", e.id)
    t.add("name", e.name)
    t.add(tomlkit.comment(f"{words.file['review_mark']}: {words.notes['agency_new']}"))
    return t


def _task(task: ImportedTask, words: Wording) -> Table:
    t = tomlkit.table()
    t.add("id", task.id)
    number = tomlkit.item(task.number)
    if task.label and task.label != str(task.number):
        number.comment(words.file["number"].format(number=task.label))
    t.add("number", number)
    if task.section:
        t.add("section", task.section)
    t.add("title", task.title)
    t.add("timing", task.timing)
    if task.product:
        t.add("product", task.product)
    if task.remark:
        t.add("note", task.remark)
    for key, value in task.extra.items():
        item = tomlkit.item(value)
        if key in task.extra_comments:
            item.comment(words.say(task.extra_comments[key]))
        t.add(key, item)
    lead = tomlkit.item(task.lead.id if task.lead else "")
    if task.lead is not None:
        lead.comment(_ref_comment(task.lead.written, task.lead.doubt, words))
    t.add("lead", lead)
    support = tomlkit.array()
    support.multiline(len(task.support) > 1)
    for ref in task.support:
        support.add_line(ref.id, comment=_ref_comment(ref.written, ref.doubt, words))
    t.add("support", support)
    for info in task.info:
        t.add(tomlkit.comment(words.say(info)))
    review = task_review(task, words)
    if review:
        items = tomlkit.array()
        items.multiline(True)
        for text in review:
            items.add_line(text)
        t.add("review", items)
    t.add(tomlkit.nl())
    milestones = tomlkit.aot()
    for m in task.milestones:
        mt = tomlkit.table()
        mt.add("id", m.id)
        mt.add("name", m.name)
        for key, value in m.fields.items():
            item = tomlkit.item(value)
            if m.comment:
                item.comment(words.say(m.comment))
            mt.add(key, item)
        if m.assumed:
            mt.add("assumed", True)
        milestones.append(mt)
    if task.milestones:
        t.add("milestones", milestones)
    return t


def _ref_comment(written: str, doubt: str, words: Wording) -> str:
    text = f'"{written}"'
    return f"{text} — {words.file['review_mark']}: {words.say(doubt)}" if doubt else text


_NUMBER = re.compile(r"[0-9A-Za-z]{1,8}(?:\.[0-9A-Za-z]{1,8}){0,4}")


def plan_numbers(outcome: Outcome) -> list[str]:
    """Each task's number in a plan file: the appendix's own ("1", "2.1", "3a") when it is a
    valid, unique one, else the task's running number."""
    out: list[str] = []
    for task in outcome.tasks:
        label = task.label
        ok = bool(label) and _NUMBER.fullmatch(label) is not None and label not in out
        out.append(label if ok else str(task.number))
    return out


def plan_file(outcome: Outcome, plan: dict[str, str], lines: Iterable[str], words: Wording) -> str:
    """A plan file (plans/<id>.toml): the comment heading with its review list, `[plan]`,
    then the tasks numbered as the appendix prints them. Proposed agencies cannot live in a
    plan file: the review list names them, with the `[[agencies]]` to add to config.toml."""
    doc = tomlkit.document()
    for line in lines:
        doc.add(tomlkit.comment(line))
    for line in _proposed_snippet(outcome, words):
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    table = tomlkit.table()
    for k, v in plan.items():
        if k != "check":
            table.add(k, v)
    if plan.get("check"):
        table.add(tomlkit.comment(words.notes["plan_check"]))
    doc.add("plan", table)
    parts = []
    for task, number in zip(outcome.tasks, plan_numbers(outcome), strict=True):
        t = _task(task, words)
        t.remove("id")
        t["number"] = number
        if task.label and task.label != number:
            t["number"].comment(words.file["number"].format(number=task.label))
        parts.append(_dumps("tasks", t))
    return tomlkit.dumps(doc) + "".join(parts)


def _proposed_snippet(outcome: Outcome, words: Wording) -> list[str]:
    """The proposed agencies and groups as commented TOML, to paste into config.toml."""
    if not outcome.proposed:
        return []
    out = ["", words.file["proposed_title"]]
    for e in outcome.proposed:
        table = "groups" if e.is_group else "agencies"
        out += [
            "",
            f"[[{table}]]",
            f'id = "{e.id}"',
            f"name = {tomlkit.string(e.name).as_string()}",
        ]
    return out

"""What ops read on the terminal: tables, JSON and explanations. Pure formatting.

These functions take plans and settings and return text; they print nothing and read
no clock, so they are easy to test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from reminder.model import Catalog, Completion, Frequency, Reminder, Role, Task
from reminder.occurrences import deadlines
from reminder.planner import ladder_for, rungs
from reminder.recipients import reach, successor, task_recipients
from reminder.vnformat import tuan
from reminder.workdays import WorkCalendar

Work = tuple[str, str, str]  # (task_id, occurrence, milestone_id or '' for the whole occurrence)
ROLE_VI = {Role.LEAD: "chủ trì", Role.SUPPORT: "phối hợp"}
WEEKDAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day(d: date) -> str:
    """'Tue 15/12/2026'."""
    return f"{WEEKDAY[d.weekday()]} {d:%d/%m/%Y}"


def reminder_json(r: Reminder) -> dict[str, object]:
    """The JSON form of one reminder (`reminder upcoming --json`)."""
    return {
        "task": r.task_id,
        "occurrence": r.occurrence,
        "milestone": r.milestone_id,
        "deadline": r.deadline.isoformat(),
        "send_at": r.send_at.isoformat(),
        "lead_days": r.lead_days,
        "lead_unit": r.lead_unit.value,
        "agency": r.agency,
        "named_as": r.named_as,
        "role": r.role.value,
        "channel": r.channel,
        "address": r.address,
        "key": r.key,
        "kind": r.kind,
    }


def upcoming_json(reminders: Sequence[Reminder]) -> str:
    return json.dumps([reminder_json(r) for r in reminders], ensure_ascii=False, indent=2)


def upcoming_table(
    catalog: Catalog, reminders: Sequence[Reminder], since: datetime, until: datetime
) -> str:
    """A readable table, one line per reminder, grouped by send day."""
    zone = catalog.calendar.timezone  # the rows' zone, whatever zone --now was given in
    start, end = since.astimezone(zone), until.astimezone(zone)
    head = (
        f"Reminders from {start:%d/%m/%Y %H:%M} to {end:%d/%m/%Y %H:%M} ({zone}): {len(reminders)}"
    )
    if not reminders:
        return head + "\n(nothing to send in this window)"
    lines = [head]
    current: date | None = None
    order = {t.id: i for i, t in enumerate(catalog.tasks)}
    ordered = sorted(
        reminders,
        key=lambda r: (r.send_at, order.get(r.task_id, -1), r.role != Role.LEAD, r.key),
    )
    for r in ordered:
        local = r.send_at.astimezone(catalog.calendar.timezone)
        if local.date() != current:
            current = local.date()
            lines.append(f"\n{day(current)} {local:%H:%M}")
        if r.kind == "summary":
            lines.append(
                f"  {'weekly':>13}  summary, {tuan(r.deadline)}\n"
                f"  {'':>13}  → ops  [{r.channel}] {r.address}"
            )
            continue
        task = catalog.task(r.task_id)
        milestone = (
            next(m for m in task.milestones if m.id == r.milestone_id) if task.milestones else None
        )
        what = f"#{catalog.name_of(task)} {r.occurrence} {milestone.name if milestone else r.milestone_id}"
        lines.append(
            f"  {_lead(r):>13}  deadline {r.deadline:%d/%m/%Y}  {what[:60]}\n"
            f"  {'':>13}  → {_role(r):<8} {_agency_label(catalog, r)}  [{r.channel}] {r.address}"
        )
    return "\n".join(lines)


def _role(r: Reminder) -> str:
    """chủ trì / phối hợp; "báo cáo" for an escalation (overdue work, to the supervisor)."""
    return "báo cáo" if r.kind == "escalation" else ROLE_VI[r.role]


def _lead(r: Reminder) -> str:
    unit = "working day" if r.lead_unit.value == "working" else "day"
    if r.lead_days == 0:
        return "on the day"
    n = abs(r.lead_days)
    plural = "s" if n != 1 else ""
    return f"{n} {unit}{plural} {'before' if r.lead_days > 0 else 'late'}"


def _agency_label(catalog: Catalog, r: Reminder) -> str:
    """The receiving agency, and how the appendix names it when that differs.

    A successor reads as in the messages: "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)";
    a member reached through a group: "Sở Nội vụ (for “các cơ quan, …”)".
    """
    agency = catalog.agencies[r.agency]
    if r.named_as == r.agency:
        return agency.name
    named = catalog.agencies[r.named_as]
    if r.agency in successor(r.named_as, catalog.agencies):
        return f"{named.name} (nay là {agency.name})"
    return f"{agency.name} (for “{named.name}”)"


def explain(
    catalog: Catalog,
    task: Task,
    now: datetime,
    years: int,
    channels: Sequence[str],
    completions: Mapping[Work, Completion] | None = None,
) -> str:
    """Why the task's deadlines and reminders are what they are, for the next `years`
    (work recorded as done gets no reminders: it says "done on …" instead)."""
    cal = WorkCalendar(catalog.calendar)
    rec = task.timing
    where = file_of(catalog, task)
    assumed = f"  [ASSUMED timing: confirm in {where}]" if task.assumed else ""
    out = [
        f"Task {catalog.name_of(task)} ({task.id}): {task.title}",
        f"  timing: “{rec.phrase}” → {rec.reading}{assumed}",
    ]
    if not task.enabled:
        out.append("  DISABLED in config (enabled = false): no reminders are sent")
    out += _explain_recipients(catalog, task, channels)
    first = now.astimezone(catalog.calendar.timezone).date()
    last = add_years(first, years)
    found = deadlines(task, cal, first, last, catalog.calendar.day_off_rule)
    out.append(f"\n  Deadlines from {day(first)} to {day(last)}:")
    if not found:
        out.append("    none — " + _why_none(catalog, task))
        out += _after_trigger(catalog, task, first, cal)
    reached = {r.role for r in task_recipients(task, catalog.agencies, channels)}
    ladders = {
        role: ladder_for(catalog, task, role)
        for role in Role
        if role is Role.LEAD or task.support  # no phối hợp rungs without supporting agencies
    }
    milestones = {m.id: m for m in task.milestones}
    for d in found:
        m = milestones.get(d.milestone_id)
        name = m.name if m else d.milestone_id
        assumed = f"  [ASSUMED date: confirm in {where}]" if m and m.assumed else ""
        out.append(f"    {d.occurrence} / {d.milestone_id}: {name}")
        moved = f" (rule gives {day(d.nominal)})" if d.nominal != d.due else ""
        out.append(f"      deadline {day(d.due)}{moved}{assumed}")
        out += [f"      why: {reason}" for reason in d.reasons]
        record = completion_of(d.task_id, d.occurrence, d.milestone_id, completions or {})
        if record is not None:
            out.append(f"      {done_note(record)}: no reminders")
            continue
        for role, ladder in ladders.items():
            steps = ", ".join(f"{r.tag} {s:%d/%m %H:%M}" for r, s in rungs(d.due, ladder, cal))
            if role not in reached:
                steps = "none (nobody to receive them)"
            out.append(f"      {ROLE_VI[role]} reminders: {steps or 'none'}")
    return "\n".join(out)


def add_years(start: date, years: int) -> date:
    """The same day `years` later (29/02 → 28/02 in a common year)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def _after_trigger(catalog: Catalog, task: Task, today: date, cal: WorkCalendar) -> list[str]:
    """For a task waiting for its trigger: where its deadlines fall once trigger_date is set."""
    offsets = [m for m in task.milestones if m.days_after is not None]
    if task.timing.frequency != Frequency.TRIGGERED or task.trigger_date or not offsets:
        return []
    lines = ["    once trigger_date is set, each deadline falls after it:"]
    lines += [
        f"      {m.id}: {m.days_after} days after the trigger date — {m.name}" for m in offsets
    ]
    example = replace(task, trigger_date=today)
    horizon = today + timedelta(days=max(m.days_after or 0 for m in offsets) + 31)
    found = deadlines(example, cal, today, horizon, catalog.calendar.day_off_rule)
    if found:
        dates = ", ".join(f"{d.milestone_id} {day(d.due)}" for d in found)
        lines.append(f"      e.g. trigger_date = {today.isoformat()} gives: {dates}")
    return lines


def completion_of(
    task_id: str, occurrence: str, milestone_id: str, completions: Mapping[Work, Completion]
) -> Completion | None:
    """The record that finishes this milestone: its own, or its whole occurrence's."""
    return completions.get((task_id, occurrence, milestone_id)) or completions.get(
        (task_id, occurrence, "")
    )


def finished(r: Reminder, completions: Mapping[Work, Completion]) -> bool:
    """Whether the daemon leaves `r` out because its work is recorded as done."""
    return completion_of(r.task_id, r.occurrence, r.milestone_id, completions) is not None


def done_note(c: Completion) -> str:
    """'done on 10/12/2026 (occurrence 2026, by ops:lan, Báo cáo số 12/BC-SNV)'."""
    scope = f"milestone {c.milestone_id}" if c.milestone_id else f"occurrence {c.occurrence}"
    extra = ", ".join(x for x in (scope, f"by {c.by}" if c.by else "", c.ref) if x)
    return f"done on {c.done_on:%d/%m/%Y} ({extra})"


def done_lines(
    catalog: Catalog, skipped: Sequence[Reminder], completions: Mapping[Work, Completion]
) -> list[str]:
    """For `upcoming`: the reminders left out because their work is done, one line per milestone."""
    counts: dict[tuple[str, str, str], int] = {}
    for r in skipped:
        work = (r.task_id, r.occurrence, r.milestone_id)
        counts[work] = counts.get(work, 0) + 1
    if not counts:
        return []
    lines = ["", "Not sent, recorded as done:"]
    for (task_id, occurrence, milestone_id), n in counts.items():
        record = completion_of(task_id, occurrence, milestone_id, completions)
        if record is None:  # not skipped for being done: cannot happen, say nothing
            continue
        number = catalog.name_of(catalog.task(task_id))
        lines.append(
            f"  #{number} {occurrence} {milestone_id}: {n} reminder(s) — {done_note(record)}"
        )
    return lines


def preview_head(catalog: Catalog, first: Reminder, batch: Sequence[Reminder]) -> str:
    """`preview`'s first line: channel, address, instant, and which tasks the digest merges."""
    head = f"# {first.channel} to {first.address} at {first.send_at.isoformat()}"
    if len(batch) == 1:
        return f"{head} (key {first.key})"
    order = {t.id: i for i, t in enumerate(catalog.tasks)}
    ids = sorted({r.task_id for r in batch}, key=order.__getitem__)
    tasks = ", ".join(catalog.name_of(catalog.task(i)) for i in ids)
    return f"{head}: one digest of {len(batch)} reminders, tasks {tasks} (as the daemon sends it)"


def _explain_recipients(catalog: Catalog, task: Task, channels: Sequence[str]) -> list[str]:
    lines = []
    recipients = task_recipients(task, catalog.agencies, channels)
    for named_as, role in [(task.lead, Role.LEAD)] + [(s, Role.SUPPORT) for s in task.support]:
        named = catalog.agencies[named_as]
        chain = successor(named_as, catalog.agencies)
        now_is = f" (nay là {catalog.agencies[chain[-1]].name})" if len(chain) > 1 else ""
        reached = [r for r in recipients if r.named_as == named_as]
        if reached:
            note = ""
        elif reach(named_as, catalog.agencies, channels):
            # every address it has is already reached through an earlier entry (e.g. the
            # lead's successor): it receives this task once, in that first role
            note = "  — already reached above (each address gets the task once)"
        else:
            note = "  — reaches nobody (no contacts)"
        lines.append(f"  {ROLE_VI[role]}: {named.name}{now_is}{note}")
        for r in reached:
            path = " → ".join(catalog.agencies[a].name for a in r.via) if len(r.via) > 1 else ""
            via = f"  via {path}" if path else ""
            lines.append(f"      [{r.channel}] {r.address}{via}")
    return lines


def file_of(catalog: Catalog, task: Task) -> str:
    """The file ops edit for `task`: its plan file as plans/<id>.toml (the folder's own name),
    or config.toml for a plan inline in it."""
    source = catalog.plan_of(task).source
    return f"{source.parent.name}/{source.name}" if source is not None else "config.toml"


def _why_none(catalog: Catalog, task: Task) -> str:
    freq = task.timing.frequency
    where = file_of(catalog, task)
    if freq == Frequency.TRIGGERED and task.trigger_date is None:
        return f"waiting for the event: set trigger_date in {where} when it happens"
    if freq == Frequency.ASSIGNED and not any(m.dates for m in task.milestones):
        return f"waiting for the assignment: add dates = [...] to its milestones in {where}"
    return "no deadline falls in this window (see timing and start/end years)"


def next_deadlines(catalog: Catalog, now: datetime, cal: WorkCalendar) -> list[str]:
    """One line per task: its next deadline, or why it has none (for `reminder check`)."""
    first = now.astimezone(catalog.calendar.timezone).date()
    last = first + timedelta(days=3 * 366)
    lines = []
    for task in catalog.tasks:
        found = deadlines(task, cal, first, last, catalog.calendar.day_off_rule)
        if not task.enabled:
            what = "disabled"
        elif found:
            d = found[0]
            milestone = next((m for m in task.milestones if m.id == d.milestone_id), None)
            assumed = " (assumed)" if milestone and milestone.assumed else ""
            what = f"{day(d.due)}  {d.occurrence} {d.milestone_id}{assumed}"
        else:
            what = _why_none(catalog, task)
        lines.append(f"  {task.number:>3} {task.id:<8} {what}")
    return lines


def history_json(rows: Sequence[Any]) -> str:
    """Ledger rows (reminder.ledger.Delivery) as a JSON array."""
    out = []
    for d in rows:
        item = {f: getattr(d, f) for f in d.__dataclass_fields__}
        out.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in item.items()})
    return json.dumps(out, ensure_ascii=False, indent=2)


def history_table(rows: Sequence[Any], tz: tzinfo) -> str:
    """Ledger rows, newest first, one or two lines each (errors on the second)."""
    if not rows:
        return "(no deliveries recorded yet)"
    lines = [f"{'updated':<16} {'status':<8} {'try':>3}  {'planned':<16} reminder"]
    for d in rows:
        when = d.updated_at.astimezone(tz)
        planned = d.planned_at.astimezone(tz)
        late = " (late)" if d.late else ""
        lines.append(
            f"{when:%d/%m/%Y %H:%M} {d.status.value:<8} {d.attempts:>3}  {planned:%d/%m/%Y %H:%M} "
            f"{d.task_id} {d.occurrence} {d.milestone_id} → {d.agency} [{d.channel}] {d.address}{late}"
        )
        if d.last_error and d.status.value != "sent":
            lines.append(f"{'':>16} error: {d.last_error}")
        if d.note.startswith("moved: "):  # a chat that moved (Telegram supergroup)
            lines.append(f"{'':>16} {d.note}")
        if d.next_attempt_at and d.status.value == "failed":
            lines.append(f"{'':>16} next attempt {d.next_attempt_at.astimezone(tz):%d/%m/%Y %H:%M}")
    return "\n".join(lines)

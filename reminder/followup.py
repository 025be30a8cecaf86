"""Follow-up messages, planned like reminders. PURE — it takes the window, never a clock.

Two kinds, each a `Reminder` with its own `kind`, so that they go through the same
claim → render → send → mark path and the same exactly-once ledger rules:

- **escalation**: a milestone still not done `n` working days after its (moved) deadline,
  for each rung `n` of `[escalation] after`, goes to the supervising body (every address
  that `[escalation] to` reaches). Key: task|occurrence|milestone|E+n|agency|channel|address.
  Items whose rung falls on the same day reach each address as one message (a digest).
- **summary**: once a week, to each ops address of `[summary]`, on the configured weekday
  at the configured time (the next working day when that day is off). Key:
  summary|<ISO week of the configured day>|-|S|ops|channel|address: one per week and
  address, whatever day it is actually sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from reminder.model import (
    Catalog,
    Completion,
    Deadline,
    Escalation,
    LeadUnit,
    Reminder,
    Role,
    Summary,
    number_key,
)
from reminder.recipients import reach
from reminder.status import Item, State, classify, period_deadlines
from reminder.workdays import WorkCalendar

Done = frozenset[tuple[str, str, str | None]]
SUMMARY_TASK = "summary"  # the task_id of summary rows in the ledger
_DAY = timedelta(days=1)


def escalations(
    catalog: Catalog,
    rule: Escalation,
    since: datetime,
    until: datetime,
    *,
    channels: Iterable[str],
    done: Done = frozenset(),
    cal: WorkCalendar,
) -> list[Reminder]:
    """The escalation messages whose instant lies in [since, until], sorted by (send_at, key)."""
    zone = catalog.calendar.timezone
    first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    # A rung of n working days after `due` is on or after `first` only if due ≥ the n-th
    # working day before `first`, and on or before `last` only if due ≤ last.
    lo = cal.add_working_days(first, -max(rule.after)) - 7 * _DAY  # margin: a kept day off
    targets = reach(rule.to, catalog.agencies, tuple(channels))
    found: list[Reminder] = []
    for d in period_deadlines(catalog, lo, last, cal):  # none before its plan was signed
        if _is_done(d, done):
            continue
        for n in rule.after:
            at = cal.send_at(cal.add_working_days(d.due, n))
            if since <= at <= until:
                found.extend(_escalation(d, n, at, rule.to, targets))
    found.sort(key=lambda r: (r.send_at, r.key))
    return found


def _escalation(
    d: Deadline, n: int, at: datetime, to: str, targets: list[tuple[str, str, str, tuple[str, ...]]]
) -> Iterator[Reminder]:
    for agency, channel, address, _via in targets:
        key = "|".join(
            (d.task_id, d.occurrence, d.milestone_id, f"E+{n}", agency, channel, address)
        )
        yield Reminder(
            key=key,
            task_id=d.task_id,
            occurrence=d.occurrence,
            milestone_id=d.milestone_id,
            deadline=d.due,
            send_at=at,
            lead_days=-n,
            lead_unit=LeadUnit.WORKING,
            agency=agency,
            named_as=to,
            role=Role.LEAD,
            channel=channel,
            address=address,
            kind="escalation",
        )


def summaries(
    catalog: Catalog,
    rule: Summary,
    since: datetime,
    until: datetime,
    *,
    channels: Iterable[str],
    cal: WorkCalendar,
) -> list[Reminder]:
    """The weekly summaries whose instant lies in [since, until], sorted by (send_at, key)."""
    zone = catalog.calendar.timezone
    first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    wanted = set(channels)
    addresses = [("email", a) for a in rule.emails] + [("telegram", c) for c in rule.telegram]
    addresses += [("zalo", c) for c in rule.zalo]
    addresses = [(ch, a) for ch, a in addresses if ch in wanted]
    found: list[Reminder] = []
    # The configured day of the week before `first` may be sent in the window (moved off a
    # run of days off); Tết's longest run is well under two weeks.
    day = first - timedelta(days=(first.weekday() - rule.weekday) % 7 + 14)
    while day <= last:
        sent_on = cal.next_working_day(day)
        at = datetime.combine(sent_on, rule.at, zone)
        if since <= at <= until:
            found.extend(_summary(day, sent_on, at, addresses))
        day += timedelta(days=7)
    found.sort(key=lambda r: (r.send_at, r.key))
    return found


def week_label(day: date) -> str:
    """'2026-W49': the ISO week of `day`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _summary(
    day: date, sent_on: date, at: datetime, addresses: list[tuple[str, str]]
) -> Iterator[Reminder]:
    week = week_label(day)
    for channel, address in addresses:
        yield Reminder(
            key="|".join((SUMMARY_TASK, week, "-", "S", "ops", channel, address)),
            task_id=SUMMARY_TASK,
            occurrence=week,
            milestone_id="",
            deadline=sent_on,
            send_at=at,
            lead_days=0,
            lead_unit=LeadUnit.CALENDAR,
            agency="ops",
            named_as="ops",
            role=Role.LEAD,
            channel=channel,
            address=address,
            kind="summary",
        )


def _is_done(d: Deadline, done: Done) -> bool:
    return (d.task_id, d.occurrence, None) in done or (
        d.task_id,
        d.occurrence,
        d.milestone_id,
    ) in done


# -- what the messages say (pure: the dispatcher passes the ledger's records in) ----------


@dataclass(frozen=True, slots=True)
class AgencyItems:
    """The overdue items counted for one agency, in an escalation."""

    agency: str
    name: str
    items: list[Item]


def escalation_context(
    catalog: Catalog, batch: Iterable[Reminder], today: date, now: datetime
) -> dict[str, object]:
    """The overdue items of an escalation batch, grouped by the agency they count for."""
    batch = list(batch)
    to = catalog.agencies[batch[0].named_as]
    marks = {
        (r.task_id, r.occurrence, r.milestone_id): Deadline(
            r.task_id, r.occurrence, r.milestone_id, r.deadline, r.deadline
        )
        for r in batch
    }
    items = [i for i in classify(catalog, marks.values(), {}, now) if i.deadline is not None]
    groups: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: (-i.days, number_key(i.task_number), i.occurrence)):
        groups.setdefault(item.counted_for, []).append(item)
    return {
        "recipient": to,
        "groups": [AgencyItems(a, catalog.agencies[a].name, g) for a, g in groups.items()],
        "count": len(items),
        "rungs": sorted({-r.lead_days for r in batch}),
    }


def summary_context(
    catalog: Catalog,
    rule: Summary,
    completions: Mapping[tuple[str, str, str], Completion],
    now: datetime,
    cal: WorkCalendar,
) -> dict[str, object]:
    """Due in the next `ahead_days` days, overdue, and confirmed done in the last 7 days."""
    today = now.astimezone(catalog.calendar.timezone).date()
    span = timedelta(days=max(rule.ahead_days, 400))
    ahead = today + timedelta(days=rule.ahead_days)
    week_ago = now - timedelta(days=7)
    # A deadline after `ahead` shows only as work done in the last week (done early): those
    # are looked for only in the tasks with such a record, not in a year of every task's.
    found = period_deadlines(catalog, today - span, ahead, cal)
    recent = {work[0] for work, c in completions.items() if week_ago <= c.recorded_at < now}
    if recent and ahead < today + span:
        found += period_deadlines(catalog, ahead + timedelta(days=1), today + span, cal, recent)
    items = classify(catalog, found, completions, now)
    due_soon = [
        i for i in items if i.state is State.IN_PROGRESS and i.deadline and i.deadline <= ahead
    ]
    overdue = sorted(
        (i for i in items if i.state is State.OVERDUE),
        key=lambda i: (-i.days, number_key(i.task_number), i.occurrence),
    )
    done = [
        i for i in items if i.completion is not None and week_ago <= i.completion.recorded_at < now
    ]
    return {
        "week": week_label(today),
        "ahead_days": rule.ahead_days,
        "due_soon": due_soon,
        "overdue": overdue,
        "done": sorted(done, key=lambda i: i.completion.done_on if i.completion else today),
        "week_from": (now - timedelta(days=7)).astimezone(catalog.calendar.timezone).date(),
    }

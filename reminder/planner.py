"""The plan: which reminder goes to whom, when. Pure — it takes `now`, never reads a clock.

For a window of send instants [since, until] it walks each task's deadlines (occurrences →
milestones → the day-off rule), each role's ladder of lead times, and each recipient
(successors followed, groups expanded), and returns Reminders sorted by (send_at, key).

Policies:
- A reminder day that falls on a day off moves to the working day before it (so a
  pre-deadline reminder is never after its deadline); an overdue one to the working day
  after. Reminders are sent at the calendar's send time, inside office hours.
- When two rungs of a ladder land on the same day (e.g. 1 and 3 days before a Monday
  deadline both fall on Friday), only the one closest to the deadline is kept: the
  recipient gets one message that day, with the right countdown.
- An occurrence (or one milestone of it) recorded as done gets no further reminders.
- The key is task|occurrence|milestone|lead|agency|channel|address, where lead reads
  "D-7" (7 calendar days before), "W-3" (3 working days before) or "D+1" (1 day overdue; "W+1" in working days).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from reminder.model import Catalog, Deadline, LeadTimes, LeadUnit, Reminder, Role, Task
from reminder.occurrences import deadlines
from reminder.recipients import Recipient, task_recipients
from reminder.workdays import WorkCalendar

Done = frozenset[tuple[str, str, str | None]]


@dataclass(frozen=True, slots=True)
class Rung:
    """One step of a ladder: `days` before (>0), on (0) or after (<0) the deadline."""

    days: int
    unit: LeadUnit

    @property
    def tag(self) -> str:
        unit = "W" if self.unit == LeadUnit.WORKING else "D"
        return f"{unit}+{-self.days}" if self.days < 0 else f"{unit}-{self.days}"


def plan(
    catalog: Catalog,
    since: datetime,
    until: datetime,
    *,
    channels: Iterable[str] = ("email", "telegram"),
    done: Done = frozenset(),
    cal: WorkCalendar | None = None,
) -> list[Reminder]:
    """Every reminder whose send instant lies in [since, until], sorted by (send_at, key)."""
    cal = cal or WorkCalendar(catalog.calendar)
    wanted = tuple(channels)
    found = [
        r
        for task in catalog.tasks
        if task.enabled
        for r in task_reminders(catalog, task, since, until, cal, wanted, done)
    ]
    found.sort(key=lambda r: (r.send_at, r.key))
    return found


def task_reminders(
    catalog: Catalog,
    task: Task,
    since: datetime,
    until: datetime,
    cal: WorkCalendar,
    channels: tuple[str, ...],
    done: Done = frozenset(),
) -> Iterator[Reminder]:
    """The reminders of one task in [since, until] (unsorted)."""
    recipients = task_recipients(task, catalog.agencies, channels)
    if not recipients:
        return
    ladders = {role: ladder_for(catalog, task, role) for role in Role}
    first, last = _deadline_window(since, until, ladders.values())
    for deadline in deadlines(task, cal, first, last, catalog.calendar.day_off_rule):
        if _is_done(deadline, done):
            continue
        for role, ladder in ladders.items():
            for rung, send_at in rungs(deadline.due, ladder, cal):
                if since <= send_at <= until:
                    yield from _for_recipients(deadline, rung, send_at, role, recipients)


def ladder_for(catalog: Catalog, task: Task, role: Role) -> LeadTimes:
    """The task's own ladder for `role`, else the global one."""
    if task.lead_times and role in task.lead_times:
        return task.lead_times[role]
    return catalog.lead_times[role]


def rungs(due: date, ladder: LeadTimes, cal: WorkCalendar) -> list[tuple[Rung, datetime]]:
    """The ladder's send instants for one deadline, one per day (the closest rung wins)."""
    steps = [Rung(d, ladder.unit) for d in ladder.before] + [
        Rung(-d, ladder.unit) for d in ladder.overdue
    ]
    by_day: dict[date, Rung] = {}
    for rung in steps:
        day = cal.reminder_day(due, rung.days, rung.unit)
        kept = by_day.get(day)
        if kept is None or abs(rung.days) < abs(kept.days):
            by_day[day] = rung
    return [(rung, cal.send_at(day)) for day, rung in sorted(by_day.items())]


def _for_recipients(
    deadline: Deadline, rung: Rung, send_at: datetime, role: Role, recipients: list[Recipient]
) -> Iterator[Reminder]:
    for rcp in recipients:
        if rcp.role != role:
            continue
        key = "|".join(
            (
                deadline.task_id,
                deadline.occurrence,
                deadline.milestone_id,
                rung.tag,
                rcp.agency,
                rcp.channel,
                rcp.address,
            )
        )
        yield Reminder(
            key=key,
            task_id=deadline.task_id,
            occurrence=deadline.occurrence,
            milestone_id=deadline.milestone_id,
            deadline=deadline.due,
            send_at=send_at,
            lead_days=rung.days,
            lead_unit=rung.unit,
            agency=rcp.agency,
            named_as=rcp.named_as,
            role=role,
            channel=rcp.channel,
            address=rcp.address,
        )


def _deadline_window(
    since: datetime, until: datetime, ladders: Iterable[LeadTimes]
) -> tuple[date, date]:
    """Deadlines whose reminders can fall in [since, until]: widened by the longest lead.

    Working-day leads are widened generously (×2 + 21 days covers Tết and long holidays).
    """
    before = overdue = 0
    for ladder in ladders:
        most = max(ladder.before, default=0)
        before = max(before, most * 2 + 21 if ladder.unit == LeadUnit.WORKING else most + 7)
        overdue = max(overdue, max(ladder.overdue, default=0) + 14)
    return since.date() - timedelta(days=overdue), until.date() + timedelta(days=before)


def _is_done(deadline: Deadline, done: Done) -> bool:
    return (deadline.task_id, deadline.occurrence, None) in done or (
        deadline.task_id,
        deadline.occurrence,
        deadline.milestone_id,
    ) in done

"""Status of the work, computed, never stored. PURE: no clock, no database, no files.

Input: the catalog, the deadlines of the period (after the day-off rule), the current
completion records and `now`. Output: one `Item` per milestone of every occurrence, in one
of five classes, the way Vietnamese task monitoring counts them:

- *hoàn thành đúng hạn* (DONE_ON_TIME): finished on or before its deadline;
- *hoàn thành quá hạn* (DONE_LATE): finished after it; `days` = calendar days late;
- *quá hạn chưa hoàn thành* (OVERDUE): the deadline has passed (today is after it) and it is
  not finished; `days` = calendar days overdue;
- *đang thực hiện* (IN_PROGRESS): not finished, deadline today or later;
- *chờ sự kiện* (WAITING): a triggered task whose trigger has not happened (no deadline).

As of `now`: a record whose `done_on` is after today is not counted (the work was not
finished yet on that day: last quarter's report does not change when this quarter's work is
recorded); a counted record entered after `now` is flagged `entered_late` (the report says
so: a late-entered record is a fact worth seeing).

The deadline is the moved one (a deadline on Tết moves to the next working day, and work
finished on that day is on time). Days late count calendar days, as the Civil Code counts
time limits: done the day after the deadline is 1 day late, whatever the weekday.

A milestone is finished when it has its own completion record or its occurrence has one
(`reminder done TASK OCC` without a milestone); its own record wins when both exist.

Successor agencies: work the appendix gives to "Sở Kế hoạch và Đầu tư" is counted for its
successor (Sở Tài chính) and labelled as the letters label it:
"Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from reminder.model import (
    Catalog,
    Completion,
    Deadline,
    Frequency,
    Milestone,
    Occurrence,
    Task,
    number_key,
)
from reminder.occurrences import DeadlineMemo, deadlines_by_shape, occurrences
from reminder.occurrences import deadlines as task_deadlines
from reminder.recipients import successor
from reminder.workdays import WorkCalendar

Work = tuple[str, str, str]  # (task_id, occurrence, milestone_id or '')


class State(enum.StrEnum):
    """The five classes. The values are the stable names used in JSON and CSV."""

    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    OVERDUE = "overdue"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"

    @property
    def label(self) -> str:
        """The class as the office names it."""
        return LABELS[self]


LABELS: dict[State, str] = {
    State.DONE_ON_TIME: "Hoàn thành đúng hạn",
    State.DONE_LATE: "Hoàn thành quá hạn",
    State.OVERDUE: "Quá hạn chưa hoàn thành",
    State.IN_PROGRESS: "Đang thực hiện",
    State.WAITING: "Chờ sự kiện",
}


@dataclass(frozen=True, slots=True)
class Item:
    """One milestone of one occurrence, classified."""

    task_id: str
    task_number: str
    task_title: str
    occurrence: str  # '' while WAITING
    milestone_id: str
    milestone_name: str
    agency: str  # the lead agency as the appendix names it
    counted_for: str  # the agency whose row counts it (the successor, if any)
    agency_label: str  # "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)"
    state: State
    deadline: date | None  # after the day-off rule; None while WAITING
    nominal: date | None = None  # the date the rule gives, before moving
    moved: tuple[str, ...] = ()  # why the deadline moved
    days: int = 0  # days late (DONE_LATE) or overdue (OVERDUE), else 0
    completion: Completion | None = None
    progress: bool = False  # a progress report (ongoing task, period): not the task's deadline
    entered_late: bool = False  # the completion was recorded after the report's `now`
    plan: str = ""  # the id of the task's plan


@dataclass(slots=True)
class Row:
    """One agency's line of the matrix: counts per class and the on-time rate."""

    agency: str
    name: str
    counts: dict[State, int] = field(default_factory=lambda: dict.fromkeys(State, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def due(self) -> int:
        """Items that count for the rate: finished, or past their deadline."""
        c = self.counts
        return c[State.DONE_ON_TIME] + c[State.DONE_LATE] + c[State.OVERDUE]

    @property
    def on_time_rate(self) -> float | None:
        """Finished on time / (finished + overdue); None when nothing is due yet."""
        return self.counts[State.DONE_ON_TIME] / self.due if self.due else None


PLANNABLE_YEARS = range(1900, 2200)  # years an occurrence label may name


class Refused(ValueError):
    """A completion that cannot be recorded (unknown work, a date in the future, …)."""


class TooEarly(Refused):
    """An answer-back completion before the occurrence begins (`opens`: the first day it may)."""

    def __init__(self, opens: date, message: str) -> None:
        super().__init__(message)
        self.opens = opens


# ---------------------------------------------------------------------------------------


def period_deadlines(
    catalog: Catalog,
    first: date,
    last: date,
    cal: WorkCalendar,
    only: Collection[str] | None = None,
) -> list[Deadline]:
    """The (moved) deadlines of every enabled task (of the tasks `only` names, if given)
    that fall in [first, last], none before the day its plan was signed: nothing is late
    before its plan exists (a yearly task of a plan signed in March 2026 has no 2025
    deadline to be overdue for)."""
    rule = catalog.calendar.day_off_rule
    plans = catalog.plans or {catalog.plan.id: catalog.plan}
    signed = {pid: p.signed_on for pid, p in plans.items() if p.signed_on is not None}
    shapes: DeadlineMemo = {}
    return [
        d
        for task in catalog.tasks
        if task.enabled and (only is None or task.id in only)
        for d in deadlines_by_shape(task, cal, first, last, rule, shapes)
        if d.due >= signed.get(task.plan or catalog.plan.id, d.due)
    ]


def classify(
    catalog: Catalog,
    deadlines: Iterable[Deadline],
    completions: Mapping[Work, Completion],
    now: datetime,
) -> list[Item]:
    """Every deadline classified at `now`, then one WAITING item per milestone of each
    triggered task still waiting for its trigger. Sorted by (deadline, task number)."""
    today = now.astimezone(catalog.calendar.timezone).date()
    tasks = {t.id: t for t in catalog.tasks}
    leads = {
        t.lead: (counts_for(catalog, t.lead), agency_label(catalog, t.lead)) for t in tasks.values()
    }
    signed = {t.id: catalog.plan_of(t).signed_on for t in tasks.values()}
    items = [
        _classify(
            tasks[d.task_id],
            leads,
            d,
            _completion(d, completions, today),
            today,
            now,
            signed[d.task_id],
        )
        for d in deadlines
        if d.task_id in tasks
    ]
    items.sort(key=lambda i: (i.deadline or date.max, number_key(i.task_number), i.occurrence))
    items.extend(_waiting(catalog))
    return items


def matrix(catalog: Catalog, items: Iterable[Item]) -> list[Row]:
    """One row per lead agency (successors merged), in the order of first appearance
    in the catalog's agency directory."""
    rows: dict[str, Row] = {}
    for item in items:
        row = rows.get(item.counted_for)
        if row is None:
            agency = catalog.agencies[item.counted_for]
            row = rows[item.counted_for] = Row(agency.id, agency.name)
        row.counts[item.state] += 1
    order = {a: i for i, a in enumerate(catalog.agencies)}
    return sorted(rows.values(), key=lambda r: order.get(r.agency, len(order)))


@dataclass(slots=True)
class PlanRow:
    """One plan's line: counts per class, and the agencies (their rows' ids) with work done
    late or overdue in it, with how many items each."""

    plan: str
    title: str
    counts: dict[State, int] = field(default_factory=lambda: dict.fromkeys(State, 0))
    late: dict[str, int] = field(default_factory=dict)  # agency → done late + overdue


LATE = (State.DONE_LATE, State.OVERDUE)


def by_plan(catalog: Catalog, items: Iterable[Item]) -> list[PlanRow]:
    """One row per plan of the catalog, in its order (plans with nothing in the period too):
    the office's view of which agency is late in which plan."""
    rows = {pid: PlanRow(pid, p.title) for pid, p in catalog.plans.items()}
    for item in items:
        row = rows.get(item.plan)
        if row is None:
            continue
        row.counts[item.state] += 1
        if item.state in LATE:
            row.late[item.counted_for] = row.late.get(item.counted_for, 0) + 1
    return list(rows.values())


def late_plans(items: Iterable[Item]) -> dict[str, list[str]]:
    """Agency (its row's id) → the plans in which it has work done late or overdue."""
    out: dict[str, list[str]] = {}
    for item in items:
        if item.state in LATE and item.plan not in out.setdefault(item.counted_for, []):
            out[item.counted_for].append(item.plan)
    return {a: plans for a, plans in out.items() if plans}


def totals(rows: Iterable[Row]) -> Row:
    """The sum of the rows (the matrix's last line)."""
    out = Row("", "Tổng cộng")
    for row in rows:
        for state, n in row.counts.items():
            out.counts[state] += n
    return out


def agency_label(catalog: Catalog, agency_id: str) -> str:
    """The agency as named, with its successor as the letters write it."""
    chain = successor(agency_id, catalog.agencies)
    named = catalog.agencies[agency_id].name
    if len(chain) == 1:
        return named
    return f"{named} (nay là {catalog.agencies[chain[-1]].name})"


def counts_for(catalog: Catalog, agency_id: str) -> str:
    """The agency whose row counts `agency_id`'s work: its final successor."""
    return successor(agency_id, catalog.agencies)[-1]


# ---------------------------------------------------------------------------------------


def _completion(
    d: Deadline, completions: Mapping[Work, Completion], today: date
) -> Completion | None:
    """The record that counts at `today`: the milestone's own, else its occurrence's; a
    record of work finished after `today` does not count (not finished yet on that day)."""
    own = completions.get((d.task_id, d.occurrence, d.milestone_id))
    found = own if own is not None else completions.get((d.task_id, d.occurrence, ""))
    return found if found is not None and found.done_on <= today else None


def _classify(
    task: Task,
    leads: Mapping[str, tuple[str, str]],
    d: Deadline,
    done: Completion | None,
    today: date,
    now: datetime,
    signed_on: date | None = None,
) -> Item:
    """One deadline's class; `leads` maps a lead to (counted for, label). A progress
    report is classed like any milestone (a report not sent is overdue), flagged `progress`:
    an ongoing task has no completion deadline of its own to be late for. A deadline before
    its plan was signed (`signed_on`) cannot be late: done, it is on time; not done, in
    progress."""
    ms = _milestone(task, d.milestone_id)
    if signed_on is not None and d.due < signed_on:
        state, days = (State.DONE_ON_TIME if done is not None else State.IN_PROGRESS), 0
    elif done is not None:
        late = (done.done_on - d.due).days
        state, days = (State.DONE_LATE, late) if late > 0 else (State.DONE_ON_TIME, 0)
    elif today > d.due:
        state, days = State.OVERDUE, (today - d.due).days
    else:
        state, days = State.IN_PROGRESS, 0
    return Item(
        task_id=task.id,
        task_number=task.number,
        task_title=task.title,
        occurrence=d.occurrence,
        milestone_id=d.milestone_id,
        milestone_name=ms.name,
        agency=task.lead,
        counted_for=leads[task.lead][0],
        agency_label=leads[task.lead][1],
        state=state,
        deadline=d.due,
        nominal=d.nominal,
        moved=d.reasons,
        days=days,
        completion=done,
        progress=ms.progress,
        entered_late=done is not None and done.recorded_at > now,
        plan=task.plan,
    )


def _waiting(catalog: Catalog) -> Iterator[Item]:
    for task in catalog.tasks:
        if not task.enabled or task.timing.frequency is not Frequency.TRIGGERED:
            continue
        if task.trigger_date is not None:
            continue
        for ms in task.milestones:
            if ms.dates:  # explicit dates are deadlines of their own, not waiting
                continue
            yield Item(
                task_id=task.id,
                task_number=task.number,
                task_title=task.title,
                occurrence="",
                milestone_id=ms.id,
                milestone_name=ms.name,
                agency=task.lead,
                counted_for=counts_for(catalog, task.lead),
                agency_label=agency_label(catalog, task.lead),
                state=State.WAITING,
                deadline=None,
                plan=task.plan,
            )


def _milestone(task: Task, milestone_id: str) -> Milestone:
    for ms in task.milestones:
        if ms.id == milestone_id:
            return ms
    raise KeyError(f"task {task.id} has no milestone {milestone_id!r}")


# -- what may be recorded ------------------------------------------------------------------


def check_done(
    task: Task,
    occurrence: str,
    milestone_id: str | None,
    done_on: date | None,
    today: date,
    *,
    first_reminder: date | None = None,
    answer_back: bool = False,
) -> None:
    """Refused (one line) unless the work exists and `done_on` is possible at `today`:
    the milestone is the task's, the occurrence is one of its occurrences, and the date is
    neither in the future nor before the occurrence begins (`earliest_done`).

    The answer-back channels (`answer_back`: Telegram, the e-mail link) may record an
    occurrence from the day it opens (`opens`: its first day, or the day its first reminder
    goes out if that is earlier; TooEarly before it); the command line at any time."""
    if milestone_id and milestone_id not in {m.id for m in task.milestones}:
        known = ", ".join(m.id for m in task.milestones)
        raise Refused(f"task {task.number} has no milestone {milestone_id!r} (known: {known})")
    occ, known_occ, year = _find_occurrence(task, occurrence, today)
    if occ is None:
        near = ", ".join(sorted(known_occ)[-8:]) or "none"
        raise Refused(
            f"task {task.number} has no occurrence {occurrence!r} (around {year}: {near}; "
            f"see `reminder explain {task.number}`)"
        )
    first_day = opens(occ, first_reminder)
    if answer_back and today < first_day:
        raise TooEarly(
            first_day,
            f"occurrence {occurrence} of task {task.number} can be recorded as done from "
            f"{first_day.isoformat()} (today is {today.isoformat()})",
        )
    if done_on is None:
        return
    if done_on > today:
        raise Refused(f"{done_on.isoformat()} is in the future (today is {today.isoformat()})")
    earliest = earliest_done(occ, first_reminder, today)
    if earliest is not None and done_on < earliest:
        raise Refused(
            f"{done_on.isoformat()} is before occurrence {occurrence} of task {task.number} "
            f"begins ({earliest.isoformat()})"
        )


def find_occurrence(task: Task, occurrence: str, today: date) -> Occurrence | None:
    """The task's occurrence labelled `occurrence` (its year read from the label), if any."""
    return _find_occurrence(task, occurrence, today)[0]


def occurrence_year(occurrence: str) -> int | None:
    """The year an occurrence label is in ("2026", "2026-Q1", "2027-03-15",
    "trigger-2026-05-01"): its first four ASCII digits, if they are a year that can be
    planned (PLANNABLE_YEARS); None otherwise (a label from a press or a link is untrusted)."""
    found = re.search(r"[0-9]{4}", occurrence)
    year = int(found.group()) if found else None
    return year if year in PLANNABLE_YEARS else None


def deadline_of(
    catalog: Catalog, task: Task, occurrence: str, milestone_id: str
) -> Deadline | None:
    """The (moved) deadline of one milestone of one occurrence, if the task has it."""
    year = occurrence_year(occurrence)
    if year is None:
        return None
    cal = WorkCalendar(catalog.calendar)
    first, last = date(year - 1, 1, 1), date(year + 2, 12, 31)
    for d in task_deadlines(task, cal, first, last, catalog.calendar.day_off_rule):
        if d.occurrence == occurrence and d.milestone_id == milestone_id:
            return d
    return None


def _find_occurrence(
    task: Task, occurrence: str, today: date
) -> tuple[Occurrence | None, dict[str, Occurrence], int]:
    year = occurrence_year(occurrence) or today.year
    known = {o.label: o for o in occurrences(task, date(year, 1, 1), date(year, 12, 31))}
    return known.get(occurrence), known, year


def _dated(occ: Occurrence) -> bool:
    """One assigned date ("2027-03-15"): a deadline, not a period with a first day."""
    return occ.label == occ.start.isoformat()


def opens(occ: Occurrence, first_reminder: date | None) -> date:
    """The first day the answer-back channels may record the occurrence as done: the day
    its first reminder goes out (planner.first_reminder_day), or its first day if that is
    earlier (the first day of a year, a quarter, a trigger; an assigned date's day)."""
    return occ.start if first_reminder is None else min(occ.start, first_reminder)


def earliest_done(occ: Occurrence, first_reminder: date | None, today: date) -> date | None:
    """The earliest finishing date that may be recorded: a period's work cannot be finished
    before the period opens (or before today, when recorded early from the command line);
    an assigned date's work may have been finished at any time before (None)."""
    if _dated(occ):
        return None
    return min(opens(occ, first_reminder), today)

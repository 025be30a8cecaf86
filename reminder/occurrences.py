"""The occurrences of one task and the deadlines of its milestones.

Pure: no clock, no I/O. `occurrences` lists the instances of a task (years, quarters,
halves, months, a trigger, explicit dates); `deadlines` places each milestone in each
occurrence, moves it off days off with the calendar, and keeps those due in a window.

Policies
--------
- YEARLY every n years: the years y with (y − anchor) % n == 0, anchor = anchor_year, else
  start_year; n > 1 with neither is a ValueError (config must name an anchor). Bounded by
  start_year ≤ y ≤ end_year. Label "2026".
- QUARTERLY "2026-Q1", HALF_YEARLY "2026-H1", MONTHLY "2026-06": every period of the years
  within start_year … end_year.
- ONCE: the single period of `Recurrence.period` ("2026", "2026-Q1", "2026-H2", "2026-06"),
  labelled by it; start_year / end_year do not apply.
- ONGOING ("Thường xuyên"): a year period "2026" each year within start_year … end_year;
  its milestones are progress reports (the office's report dates), never a completion
  deadline.
- SPAN ("Giai đoạn 2026 - 2030"): a year period each year start_year … end_year; progress
  milestones are due in each year but the last, the others (completion) only in the last.
- TRIGGERED: nothing until `task.trigger_date`; then one occurrence "trigger-YYYY-MM-DD"
  from that day to its latest milestone deadline; a milestone is due `days_after` calendar
  days after the trigger (0 when not given).
- ASSIGNED, and any milestone with explicit `dates` (whatever the frequency): each date is
  a deadline of its own one-day occurrence, labelled by the ISO date "2027-03-15"; such a
  milestone has no other deadline. An ASSIGNED milestone without dates has none.
- A milestone in a year period ("2026"): `due` (day, month) in that year; else `due_day` in
  month `due_month` (default December); else the phrase's `fixed_due`; else 31/12.
- A milestone in a quarter, half or month: `due_day` in month `due_month` of the period
  (1-based, default the period's last month); else the phrase's `period_due`; no day means
  the month's last day. `due`
  (day, month) cannot be placed in such a period and is a ValueError.
- Civil Code: a day missing from its month means the month's last day (31 → 30/04;
  29/02 → 28/02 in a common year). Days outside 1–31 and months outside 1–12 are errors.
- Day-off rule: the milestone's, else the task's, else the phrase's ("trước …": the working
  day before), else `default_rule`; the move and its
  reasons come from `WorkCalendar.move_deadline`. `Deadline.nominal` is the date before
  the move, `Deadline.due` the date after it.
- `Task.enabled` is not looked at: skipping disabled tasks is the planner's business.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from reminder.model import DayOffRule, Deadline, Frequency, Milestone, Occurrence, Recurrence, Task
from reminder.workdays import WorkCalendar

_PERIOD = re.compile(r"(?P<y>\d{4})(?:-(?:Q(?P<q>[1-4])|H(?P<h>[12])|(?P<m>0[1-9]|1[0-2])))?")


def civil_date(year: int, month: int, day: int) -> date:
    """date(year, month, day), a day past the month's end meaning its last day (Civil Code).

    ValueError for a month outside 1–12 or a day outside 1–31.
    """
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError(f"no such day of the year: {day}/{month}")
    if day > 28:
        last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]
        day = min(day, last)
    return date(year, month, day)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_end(year: int, month: int) -> date:
    return civil_date(year, month, 31)


@dataclass(frozen=True, slots=True)
class _Span:
    """A period of whole months: `months` months from `first_month` of `year`."""

    label: str
    year: int
    first_month: int
    months: int

    def occurrence(self, task_id: str) -> Occurrence:
        end = _month_end(self.year, self.first_month + self.months - 1)
        return Occurrence(task_id, self.label, date(self.year, self.first_month, 1), end)

    @property
    def is_year(self) -> bool:
        return self.months == 12


def _year_span(y: int) -> _Span:
    return _Span(str(y), y, 1, 12)


def _spans_of_year(freq: Frequency, y: int) -> list[_Span]:
    if freq is Frequency.YEARLY:
        return [_year_span(y)]
    if freq is Frequency.QUARTERLY:
        return [_Span(f"{y}-Q{q}", y, 3 * q - 2, 3) for q in range(1, 5)]
    if freq is Frequency.HALF_YEARLY:
        return [_Span(f"{y}-H{h}", y, 6 * h - 5, 6) for h in (1, 2)]
    return [_Span(f"{y}-{m:02d}", y, m, 1) for m in range(1, 13)]


def _parse_period(period: str) -> _Span:
    """A ONCE period: "2026", "2026-Q1", "2026-H2" or "2026-06"; ValueError otherwise."""
    m = _PERIOD.fullmatch(period)
    if m is None:
        raise ValueError(f"period {period!r} is not YYYY, YYYY-Qn, YYYY-Hn or YYYY-MM")
    y = int(m["y"])
    if m["q"]:
        return _Span(period, y, 3 * int(m["q"]) - 2, 3)
    if m["h"]:
        return _Span(period, y, 6 * int(m["h"]) - 5, 6)
    if m["m"]:
        return _Span(period, y, int(m["m"]), 1)
    return _year_span(y)


def _check_interval(rec: Recurrence) -> int | None:
    """The anchor year for a yearly recurrence; ValueError for an unusable interval."""
    if rec.interval < 1:
        raise ValueError(f"interval must be at least 1, not {rec.interval}")
    if rec.interval > 1 and rec.frequency is not Frequency.YEARLY:
        raise ValueError(f"an interval of {rec.interval} is only supported for yearly tasks")
    anchor = rec.anchor_year if rec.anchor_year is not None else rec.start_year
    if rec.interval > 1 and anchor is None:
        raise ValueError(
            f"every {rec.interval} years needs an anchor year (or a start year) to say which"
        )
    return anchor


def _in_scope(rec: Recurrence, anchor: int | None, y: int) -> bool:
    if rec.start_year is not None and y < rec.start_year:
        return False
    if rec.end_year is not None and y > rec.end_year:
        return False
    return anchor is None or (y - anchor) % rec.interval == 0


def _spans(rec: Recurrence, years: Iterable[int]) -> list[_Span]:
    """The recurring or one-off periods of `rec` that touch `years`."""
    wanted = set(years)
    if rec.frequency is Frequency.ONCE:
        span = _parse_period(rec.period or "")
        return [span] if span.year in wanted else []
    if rec.frequency in (Frequency.TRIGGERED, Frequency.ASSIGNED):
        return []
    if rec.frequency in (Frequency.ONGOING, Frequency.SPAN):
        return [_year_span(y) for y in sorted(wanted) if _in_scope(rec, None, y)]
    anchor = _check_interval(rec)
    return [
        span
        for y in sorted(wanted)
        if _in_scope(rec, anchor, y)
        for span in _spans_of_year(rec.frequency, y)
    ]


def _trigger_label(task: Task) -> str:
    assert task.trigger_date is not None
    return f"trigger-{task.trigger_date.isoformat()}"


def _trigger_due(task: Task, ms: Milestone) -> date:
    assert task.trigger_date is not None
    return task.trigger_date + timedelta(days=ms.days_after or 0)


def _trigger_occurrence(task: Task) -> Occurrence | None:
    if task.timing.frequency is not Frequency.TRIGGERED or task.trigger_date is None:
        return None
    ends = [_trigger_due(task, ms) for ms in task.milestones if not ms.dates]
    end = max([task.trigger_date, *ends])
    return Occurrence(task.id, _trigger_label(task), task.trigger_date, end)


def _window_years(first: date, last: date) -> range:
    return range(first.year - 1, last.year + 2)


def occurrences(task: Task, first: date, last: date) -> list[Occurrence]:
    """The task's occurrences that touch the years first.year − 1 … last.year + 1.

    That margin of a year on each side covers deadlines moved across a year end. Returned:
    the periods of the recurrence (none for TRIGGERED / ASSIGNED); the trigger occurrence
    once `trigger_date` is set (when its span touches those years); one occurrence per
    explicit milestone date in those years. Sorted by (start, end, label), no duplicates.
    ValueError for an every-n-years recurrence without an anchor or start year.
    """
    years = _window_years(first, last)
    lo, hi = date(years[0], 1, 1), date(years[-1], 12, 31)
    found = {span.label: span.occurrence(task.id) for span in _spans(task.timing, years)}
    trigger = _trigger_occurrence(task)
    if trigger is not None and trigger.start <= hi and trigger.end >= lo:
        found[trigger.label] = trigger
    for ms in task.milestones:
        for d in ms.dates:
            if lo <= d <= hi:
                found[d.isoformat()] = Occurrence(task.id, d.isoformat(), d, d)
    return sorted(found.values(), key=lambda o: (o.start, o.end, o.label))


def _due_in_year(rec: Recurrence, ms: Milestone, year: int) -> date:
    if ms.due is not None:
        return civil_date(year, ms.due[1], ms.due[0])
    if ms.due_day is not None or ms.due_month is not None:
        return civil_date(year, ms.due_month or 12, ms.due_day or 31)
    if rec.fixed_due is not None:
        return civil_date(year, rec.fixed_due[1], rec.fixed_due[0])
    return date(year, 12, 31)


def _due_in_span(rec: Recurrence, ms: Milestone, span: _Span) -> date:
    if ms.due is not None:
        raise ValueError(
            f"milestone {ms.id!r}: a (day, month) `due` cannot be placed in period "
            f"{span.label}; use due_day and due_month (month of the period, 1–{span.months})"
        )
    if ms.due_day is None and ms.due_month is None and rec.period_due is not None:
        day, k = rec.period_due
        return civil_date(span.year, span.first_month + min(k, span.months) - 1, day)
    k = ms.due_month or span.months
    if not 1 <= k <= span.months:
        raise ValueError(
            f"milestone {ms.id!r}: due_month {k} is not a month of period {span.label} "
            f"(1–{span.months})"
        )
    return civil_date(span.year, span.first_month + k - 1, ms.due_day or 31)


def _nominal_dates(task: Task, ms: Milestone, spans: list[_Span]) -> Iterator[tuple[str, date]]:
    """(occurrence label, nominal deadline) for one milestone; `spans`: the task's periods
    over the window's years."""
    if ms.dates:
        yield from ((d.isoformat(), d) for d in ms.dates)
        return
    if task.timing.frequency is Frequency.TRIGGERED:
        if task.trigger_date is not None:
            yield _trigger_label(task), _trigger_due(task, ms)
        return
    for span in spans:
        if task.timing.frequency is Frequency.SPAN and not _in_span_year(task.timing, ms, span):
            continue
        if span.is_year:
            yield span.label, _due_in_year(task.timing, ms, span.year)
        else:
            yield span.label, _due_in_span(task.timing, ms, span)


def _in_span_year(rec: Recurrence, ms: Milestone, span: _Span) -> bool:
    """A period's progress reports fall in its years but the last, its completion in the last."""
    last = span.year == rec.end_year
    return last != ms.progress


def _rule(task: Task, ms: Milestone, default: DayOffRule) -> DayOffRule:
    """The milestone's day-off rule, else the task's, else the phrase's, else the default."""
    if ms.day_off_rule is not None:
        return ms.day_off_rule
    if task.day_off_rule is not None:
        return task.day_off_rule
    return task.timing.day_off_rule if task.timing.day_off_rule is not None else default


def deadlines(
    task: Task, cal: WorkCalendar, first: date, last: date, default_rule: DayOffRule
) -> list[Deadline]:
    """Every deadline of the task whose moved date `due` is within [first, last].

    Sorted by (due, milestone order in the task, occurrence label). The day-off rule is the
    milestone's, else the task's, else `default_rule`. ValueError for a milestone that cannot
    be placed in its period (see the module docstring).
    """
    spans = _spans(task.timing, _window_years(first, last))
    found: list[tuple[date, int, str, Deadline]] = []
    for order, ms in enumerate(task.milestones):
        rule = _rule(task, ms, default_rule)
        for label, nominal in _nominal_dates(task, ms, spans):
            due, reasons = cal.move_deadline(nominal, rule)
            if first <= due <= last:
                found.append(
                    (due, order, label, Deadline(task.id, label, ms.id, nominal, due, reasons))
                )
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


DeadlineMemo = dict[tuple[object, ...], list[Deadline]]


def deadlines_by_shape(
    task: Task,
    cal: WorkCalendar,
    first: date,
    last: date,
    default_rule: DayOffRule,
    memo: DeadlineMemo,
) -> list[Deadline]:
    """deadlines(task, …), from another task of the same shape met before (kept in `memo`)
    if there is one: the deadlines depend on the task's timing, trigger date, day-off rule
    and milestones, and on nothing else but its id (many tasks are "Hằng năm", due 15/12)."""
    shape = (task.timing, task.trigger_date, task.day_off_rule, task.milestones, first, last)
    same = memo.get(shape)
    if same is None:
        memo[shape] = found = deadlines(task, cal, first, last, default_rule)
        return found
    if not same or same[0].task_id == task.id:
        return same
    return [
        Deadline(task.id, d.occurrence, d.milestone_id, d.nominal, d.due, d.reasons) for d in same
    ]

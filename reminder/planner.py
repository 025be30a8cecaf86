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

import gc
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter

from reminder.model import (
    Catalog,
    Deadline,
    LeadTimes,
    LeadUnit,
    Reminder,
    Role,
    Task,
)
from reminder.occurrences import DeadlineMemo, deadlines, deadlines_by_shape
from reminder.recipients import Recipient, task_recipients
from reminder.status import occurrence_year
from reminder.workdays import WorkCalendar

Done = frozenset[tuple[str, str, str | None]]
Source = Callable[[datetime, datetime], list[Reminder]]
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Rung:
    """One step of a ladder: `days` before (>0), on (0) or after (<0) the deadline."""

    days: int
    unit: LeadUnit

    @property
    def tag(self) -> str:
        unit = "W" if self.unit == LeadUnit.WORKING else "D"
        return f"{unit}+{-self.days}" if self.days < 0 else f"{unit}-{self.days}"


@dataclass(slots=True)
class _Shared:
    """What tasks of one plan() share, worked out once: many tasks have the same timing,
    milestones and ladders (every "Hằng năm" task due on 15/12), so the same deadlines,
    deadline window and ladder instants. Keyed by everything the answer depends on."""

    rungs: dict[tuple[date, LeadTimes], list[tuple[Rung, str, datetime]]]
    windows: dict[tuple[LeadTimes, ...], tuple[date, date]]
    deadlines: DeadlineMemo

    @classmethod
    def new(cls) -> _Shared:
        return cls({}, {}, {})


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
    shared = _Shared.new()
    with _cycle_collector_paused():
        found = [
            r
            for task in catalog.tasks
            if task.enabled
            for r in task_reminders(catalog, task, since, until, cal, wanted, done, shared)
        ]
    # Two stable sorts on one attribute each: the order of sorting on (send_at, key), without
    # a tuple per reminder (40 MB at 600,000 reminders).
    found.sort(key=attrgetter("key"))
    found.sort(key=attrgetter("send_at"))
    return found


class _CollectorPause:
    """Python's cyclic garbage collector off while any plan is being built, then as it was.

    A plan is hundreds of thousands of new objects that form no cycle; each collection
    the allocations trigger walks all of them again, a quarter of the time of a 10,000-task
    plan (docs/performance.md). Reference counting still frees everything as usual.

    plan() runs in several threads at once (the daemon's cycle, the web pages), and the
    switch is process-wide: the first to enter turns it off, the last to leave restores it.
    Each saving and restoring the state it found would leave it off for good when two
    overlap (the second finds it off).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._was_enabled:
                    gc.enable()


_cycle_collector_paused = _CollectorPause()


def task_reminders(
    catalog: Catalog,
    task: Task,
    since: datetime,
    until: datetime,
    cal: WorkCalendar,
    channels: tuple[str, ...],
    done: Done = frozenset(),
    shared: _Shared | None = None,
) -> Iterator[Reminder]:
    """The reminders of one task in [since, until] (unsorted). `shared`: what this task has
    in common with the others of the same plan() (see _Shared)."""
    recipients = task_recipients(task, catalog.agencies, channels)
    if not recipients:
        return
    memo = shared or _Shared.new()
    ladders = {role: ladder_for(catalog, task, role) for role in Role}
    by_role = {
        role: [(r, f"{r.agency}|{r.channel}|{r.address}") for r in recipients if r.role == role]
        for role in Role
    }
    window = tuple(ladders.values())
    if (span := memo.windows.get(window)) is None:
        span = memo.windows[window] = _deadline_window(since, until, window, cal)
    rule = catalog.calendar.day_off_rule
    for deadline in deadlines_by_shape(task, cal, *span, rule, memo.deadlines):
        if _is_done(deadline, done):
            continue
        for role, ladder in ladders.items():
            steps = memo.rungs.get((deadline.due, ladder))
            if steps is None:
                steps = memo.rungs[(deadline.due, ladder)] = [
                    (rung, rung.tag, send_at) for rung, send_at in rungs(deadline.due, ladder, cal)
                ]
            for rung, tag, send_at in steps:
                if since <= send_at <= until:
                    yield from _for_recipients(deadline, rung, tag, send_at, role, by_role[role])


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


def first_reminder_day(
    catalog: Catalog, task: Task, occurrence: str, cal: WorkCalendar
) -> date | None:
    """The day the first reminder of one occurrence goes out (any milestone, any role's
    ladder, done or not), or None when the occurrence has no deadline or no rung: from that
    day on, the answer-back channels may record the occurrence as done."""
    year = occurrence_year(occurrence)
    if year is None:
        return None
    first, last = date(year - 1, 1, 1), date(year + 2, 12, 31)
    days = [
        send_at.astimezone(cal.rules.timezone).date()
        for d in deadlines(task, cal, first, last, catalog.calendar.day_off_rule)
        if d.occurrence == occurrence
        for role in Role
        for _rung, send_at in rungs(d.due, ladder_for(catalog, task, role), cal)
    ]
    return min(days, default=None)


def _for_recipients(
    deadline: Deadline,
    rung: Rung,
    tag: str,
    send_at: datetime,
    role: Role,
    recipients: list[tuple[Recipient, str]],
) -> Iterator[Reminder]:
    """One reminder per recipient of `role`; each (recipient, "agency|channel|address");
    `tag` is rung.tag."""
    head = f"{deadline.task_id}|{deadline.occurrence}|{deadline.milestone_id}|{tag}|"
    for rcp, tail in recipients:
        yield Reminder(
            key=head + tail,
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
    since: datetime, until: datetime, ladders: Iterable[LeadTimes], cal: WorkCalendar
) -> tuple[date, date]:
    """The deadlines whose reminders can fall in [since, until], computed on the calendar.

    The window's ends are read as dates in the calendar's zone (whatever zone the instants
    come in). Before L = until's date, a before-deadline rung of d calendar days is sent on
    the working day at or before due − d, so it is on or before L exactly when
    due ≤ W − 1 + d, W being the first working day after L; a rung of n working days is on
    or before L exactly when due ≤ the n-th working day after L. Symmetrically an overdue
    rung is on or after F = since's date when due ≥ P + 1 − d (P: the last working day
    before F), or due ≥ the n-th working day before F. Both bounds grow with the rung, so
    the longest rung of each ladder decides; a long run of days off (Tết, an ops overlay)
    is therefore taken into account, however long.
    """
    zone = cal.rules.timezone
    first = since.astimezone(zone).date()
    last = until.astimezone(zone).date()
    lo, hi = first, last
    after_last = cal.next_working_day(last + _DAY) - _DAY  # W − 1
    before_first = cal.previous_working_day(first - _DAY) + _DAY  # P + 1
    for ladder in ladders:
        most = max(ladder.before, default=None)
        if most is not None:
            if ladder.unit is LeadUnit.WORKING and most > 0:
                hi = max(hi, cal.add_working_days(last, most))
            else:
                hi = max(hi, after_last + timedelta(days=most))
        late = max(ladder.overdue, default=None)
        if late is not None:
            if ladder.unit is LeadUnit.WORKING:
                lo = min(lo, cal.add_working_days(first, -late))
            else:
                lo = min(lo, before_first - timedelta(days=late))
    return lo, hi


def _is_done(item: Deadline | Reminder, done: Done) -> bool:
    """The occurrence, or this milestone of it, is recorded as done."""
    return (item.task_id, item.occurrence, None) in done or (
        item.task_id,
        item.occurrence,
        item.milestone_id,
    ) in done


class PlanCache:
    """A planner's answers for a process that asks again and again about the days around
    `now`.

    The daemon asks at every wake-up for its catch-up window, the missed look-back before
    it and the next two days. plan() (and the escalations, planned the same way) walks
    every task's deadlines over the years around a window, however narrow the window, so
    each of those questions cost as much as planning weeks. This asks `source` once for a
    span of `span` days from the earliest instant asked for, and answers by slicing it,
    until a question reaches outside the span. Completions change between questions, so
    `done` is applied to each answer with plan()'s own test: an answer is exactly the
    source's for the same window and `done`. A window longer than the span is asked on its
    own. Safe to call from several threads.
    """

    def __init__(self, source: Source, span: timedelta = timedelta(days=40)) -> None:
        """`source(since, until)`: everything with its instant in [since, until], sorted by
        (send_at, key), no completion excluded (plan() or escalations() with done empty)."""
        self.source, self.span = source, span
        self._lock = threading.Lock()
        self._since: datetime | None = None
        self._until: datetime | None = None
        self._found: list[Reminder] = []
        self._instants: list[datetime] = []

    @classmethod
    def of_plan(cls, catalog: Catalog, channels: Iterable[str], cal: WorkCalendar) -> PlanCache:
        """For plan(catalog, …, channels=channels, cal=cal)."""
        wanted = tuple(channels)
        return cls(lambda since, until: plan(catalog, since, until, channels=wanted, cal=cal))

    def plan(self, since: datetime, until: datetime, done: Done = frozenset()) -> list[Reminder]:
        """The source's answer for [since, until] with the completions in `done` left out."""
        if until - since > self.span:
            return [r for r in self.source(since, until) if not _is_done(r, done)]
        with self._lock:
            if (
                self._since is None
                or self._until is None
                or not (self._since <= since and until <= self._until)
            ):
                self._since, self._until = since, since + self.span
                self._found = self.source(since, self._until)
                self._instants = [r.send_at for r in self._found]
            first = bisect_left(self._instants, since)
            last = bisect_right(self._instants, until)
            return [r for r in self._found[first:last] if not _is_done(r, done)]


@dataclass(frozen=True, slots=True)
class Usefulness:
    """Until when a reminder that could not be sent is still worth retrying, and why not after."""

    until: datetime
    why: str  # what ends it, for the ledger and the log


def useful_until(
    catalog: Catalog, reminder: Reminder, cal: WorkCalendar, grace: timedelta
) -> Usefulness:
    """How long a reminder that failed is worth retrying (the retry policy, docs/config.md):

    - until the next rung of its own ladder for the same deadline (the same address gets that
      reminder then, with the right countdown: this one is superseded);
    - for the last rung of its ladder, until the last overdue rung of that deadline on any
      ladder, if that is later (a supporting agency still hears before the lead's last
      overdue reminder);
    - otherwise (the last reminder of all for that deadline) for `grace` after its instant,
      and at least until the deadline's day is over.
    """
    task = catalog.task(reminder.task_id)
    own = rungs(reminder.deadline, ladder_for(catalog, task, reminder.role), cal)
    for rung, send_at in own:
        if send_at > reminder.send_at:
            return Usefulness(send_at, f"superseded by its {rung.tag} reminder of {_at(send_at)}")
    overdue = [
        (send_at, rung)
        for role in Role
        for rung, send_at in rungs(reminder.deadline, ladder_for(catalog, task, role), cal)
        if rung.days < 0 and send_at > reminder.send_at
    ]
    if overdue:
        send_at, rung = max(overdue, key=lambda pair: pair[0])
        return Usefulness(
            send_at, f"the last overdue reminder ({rung.tag}, {_at(send_at)}) has passed"
        )
    zone = cal.rules.timezone
    day_over = datetime.combine(reminder.deadline + _DAY, datetime.min.time(), zone)
    until = max(reminder.send_at + grace, day_over)
    return Usefulness(until, f"no reminder left for this deadline since {_at(until)}")


def _at(instant: datetime) -> str:
    return instant.strftime("%d/%m/%Y %H:%M")

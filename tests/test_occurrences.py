"""Occurrences of a task and the deadlines of its milestones."""

from __future__ import annotations

from datetime import date

import pytest

from reminder.model import (
    CalendarRules,
    DayOffRule,
    Frequency,
    Milestone,
    Occurrence,
    Recurrence,
    Task,
)
from reminder.occurrences import civil_date, deadlines, occurrences
from reminder.timing import parse_phrase, with_overrides
from reminder.workdays import WorkCalendar

Y, Q, M, H = Frequency.YEARLY, Frequency.QUARTERLY, Frequency.MONTHLY, Frequency.HALF_YEARLY
NEXT, PREVIOUS, KEEP = DayOffRule.NEXT, DayOffRule.PREVIOUS, DayOffRule.KEEP
REPORT = Milestone(id="report", name="Báo cáo kết quả")


def make_task(
    timing: Recurrence,
    *milestones: Milestone,
    trigger_date: date | None = None,
    day_off_rule: DayOffRule | None = None,
) -> Task:
    return Task(
        id="t",
        number="1",
        title="Nhiệm vụ",
        timing=timing,
        lead="so-noi-vu",
        support=(),
        milestones=milestones or (REPORT,),
        trigger_date=trigger_date,
        day_off_rule=day_off_rule,
    )


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar(CalendarRules())


def labels(task: Task, first: date, last: date) -> list[str]:
    return [o.label for o in occurrences(task, first, last)]


def nominals(task: Task, cal: WorkCalendar, year: int) -> list[date]:
    """Nominal dates of the deadlines due in `year`, with the KEEP rule (no moves)."""
    return [d.nominal for d in deadlines(task, cal, date(year, 1, 1), date(year, 12, 31), KEEP)]


# -- which periods -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (Recurrence(Y), ["2024", "2025", "2026", "2027", "2028", "2029"]),
        (Recurrence(Y, interval=2, anchor_year=2025), ["2025", "2027", "2029"]),
        (Recurrence(Y, interval=2, anchor_year=2024), ["2024", "2026", "2028"]),
        (Recurrence(Y, interval=2, anchor_year=2031), ["2025", "2027", "2029"]),
        (Recurrence(Y, interval=2, start_year=2025), ["2025", "2027", "2029"]),
        (Recurrence(Y, interval=3, anchor_year=2025, start_year=2026), ["2028"]),
        (Recurrence(Y, start_year=2026), ["2026", "2027", "2028", "2029"]),
        (Recurrence(Y, end_year=2026), ["2024", "2025", "2026"]),
        (Recurrence(Y, start_year=2026, end_year=2027), ["2026", "2027"]),
        (Recurrence(Y, start_year=2035), []),
    ],
)
def test_yearly_occurrences(rec: Recurrence, expected: list[str]) -> None:
    """Yearly years follow anchor parity and start/end years, within a year of the window."""
    assert labels(make_task(rec), date(2025, 1, 1), date(2028, 12, 31)) == expected


def test_every_n_years_without_anchor_is_an_error() -> None:
    """Every 2 years with neither anchor nor start year cannot be expanded."""
    with pytest.raises(ValueError, match="anchor year"):
        occurrences(make_task(parse_phrase("02 năm/lần")), date(2026, 1, 1), date(2026, 12, 31))


def test_seed_task_9_every_two_years_anchored_by_config() -> None:
    """ "02 năm/lần" completed with anchor 2025 gives 2025 and 2027 but not 2026."""
    rec = with_overrides(parse_phrase("02 \nnăm/lần"), anchor_year=2025)
    got = labels(make_task(rec), date(2026, 1, 1), date(2026, 12, 31))
    assert got == ["2025", "2027"]


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (
            Recurrence(Q),
            [
                Occurrence("t", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
                Occurrence("t", "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
                Occurrence("t", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
                Occurrence("t", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
            ],
        ),
        (
            Recurrence(H),
            [
                Occurrence("t", "2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
                Occurrence("t", "2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
            ],
        ),
        (Recurrence(Y), [Occurrence("t", "2026", date(2026, 1, 1), date(2026, 12, 31))]),
    ],
)
def test_periodic_occurrences_labels_and_spans(rec: Recurrence, expected: list[Occurrence]) -> None:
    """Quarters, halves and years have the documented labels and whole-month spans."""
    start = with_overrides(rec, start_year=2026, end_year=2026)
    assert occurrences(make_task(start), date(2026, 1, 1), date(2026, 12, 31)) == expected


def test_monthly_occurrences() -> None:
    """Monthly periods are labelled YYYY-MM and end on the month's last day (29/02 in 2028)."""
    rec = Recurrence(M, start_year=2028, end_year=2028)
    occ = occurrences(make_task(rec), date(2028, 1, 1), date(2028, 12, 31))
    assert [o.label for o in occ] == [f"2028-{m:02d}" for m in range(1, 13)]
    assert occ[1] == Occurrence("t", "2028-02", date(2028, 2, 1), date(2028, 2, 29))


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2026", Occurrence("t", "2026", date(2026, 1, 1), date(2026, 12, 31))),
        ("2026-Q1", Occurrence("t", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31))),
        ("2026-H2", Occurrence("t", "2026-H2", date(2026, 7, 1), date(2026, 12, 31))),
        ("2026-06", Occurrence("t", "2026-06", date(2026, 6, 1), date(2026, 6, 30))),
    ],
)
def test_once_occurrence(period: str, expected: Occurrence) -> None:
    """A one-off task has exactly its period as occurrence."""
    task = make_task(Recurrence(Frequency.ONCE, period=period))
    assert occurrences(task, date(2025, 1, 1), date(2027, 12, 31)) == [expected]


def test_once_outside_window_and_bad_period() -> None:
    """A one-off period far from the window gives nothing; a malformed period is an error."""
    far = make_task(Recurrence(Frequency.ONCE, period="2030-Q2"))
    assert occurrences(far, date(2026, 1, 1), date(2026, 12, 31)) == []
    bad = make_task(Recurrence(Frequency.ONCE, period="2026-Q5"))
    with pytest.raises(ValueError, match="period"):
        occurrences(bad, date(2026, 1, 1), date(2026, 12, 31))


# -- where a milestone falls ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "milestone", "year", "expected"),
    [
        (Recurrence(Y), REPORT, 2026, [date(2026, 12, 31)]),
        (Recurrence(Y, fixed_due=(15, 12)), REPORT, 2026, [date(2026, 12, 15)]),
        (
            Recurrence(Y, fixed_due=(15, 12)),
            Milestone("m", "m", due=(30, 6)),
            2026,
            [date(2026, 6, 30)],
        ),
        (Recurrence(Y), Milestone("m", "m", due=(29, 2)), 2028, [date(2028, 2, 29)]),
        (Recurrence(Y), Milestone("m", "m", due=(29, 2)), 2026, [date(2026, 2, 28)]),
        (Recurrence(Y), Milestone("m", "m", due=(31, 4)), 2026, [date(2026, 4, 30)]),
        (Recurrence(Y), Milestone("m", "m", due_day=20, due_month=3), 2026, [date(2026, 3, 20)]),
        (Recurrence(Y, fixed_due=(29, 2)), REPORT, 2027, [date(2027, 2, 28)]),
        (
            Recurrence(Q),
            Milestone("m", "m", due_day=15, due_month=1),
            2026,
            [date(2026, 1, 15), date(2026, 4, 15), date(2026, 7, 15), date(2026, 10, 15)],
        ),
        (
            Recurrence(Q),
            Milestone("m", "m", due_day=31),
            2026,
            [date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31)],
        ),
        (Recurrence(H), REPORT, 2026, [date(2026, 6, 30), date(2026, 12, 31)]),
        (
            Recurrence(H),
            Milestone("m", "m", due_day=10, due_month=1),
            2026,
            [date(2026, 1, 10), date(2026, 7, 10)],
        ),
        (
            Recurrence(Frequency.ONCE, period="2026"),
            Milestone("m", "m", due=(30, 6)),
            2026,
            [date(2026, 6, 30)],
        ),
        (Recurrence(Frequency.ONCE, period="2026-Q1"), REPORT, 2026, [date(2026, 3, 31)]),
        (
            Recurrence(Frequency.ONCE, period="2026-Q1"),
            Milestone("m", "m", due_day=20, due_month=2),
            2026,
            [date(2026, 2, 20)],
        ),
        (
            Recurrence(Frequency.ONCE, period="2026-06"),
            Milestone("m", "m", due_day=31),
            2026,
            [date(2026, 6, 30)],
        ),
    ],
)
def test_milestone_placement(
    cal: WorkCalendar, rec: Recurrence, milestone: Milestone, year: int, expected: list[date]
) -> None:
    """Milestones land by due / due_day+due_month / fixed_due / period end, clamped to month end."""
    assert nominals(make_task(rec, milestone), cal, year) == expected


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2026, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
        (2028, [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
    ],
)
def test_monthly_day_31_clamps_to_month_end(
    cal: WorkCalendar, year: int, expected: list[int]
) -> None:
    """Day 31 every month means each month's last day, 28/02 or 29/02 by leap year."""
    task = make_task(Recurrence(M), Milestone("m", "m", due_day=31))
    assert [d.day for d in nominals(task, cal, year)] == expected


@pytest.mark.parametrize(
    ("year", "expected"), [(2026, date(2026, 2, 28)), (2028, date(2028, 2, 29))]
)
def test_monthly_day_30_in_february(cal: WorkCalendar, year: int, expected: date) -> None:
    """Day 30 in February is its last day: 28/02 in a common year, 29/02 in a leap year."""
    task = make_task(Recurrence(M), Milestone("m", "m", due_day=30))
    assert expected in nominals(task, cal, year)


@pytest.mark.parametrize(
    ("milestone", "message"),
    [
        (Milestone("m", "m", due=(15, 1)), "due_day"),
        (Milestone("m", "m", due_day=1, due_month=4), "not a month of period"),
        (Milestone("m", "m", due_day=32), "no such day"),
    ],
)
def test_unplaceable_milestone_in_quarter_is_an_error(
    cal: WorkCalendar, milestone: Milestone, message: str
) -> None:
    """A milestone that cannot be placed in a quarter raises ValueError saying why."""
    with pytest.raises(ValueError, match=message):
        nominals(make_task(Recurrence(Q), milestone), cal, 2026)


def test_civil_date() -> None:
    """civil_date clamps a missing day to the month's end and rejects impossible input."""
    assert civil_date(2026, 4, 31) == date(2026, 4, 30)
    assert civil_date(2024, 2, 30) == date(2024, 2, 29)
    for month, day in [(13, 1), (0, 1), (1, 0), (1, 32)]:
        with pytest.raises(ValueError):
            civil_date(2026, month, day)


# -- triggered and assigned ----------------------------------------------------------------


def test_triggered_without_trigger_date_has_nothing(cal: WorkCalendar) -> None:
    """A triggered task has no occurrence and no deadline until ops record the trigger."""
    task = make_task(Recurrence(Frequency.TRIGGERED), Milestone("m", "m", days_after=30))
    assert occurrences(task, date(2020, 1, 1), date(2030, 12, 31)) == []
    assert deadlines(task, cal, date(2020, 1, 1), date(2030, 12, 31), NEXT) == []


def test_triggered_with_trigger_date(cal: WorkCalendar) -> None:
    """Once triggered: one occurrence from the trigger; days_after counts calendar days."""
    task = make_task(
        Recurrence(Frequency.TRIGGERED),
        Milestone("plan", "Ban hành kế hoạch", days_after=30),
        Milestone("start", "Triển khai"),
        trigger_date=date(2027, 1, 15),
    )
    label = "trigger-2027-01-15"
    occ = occurrences(task, date(2027, 1, 1), date(2027, 12, 31))
    assert occ == [Occurrence("t", label, date(2027, 1, 15), date(2027, 2, 14))]
    got = deadlines(task, cal, date(2027, 1, 1), date(2027, 12, 31), NEXT)
    assert [(d.occurrence, d.milestone_id, d.nominal, d.due) for d in got] == [
        (label, "start", date(2027, 1, 15), date(2027, 1, 15)),
        (label, "plan", date(2027, 2, 14), date(2027, 2, 15)),  # Sunday → Monday
    ]


def test_assigned_explicit_dates(cal: WorkCalendar) -> None:
    """Each explicit date is its own occurrence, labelled by the ISO date."""
    task = make_task(
        Recurrence(Frequency.ASSIGNED),
        Milestone("m", "m", dates=(date(2027, 9, 15), date(2027, 3, 15))),
        Milestone("later", "chưa giao"),
    )
    occ = occurrences(task, date(2027, 1, 1), date(2027, 12, 31))
    assert occ == [
        Occurrence("t", "2027-03-15", date(2027, 3, 15), date(2027, 3, 15)),
        Occurrence("t", "2027-09-15", date(2027, 9, 15), date(2027, 9, 15)),
    ]
    got = deadlines(task, cal, date(2027, 1, 1), date(2027, 12, 31), NEXT)
    assert [(d.occurrence, d.due) for d in got] == [
        ("2027-03-15", date(2027, 3, 15)),
        ("2027-09-15", date(2027, 9, 15)),
    ]


def test_explicit_dates_override_a_yearly_milestone(cal: WorkCalendar) -> None:
    """In a yearly task a milestone with dates is due on those dates only; others stay yearly."""
    task = make_task(
        Recurrence(Y),
        Milestone("fixed", "m", dates=(date(2026, 5, 20),)),
        Milestone("yearly", "m", due=(15, 12)),
    )
    got = deadlines(task, cal, date(2026, 1, 1), date(2026, 12, 31), NEXT)
    assert [(d.occurrence, d.milestone_id, d.due) for d in got] == [
        ("2026-05-20", "fixed", date(2026, 5, 20)),
        ("2026", "yearly", date(2026, 12, 15)),
    ]


# -- moving off days off -------------------------------------------------------------------


def test_deadline_moved_off_tet_with_reasons(cal: WorkCalendar) -> None:
    """A deadline on Tết moves to the next working day and keeps the calendar's reasons."""
    task = make_task(Recurrence(Y), Milestone("m", "m", due=(17, 2)))
    (dl,) = deadlines(task, cal, date(2026, 1, 1), date(2026, 12, 31), NEXT)
    assert (dl.task_id, dl.occurrence, dl.milestone_id) == ("t", "2026", "m")
    assert (dl.nominal, dl.due) == (date(2026, 2, 17), date(2026, 2, 23))
    assert dl.reasons[0] == (
        "Tue 17/02/2026 is a day off (Tết Nguyên Đán) → next working day Mon 23/02/2026"
    )


def test_unmoved_deadline_has_no_reasons(cal: WorkCalendar) -> None:
    """A deadline on a working day has nominal == due and no reasons."""
    task = make_task(Recurrence(Y), Milestone("m", "m", due=(15, 12)))
    (dl,) = deadlines(task, cal, date(2026, 1, 1), date(2026, 12, 31), NEXT)
    assert (dl.nominal, dl.due, dl.reasons) == (date(2026, 12, 15), date(2026, 12, 15), ())


@pytest.mark.parametrize(
    ("milestone_rule", "task_rule", "default", "expected"),
    [
        (None, None, NEXT, date(2026, 3, 16)),
        (None, None, PREVIOUS, date(2026, 3, 13)),
        (None, None, KEEP, date(2026, 3, 14)),
        (None, PREVIOUS, NEXT, date(2026, 3, 13)),
        (None, KEEP, NEXT, date(2026, 3, 14)),
        (PREVIOUS, NEXT, NEXT, date(2026, 3, 13)),
        (NEXT, PREVIOUS, KEEP, date(2026, 3, 16)),
        (KEEP, PREVIOUS, NEXT, date(2026, 3, 14)),
    ],
)
def test_day_off_rule_precedence(
    cal: WorkCalendar,
    milestone_rule: DayOffRule | None,
    task_rule: DayOffRule | None,
    default: DayOffRule,
    expected: date,
) -> None:
    """The milestone's rule beats the task's, which beats the default (Sat 14/03/2026)."""
    ms = Milestone("m", "m", due=(14, 3), day_off_rule=milestone_rule)
    task = make_task(Recurrence(Y), ms, day_off_rule=task_rule)
    (dl,) = deadlines(task, cal, date(2026, 1, 1), date(2026, 12, 31), default)
    assert dl.due == expected


def test_window_is_on_the_moved_date(cal: WorkCalendar) -> None:
    """Sun 31/12/2028 moves to Tue 02/01/2029: it belongs to January 2029's window, not 2028's."""
    task = make_task(Recurrence(Y))
    jan = deadlines(task, cal, date(2029, 1, 1), date(2029, 1, 31), NEXT)
    assert [(d.occurrence, d.nominal, d.due) for d in jan] == [
        ("2028", date(2028, 12, 31), date(2029, 1, 2))
    ]
    assert deadlines(task, cal, date(2028, 12, 1), date(2028, 12, 31), NEXT) == []


def test_deadlines_sorted_by_due_then_milestone_order(cal: WorkCalendar) -> None:
    """Deadlines come sorted by due date, ties broken by the milestones' order in the task."""
    task = make_task(
        Recurrence(Q),
        Milestone("b", "b"),  # quarter end
        Milestone("a", "a", due_day=31),  # also quarter end
        Milestone("c", "c", due_day=10, due_month=2),
    )
    got = deadlines(task, cal, date(2026, 1, 1), date(2026, 6, 30), NEXT)
    assert [(d.due, d.milestone_id) for d in got] == [
        (date(2026, 2, 10), "c"),
        (date(2026, 3, 31), "b"),
        (date(2026, 3, 31), "a"),
        (date(2026, 5, 11), "c"),  # Sun 10/05/2026 → Monday
        (date(2026, 6, 30), "b"),
        (date(2026, 6, 30), "a"),
    ]

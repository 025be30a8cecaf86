"""The planner: properties over generated catalogs, the ladder policies, the shipped plan."""

from __future__ import annotations

import json
import os
import random
import time as time_module
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminder.config import load
from reminder.model import (
    VN_TZ,
    Agency,
    CalendarRules,
    Catalog,
    DayOffRule,
    Frequency,
    LeadTimes,
    LeadUnit,
    Milestone,
    PlanInfo,
    Recurrence,
    Reminder,
    Role,
    Task,
)
from reminder.planner import plan, rungs, useful_until
from reminder.workdays import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config.toml"
GOLDEN = Path(__file__).resolve().parent / "golden" / "shipped_plan.jsonl"
GOLDEN_NOW = datetime(2026, 11, 26, 9, 0, tzinfo=VN_TZ)
PLUS_7 = timezone(timedelta(hours=7))
NEW_YORK = ZoneInfo("America/New_York")

AGENCIES = {
    "a-lead": Agency("a-lead", "Sở Nội vụ", emails=("noivu@t.example",), telegram=("-1001",)),
    "a-old": Agency("a-old", "Sở Kế hoạch và Đầu tư", succeeded_by="a-new"),
    "a-new": Agency("a-new", "Sở Tài chính", emails=("taichinh@t.example",)),
    "a-sup": Agency("a-sup", "Sở Khoa học và Công nghệ", emails=("khcn@t.example",)),
    "g-all": Agency(
        "g-all",
        "các cơ quan, đơn vị",
        emails=("ds@t.example",),
        members=("a-new", "a-sup"),
        is_group=True,
    ),
}
PLAN = PlanInfo("Kế hoạch", "UBND tỉnh")
LADDERS = {
    Role.LEAD: LeadTimes(before=(30, 14, 7, 3, 1, 0), overdue=(1, 7)),
    Role.SUPPORT: LeadTimes(before=(14, 3)),
}


def make_catalog(
    *tasks: Task,
    rules: CalendarRules | None = None,
    ladders: dict[Role, LeadTimes] | None = None,
) -> Catalog:
    return Catalog(PLAN, tasks, AGENCIES, rules or CalendarRules(), ladders or LADDERS)


def yearly_task(
    *milestones: Milestone,
    lead: str = "a-lead",
    support: tuple[str, ...] = (),
    rule: DayOffRule | None = None,
) -> Task:
    return Task(
        id="t",
        number="1",
        title="Nhiệm vụ",
        timing=Recurrence(Frequency.YEARLY),
        lead=lead,
        support=support,
        milestones=milestones,
        day_off_rule=rule,
    )


def vn_day(r: Reminder) -> date:
    return r.send_at.astimezone(VN_TZ).date()


# -- generated catalogs ------------------------------------------------------------------------

_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_PERIOD_MONTHS = {
    Frequency.QUARTERLY: 3,
    Frequency.HALF_YEARLY: 6,
    Frequency.MONTHLY: 1,
}


@st.composite
def day_months(draw: st.DrawFn) -> tuple[int, int]:
    """A (day, month) that exists in some year: 29/02 and 31/xx included, weighted in."""
    special = st.sampled_from([(29, 2), (31, 1), (31, 3), (31, 12), (30, 11), (1, 1)])
    month = draw(st.integers(1, 12))
    plain = st.integers(1, _MONTH_DAYS[month - 1]).map(lambda d: (d, month))
    return draw(st.one_of(special, plain))


@st.composite
def milestones(draw: st.DrawFn, timing: Recurrence, index: int) -> Milestone:
    rule = draw(st.none() | st.sampled_from(DayOffRule))
    period_months = _PERIOD_MONTHS.get(timing.frequency)
    if timing.frequency is Frequency.ONCE and timing.period and "-" in timing.period:
        kind = timing.period.split("-")[1][0]
        period_months = {"Q": 3, "H": 6}.get(kind, 1)
    if period_months is None:  # a year period: day/month
        return Milestone(f"m{index}", f"Mốc {index}", due=draw(day_months()), day_off_rule=rule)
    return Milestone(
        f"m{index}",
        f"Mốc {index}",
        due_day=draw(st.none() | st.integers(1, 31)),
        due_month=draw(st.none() | st.integers(1, period_months)),
        day_off_rule=rule,
    )


@st.composite
def timings(draw: st.DrawFn) -> Recurrence:
    kind = draw(
        st.sampled_from(["yearly", "every2", "quarterly", "monthly", "half_yearly", "once"])
    )
    start = draw(st.none() | st.integers(2024, 2029))
    if kind == "yearly":
        return Recurrence(Frequency.YEARLY, start_year=start)
    if kind == "every2":
        return Recurrence(Frequency.YEARLY, interval=2, anchor_year=draw(st.integers(2024, 2025)))
    if kind == "once":
        year = draw(st.integers(2025, 2031))
        suffix = draw(
            st.sampled_from(["", "-Q1", "-Q2", "-Q3", "-Q4", "-H1", "-H2", "-02", "-06", "-12"])
        )
        return Recurrence(Frequency.ONCE, period=f"{year}{suffix}")
    return Recurrence(Frequency(kind), start_year=start)


@st.composite
def ladders(draw: st.DrawFn) -> LeadTimes:
    before = draw(st.lists(st.integers(0, 40), min_size=0, max_size=6, unique=True))
    overdue = draw(st.lists(st.integers(1, 15), min_size=0, max_size=3, unique=True))
    return LeadTimes(
        before=tuple(sorted(before, reverse=True)),
        unit=draw(st.sampled_from(LeadUnit)),
        overdue=tuple(sorted(overdue)),
    )


@st.composite
def tasks(draw: st.DrawFn, number: int) -> Task:
    timing = draw(timings())
    count = draw(st.integers(1, 2))
    own = draw(st.none() | st.fixed_dictionaries({Role.LEAD: ladders()}))
    return Task(
        id=f"t{number}",
        number=number,
        title=f"Nhiệm vụ {number}",
        timing=timing,
        lead=draw(st.sampled_from(["a-lead", "a-old", "g-all"])),
        support=tuple(
            draw(st.lists(st.sampled_from(["a-new", "a-sup", "g-all", "a-old"]), unique=True))
        ),
        milestones=tuple(draw(milestones(timing, i)) for i in range(count)),
        day_off_rule=draw(st.none() | st.sampled_from(DayOffRule)),
        lead_times=own,
    )


@st.composite
def day_runs(draw: st.DrawFn, near: date) -> frozenset[date]:
    """Ops days off: single days and runs of up to three weeks, 2024–2031, many near `near`."""
    days: set[date] = set()
    close = st.integers(-60, 90).map(lambda n: near + timedelta(days=n))
    for _ in range(draw(st.integers(0, 6))):
        first = draw(st.dates(date(2024, 12, 1), date(2031, 1, 31)) | close)
        days.update(first + timedelta(days=i) for i in range(draw(st.integers(1, 21))))
    return frozenset(days)


@st.composite
def catalogs(draw: st.DrawFn, near: date = date(2027, 1, 1)) -> Catalog:
    n = draw(st.integers(1, 6))
    rules = CalendarRules(
        days_off=draw(day_runs(near)),
        working_days=frozenset(
            draw(st.lists(st.dates(date(2024, 12, 1), date(2031, 1, 31)), max_size=8))
        ),
        day_off_rule=draw(st.sampled_from(DayOffRule)),
        send_time=draw(st.sampled_from([time(8, 0), time(6, 0), time(19, 30), time(13, 15)])),
    )
    lead_times = {Role.LEAD: draw(ladders()), Role.SUPPORT: draw(ladders())}
    return make_catalog(*(draw(tasks(i + 1)) for i in range(n)), rules=rules, ladders=lead_times)


@st.composite
def windows(draw: st.DrawFn) -> tuple[datetime, datetime, datetime]:
    """(since, mid, until): an instant in 2025–2030 in some zone, a length, a split point."""
    zone = draw(st.sampled_from([VN_TZ, UTC, NEW_YORK, PLUS_7]))
    naive = draw(st.datetimes(datetime(2025, 1, 1), datetime(2030, 12, 31)))
    since = naive.replace(tzinfo=zone)
    length = timedelta(minutes=draw(st.integers(1, 3 * 24 * 60) | st.integers(1, 200 * 24 * 60)))
    mid = since + length * draw(st.floats(0, 1))
    return since, mid, since + length


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Catalog, tuple[datetime, datetime, datetime]]:
    """A window, and a catalog whose ops days off are often near the window."""
    window = draw(windows())
    return draw(catalogs(near=window[2].date())), window


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenarios())
def test_plan_properties(scenario: tuple[Catalog, tuple[datetime, datetime, datetime]]) -> None:
    """plan() is deterministic, keys are unique, sorted, aware +07:00, on working days in office hours, in the window, never after the deadline."""
    catalog, (since, _, until) = scenario
    found = plan(catalog, since, until)
    assert found == plan(catalog, since, until, cal=WorkCalendar(catalog.calendar))
    keys = [r.key for r in found]
    assert len(keys) == len(set(keys))
    assert found == sorted(found, key=lambda r: (r.send_at, r.key))
    cal = WorkCalendar(catalog.calendar)
    rules = catalog.calendar
    for r in found:
        assert r.send_at.utcoffset() == timedelta(hours=7), r
        local = r.send_at.astimezone(VN_TZ)
        assert cal.is_working_day(local.date()), r
        assert rules.office_start <= local.time() <= rules.office_end, r
        assert since <= r.send_at <= until, r
        if r.lead_days >= 0:
            assert local.date() <= r.deadline, r
        else:
            assert local.date() > r.deadline, r


@PROPERTY
@given(scenarios())
def test_split_window_loses_nothing(
    scenario: tuple[Catalog, tuple[datetime, datetime, datetime]],
) -> None:
    """Planning [since, mid] and [mid, until] gives the same reminders as [since, until]."""
    catalog, (since, mid, until) = scenario
    whole = plan(catalog, since, until)
    halves = plan(catalog, since, mid) + plan(catalog, mid, until)
    assert set(halves) == set(whole)


@PROPERTY
@given(scenarios(), st.sampled_from([VN_TZ, UTC, NEW_YORK]), st.randoms())
def test_zero_length_window_at_each_send_instant(
    scenario: tuple[Catalog, tuple[datetime, datetime, datetime]],
    zone: ZoneInfo,
    rnd: random.Random,
) -> None:
    """A window [t, t] (t in any zone) at a send instant of a wider plan holds exactly that instant's reminders."""
    catalog, (since, _, until) = scenario
    whole = plan(catalog, since, until)
    instants = sorted({r.send_at for r in whole})
    for t in rnd.sample(instants, min(8, len(instants))):
        at = t.astimezone(zone)
        assert plan(catalog, at, at) == [r for r in whole if r.send_at == t]


@PROPERTY
@given(catalogs(), st.dates(date(2025, 1, 1), date(2030, 12, 31)))
def test_each_reminder_is_a_rung_of_its_deadline(catalog: Catalog, first: date) -> None:
    """Every planned reminder is a rung of its deadline's ladder, at the instant `rungs` gives."""
    since = datetime.combine(first, time(0, 0), VN_TZ)
    cal = WorkCalendar(catalog.calendar)
    for r in plan(catalog, since, since + timedelta(days=60)):
        task = catalog.task(r.task_id)
        ladder = (task.lead_times or {}).get(r.role) or catalog.lead_times[r.role]
        assert (r.lead_days, r.send_at) in {
            (rung.days, at) for rung, at in rungs(r.deadline, ladder, cal)
        }, r


@pytest.mark.parametrize(
    ("due", "days_off", "since", "until", "sent"),
    [
        # 30 days before Tue 04/03/2025 is Sun 02/02, the end of Tết 2025 (25/01–02/02):
        # sent Fri 24/01, 39 days before the deadline; a one-day window must still find it
        (
            (4, 3),
            frozenset(),
            datetime(2025, 1, 24, 0, 0, tzinfo=VN_TZ),
            datetime(2025, 1, 24, 23, 59, tzinfo=VN_TZ),
            date(2025, 1, 24),
        ),
        # Tết 2027 (04–10/02) pushes the D-30 of Fri 12/03/2027 back to Wed 03/02, which is
        # still 02/02 in New York: the window's ends are read in the calendar's zone
        (
            (12, 3),
            frozenset(),
            datetime(2027, 2, 2, 0, 0, tzinfo=NEW_YORK),
            datetime(2027, 2, 2, 20, 0, tzinfo=NEW_YORK),
            date(2027, 2, 3),
        ),
        # an ops run of 14 days off (02–15/11/2026) pushes D-30 of 15/12/2026 to Fri 30/10
        (
            (15, 12),
            frozenset(date(2026, 11, 2) + timedelta(days=i) for i in range(14)),
            datetime(2026, 10, 1, tzinfo=VN_TZ),
            datetime(2026, 11, 1, tzinfo=VN_TZ),
            date(2026, 10, 30),
        ),
    ],
    ids=["tet-2025", "tet-2027-new-york", "ops-run"],
)
def test_long_runs_of_days_off_lose_no_reminder(
    due: tuple[int, int], days_off: frozenset[date], since: datetime, until: datetime, sent: date
) -> None:
    """A reminder pushed far back by Tết or an ops run of days off is still planned in a short window."""
    catalog = make_catalog(
        yearly_task(Milestone("m", "Mốc", due=due)),
        rules=CalendarRules(days_off=days_off),
        ladders={Role.LEAD: LeadTimes((30,)), Role.SUPPORT: LeadTimes(())},
    )
    found = plan(catalog, since, until, channels=("email",))
    assert [(vn_day(r), r.lead_days) for r in found] == [(sent, 30)]


@pytest.mark.parametrize("unit", list(LeadUnit))
def test_long_run_of_days_off_after_the_deadline(unit: LeadUnit) -> None:
    """An overdue reminder pushed past a 20-day ops run of days off is planned in a one-day window."""
    days_off = frozenset(date(2026, 12, 15) + timedelta(days=i) for i in range(20))  # to Sun 03/01
    catalog = make_catalog(
        yearly_task(REPORT),
        rules=CalendarRules(days_off=days_off),
        ladders={Role.LEAD: LeadTimes((), unit, overdue=(1,)), Role.SUPPORT: LeadTimes(())},
    )
    since = datetime(2027, 1, 4, tzinfo=VN_TZ)  # Mon 04/01/2027: the first working day after
    found = plan(catalog, since, since + timedelta(days=1), channels=("email",))
    assert [(vn_day(r), r.lead_days, r.deadline) for r in found] == [
        (date(2027, 1, 4), -1, date(2026, 12, 14))
    ]


# -- the host's time zone ------------------------------------------------------------------------


@pytest.fixture
def restore_tz() -> Iterator[None]:
    """Let a test change the process time zone; put the original back afterwards."""
    saved = os.environ.get("TZ")
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time_module.tzset()


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load(SHIPPED).catalog


def test_host_time_zone_does_not_matter(restore_tz: None) -> None:
    """The shipped plan is identical whether the host runs in UTC, Asia/Ho_Chi_Minh or New York."""
    results = []
    for zone in ("UTC", "Asia/Ho_Chi_Minh", "America/New_York"):
        os.environ["TZ"] = zone
        time_module.tzset()
        catalog = load(SHIPPED).catalog  # the loader runs under the host zone too
        results.append(plan(catalog, GOLDEN_NOW, GOLDEN_NOW + timedelta(days=400)))
    assert results[0], "the shipped plan should not be empty"
    assert results[0] == results[1] == results[2]


# -- the ladder ------------------------------------------------------------------------------------

REPORT = Milestone("report", "Báo cáo", due=(14, 12))  # Mon 14/12/2026
WINDOW = (datetime(2026, 10, 1, tzinfo=VN_TZ), datetime(2027, 1, 31, tzinfo=VN_TZ))


def _lead_plan(ladder: LeadTimes, *milestones: Milestone, **kw: object) -> list[Reminder]:
    catalog = make_catalog(
        yearly_task(*(milestones or (REPORT,))),
        ladders={Role.LEAD: ladder, Role.SUPPORT: LeadTimes(before=())},
    )
    found = plan(catalog, *WINDOW, channels=("email",), **kw)  # type: ignore[arg-type]
    return [r for r in found if r.occurrence == "2026"]


@pytest.mark.parametrize(
    ("before", "unit", "overdue", "expected"),
    [
        # 1 and 3 days before Monday 14/12 both fall on Friday 11/12: one reminder, the 1-day one
        ((3, 1), LeadUnit.CALENDAR, (), [(date(2026, 12, 11), 1, "D-1")]),
        ((2, 1), LeadUnit.CALENDAR, (), [(date(2026, 12, 11), 1, "D-1")]),
        (
            (7, 3, 1, 0),
            LeadUnit.CALENDAR,
            (),
            [
                (date(2026, 12, 7), 7, "D-7"),
                (date(2026, 12, 11), 1, "D-1"),
                (date(2026, 12, 14), 0, "D-0"),
            ],
        ),
        # "3 ngày làm việc" before a Monday is the previous Wednesday; 1 is the Friday
        (
            (3, 1),
            LeadUnit.WORKING,
            (),
            [(date(2026, 12, 9), 3, "W-3"), (date(2026, 12, 11), 1, "W-1")],
        ),
        # overdue rungs come after the deadline, on working days
        (
            (0,),
            LeadUnit.CALENDAR,
            (1, 7),
            [
                (date(2026, 12, 14), 0, "D-0"),
                (date(2026, 12, 15), -1, "D+1"),
                (date(2026, 12, 21), -7, "D+7"),
            ],
        ),
        # 5 and 6 calendar days late are Sat/Sun 19–20/12: both go to Monday 21/12, the closer wins
        ((), LeadUnit.CALENDAR, (5, 6), [(date(2026, 12, 21), -5, "D+5")]),
        (
            (),
            LeadUnit.WORKING,
            (1, 5),
            [(date(2026, 12, 15), -1, "W+1"), (date(2026, 12, 21), -5, "W+5")],
        ),
    ],
)
def test_ladder(
    before: tuple[int, ...],
    unit: LeadUnit,
    overdue: tuple[int, ...],
    expected: list[tuple[date, int, str]],
) -> None:
    """Rungs that land on the same day collapse to the one closest to the deadline; units and overdue rungs place the days."""
    found = _lead_plan(LeadTimes(before, unit, overdue))
    got = [(vn_day(r), r.lead_days, r.key.split("|")[3]) for r in found]
    assert got == expected
    assert all(r.deadline == date(2026, 12, 14) and r.lead_unit is unit for r in found)


def test_working_days_count_over_tet() -> None:
    """3 working days before Thu 11/02/2027 skip Tết (4–10/02/2027): Mon 01/02/2027."""
    found = plan(
        make_catalog(
            yearly_task(Milestone("m", "Mốc", due=(11, 2))),
            ladders={Role.LEAD: LeadTimes((3,), LeadUnit.WORKING), Role.SUPPORT: LeadTimes(())},
        ),
        datetime(2027, 1, 1, tzinfo=VN_TZ),
        datetime(2027, 3, 1, tzinfo=VN_TZ),
        channels=("email",),
    )
    assert [(vn_day(r), r.deadline) for r in found] == [(date(2027, 2, 1), date(2027, 2, 11))]


@pytest.mark.parametrize(
    ("done", "milestones_left"),
    [
        (frozenset(), {"report", "plan"}),
        (frozenset({("t", "2026", None)}), set()),
        (frozenset({("t", "2026", "report")}), {"plan"}),
        (frozenset({("t", "2026", "plan")}), {"report"}),
        (frozenset({("t", "2025", None)}), {"report", "plan"}),  # another year: no effect
        (frozenset({("other", "2026", None)}), {"report", "plan"}),  # another task: no effect
    ],
)
def test_done_hides_an_occurrence_or_one_milestone(
    done: frozenset[tuple[str, str, str | None]], milestones_left: set[str]
) -> None:
    """`done` hides a whole occurrence (milestone None) or only the milestone named."""
    found = _lead_plan(
        LeadTimes((7, 0), overdue=(1,)),
        REPORT,
        Milestone("plan", "Kế hoạch", due=(1, 12)),
        done=done,
    )
    assert {r.milestone_id for r in found} == milestones_left


def test_window_bounds_are_inclusive() -> None:
    """A reminder exactly at `since` or exactly at `until` is in the plan."""
    at = datetime(2026, 12, 11, 8, 0, tzinfo=VN_TZ)  # the D-1 rung of Mon 14/12/2026
    catalog = make_catalog(
        yearly_task(REPORT), ladders={Role.LEAD: LeadTimes((1,)), Role.SUPPORT: LeadTimes(())}
    )
    assert [r.send_at for r in plan(catalog, at, at, channels=("email",))] == [at]
    just_after = at + timedelta(microseconds=1)
    assert plan(catalog, just_after, just_after + timedelta(days=1)) == []


def test_reminder_goes_to_each_address_with_its_role() -> None:
    """One reminder per (address, rung): lead's successor and the group's list and members, deduped."""
    catalog = make_catalog(
        yearly_task(REPORT, lead="a-old", support=("a-new", "g-all")),
        ladders={Role.LEAD: LeadTimes((0,)), Role.SUPPORT: LeadTimes((0,))},
    )
    found = plan(catalog, *WINDOW)
    got = {
        (r.agency, r.named_as, r.role.value, r.channel, r.address)
        for r in found
        if r.occurrence == "2026"
    }
    assert got == {
        ("a-new", "a-old", "lead", "email", "taichinh@t.example"),
        ("g-all", "g-all", "support", "email", "ds@t.example"),
        ("a-sup", "g-all", "support", "email", "khcn@t.example"),
    }


def test_channels_filter_and_disabled_tasks() -> None:
    """Only the requested channels are planned; a disabled task plans nothing."""
    catalog = make_catalog(
        yearly_task(REPORT), ladders={Role.LEAD: LeadTimes((0,)), Role.SUPPORT: LeadTimes(())}
    )
    channels = {r.channel for r in plan(catalog, *WINDOW)}
    assert channels == {"email", "telegram"}
    assert {r.channel for r in plan(catalog, *WINDOW, channels=("telegram",))} == {"telegram"}
    assert plan(catalog, *WINDOW, channels=()) == []
    off = make_catalog(
        replace(yearly_task(REPORT), enabled=False),
        ladders={Role.LEAD: LeadTimes((0,)), Role.SUPPORT: LeadTimes(())},
    )
    assert plan(off, *WINDOW) == []


# -- the shipped configuration ---------------------------------------------------------------------


def golden_lines(catalog: Catalog) -> list[str]:
    found = plan(catalog, GOLDEN_NOW, GOLDEN_NOW + timedelta(days=400))
    return [
        json.dumps(
            {"key": r.key, "send_at": r.send_at.isoformat(), "deadline": r.deadline.isoformat()},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for r in found
    ]


def test_shipped_plan_matches_golden(shipped: Catalog) -> None:
    """The shipped config's 400-day plan from 26/11/2026 equals tests/golden/shipped_plan.jsonl (UPDATE_GOLDEN=1 rewrites it)."""
    lines = golden_lines(shipped)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8").splitlines() == lines


@pytest.mark.parametrize(
    ("key", "send_at", "deadline"),
    [
        # 30 days before Tue 15/12/2026 is Sun 15/11: before the window; 14 days → Tue 01/12
        (
            "nv01|2026|bao-cao|D-14|so-noi-vu|email|sonoivu@tinh.example",
            "2026-12-01T08:00:00+07:00",
            "2026-12-15",
        ),
        # 3 days before Tue 15/12/2026 is Sat 12/12 → Fri 11/12
        (
            "nv01|2026|bao-cao|D-3|so-noi-vu|email|sonoivu@tinh.example",
            "2026-12-11T08:00:00+07:00",
            "2026-12-15",
        ),
        # overdue 1 and 7 days: Wed 16/12 and Tue 22/12
        (
            "nv01|2026|bao-cao|D+7|so-noi-vu|email|sonoivu@tinh.example",
            "2026-12-22T08:00:00+07:00",
            "2026-12-15",
        ),
        # task 5: Sở Kế hoạch và Đầu tư reached through Sở Tài chính; 15/07/2027 is a Thursday
        (
            "nv05|2027|tham-muu-von|D-30|so-tai-chinh|email|sotaichinh@tinh.example",
            "2027-06-15T08:00:00+07:00",
            "2027-07-15",
        ),
        # 14 days before Wed 31/03/2027 is Wed 17/03
        (
            "nv09|2027|phat-dong|D-14|lhh-khkt|email|lienhiephoi@tinh.example",
            "2027-03-17T08:00:00+07:00",
            "2027-03-31",
        ),
        # 30 days before Thu 15/07/2027 → Tue 15/06; 7 days before Tue 30/11/2027 → Tue 23/11
        (
            "nv09|2027|tong-ket|D-7|lhh-khkt|email|lienhiephoi@tinh.example",
            "2027-11-23T08:00:00+07:00",
            "2027-11-30",
        ),
        # 30 days before Sun 31/10/2027 → Fri 01/10/2027 (deadline moves to Mon 01/11/2027)
        (
            "nv10|2027|tong-ket|D-30|so-khcn|email|sokhcn@tinh.example",
            "2027-10-01T08:00:00+07:00",
            "2027-11-01",
        ),
    ],
)
def test_shipped_plan_spot_checks(shipped: Catalog, key: str, send_at: str, deadline: str) -> None:
    """A few entries of the shipped plan, checked by hand against the 2026–2027 calendar."""
    found = {r.key: r for r in plan(shipped, GOLDEN_NOW, GOLDEN_NOW + timedelta(days=400))}
    assert found[key].send_at.isoformat() == send_at
    assert found[key].deadline.isoformat() == deadline


def test_shipped_plan_avoids_tet_and_weekends(shipped: Catalog) -> None:
    """No reminder of the shipped plan on a weekend or on Tết 2027 (Thu 04/02 – Wed 10/02/2027)."""
    found = plan(shipped, GOLDEN_NOW, GOLDEN_NOW + timedelta(days=400))
    days = {vn_day(r) for r in found}
    tet = {date(2027, 2, 4) + timedelta(days=i) for i in range(7)}
    assert not days & tet
    assert all(d.weekday() < 5 for d in days)


# -- how long a failed reminder is worth retrying --------------------------------------------

_NV01 = "nv01|2026|bao-cao|{}|{}|email|{}"
_LEAD = ("so-noi-vu", "sonoivu@tinh.example")
_SUPPORT = ("co-so-dao-tao", "cosodaotao@tinh.example")


@pytest.mark.parametrize(
    ("rung", "who", "until", "why"),
    [
        # deadline Tue 15/12/2026; lead ladder 30,14,7,3,1,0 + overdue 1,7; support 14,3
        ("D-14", _LEAD, datetime(2026, 12, 8, 8, 0), "superseded by its D-7 reminder"),
        # support D-3 falls on Saturday 12/12: sent Friday 11/12; its ladder ends there, so
        # it is useful until the lead's last overdue reminder (D+7, Tue 22/12)
        ("D-14", _SUPPORT, datetime(2026, 12, 11, 8, 0), "superseded by its D-3 reminder"),
        ("D-3", _SUPPORT, datetime(2026, 12, 22, 8, 0), "the last overdue reminder (D+7"),
        ("D-1", _LEAD, datetime(2026, 12, 15, 8, 0), "superseded by its D-0 reminder"),
        ("D+1", _LEAD, datetime(2026, 12, 22, 8, 0), "superseded by its D+7 reminder"),
        # the last reminder of all: the catch-up window (24 h) after its instant
        ("D+7", _LEAD, datetime(2026, 12, 23, 8, 0), "no reminder left for this deadline"),
    ],
)
def test_a_failed_reminder_is_useful_until_the_next_rung_or_the_last_overdue_one(
    rung: str, who: tuple[str, str], until: datetime, why: str
) -> None:
    """useful_until: the next rung of its own ladder, else the last overdue rung of the
    deadline, else its instant + the grace (and at least the deadline's day)."""
    settings = load(Path(__file__).resolve().parents[1] / "config.toml")
    cal = WorkCalendar(settings.catalog.calendar)
    found = plan(
        settings.catalog,
        datetime(2026, 11, 1, tzinfo=VN_TZ),
        datetime(2027, 1, 31, tzinfo=VN_TZ),
        channels=settings.channels,
        cal=cal,
    )
    key = _NV01.format(rung, *who)
    [reminder] = [r for r in found if r.key == key]
    use = useful_until(settings.catalog, reminder, cal, timedelta(hours=24))
    assert use.until == until.replace(tzinfo=VN_TZ)
    assert use.why.startswith(why), use.why


def test_the_last_reminder_of_an_early_rung_ladder_lasts_the_deadline_day() -> None:
    """With no later rung anywhere, a reminder is useful at least until its deadline's day ends."""
    settings = load(Path(__file__).resolve().parents[1] / "config.toml")
    cat = replace(
        settings.catalog,
        lead_times={role: LeadTimes(before=(14,), overdue=()) for role in Role},
    )
    cal = WorkCalendar(cat.calendar)
    found = plan(
        cat,
        datetime(2026, 11, 30, tzinfo=VN_TZ),
        datetime(2026, 12, 2, tzinfo=VN_TZ),
        channels=settings.channels,
        cal=cal,
    )
    [reminder] = [r for r in found if r.key == _NV01.format("D-14", *_LEAD)]
    use = useful_until(cat, reminder, cal, timedelta(hours=24))
    assert use.until == datetime(2026, 12, 16, 0, 0, tzinfo=VN_TZ)


def test_collector_pause_overlapping_in_two_threads() -> None:
    """Two plans overlapping in two threads leave the garbage collector on, as it was."""
    import gc
    import threading

    from reminder.planner import _cycle_collector_paused

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with _cycle_collector_paused():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second() -> None:
        a_in.wait(5)
        with _cycle_collector_paused():
            b_in.set()
            a_out.wait(5)
            seen.append(gc.isenabled())  # the first has left; this one is still planning

    assert gc.isenabled()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False] and gc.isenabled()

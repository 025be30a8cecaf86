"""The working-day calendar: weekends, Vietnamese holidays, swaps, ops overlay, reminders."""

from __future__ import annotations

import os
import time as time_module
from collections.abc import Iterator
from datetime import date, time, timedelta

import pytest

from reminder.model import VN_TZ, CalendarRules, DayOffRule, LeadUnit
from reminder.workdays import EXTRA_DAY_OFF, WorkCalendar


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar(CalendarRules())


@pytest.fixture
def utc_process() -> Iterator[None]:
    """Run the test with the process time zone set to UTC, then restore it."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time_module.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time_module.tzset()


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 1, 1), "Tết Dương lịch"),
        (date(2026, 2, 16), "Giao thừa Tết Nguyên Đán"),
        (date(2026, 2, 17), "Tết Nguyên Đán"),
        (date(2026, 2, 20), "Mùng bốn Tết Nguyên Đán"),
        (date(2026, 2, 14), "Thứ Bảy"),
        (date(2026, 2, 15), "Chủ nhật"),
        (date(2026, 4, 26), "Chủ nhật, Ngày Giỗ Tổ Hùng Vương"),
        (date(2026, 4, 27), "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"),
        (date(2026, 4, 30), "Ngày Chiến thắng"),
        (date(2026, 5, 1), "Ngày Quốc tế Lao động"),
        (date(2026, 8, 31), "Ngày nghỉ (thay cho ngày 22/08/2026)"),
        (date(2026, 9, 1), "Quốc khánh"),
        (date(2026, 9, 2), "Quốc khánh"),
        (date(2027, 2, 6), "Thứ Bảy, Tết Nguyên Đán"),
        (date(2027, 2, 10), "Mùng năm Tết Nguyên Đán"),
    ],
)
def test_day_off_reason_names_the_day_off_in_vietnamese(
    cal: WorkCalendar, day: date, reason: str
) -> None:
    """A day off is explained by its weekday and/or the package's Vietnamese holiday name."""
    assert cal.day_off_reason(day) == reason
    assert not cal.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 2, 13),  # Friday before Tết
        date(2026, 2, 23),  # Monday after Tết
        date(2026, 4, 28),  # after the Giỗ Tổ substitute day
        date(2026, 8, 22),  # Saturday worked in exchange for 31/08/2026
        date(2026, 9, 3),
        date(2027, 2, 3),
        date(2027, 2, 11),
    ],
)
def test_working_days_around_holidays(cal: WorkCalendar, day: date) -> None:
    """Days next to holidays, and the government's working Saturday, are working days."""
    assert cal.is_working_day(day)
    assert cal.day_off_reason(day) is None


def test_tet_2026_is_16_to_20_february(cal: WorkCalendar) -> None:
    """Tết 2026 gives 16–20/02 off; with the weekends the break runs 14–22/02."""
    feb = _days(date(2026, 2, 12), date(2026, 2, 24))
    off = [d for d in feb if not cal.is_working_day(d)]
    assert off == _days(date(2026, 2, 14), date(2026, 2, 22))


def test_tet_2027_is_4_to_10_february(cal: WorkCalendar) -> None:
    """Tết 2027 per holidays 0.109: 29 Tết Thu 04/02 to Mùng năm Wed 10/02 (weekend-shifted)."""
    feb = _days(date(2027, 2, 1), date(2027, 2, 14))
    off = [d for d in feb if not cal.is_working_day(d)]
    assert off == [
        *_days(date(2027, 2, 4), date(2027, 2, 10)),
        date(2027, 2, 13),
        date(2027, 2, 14),
    ]


def test_national_day_2026_with_adjacent_day_and_swap(cal: WorkCalendar) -> None:
    """2026: 31/08 (swap), 01/09 and 02/09 are off; 29–30/08 weekend; Sat 22/08 is worked."""
    span = _days(date(2026, 8, 21), date(2026, 9, 4))
    off = [d for d in span if not cal.is_working_day(d)]
    assert off == [date(2026, 8, 23), *_days(date(2026, 8, 29), date(2026, 9, 2))]


def test_public_holidays_can_be_turned_off() -> None:
    """public_holidays=False leaves only weekends and the ops overlay."""
    cal = WorkCalendar(CalendarRules(public_holidays=False))
    assert cal.is_working_day(date(2026, 2, 17))
    assert not cal.is_working_day(date(2026, 8, 22))  # no package, no swap: a plain Saturday


def test_ops_overlay_wins() -> None:
    """Ops days off and working days override weekends, holidays and package swaps."""
    rules = CalendarRules(
        days_off=frozenset({date(2026, 3, 11), date(2026, 8, 22)}),
        working_days=frozenset({date(2026, 3, 14), date(2026, 2, 17)}),
    )
    cal = WorkCalendar(rules)
    assert cal.day_off_reason(date(2026, 3, 11)) == EXTRA_DAY_OFF
    assert not cal.is_working_day(date(2026, 8, 22))
    assert cal.is_working_day(date(2026, 3, 14))  # a worked Saturday
    assert cal.is_working_day(date(2026, 2, 17))  # even a Tết day, if ops say so


def test_ops_day_off_wins_over_ops_working_day() -> None:
    """A date listed both as a day off and a working day is a day off."""
    d = date(2026, 3, 14)
    cal = WorkCalendar(CalendarRules(days_off=frozenset({d}), working_days=frozenset({d})))
    assert cal.day_off_reason(d) == f"Thứ Bảy, {EXTRA_DAY_OFF}"


def test_custom_weekend() -> None:
    """The weekend comes from the rules: a Sunday-only weekend makes Saturday a working day."""
    cal = WorkCalendar(CalendarRules(weekend=frozenset({6})))
    assert cal.is_working_day(date(2026, 3, 14))
    assert not cal.is_working_day(date(2026, 3, 15))


@pytest.mark.parametrize(
    ("day", "following", "preceding"),
    [
        (date(2026, 3, 14), date(2026, 3, 16), date(2026, 3, 13)),  # Saturday
        (date(2026, 3, 11), date(2026, 3, 11), date(2026, 3, 11)),  # a working day
        (date(2026, 2, 15), date(2026, 2, 23), date(2026, 2, 13)),  # Sunday before Tết
        (date(2026, 4, 26), date(2026, 4, 28), date(2026, 4, 24)),  # Giỗ Tổ + nghỉ bù
        (date(2026, 4, 30), date(2026, 5, 4), date(2026, 4, 29)),
        (date(2028, 12, 31), date(2029, 1, 2), date(2028, 12, 29)),  # Sunday, then 1/1
    ],
)
def test_next_and_previous_working_day(
    cal: WorkCalendar, day: date, following: date, preceding: date
) -> None:
    """next/previous_working_day return the day itself when working, else skip days off."""
    assert cal.next_working_day(day) == following
    assert cal.previous_working_day(day) == preceding


@pytest.mark.parametrize(
    ("day", "rule", "moved"),
    [
        (date(2026, 3, 14), DayOffRule.NEXT, date(2026, 3, 16)),
        (date(2026, 3, 14), DayOffRule.PREVIOUS, date(2026, 3, 13)),
        (date(2026, 3, 14), DayOffRule.KEEP, date(2026, 3, 14)),
        (date(2026, 2, 17), DayOffRule.NEXT, date(2026, 2, 23)),
        (date(2026, 2, 17), DayOffRule.PREVIOUS, date(2026, 2, 13)),
        (date(2028, 12, 31), DayOffRule.NEXT, date(2029, 1, 2)),
    ],
)
def test_move_deadline_by_rule(cal: WorkCalendar, day: date, rule: DayOffRule, moved: date) -> None:
    """A deadline on a day off moves by its rule and says why; KEEP leaves it but explains."""
    got, reasons = cal.move_deadline(day, rule)
    assert got == moved
    assert reasons
    assert reasons[0].startswith(f"{day:%d/%m/%Y}", 4)


def test_move_deadline_reasons_read_well(cal: WorkCalendar) -> None:
    """The first reason gives the day off, its cause and the new day; others list days passed."""
    got, reasons = cal.move_deadline(date(2026, 2, 15), DayOffRule.NEXT)
    assert got == date(2026, 2, 23)
    assert reasons[0] == (
        "Sun 15/02/2026 is a day off (Chủ nhật) → next working day Mon 23/02/2026"
    )
    assert "Tue 17/02/2026 is also a day off (Tết Nguyên Đán)" in reasons
    assert len(reasons) == 8


def test_move_deadline_leaves_working_day_alone(cal: WorkCalendar) -> None:
    """A deadline on a working day is not moved and has no reasons."""
    assert cal.move_deadline(date(2026, 12, 15), DayOffRule.NEXT) == (date(2026, 12, 15), ())


def test_keep_rule_explains_kept_day_off(cal: WorkCalendar) -> None:
    """KEEP on a day off keeps the date and says that it was kept."""
    got, reasons = cal.move_deadline(date(2026, 3, 14), DayOffRule.KEEP)
    assert got == date(2026, 3, 14)
    assert reasons == ("Sat 14/03/2026 is a day off (Thứ Bảy) → kept on that day (rule: keep)",)


@pytest.mark.parametrize(
    ("deadline", "days", "unit", "expected"),
    [
        # calendar days: before/on the deadline → previous working day
        (date(2026, 3, 20), 7, LeadUnit.CALENDAR, date(2026, 3, 13)),
        (date(2026, 3, 2), 1, LeadUnit.CALENDAR, date(2026, 2, 27)),  # Sun 1/3 → Fri
        (date(2026, 2, 25), 7, LeadUnit.CALENDAR, date(2026, 2, 13)),  # 18/2 is Tết
        (date(2026, 3, 14), 0, LeadUnit.CALENDAR, date(2026, 3, 13)),  # kept on a Saturday
        (date(2026, 3, 14), 0, LeadUnit.WORKING, date(2026, 3, 13)),
        # calendar days overdue → next working day
        (date(2026, 2, 13), -3, LeadUnit.CALENDAR, date(2026, 2, 23)),
        (date(2026, 3, 13), -1, LeadUnit.CALENDAR, date(2026, 3, 16)),
        # working days, the deadline is day 0
        (date(2026, 3, 9), 3, LeadUnit.WORKING, date(2026, 3, 4)),  # Mon → previous Wed
        (date(2026, 2, 23), 3, LeadUnit.WORKING, date(2026, 2, 11)),  # across Tết
        (date(2026, 3, 15), 1, LeadUnit.WORKING, date(2026, 3, 13)),  # Sunday → Friday
        (date(2026, 2, 13), -2, LeadUnit.WORKING, date(2026, 2, 24)),  # overdue across Tết
        (date(2026, 3, 13), -1, LeadUnit.WORKING, date(2026, 3, 16)),
    ],
)
def test_reminder_day(
    cal: WorkCalendar, deadline: date, days: int, unit: LeadUnit, expected: date
) -> None:
    """Reminder days follow the lead-time policy and always land on working days."""
    got = cal.reminder_day(deadline, days, unit)
    assert got == expected
    assert cal.is_working_day(got)
    if days >= 0:
        assert got <= deadline


@pytest.mark.parametrize(
    ("send", "expected"),
    [(time(8, 0), time(8, 0)), (time(6, 0), time(7, 30)), (time(20, 0), time(17, 0))],
)
def test_send_at_is_aware_and_in_office_hours(send: time, expected: time) -> None:
    """send_at is an aware +07:00 datetime, clamped into office hours."""
    cal = WorkCalendar(CalendarRules(send_time=send))
    at = cal.send_at(date(2026, 3, 13))
    assert at.tzinfo is VN_TZ
    assert at.utcoffset() == timedelta(hours=7)
    assert (at.date(), at.timetz().replace(tzinfo=None)) == (date(2026, 3, 13), expected)


@pytest.mark.usefixtures("utc_process")
def test_same_answers_when_process_tz_is_utc() -> None:
    """The process TZ (here UTC) changes neither days off, moves nor send times."""
    cal = WorkCalendar(CalendarRules())
    assert time_module.strftime("%Z") == "UTC"
    assert cal.move_deadline(date(2026, 2, 15), DayOffRule.NEXT)[0] == date(2026, 2, 23)
    assert cal.reminder_day(date(2026, 3, 9), 3, LeadUnit.WORKING) == date(2026, 3, 4)
    at = cal.send_at(date(2026, 3, 13))
    assert at.isoformat() == "2026-03-13T08:00:00+07:00"


def test_every_day_of_four_years_is_answered(cal: WorkCalendar) -> None:
    """2025–2028 has 1461 days; exactly the weekdays that are not holidays are working."""
    days = _days(date(2025, 1, 1), date(2028, 12, 31))
    working = [d for d in days if cal.is_working_day(d)]
    assert len(days) == 1461
    assert all(d.weekday() < 5 or d == date(2026, 8, 22) or d == date(2025, 4, 26) for d in working)
    assert 990 <= len(working) <= 1000

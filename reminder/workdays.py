"""The working-day calendar: weekends, Vietnamese public holidays and the ops overlay.

Pure: no clock, and no I/O but the holiday cache's (`reminder.vnholidays`). Dates are
business dates in the calendar's time zone (Asia/Ho_Chi_Minh by default); `send_at`
returns aware datetimes in that zone, whatever the host's TZ.

Policies
--------
- A day is a day off when it is in `rules.weekend` (``date.weekday()`` numbers) or a public
  holiday of the `holidays` package (names in Vietnamese, ``language="vi"``), unless the
  package lists it as a government swap working day (``weekend_workdays``, e.g. Saturday
  22/08/2026 worked in exchange for Monday 31/08/2026).
- The ops overlay wins over everything: `rules.days_off` are always off, `rules.working_days`
  are always working (days_off wins when a date is in both).
- `rules.public_holidays=False` turns the package off (weekends and overlay only).
- Holidays are loaded lazily, a year at a time (with its neighbours, since a swap can cross
  the new year), and every answer is memoised per date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

from reminder.model import CalendarRules, DayOffRule, LeadUnit
from reminder.vnholidays import HolidayCache

WEEKDAY_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
_WEEKDAY_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EXTRA_DAY_OFF = "ngày nghỉ do cấu hình thêm"
_ONE_DAY = timedelta(days=1)
_MAX_SEARCH = 400  # days; no calendar has a longer run of days off


def fmt_day(d: date) -> str:
    """'Sun 15/02/2026': an English weekday (locale-independent) and the Vietnamese d/m/y."""
    return f"{_WEEKDAY_EN[d.weekday()]} {d:%d/%m/%Y}"


@cache
def _vn_holidays(year: int) -> tuple[dict[date, str], frozenset[date]]:
    """Public holidays (date → Vietnamese names) and swap working days known for `year`.

    Shared by all calendars: the package's data does not depend on the rules. It comes
    through `reminder.vnholidays`, whose disk cache spares most processes importing
    `holidays` (~0.2 s).
    """
    return _cache().year(year)


@cache
def _cache() -> HolidayCache:
    return HolidayCache()


class WorkCalendar:
    """Answers 'is this a working day?' and moves dates onto working days."""

    def __init__(self, rules: CalendarRules) -> None:
        self.rules = rules
        self._holidays: dict[date, str] = {}
        self._swapped: set[date] = set()
        self._loaded: set[int] = set()
        self._reason: dict[date, str | None] = {}
        self._moved: dict[tuple[date, DayOffRule], tuple[date, tuple[str, ...]]] = {}
        self._sent_at: dict[date, datetime] = {}

    # -- what a day is ------------------------------------------------------------------

    def _load(self, year: int) -> None:
        """Merge the package's data for year-1 … year+1 (a swap may cross the new year)."""
        for y in (year - 1, year, year + 1):
            if y not in self._loaded and 1901 <= y <= 2100:
                names, swapped = _vn_holidays(y)
                self._holidays.update(names)
                self._swapped.update(swapped)
            self._loaded.add(y)

    def _compute_reason(self, d: date) -> str | None:
        rules = self.rules
        parts: list[str] = []
        if d.weekday() in rules.weekend:
            parts.append(WEEKDAY_VI[d.weekday()])
        if rules.public_holidays:
            if d.year not in self._loaded:
                self._load(d.year)
            if d in self._swapped:
                parts = []  # a Saturday worked in exchange for a bridge day
            if d in self._holidays:
                parts.append(self._holidays[d])
        if d in rules.days_off:
            parts.append(EXTRA_DAY_OFF)
        elif d in rules.working_days:
            return None
        return ", ".join(parts) or None

    def day_off_reason(self, d: date) -> str | None:
        """None on a working day; else why it is off, e.g. "Thứ Bảy, Tết Nguyên Đán"."""
        try:
            return self._reason[d]
        except KeyError:
            reason = self._reason[d] = self._compute_reason(d)
            return reason

    def is_working_day(self, d: date) -> bool:
        """True when `d` is neither a weekend day, a public holiday nor an ops day off."""
        return self.day_off_reason(d) is None

    # -- moving along the calendar -------------------------------------------------------

    def _step_to_working(self, d: date, step: timedelta) -> date:
        for _ in range(_MAX_SEARCH):
            if self.is_working_day(d):
                return d
            d += step
        raise ValueError(f"no working day within {_MAX_SEARCH} days of {fmt_day(d)}")

    def next_working_day(self, d: date) -> date:
        """`d` itself when it is a working day, else the first working day after it."""
        return self._step_to_working(d, _ONE_DAY)

    def previous_working_day(self, d: date) -> date:
        """`d` itself when it is a working day, else the last working day before it."""
        return self._step_to_working(d, -_ONE_DAY)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d` (n > 0) or before it (n < 0); `d` itself is day 0.

        `d` need not be a working day: 1 working day after a Saturday is the Monday.
        """
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        for _ in range(abs(n)):
            d = self._step_to_working(d + step, step)
        return d

    def move_deadline(self, d: date, rule: DayOffRule) -> tuple[date, tuple[str, ...]]:
        """Move a deadline off a day off by `rule`; return the date and human reasons.

        NEXT (Civil Code 2015, art. 148(5)): the next working day; PREVIOUS: the working day
        before; KEEP: unmoved. A working day is never moved. The first reason says where
        the deadline went and why, e.g. "Sun 15/02/2026 is a day off (Chủ nhật) → next
        working day Mon 23/02/2026"; one more line follows for each further day off passed
        over. KEEP on a day off gives one reason saying the deadline was kept. Memoised:
        the tasks of a catalog share their due dates.
        """
        try:
            return self._moved[(d, rule)]
        except KeyError:
            moved = self._moved[(d, rule)] = self._move(d, rule)
            return moved

    def _move(self, d: date, rule: DayOffRule) -> tuple[date, tuple[str, ...]]:
        why = self.day_off_reason(d)
        if why is None:
            return d, ()
        head = f"{fmt_day(d)} is a day off ({why})"
        if rule is DayOffRule.KEEP:
            return d, (f"{head} → kept on that day (rule: keep)",)
        step = _ONE_DAY if rule is DayOffRule.NEXT else -_ONE_DAY
        moved = self._step_to_working(d, step)
        word = "next" if rule is DayOffRule.NEXT else "previous"
        reasons = [f"{head} → {word} working day {fmt_day(moved)}"]
        skipped = d + step
        while skipped != moved:
            reasons.append(f"{fmt_day(skipped)} is also a day off ({self.day_off_reason(skipped)})")
            skipped += step
        return moved, tuple(reasons)

    # -- reminders -----------------------------------------------------------------------

    def reminder_day(self, deadline: date, days: int, unit: LeadUnit) -> date:
        """The working day on which to send the reminder `days` before the deadline.

        `days` > 0: before the deadline; 0: on the deadline day; < 0: that many days after
        (overdue). CALENDAR: deadline − days, then, on a day off, the PREVIOUS working day
        for before/on-deadline reminders (so a reminder never comes after its deadline) and
        the NEXT one for overdue reminders. WORKING: count working days back (or forward
        when overdue) from the deadline, which is day 0 even when it is a day off: "3 ngày
        làm việc" before a Monday is the previous Wednesday; 1 before a Sunday is the Friday.
        A 0-day reminder for a deadline kept on a day off goes to the previous working day.
        """
        if unit is LeadUnit.CALENDAR or days == 0:
            target = deadline - timedelta(days=days)
            if days >= 0:
                return self.previous_working_day(target)
            return self.next_working_day(target)
        return self.add_working_days(deadline, -days)

    def send_at(self, day: date) -> datetime:
        """`day` at rules.send_time, clamped into [office_start, office_end], aware, in
        rules.timezone (the host's TZ plays no part). One object per day, shared by every
        reminder sent that day."""
        try:
            return self._sent_at[day]
        except KeyError:
            rules = self.rules
            at = min(max(rules.send_time, rules.office_start), rules.office_end)
            instant = self._sent_at[day] = datetime.combine(day, at, tzinfo=rules.timezone)
            return instant

"""The holiday cache: the same answers as the `holidays` package, without importing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from reminder.model import CalendarRules
from reminder.vnholidays import CACHE_FILE, HolidayCache, compute, library_version
from reminder.workdays import WorkCalendar

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("year", [1995, 2020, 2024, 2025, 2026, 2027, 2033, 2040])
def test_cached_years_equal_the_library(tmp_path: Path, year: int) -> None:
    """Written by one cache and read back by another, a year is what the package says."""
    HolidayCache(tmp_path).year(year)
    assert (tmp_path / CACHE_FILE).is_file()
    assert HolidayCache(tmp_path).year(year) == compute(year)


def test_tet_2026_and_the_swapped_saturday_come_through_the_cache(tmp_path: Path) -> None:
    """Tết 2026 (17/02) is a holiday and Saturday 22/08/2026 a swapped working day, warm."""
    HolidayCache(tmp_path).year(2026)
    names, swapped = HolidayCache(tmp_path).year(2026)
    assert "Tết" in names[date(2026, 2, 17)]
    assert names[date(2026, 9, 2)]
    assert date(2026, 8, 22) in swapped


def test_a_warm_cache_spares_importing_holidays(tmp_path: Path) -> None:
    """A second process plans from the cache file and never imports the `holidays` package."""
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from reminder.model import CalendarRules\n"
        "from reminder.workdays import WorkCalendar\n"
        "cal = WorkCalendar(CalendarRules())\n"
        "print(cal.day_off_reason(date(2026, 2, 17)), 'holidays' in sys.modules)\n"
    )
    env = {**os.environ, "REMINDER_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][-1] == "True"  # cold: the package was asked
    assert runs[1][-1] == "False"  # warm: the file answered
    assert runs[0][:-1] == runs[1][:-1] and "Tết" in " ".join(runs[1])


def test_another_library_version_makes_the_cache_stale(tmp_path: Path) -> None:
    """A file written for another `holidays` version is ignored and rewritten."""
    HolidayCache(tmp_path).year(2026)
    path = tmp_path / CACHE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["key"]["holidays"] = "0.1"
    data["years"]["2026"]["holidays"] = {"2026-03-03": "Ngày bịa"}
    path.write_text(json.dumps(data), encoding="utf-8")
    names, _ = HolidayCache(tmp_path).year(2026)
    assert date(2026, 3, 3) not in names
    assert json.loads(path.read_text(encoding="utf-8"))["key"]["holidays"] == library_version()


@pytest.mark.parametrize("content", ["", "{", "[]", '{"key": 1}', '{"key": {}, "years": 3}'])
def test_a_malformed_cache_falls_back_to_the_library(tmp_path: Path, content: str) -> None:
    """A truncated or foreign file is no error: the package answers and the file is redone."""
    (tmp_path / CACHE_FILE).write_text(content, encoding="utf-8")
    assert HolidayCache(tmp_path).year(2026) == compute(2026)
    assert HolidayCache(tmp_path).year(2026) == compute(2026)


def test_an_unwritable_cache_folder_is_no_error(tmp_path: Path) -> None:
    """When the folder cannot be made (a file is in the way), answers still come."""
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = HolidayCache(blocker / "sub")
    assert cache.year(2026) == compute(2026)
    assert not (blocker / "sub").exists()


def test_the_overlay_applies_on_a_warm_cache() -> None:
    """Ops' days_off and working_days change the calendar without touching the cache."""
    plain = WorkCalendar(CalendarRules())
    assert plain.day_off_reason(date(2026, 2, 17))  # Tết, from the (warm) cache
    rules = CalendarRules(
        days_off=frozenset({date(2026, 3, 4)}), working_days=frozenset({date(2026, 2, 17)})
    )
    edited = WorkCalendar(rules)
    assert edited.day_off_reason(date(2026, 3, 4)) is not None
    assert edited.is_working_day(date(2026, 2, 17))


def test_library_version_is_the_installed_one() -> None:
    """The key is read from the dist-info folder: the same as importlib.metadata says."""
    from importlib.metadata import version

    assert library_version() == version("holidays")

"""Vietnamese formatting of dates, weekdays, numbers and countdowns. Pure functions, NFC out.

Dates follow the administrative style of Nghị định 30/2020/NĐ-CP (Phụ lục I): in prose a
day below 10 and the months 1 and 2 take a leading zero ("ngày 05 tháng 01 năm 2026",
"ngày 08 tháng 3 năm 2021"); in tables dates read dd/mm/yyyy ("15/12/2026"). Numbers group
thousands with a dot and use a comma for decimals ("1.234", "1.234,5").

These are registered as Jinja2 filters by `reminder.render` (same names). The date filters
and `ky` keep their answers per value (a sending wake-up formats ~800 deadlines of a few
dozen dates; a weekly summary thousands of items of a few occurrence labels).
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import date

__all__ = ["countdown", "days_left", "nfc", "ngay", "ngay_dai", "so", "thu"]

_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def nfc(text: str) -> str:
    """`text` in Unicode normalisation form C (what Vietnamese text must be on the wire)."""
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=4096)
def ngay_dai(d: date) -> str:
    """The date in prose: "ngày 08 tháng 3 năm 2021", "ngày 05 tháng 01 năm 2026"."""
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return nfc(f"ngày {d.day:02d} tháng {month} năm {d.year}")


@functools.lru_cache(maxsize=4096)
def ngay(d: date) -> str:
    """The date as in a table: "15/12/2026", "05/01/2026"."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


@functools.lru_cache(maxsize=4096)
def thu(d: date) -> str:
    """The day of the week: "Thứ Hai" … "Thứ Bảy", "Chủ nhật"."""
    return nfc(_WEEKDAYS[d.weekday()])


def so(n: int | float, decimals: int = 0) -> str:
    """A number with dot thousands and comma decimals: so(1234) == "1.234",
    so(1234.5, 1) == "1.234,5", so(-1000000) == "-1.000.000"."""
    if isinstance(n, bool) or not isinstance(n, int | float):
        raise TypeError(f"so() needs a number, got {type(n).__name__}")
    text = f"{n:,d}" if isinstance(n, int) and decimals == 0 else f"{n:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def days_left(deadline: date, today: date) -> int:
    """Calendar days from `today` to `deadline`: > 0 before, 0 on the day, < 0 overdue."""
    return (deadline - today).days


@functools.lru_cache(maxsize=4096)
def countdown(deadline: date, today: date) -> str:
    """Days left in words, counted from `today`: "còn 7 ngày", "hôm nay là hạn cuối",
    "đã quá hạn 3 ngày"."""
    n = days_left(deadline, today)
    if n > 0:
        return nfc(f"còn {so(n)} ngày")
    if n == 0:
        return nfc("hôm nay là hạn cuối")
    return nfc(f"đã quá hạn {so(-n)} ngày")


_ROMAN = ("I", "II", "III", "IV")


@functools.lru_cache(maxsize=4096)
def ky(label: str) -> str:
    """An occurrence label as a reader writes it: "2026" → "năm 2026", "2026-Q3" → "quý
    III/2026", "2026-H1" → "6 tháng đầu năm 2026", "2026-06" → "tháng 6/2026",
    "trigger-2026-10-01" → "phát sinh ngày 01/10/2026", "2027-03-15" → "ngày 15/03/2027";
    anything else as it is (never an internal key dressed up)."""
    parts = label.removeprefix("trigger-").split("-")
    if not all(p.isdigit() or p[:1] in "QH" for p in parts):
        return label
    try:
        if label.startswith("trigger-") and len(parts) == 3:
            return nfc(f"phát sinh ngày {ngay(date(*map(int, parts)))}")
        if len(parts) == 1:
            return nfc(f"năm {int(parts[0])}")
        if len(parts) == 3:
            return nfc(f"ngày {ngay(date(*map(int, parts)))}")
        year, part = parts
        if part.startswith("Q"):
            return nfc(f"quý {_ROMAN[int(part[1:]) - 1]}/{year}")
        if part.startswith("H"):
            half = "đầu" if part == "H1" else "cuối"
            return nfc(f"6 tháng {half} năm {year}")
        return nfc(f"tháng {int(part)}/{year}")
    except (ValueError, IndexError):
        return label


def tuan(day: date) -> str:
    """The working week (Monday to Friday) of `day` as a reader writes it: "tuần từ 07/9 đến
    11/9/2026"; across a new year "tuần từ 29/12/2025 đến 02/01/2026"."""
    monday = date.fromordinal(day.toordinal() - day.weekday())
    friday = date.fromordinal(monday.toordinal() + 4)
    start = f"{monday.day:02d}/{monday.month}"
    if monday.year != friday.year:
        start = f"{monday.day:02d}/{monday.month:02d}/{monday.year}"
        return nfc(f"tuần từ {start} đến {ngay(friday)}")
    return nfc(f"tuần từ {start} đến {friday.day:02d}/{friday.month}/{friday.year}")

"""Vietnamese date, weekday, number and countdown formatting (reminder.vnformat)."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from reminder.vnformat import countdown, days_left, ky, nfc, ngay, ngay_dai, so, thu


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2021, 3, 8), "ngày 08 tháng 3 năm 2021"),
        (date(2026, 1, 5), "ngày 05 tháng 01 năm 2026"),
        (date(2026, 2, 14), "ngày 14 tháng 02 năm 2026"),
        (date(2028, 2, 29), "ngày 29 tháng 02 năm 2028"),
        (date(2026, 12, 15), "ngày 15 tháng 12 năm 2026"),
        (date(2026, 12, 31), "ngày 31 tháng 12 năm 2026"),
        (date(2027, 1, 1), "ngày 01 tháng 01 năm 2027"),
        (date(2026, 10, 9), "ngày 09 tháng 10 năm 2026"),
    ],
)
def test_ngay_dai_leading_zeros(d: date, expected: str) -> None:
    """Prose dates pad days below 10 and months 1–2 only (Nghị định 30/2020/NĐ-CP)."""
    assert ngay_dai(d) == expected


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 12, 15), "15/12/2026"),
        (date(2026, 1, 5), "05/01/2026"),
        (date(2028, 2, 29), "29/02/2028"),
        (date(2026, 12, 31), "31/12/2026"),
    ],
)
def test_ngay_numeric(d: date, expected: str) -> None:
    """Table dates read dd/mm/yyyy with zero padding."""
    assert ngay(d) == expected


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 12, 14), "Thứ Hai"),
        (date(2026, 12, 15), "Thứ Ba"),
        (date(2026, 12, 16), "Thứ Tư"),
        (date(2026, 12, 17), "Thứ Năm"),
        (date(2026, 12, 18), "Thứ Sáu"),
        (date(2026, 12, 19), "Thứ Bảy"),
        (date(2026, 12, 20), "Chủ nhật"),
        (date(2028, 2, 29), "Thứ Ba"),
    ],
)
def test_thu_weekday_names(d: date, expected: str) -> None:
    """Weekdays read "Thứ Hai" … "Thứ Bảy", "Chủ nhật"."""
    assert thu(d) == expected


@pytest.mark.parametrize(
    ("n", "decimals", "expected"),
    [
        (0, 0, "0"),
        (7, 0, "7"),
        (999, 0, "999"),
        (1000, 0, "1.000"),
        (1234, 0, "1.234"),
        (1234567, 0, "1.234.567"),
        (-1000000, 0, "-1.000.000"),
        (1234.5, 1, "1.234,5"),
        (0.25, 2, "0,25"),
        (1234.5, 0, "1.234"),
    ],
)
def test_so_thousands_and_decimals(n: float, decimals: int, expected: str) -> None:
    """Numbers group thousands with "." and use "," for decimals."""
    assert so(n, decimals) == expected


def test_so_rejects_non_numbers() -> None:
    """so() refuses text and booleans instead of printing them as numbers."""
    with pytest.raises(TypeError):
        so("12")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        so(True)


@pytest.mark.parametrize(
    ("deadline", "today", "expected"),
    [
        (date(2026, 12, 15), date(2026, 12, 8), "còn 7 ngày"),
        (date(2026, 12, 15), date(2026, 12, 14), "còn 1 ngày"),
        (date(2026, 12, 15), date(2026, 12, 15), "hôm nay là hạn cuối"),
        (date(2026, 12, 15), date(2026, 12, 18), "đã quá hạn 3 ngày"),
        (date(2027, 1, 1), date(2026, 12, 31), "còn 1 ngày"),
        (date(2028, 3, 1), date(2028, 2, 28), "còn 2 ngày"),
        (date(2030, 12, 31), date(2026, 1, 1), "còn 1.825 ngày"),
    ],
)
def test_countdown(deadline: date, today: date, expected: str) -> None:
    """Countdown reads "còn N ngày", "hôm nay là hạn cuối" or "đã quá hạn N ngày"."""
    assert countdown(deadline, today) == expected


def test_days_left_crosses_year_end_and_leap_day() -> None:
    """Days left are calendar days across 31/12 and 29/2."""
    assert days_left(date(2027, 1, 2), date(2026, 12, 30)) == 3
    assert days_left(date(2028, 3, 1), date(2028, 2, 28)) == 2
    assert days_left(date(2026, 12, 1), date(2026, 12, 4)) == -3


def test_outputs_are_nfc() -> None:
    """Every formatter returns NFC text, even for composed Vietnamese letters."""
    outputs = [
        ngay_dai(date(2026, 1, 5)),
        thu(date(2026, 12, 19)),
        countdown(date(2026, 12, 1), date(2026, 12, 4)),
        countdown(date(2026, 12, 4), date(2026, 12, 4)),
    ]
    for text in outputs:
        assert unicodedata.is_normalized("NFC", text)
    decomposed = unicodedata.normalize("NFD", "Thứ Bảy")
    assert nfc(decomposed) == "Thứ Bảy"


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("2026", "năm 2026"),
        ("2026-Q3", "quý III/2026"),
        ("2026-H1", "6 tháng đầu năm 2026"),
        ("2026-H2", "6 tháng cuối năm 2026"),
        ("2026-06", "tháng 6/2026"),
        ("trigger-2026-10-01", "phát sinh ngày 01/10/2026"),
        ("2027-03-15", "ngày 15/03/2027"),
        ("", ""),
        ("khác", "khác"),
    ],
)
def test_an_occurrence_is_written_as_a_reader_writes_it(label: str, text: str) -> None:
    """Occurrence labels never reach a reader as internal keys ("trigger-2026-10-01")."""
    assert ky(label) == text

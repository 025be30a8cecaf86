"""Timing phrases of a Vietnamese plan appendix → Recurrence."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

import pytest

from reminder.model import Frequency, Recurrence
from reminder.timing import (
    TimingError,
    normalise,
    parse_phrase,
    recurrence_problems,
    understood_forms,
    with_overrides,
)

Y, Q, M, H = Frequency.YEARLY, Frequency.QUARTERLY, Frequency.MONTHLY, Frequency.HALF_YEARLY
ONCE, TRIG, ASSIGNED = Frequency.ONCE, Frequency.TRIGGERED, Frequency.ASSIGNED

ACCEPTED: list[tuple[str, dict[str, Any], str]] = [
    ("Hằng năm", {"frequency": Y}, "yearly"),
    ("Hàng năm", {"frequency": Y}, "yearly"),
    ("HẰNG NĂM", {"frequency": Y}, "yearly"),
    ("  hằng   năm. ", {"frequency": Y}, "yearly"),
    ("Hằng năm, bắt đầu từ năm 2025", {"frequency": Y, "start_year": 2025}, "yearly from 2025"),
    ("Hằng \nnăm, bắt \nđầu từ \n\nnăm 2025", {"frequency": Y, "start_year": 2025}, ""),
    ("Hằng năm , bắt đầu từ năm 2025.", {"frequency": Y, "start_year": 2025}, ""),
    ("Hằng năm từ năm 2025", {"frequency": Y, "start_year": 2025}, ""),
    ("Hàng năm, từ năm 2025", {"frequency": Y, "start_year": 2025}, ""),
    ("02 năm/lần", {"frequency": Y, "interval": 2}, "every 2 years (anchor year not set)"),
    ("02 \nnăm/lần", {"frequency": Y, "interval": 2}, ""),
    ("2 năm/lần", {"frequency": Y, "interval": 2}, ""),
    ("2 năm / lần", {"frequency": Y, "interval": 2}, ""),
    ("2 năm/01 lần", {"frequency": Y, "interval": 2}, ""),
    ("2 năm một lần", {"frequency": Y, "interval": 2}, ""),
    ("hai năm một lần", {"frequency": Y, "interval": 2}, ""),
    ("Hai năm 1 lần", {"frequency": Y, "interval": 2}, ""),
    ("02 năm 01 lần", {"frequency": Y, "interval": 2}, ""),
    ("3 năm/lần", {"frequency": Y, "interval": 3}, "every 3 years (anchor year not set)"),
    ("03 năm/lần", {"frequency": Y, "interval": 3}, ""),
    ("ba năm một lần", {"frequency": Y, "interval": 3}, ""),
    ("năm năm một lần", {"frequency": Y, "interval": 5}, ""),
    (
        "02 năm/lần, bắt đầu từ năm 2025",
        {"frequency": Y, "interval": 2, "start_year": 2025},
        "every 2 years (2025, 2027, …) from 2025",
    ),
    ("Hằng quý", {"frequency": Q}, "quarterly"),
    ("Hàng quý", {"frequency": Q}, ""),
    ("Hàng qúy", {"frequency": Q}, ""),  # old-style tone placement
    ("Hằng tháng", {"frequency": M}, "monthly"),
    ("Hàng tháng", {"frequency": M}, ""),
    ("6 tháng/lần", {"frequency": H}, "half-yearly"),
    ("06 tháng/lần", {"frequency": H}, ""),
    ("6 tháng một lần", {"frequency": H}, ""),
    ("sáu tháng một lần", {"frequency": H}, ""),
    ("Hằng 6 tháng", {"frequency": H}, ""),
    ("Hàng 06 tháng", {"frequency": H}, ""),
    ("3 tháng/lần", {"frequency": Q}, ""),
    (
        "Trước ngày 15/12 hằng năm",
        {"frequency": Y, "fixed_due": (15, 12)},
        "yearly, before 15/12 (a day off moves it to the working day before)",
    ),
    ("trước ngày 15 / 12 hàng năm.", {"frequency": Y, "fixed_due": (15, 12)}, ""),
    ("Trước ngày 15 tháng 12 hằng năm", {"frequency": Y, "fixed_due": (15, 12)}, ""),
    ("Trước ngày 05/3 hằng năm", {"frequency": Y, "fixed_due": (5, 3)}, ""),
    ("Trước ngày 29/02 hằng năm", {"frequency": Y, "fixed_due": (29, 2)}, ""),
    ("Năm 2026", {"frequency": ONCE, "period": "2026"}, "once, year 2026"),
    ("năm  2026;", {"frequency": ONCE, "period": "2026"}, ""),
    ("Quý I/2026", {"frequency": ONCE, "period": "2026-Q1"}, "once, quarter I of 2026"),
    ("Quý II/2026", {"frequency": ONCE, "period": "2026-Q2"}, ""),
    ("Quý III/2026", {"frequency": ONCE, "period": "2026-Q3"}, ""),
    ("Quý IV/2026", {"frequency": ONCE, "period": "2026-Q4"}, "once, quarter IV of 2026"),
    ("Quý 1/2026", {"frequency": ONCE, "period": "2026-Q1"}, ""),
    ("quý i năm 2026", {"frequency": ONCE, "period": "2026-Q1"}, ""),
    ("Tháng 6/2026", {"frequency": ONCE, "period": "2026-06"}, "once, June 2026"),
    ("Tháng 06/2026", {"frequency": ONCE, "period": "2026-06"}, ""),
    ("tháng 12 năm 2026", {"frequency": ONCE, "period": "2026-12"}, ""),
    ("Sau khi có hướng dẫn của Trung ương", {"frequency": TRIG}, ""),
    ("Sau khi có \nhướng dẫn \ncủa Trung \nương", {"frequency": TRIG}, ""),
    ("Sau khi có hướng dẫn của TW", {"frequency": TRIG}, ""),
    ("Theo nhiệm vụ được giao", {"frequency": ASSIGNED}, ""),
    ("Theo \nnhiệm vụ \nđược giao", {"frequency": ASSIGNED}, ""),
]


@pytest.mark.parametrize(("phrase", "fields", "reading"), ACCEPTED)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_parse_phrase_accepts(
    phrase: str, fields: dict[str, Any], reading: str, form: Literal["NFC", "NFD"]
) -> None:
    """Each known phrase, in NFC or NFD, parses to the expected fields, keeping the phrase."""
    text = unicodedata.normalize(form, phrase)
    rec = parse_phrase(text)
    defaults = Recurrence(fields["frequency"])
    for name in ("frequency", "interval", "anchor_year", "start_year", "end_year"):
        assert getattr(rec, name) == fields.get(name, getattr(defaults, name)), name
    assert rec.period == fields.get("period")
    assert rec.fixed_due == fields.get("fixed_due")
    assert rec.phrase == text
    assert rec.reading
    if reading:
        assert rec.reading == reading


REJECTED = [
    "",
    "   ",
    "Hằng tuần",
    "Năm 20266",
    "Năm 226",
    "Trước ngày 31/02 hằng năm",
    "Trước ngày 31/04 hằng năm",
    "Trước ngày 15/13 hằng năm",
    "Trước ngày 0/12 hằng năm",
    "Quý V/2026",
    "Quý 5/2026",
    "Quý 0/2026",
    "Tháng 13/2026",
    "0 năm/lần",
    "4 tháng/lần",
    "Hằng năm hằng năm",
]


@pytest.mark.parametrize("phrase", REJECTED)
def test_parse_phrase_rejects(phrase: str) -> None:
    """Unknown or impossible phrases raise TimingError quoting the phrase and the known forms."""
    with pytest.raises(TimingError) as caught:
        parse_phrase(phrase)
    message = str(caught.value)
    assert f'"{" ".join(phrase.split())}"' in message
    for form in understood_forms():
        assert form in message


def test_timing_error_is_a_value_error() -> None:
    """Callers catching ValueError also catch TimingError."""
    assert issubclass(TimingError, ValueError)


def test_understood_forms_all_parse() -> None:
    """Every canonical example offered to users is itself understood."""
    for form in understood_forms():
        parse_phrase(form)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hằng \nnăm, bắt \nđầu từ \n\nnăm 2025", "hằng năm, bắt đầu từ năm 2025"),
        ("02 năm / lần.", "02 năm/lần"),
        ("HẰNG  NĂM ,bắt đầu", "hằng năm, bắt đầu"),
        ("\u00a0Quý\u00a0I/2026 ", "quý i/2026"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    """normalise gives NFC, casefolded, single-spaced text without trailing punctuation."""
    assert normalise(text) == expected
    assert normalise(unicodedata.normalize("NFD", text)) == expected


def test_with_overrides_completes_the_phrase() -> None:
    """Config fields complete a phrase (an anchor for "02 năm/lần") and the reading follows."""
    rec = with_overrides(parse_phrase("02 năm/lần"), anchor_year=2025)
    assert (rec.frequency, rec.interval, rec.anchor_year) == (Y, 2, 2025)
    assert rec.phrase == "02 năm/lần"
    assert rec.reading == "every 2 years (2025, 2027, …)"
    later = with_overrides(rec, start_year=2026)
    assert later.reading == "every 2 years (2027, 2029, …) from 2026"


def test_with_overrides_replaces_fields() -> None:
    """Given fields override the phrase's; None leaves a field as it was."""
    base = parse_phrase("Hằng năm, bắt đầu từ năm 2025")
    rec = with_overrides(base, start_year=2026, end_year=2030)
    assert (rec.start_year, rec.end_year, rec.interval) == (2026, 2030, 1)
    assert rec.reading == "yearly from 2026 until 2030"
    assert with_overrides(base) == base
    quarterly = with_overrides(base, frequency=Frequency.QUARTERLY)
    assert quarterly.reading == "quarterly from 2025"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"interval": 0}, "at least 1"),
        (
            {"frequency": Frequency.QUARTERLY, "interval": 2, "anchor_year": 2025},
            "only makes sense for yearly",
        ),
        ({"interval": 2}, "needs an anchor year"),
        ({"frequency": Frequency.ONCE}, "needs a period"),
        ({"start_year": 2030, "end_year": 2025}, "after end year"),
    ],
)
def test_inconsistent_overrides_are_reported_not_raised(
    kwargs: dict[str, Any], problem: str
) -> None:
    """with_overrides combines without raising; recurrence_problems names what is wrong."""
    rec = with_overrides(parse_phrase("Hằng năm"), **kwargs)
    found = recurrence_problems(rec)
    assert len(found) == 1
    assert problem in found[0]
    assert rec.reading


@pytest.mark.parametrize(
    "phrase",
    ["Hằng năm", "02 năm/lần, bắt đầu từ năm 2025", "Quý I/2026", "Theo nhiệm vụ được giao"],
)
def test_parsed_phrases_have_no_problems(phrase: str) -> None:
    """Phrases that need nothing more from config report no problems."""
    assert recurrence_problems(parse_phrase(phrase)) == ()

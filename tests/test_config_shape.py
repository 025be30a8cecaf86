"""The shape checks of config.toml (reminder.config.shape): what TOML types each key takes.

TOML is typed, so the checks are strict; these are the cases a hand-written checker could
get wrong (a whole number for a decimal key, NaN against a range, a date-time for a date,
a list where a table belongs), each through `load` on an edited copy of the shipped file.
"""

from __future__ import annotations

import os
from email.utils import parseaddr
from pathlib import Path

import pytest
from helpers import shipped_variant
from hypothesis import given, settings
from hypothesis import strategies as st

from reminder.config import ConfigError, load
from reminder.config.schema import Calendar, Config, Delivery, address_of
from reminder.config.shape import allowed_keys


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REMINDER_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def _problems(folder: Path, old: str, new: str) -> list[str]:
    try:
        load(shipped_variant(folder, (old, new)))
    except ConfigError as exc:
        return [f"{p.line} {p.key}: {p.message}" for p in exc.problems]
    return []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("catch_up_hours = 24 ", "catch_up_hours = 12.5 ", []),
        ("lease_minutes = 5 ", "lease_minutes = 1 ", []),
        (
            "catch_up_hours = 24 ",
            "catch_up_hours = nan ",
            ["75 delivery.catch_up_hours: Input should be less than or equal to 744 (got nan)"],
        ),
        (
            "retry_initial_seconds = 60",
            "retry_initial_seconds = -inf",
            ["80 delivery.retry_initial_seconds: Input should be greater than 0 (got -inf)"],
        ),
        (
            "lease_minutes = 5 ",
            "lease_minutes = true ",
            ["82 delivery.lease_minutes: Input should be a valid number (got True)"],
        ),
        (
            "retry_max_seconds = 3600 ",
            "retry_max_seconds = 30 ",
            [
                "81 delivery.retry_max_seconds: must not be below retry_initial_seconds = 60 (got 30)"
            ],
        ),
        (
            "days_off = []",
            "days_off = [2026-12-31T08:00:00]",
            [
                "48 calendar.days_off[#1]: Input should be a valid date (got 2026-12-31T08:00:00)",
            ],
        ),
        (
            "public_holidays = true",
            "public_holidays = 1",
            ["47 calendar.public_holidays: Input should be a valid boolean (got 1)"],
        ),
        (
            'weekend = ["saturday", "sunday"]',
            'weekend = ["saturday", "Sunday"]',
            [
                "46 calendar.weekend[#2]: Input should be 'monday', 'tuesday', 'wednesday', "
                "'thursday', 'friday', 'saturday' or 'sunday' (got 'Sunday')"
            ],
        ),
        (
            "[delivery]\n",
            "[delivry]\n",
            [
                "74 delivry: unknown key; expected one of: "
                + ", ".join(allowed_keys(Config))
                + "; did you mean 'delivery'?",
            ],
        ),
    ],
)
def test_value_types_and_bounds(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    """Each edit gives exactly these problem lines (none: the file loads)."""
    assert _problems(tmp_path, old, new) == expected


def test_a_list_where_a_table_belongs(tmp_path: Path) -> None:
    """[[delivery]] (an array of tables) where [delivery] belongs is one clear problem."""
    (problem,) = _problems(tmp_path, "[delivery]\n", "[[delivery]]\n")
    assert problem.startswith(
        "74 delivery: Input should be a valid dictionary or instance of Delivery (got [{"
    )


def test_every_problem_in_a_table_is_reported(tmp_path: Path) -> None:
    """Three mistakes in one table: all reported, the keys' own first, then the unknown key."""
    problems = _problems(
        tmp_path,
        "catch_up_hours = 24 ",
        'catch_up_hours = "24"\nmax_attemps = 3\nmax_attempts = 0\n',
    )
    assert [p.split(":")[0] for p in problems] == [
        "75 delivery.catch_up_hours",
        "77 delivery.max_attempts",
        "76 delivery.max_attemps",
    ]
    assert problems[2].endswith("did you mean 'max_attempts'?")


def test_defaults_are_fresh_per_table() -> None:
    """Tables are read-only, and a list default is a copy, not one list shared by all."""
    first, second = Delivery(), Delivery()
    assert first.catch_up_hours == 24 and first.max_attempts is None
    with pytest.raises(AttributeError):
        first.catch_up_hours = 1  # type: ignore[misc]
    a, b = Calendar(), Calendar()
    assert a.weekend == ["saturday", "sunday"] and a.weekend is not b.weekend
    assert first is not second


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from(list('ab.@-_+<> ()",;:ăệ1[]\\\t')), max_size=14),
        st.builds(
            "{} <{}>".format,
            st.text(alphabet=st.sampled_from(list("Văn phòng_1 .")), max_size=12),
            st.emails(),
        ),
        st.emails(),
    )
)
def test_sender_address_as_parseaddr_finds_it(value: str) -> None:
    """The From/Reply-To address is the one email.utils.parseaddr finds, in every form."""
    assert address_of(value) == parseaddr(value)[1]

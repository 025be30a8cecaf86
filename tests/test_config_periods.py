"""`check` warns when a task's own text names a period that ended before occurrences it plans
(issue 11 item 13): task 1 is "… giai đoạn 2021 – 2025", planned "Hằng năm"."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHIPPED_PLAN, shipped_variant

from reminder.config import load
from reminder.config.periods import named_period

SHIPPED = Path(__file__).resolve().parents[1] / "config.toml"
ASSUMPTION = 'assumed = true\nlead = "so-noi-vu"\nsupport = ["truong-chinh-tri"'


@pytest.mark.parametrize(
    ("text", "words", "end"),
    [
        ("Kế hoạch … tỉnh Kiên Giang, giai đoạn 2021 – 2025", "giai đoạn 2021 – 2025", 2025),
        ("Chương trình giai đoạn 2021-2025", "giai đoạn 2021-2025", 2025),
        ("Đề án GIAI ĐOẠN 2016 — 2020", "GIAI ĐOẠN 2016 — 2020", 2020),
        ("Kế hoạch thực hiện năm 2021 – 2025", "năm 2021 – 2025", 2025),
        ("Chiến lược đến năm 2030, tầm nhìn đến năm 2045", "đến năm 2045", 2045),
        ("Định hướng đến  năm 2025", "đến năm 2025", 2025),
        ("Kế hoạch số 45/KH-UBND ngày 08 tháng 3 năm 2021 của UBND tỉnh", None, None),
        ("Hằng năm, bắt đầu từ năm 2025", None, None),
    ],
    ids=["en-dash", "hyphen", "em-dash-upper", "nam", "latest-of-two", "spaces", "date", "from"],
)
def test_named_period(text: str, words: str | None, end: int | None) -> None:
    """The period a title names, whatever the dash or spacing; a plain date is no period."""
    found = named_period(text)
    assert ((found.words, found.end) if found else (None, None)) == (words, end)


def config_with(tmp_path: Path, old: str, new: str) -> Path:
    return shipped_variant(tmp_path, (old, new))


def period_warnings(path: Path) -> list[str]:
    return [str(w) for w in load(path).warnings if "names a period" in w.message]


def test_unconfirmed_ended_period_is_warned_at_the_title(tmp_path: Path) -> None:
    """Task 1 without its assumption: one warning at its title's line, suggesting end_year or assumed."""
    config = config_with(tmp_path, ASSUMPTION, ASSUMPTION.removeprefix("assumed = true\n"))
    [warning] = period_warnings(config)
    path = tmp_path / "plans" / SHIPPED_PLAN.name  # task 1 lives in the seed plan's file
    lines = path.read_text(encoding="utf-8").splitlines()
    line = lines.index(next(x for x in lines if "giai đoạn 2021" in x))
    assert warning.startswith(f"{path}:{line + 1}: tasks[1].title: ")
    assert "ended in 2025 (“giai đoạn 2021 – 2025”)" in warning
    assert "occurrences after it (2026, …)" in warning
    assert "end_year = 2025" in warning and "assumed = true" in warning


def test_end_year_within_the_period_silences_it(tmp_path: Path) -> None:
    """end_year = 2025: no occurrence after the period, no warning; end_year = 2027 still warns."""
    bare = ASSUMPTION.removeprefix("assumed = true\n")
    assert period_warnings(config_with(tmp_path, ASSUMPTION, "end_year = 2025\n" + bare)) == []
    assert len(period_warnings(config_with(tmp_path, ASSUMPTION, "end_year = 2027\n" + bare))) == 1


def test_shipped_config_states_its_assumption_for_task_1() -> None:
    """The shipped config marks task 1 assumed (successor plan), so no period warning; it is listed."""
    settings = load(SHIPPED)
    assert period_warnings(SHIPPED) == []
    assumed = next(w for w in settings.warnings if w.key == "assumed")
    assert " 1:" in assumed.message and assumed.file == SHIPPED_PLAN
    text = SHIPPED_PLAN.read_text(encoding="utf-8")
    assert (
        "ASSUMED: its yearly training\n# goes on under the successor plan for 2026 – 2030" in text
    )

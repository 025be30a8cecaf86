"""The timing phrases real appendices use: what each means, and the deadlines it gives.

One row per understood phrase (issue 21), then the awkward dates — 29/02, the 31st, Tết,
Saturdays and Sundays, year ends — placed by the phrase's own day-off rule ("trước" = by
that day: a day off moves it to the working day before).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import shipped_variant

from reminder.config.load import PROGRESS_NAME, implicit_milestones, load
from reminder.config.problems import ConfigError
from reminder.importer import read_wording
from reminder.importer.names import Directory
from reminder.importer.table import Column, Row
from reminder.importer.tasks import build
from reminder.model import (
    VN_TZ,
    Agency,
    CalendarRules,
    Catalog,
    DayOffRule,
    Frequency,
    LeadTimes,
    Milestone,
    PlanInfo,
    Recurrence,
    Role,
    Task,
)
from reminder.occurrences import deadlines, occurrences
from reminder.status import State, classify, period_deadlines
from reminder.timing import TimingError, parse_phrase, recurrence_problems
from reminder.workdays import WorkCalendar

Y, Q, M, H = Frequency.YEARLY, Frequency.QUARTERLY, Frequency.MONTHLY, Frequency.HALF_YEARLY
ONCE, ASSIGNED, ONGOING, SPAN = (
    Frequency.ONCE,
    Frequency.ASSIGNED,
    Frequency.ONGOING,
    Frequency.SPAN,
)
PREV = DayOffRule.PREVIOUS

# phrase → the fields it must give (the others keep Recurrence's defaults), and the reading
PHRASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "Thường xuyên",
        {"frequency": ONGOING},
        "ongoing: no deadline, progress reports on the office's report dates",
    ),
    ("Thực hiện thường xuyên", {"frequency": ONGOING}, ""),
    ("Thường xuyên, liên tục", {"frequency": ONGOING}, ""),
    ("Thường xuyên, từ năm 2026", {"frequency": ONGOING, "start_year": 2026}, ""),
    ("Định kỳ 6 tháng", {"frequency": H}, "half-yearly"),
    ("Định kỳ 06 tháng", {"frequency": H}, ""),
    ("6 tháng một lần", {"frequency": H}, "half-yearly"),
    ("Định kỳ 6 tháng/lần", {"frequency": H}, ""),
    (
        "Hằng năm (trước 31/12)",
        {"frequency": Y, "fixed_due": (31, 12), "day_off_rule": PREV},
        "yearly, before 31/12 (a day off moves it to the working day before)",
    ),
    (
        "Hằng năm (trước ngày 31/12)",
        {"frequency": Y, "fixed_due": (31, 12), "day_off_rule": PREV},
        "",
    ),
    (
        "Hàng năm, trước ngày 15 tháng 12",
        {"frequency": Y, "fixed_due": (15, 12), "day_off_rule": PREV},
        "",
    ),
    ("Trước 15/12 hằng năm", {"frequency": Y, "fixed_due": (15, 12), "day_off_rule": PREV}, ""),
    (
        "Trước ngày 15/12 hằng năm",
        {"frequency": Y, "fixed_due": (15, 12), "day_off_rule": PREV},
        "",
    ),
    ("Định kỳ hằng năm", {"frequency": Y}, "yearly"),
    ("Định kỳ hàng quý", {"frequency": Q}, "quarterly"),
    (
        "Trước ngày 30/6/2027",
        {"frequency": ONCE, "period": "2027", "fixed_due": (30, 6), "day_off_rule": PREV},
        "once, by 30/06/2027 (a day off moves it to the working day before)",
    ),
    (
        "Trước ngày 30 tháng 6 năm 2027",
        {"frequency": ONCE, "period": "2027", "fixed_due": (30, 6), "day_off_rule": PREV},
        "",
    ),
    (
        "Hoàn thành trước ngày 29/02/2028",
        {"frequency": ONCE, "period": "2028", "fixed_due": (29, 2), "day_off_rule": PREV},
        "",
    ),
    ("Trong năm 2027", {"frequency": ONCE, "period": "2027"}, "once, year 2027"),
    ("Năm 2027", {"frequency": ONCE, "period": "2027"}, "once, year 2027"),
    ("Quý III/2027", {"frequency": ONCE, "period": "2027-Q3"}, "once, quarter III of 2027"),
    ("Trong quý III/2027", {"frequency": ONCE, "period": "2027-Q3"}, ""),
    ("Tháng 10/2027", {"frequency": ONCE, "period": "2027-10"}, "once, October 2027"),
    ("6 tháng đầu năm 2027", {"frequency": ONCE, "period": "2027-H1"}, "once, half 1 of 2027"),
    ("6 tháng cuối năm 2027", {"frequency": ONCE, "period": "2027-H2"}, ""),
    (
        "Giai đoạn 2026 - 2030",
        {"frequency": SPAN, "start_year": 2026, "end_year": 2030},
        "period 2026–2030: done by the end of 2030, a progress report each year before",
    ),
    ("2026 – 2030", {"frequency": SPAN, "start_year": 2026, "end_year": 2030}, ""),
    ("2026-2030", {"frequency": SPAN, "start_year": 2026, "end_year": 2030}, ""),
    ("Từ năm 2026 đến năm 2030", {"frequency": SPAN, "start_year": 2026, "end_year": 2030}, ""),
    (
        "Hằng quý (trước ngày 20 tháng cuối quý)",
        {"frequency": Q, "period_due": (20, 3), "day_off_rule": PREV},
        "quarterly, before day 20 of the period's last month "
        "(a day off moves it to the working day before)",
    ),
    (
        "Hằng quý, trước ngày 20 của tháng cuối quý",
        {"frequency": Q, "period_due": (20, 3), "day_off_rule": PREV},
        "",
    ),
    (
        "Hằng quý (trước ngày 15 tháng đầu quý)",
        {"frequency": Q, "period_due": (15, 1), "day_off_rule": PREV},
        "",
    ),
    (
        "6 tháng/lần (trước ngày 15 tháng cuối kỳ)",
        {"frequency": H, "period_due": (15, 6), "day_off_rule": PREV},
        "",
    ),
    (
        "Hằng tháng, trước ngày 25",
        {"frequency": M, "period_due": (25, 1), "day_off_rule": PREV},
        "",
    ),
    (
        "Theo chỉ đạo của UBND tỉnh",
        {"frequency": ASSIGNED},
        "as assigned or directed (explicit dates set by ops)",
    ),
    ("Theo chỉ đạo của Ủy ban nhân dân tỉnh", {"frequency": ASSIGNED}, ""),
    ("Theo yêu cầu của Chủ tịch UBND tỉnh", {"frequency": ASSIGNED}, ""),
]

_FIELDS = (
    "frequency",
    "interval",
    "start_year",
    "end_year",
    "period",
    "fixed_due",
    "period_due",
    "day_off_rule",
)


@pytest.mark.parametrize(("phrase", "fields", "reading"), PHRASES)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_understood_phrase(phrase: str, fields: dict[str, Any], reading: str, form: str) -> None:
    """Each phrase of real appendices, NFC or NFD, reads as its row says, phrase kept whole."""
    text = unicodedata.normalize(form, phrase)  # type: ignore[arg-type]
    rec = parse_phrase(text)
    default = Recurrence(fields["frequency"])
    for name in _FIELDS:
        assert getattr(rec, name) == fields.get(name, getattr(default, name)), name
    assert rec.phrase == text
    assert recurrence_problems(rec) == ()
    if reading:
        assert rec.reading == reading


NOT_UNDERSTOOD = [
    "Trước ngày 29/2/2027",  # 2027 is a common year: no such day
    "Trước ngày 31/6/2027",
    "Hằng năm (trước 31/4)",
    "Giai đoạn 2030 - 2026",
    "Giai đoạn 2026 - 2026",
    "Hằng quý (trước ngày 20 tháng thứ 4 của quý)",
    "Hằng quý (trước ngày 32 tháng cuối quý)",
    "Hằng năm (trước khi có kết quả)",
    "Định kỳ",
    "Theo kế hoạch",
    "Khi có yêu cầu",
]


@pytest.mark.parametrize("phrase", NOT_UNDERSTOOD)
def test_phrase_not_understood_is_refused_not_guessed(phrase: str) -> None:
    """A phrase not understood (or an impossible date in it) raises, quoting it whole."""
    with pytest.raises(TimingError) as caught:
        parse_phrase(phrase)
    assert f'"{phrase}"' in str(caught.value)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar(CalendarRules())


def _task(phrase: str, milestones: tuple[Milestone, ...], reports: list[str]) -> Task:
    rec = parse_phrase(phrase)
    return Task(
        id="t",
        number="1",
        title="Nhiệm vụ",
        timing=rec,
        lead="so-noi-vu",
        support=(),
        milestones=milestones or implicit_milestones(rec, reports),
    )


END = Milestone("end", "Hoàn thành")
D = date
# phrase, milestones (() = what config gives a task without any), office report days,
# window (first, last) → [(occurrence, milestone, nominal date, date after the day-off rule)]
DEADLINES: list[tuple[str, tuple[Milestone, ...], list[str], tuple[date, date], list[Any]]] = [
    # a "by" date on a working day stays; on Tết it moves back before Tết, not after
    ("Trước ngày 30/6/2027", (), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027", "han", D(2027, 6, 30), D(2027, 6, 30))]),
    ("Trước ngày 10/2/2027", (), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027", "han", D(2027, 2, 10), D(2027, 2, 3))]),
    # 31/12/2028 is a Sunday: back to Friday 29/12, not into 2029
    ("Hằng năm (trước 31/12)", (), [], (D(2028, 1, 1), D(2028, 12, 31)),
     [("2028", "han", D(2028, 12, 31), D(2028, 12, 29))]),
    # 29/02 in a common year is 28/02 (a Sunday in 2027 → Friday 26/02); a leap year keeps it
    ("Trước ngày 29/2 hằng năm", (), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027", "han", D(2027, 2, 28), D(2027, 2, 26))]),
    ("Trước ngày 29/2 hằng năm", (), [], (D(2028, 1, 1), D(2028, 12, 31)),
     [("2028", "han", D(2028, 2, 29), D(2028, 2, 29))]),
    # day 20 of each quarter's last month; Saturday 20/3 → Friday 19/3, Sunday 20/6 → 18/6
    ("Hằng quý (trước ngày 20 tháng cuối quý)", (), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027-Q1", "han", D(2027, 3, 20), D(2027, 3, 19)),
      ("2027-Q2", "han", D(2027, 6, 20), D(2027, 6, 18)),
      ("2027-Q3", "han", D(2027, 9, 20), D(2027, 9, 20)),
      ("2027-Q4", "han", D(2027, 12, 20), D(2027, 12, 20))]),
    # no "trước": the month's last day, Sunday 31/10 → the next working day (Civil Code)
    ("Tháng 10/2027", (END,), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027-10", "end", D(2027, 10, 31), D(2027, 11, 1))]),
    ("Quý III/2027", (END,), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027-Q3", "end", D(2027, 9, 30), D(2027, 9, 30))]),
    ("Trong năm 2027", (END,), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027", "end", D(2027, 12, 31), D(2027, 12, 31))]),
    ("Định kỳ 6 tháng", (Milestone("bc", "Báo cáo", due_day=15),), [], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027-H1", "bc", D(2027, 6, 15), D(2027, 6, 15)),
      ("2027-H2", "bc", D(2027, 12, 15), D(2027, 12, 15))]),
    # ongoing: only the office's progress reports, every year, never a completion deadline
    ("Thường xuyên", (), ["15/06", "15/12"], (D(2027, 1, 1), D(2027, 12, 31)),
     [("2027", "bao-cao-1506", D(2027, 6, 15), D(2027, 6, 15)),
      ("2027", "bao-cao-1512", D(2027, 12, 15), D(2027, 12, 15))]),
    # a period: a progress report each year before the last, completion by 31/12 of the last
    ("Giai đoạn 2026 - 2030", (), ["15/12"], (D(2026, 1, 1), D(2031, 12, 31)),
     [("2026", "bao-cao-1512", D(2026, 12, 15), D(2026, 12, 15)),
      ("2027", "bao-cao-1512", D(2027, 12, 15), D(2027, 12, 15)),
      ("2028", "bao-cao-1512", D(2028, 12, 15), D(2028, 12, 15)),
      ("2029", "bao-cao-1512", D(2029, 12, 15), D(2029, 12, 17)),  # Saturday: the office rule
      ("2030", "hoan-thanh", D(2030, 12, 31), D(2030, 12, 31))]),
]  # fmt: skip


@pytest.mark.parametrize(("phrase", "milestones", "reports", "window", "expected"), DEADLINES)
def test_deadlines_of_phrase(
    phrase: str,
    milestones: tuple[Milestone, ...],
    reports: list[str],
    window: tuple[date, date],
    expected: list[Any],
    cal: WorkCalendar,
) -> None:
    """The deadlines a phrase gives in a window, moved by its own day-off rule."""
    task = _task(phrase, milestones, reports)
    found = deadlines(task, cal, *window, DayOffRule.NEXT)
    assert [(d.occurrence, d.milestone_id, d.nominal, d.due) for d in found] == expected


def test_ongoing_task_has_only_progress_reports() -> None:
    """ "Thường xuyên" gets no guessed yearly deadline: only progress reports, every year."""
    task = _task("Thường xuyên", (), ["15/12"])
    assert [m.progress for m in task.milestones] == [True]
    assert task.milestones[0].name == PROGRESS_NAME
    assert [o.label for o in occurrences(task, D(2031, 1, 1), D(2031, 12, 31))][:3] == [
        "2030",
        "2031",
        "2032",
    ]


def test_period_ends_with_its_last_year() -> None:
    """A period has no occurrence after its last year."""
    task = _task("Giai đoạn 2026 - 2030", (), ["15/12"])
    assert [o.label for o in occurrences(task, D(2031, 6, 1), D(2033, 12, 31))] == ["2030"]


# -- the same phrases in config.toml -----------------------------------------------------

_TASK1_MILESTONES = """[[tasks.milestones]]
id = "ke-hoach"
name = "Ban hành kế hoạch đào tạo, bồi dưỡng của năm"
due = "31/03"
assumed = true

[[tasks.milestones]]
id = "bao-cao"
name = "Báo cáo kết quả thực hiện trong năm"
due = "15/12"
assumed = true

[[tasks]]
number = "2"\n"""


def _config_with_task1(tmp_path: Path, timing: str, reports: str = "") -> Path:
    """The shipped config, task 1 with `timing` and no milestones of its own."""
    edits = [
        ('title = "Kế hoạch số 45/KH-UBND', 'end_year = 2030\ntitle = "Kế hoạch số 45/KH-UBND'),
        ('timing = "Hằng năm"\n# The plan in the title', f'timing = "{timing}"\n# The plan'),
        (_TASK1_MILESTONES, '[[tasks]]\nnumber = "2"\n'),
    ]
    if reports:
        edits.append(
            ("[reminders.lead]", f"[reminders]\nprogress_reports = {reports}\n\n[reminders.lead]")
        )
    return shipped_variant(tmp_path, *edits)


def test_config_ongoing_task_gets_the_office_report_days(tmp_path: Path) -> None:
    """An ongoing task without milestones gets `[reminders] progress_reports`, as reports."""
    settings = load(_config_with_task1(tmp_path, "Thường xuyên", '["15/06", "15/12"]'))
    task = settings.catalog.tasks[0]
    assert task.timing.frequency is ONGOING
    assert [(m.id, m.due, m.progress) for m in task.milestones] == [
        ("bao-cao-1506", (15, 6), True),
        ("bao-cao-1512", (15, 12), True),
    ]


def test_config_period_and_by_date_load(tmp_path: Path) -> None:
    """A period gets its reports and its completion; a "trước" date needs no milestone."""
    task = load(_config_with_task1(tmp_path, "Giai đoạn 2026 - 2030")).catalog.tasks[0]
    assert [(m.id, m.progress) for m in task.milestones] == [
        ("bao-cao-1512", True),
        ("hoan-thanh", False),
    ]
    task = load(_config_with_task1(tmp_path, "Trước ngày 30/6/2027")).catalog.tasks[0]
    assert [(m.id, m.due) for m in task.milestones] == [("han", (30, 6))]
    assert task.timing.day_off_rule is DayOffRule.PREVIOUS


def test_config_refuses_a_bad_report_day(tmp_path: Path) -> None:
    """A progress report day that is not a day of the year is a config error."""
    with pytest.raises(ConfigError) as caught:
        load(_config_with_task1(tmp_path, "Thường xuyên", '["31/02"]'))
    assert "progress_reports" in str(caught.value)


def test_config_refuses_an_unknown_phrase_quoting_it(tmp_path: Path) -> None:
    """`check` lists a phrase it does not understand instead of guessing a deadline."""
    with pytest.raises(ConfigError) as caught:
        load(_config_with_task1(tmp_path, "Theo kế hoạch"))
    assert '"Theo kế hoạch"' in str(caught.value)


def test_status_of_an_ongoing_task_is_only_its_progress_reports(cal: WorkCalendar) -> None:
    """An ongoing task's status items are its progress reports, flagged as such: no
    completion deadline of the task itself appears, in any year."""
    ongoing = _task("Thường xuyên", (), ["15/06", "15/12"])
    catalog = Catalog(
        PlanInfo("Kế hoạch", "UBND tỉnh"),
        (ongoing,),
        {"so-noi-vu": Agency("so-noi-vu", "Sở Nội vụ")},
        CalendarRules(),
        {Role.LEAD: LeadTimes(before=(7,)), Role.SUPPORT: LeadTimes(before=(3,))},
    )
    found = period_deadlines(catalog, D(2027, 1, 1), D(2028, 12, 31), cal)
    items = classify(catalog, found, {}, datetime(2027, 7, 1, 9, tzinfo=VN_TZ))
    assert [(i.occurrence, i.milestone_id, i.progress, i.state) for i in items] == [
        ("2027", "bao-cao-1506", True, State.OVERDUE),  # the June report was not received
        ("2027", "bao-cao-1512", True, State.IN_PROGRESS),
        ("2028", "bao-cao-1506", True, State.IN_PROGRESS),
        ("2028", "bao-cao-1512", True, State.IN_PROGRESS),
    ]
    assert {i.milestone_name for i in items} == {PROGRESS_NAME}


def test_import_writes_no_guessed_deadline_for_phrases_that_give_their_own(
    tmp_path: Path,
) -> None:
    """The importer gives no assumed 15/12 to ongoing tasks, periods or "trước" dates, and
    an assumed milestone only where the phrase names no day."""
    rows = [
        Row(
            str(n),
            {Column.CONTENT: f"Nhiệm vụ {n}", Column.TIMING: p, Column.LEAD: "Sở Nội vụ"},
            "",
        )
        for n, p in enumerate(
            [
                "Thường xuyên",
                "Giai đoạn 2026 - 2030",
                "Trước ngày 30/6/2027",
                "Hằng quý (trước ngày 20 tháng cuối quý)",
                "Theo chỉ đạo của UBND tỉnh",
                "Định kỳ hằng năm",
            ],
            start=1,
        )
    ]
    names = read_wording(Path(__file__).resolve().parents[1] / "templates" / "import.toml")
    outcome = build(
        rows, Directory(), taken_numbers=set(), taken_ids=set(), year=2026,
        milestone_names=names.milestones,
    )  # fmt: skip
    assert outcome.timing_understood == 6
    got = [[(m.fields, m.assumed) for m in t.milestones] for t in outcome.tasks]
    assert got == [
        [],
        [],
        [],
        [],
        [({"dates": []}, False)],
        [({"due": "15/12"}, True)],
    ]

"""What a reader trips over, fixed: weeks and occurrences written as people write them, no
internal key or user id in a message, one stated rule for days overdue, `ics --years` help
that says what it does."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from helpers import SHIPPED_CONFIG, copy_shipped

from reminder import cli, report
from reminder.config import load
from reminder.feed import feed_items
from reminder.followup import escalation_context, escalations, summary_context
from reminder.model import VN_TZ, Completion, Escalation, Summary
from reminder.render import Renderer
from reminder.vnformat import tuan
from reminder.workdays import WorkCalendar

SETTINGS = load(SHIPPED_CONFIG)
CATALOG = SETTINGS.catalog
CAL = WorkCalendar(CATALOG.calendar)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 9, 7), "tuần từ 07/9 đến 11/9/2026"),
        (date(2026, 9, 13), "tuần từ 07/9 đến 11/9/2026"),
        (date(2026, 12, 7), "tuần từ 07/12 đến 11/12/2026"),
        (date(2025, 12, 31), "tuần từ 29/12/2025 đến 02/01/2026"),
    ],
)
def test_a_week_is_written_by_its_days_not_its_iso_number(day: date, text: str) -> None:
    """ "TUẦN 2026-W37" reads "tuần từ 07/9 đến 11/9/2026" (Monday to Friday)."""
    assert tuan(day) == text


def _escalation_text(channel: str) -> str:
    now = datetime(2026, 11, 16, 8, 0, tzinfo=VN_TZ)  # 10 working days after 02/11
    rule = Escalation("lanh-dao-van-phong", (10,))
    batch = escalations(CATALOG, rule, now, now, channels=("email",), cal=CAL)
    assert batch
    batch = [replace(r, channel=channel) for r in batch]
    msg = Renderer(CATALOG).render_followup(
        batch, escalation_context(CATALOG, batch, now.date(), now), today=now.date()
    )
    return msg.text


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_an_escalation_counts_days_overdue_by_one_stated_rule(channel: str) -> None:
    """The 10-working-day rung of 02/11 says "14 ngày" in calendar days, says that it counts
    calendar days, and never mixes in "ngày làm việc"."""
    text = _escalation_text(channel)
    assert "ngày làm việc" not in text
    assert "tính theo ngày dương lịch" in text
    assert "14 ngày" in text
    assert "(năm 2026)" in text and "(2026)" not in text


def test_the_calendar_says_done_without_naming_who_recorded_it() -> None:
    """An .ics event of finished work: "Đã hoàn thành ngày …; văn bản: …", not
    "ghi nhận bởi ops:root"."""
    done = Completion(
        "nv01",
        "2026",
        "bao-cao",
        date(2026, 11, 20),
        datetime(2026, 11, 20, tzinfo=UTC),
        "ops:root",
        "Báo cáo số 12/BC-SNV",
    )
    items = feed_items(
        CATALOG,
        Renderer(CATALOG),
        date(2026, 1, 1),
        date(2026, 12, 31),
        {("nv01", "2026", "bao-cao"): done},
    )
    [event] = [i for i in items if i.uid.startswith("nv01.2026.bao-cao")]
    assert "Đã hoàn thành ngày 20/11/2026; văn bản: Báo cáo số 12/BC-SNV." in event.description
    assert "ops:" not in event.description and "ghi nhận bởi" not in event.description


def test_ics_years_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    """`ics --help`: --years counts from January of last year to this year + N − 1."""
    with pytest.raises(SystemExit):
        cli.main(["ics", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "from January of last year to December of this year + N-1" in help_text


@pytest.mark.parametrize(
    ("signed_on", "earliest_year"),
    [
        (None, 2025),  # an unsigned draft: its date is unknown, the 2025 occurrences count
        (date(2026, 3, 1), 2026),  # signed 01/03/2026: the first is 31/03/2026
    ],
)
def test_nothing_is_late_before_its_plan_is_signed(
    signed_on: date | None, earliest_year: int
) -> None:
    """The weekly summary of 07/12/2026 lists no overdue deadline from before the plan was
    signed (no 2025 occurrence of a yearly task of a plan signed in 2026); nor does the
    report."""
    plan = replace(CATALOG.plan, signed_on=signed_on)
    catalog = replace(CATALOG, plan=plan, plans={plan.id: plan})
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=VN_TZ)
    context = summary_context(catalog, Summary(0, time(8)), {}, monday, CAL)
    overdue = context["overdue"]
    assert isinstance(overdue, list)
    first = min(i.deadline for i in overdue)
    assert first.year == earliest_year and first >= (signed_on or first)
    rep = report.build(catalog, {}, date(2025, 1, 1), date(2026, 12, 31), monday)
    in_report = min(i.deadline for i in rep.overdue if i.deadline)
    assert in_report.year == earliest_year and in_report >= (signed_on or in_report)


def test_no_escalation_for_a_deadline_before_the_plan_was_signed() -> None:
    """Task 10's 02/11/2026 deadline escalates on 05/11 (3 working days), unless the plan
    was signed after it."""
    now = datetime(2026, 11, 5, 8, 0, tzinfo=VN_TZ)
    rule = Escalation("lanh-dao-van-phong", (3,))
    found = escalations(CATALOG, rule, now, now, channels=("email",), cal=CAL)
    assert {r.task_id for r in found} == {"nv10"}
    plan = replace(CATALOG.plan, signed_on=date(2026, 11, 3))
    later = replace(CATALOG, plan=plan, plans={plan.id: plan})
    assert escalations(later, rule, now, now, channels=("email",), cal=CAL) == []


def test_upcoming_shows_the_escalations_and_weekly_summaries_that_will_be_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`upcoming` from 01/11/2026, 10 days: the summaries of 02/11 and 09/11 to ops and task
    10's escalation of 05/11 to the office's leadership, beside the reminders (and in JSON)."""
    config = str(copy_shipped(tmp_path))
    args = ["--config", config, "upcoming", "--now", "2026-11-01T09:00:00+07:00", "--days", "10"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "weekly  summary, tuần từ 02/11 đến 06/11/2026" in text
    assert "summary, tuần từ 09/11 đến 13/11/2026" in text
    assert "→ báo cáo  Lãnh đạo Văn phòng Ủy ban nhân dân tỉnh" in text
    assert cli.main([*args, "--json"]) == 0
    kinds = [r["kind"] for r in json.loads(capsys.readouterr().out)]
    assert kinds.count("summary") == 2 and kinds.count("escalation") == 1
    assert kinds.count("reminder") == len(kinds) - 3

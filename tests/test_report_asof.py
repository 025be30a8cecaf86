"""`reminder report --now D`: as of a date, only work finished by then counts, and records
entered after it are named (late-entered)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from helpers import SHIPPED_CONFIG

from reminder import report
from reminder.config import load
from reminder.model import VN_TZ, Completion
from reminder.status import State

SETTINGS = load(SHIPPED_CONFIG)
CATALOG = SETTINGS.catalog
# Task 2's 2026 report (due 15/12/2026) finished 17/12/2026, recorded on 10/01/2027.
NV02 = Completion(
    "nv02", "2026", "bao-cao", date(2026, 12, 17), datetime(2027, 1, 10, 2, tzinfo=UTC), "ops:lan"
)
# Task 1's 2026 report finished 20/11/2026, recorded the same day.
NV01 = Completion(
    "nv01", "2026", "bao-cao", date(2026, 11, 20), datetime(2026, 11, 20, 3, tzinfo=UTC), "ops:lan"
)


def as_of(now: datetime) -> report.Report:
    book = {(c.task_id, c.occurrence, c.milestone_id): c for c in (NV01, NV02)}
    return report.build(
        CATALOG, book, date(2026, 1, 1), date(2026, 12, 31), now, office=SETTINGS.office
    )


def item(rep: report.Report, task: str) -> report.Item:
    return next(i for i in rep.items if (i.task_id, i.milestone_id) == (task, "bao-cao"))


@pytest.mark.parametrize(
    ("now", "state", "days", "entered_late"),
    [
        # before the work was finished: overdue, whatever the ledger holds today
        (datetime(2026, 12, 16, 9, tzinfo=VN_TZ), State.OVERDUE, 1, False),
        # the day it was finished (any hour: done_on is a business date): finished late
        (datetime(2026, 12, 17, 8, tzinfo=VN_TZ), State.DONE_LATE, 2, True),
        # before it was recorded: counted, and flagged as entered later
        (datetime(2027, 1, 5, 9, tzinfo=VN_TZ), State.DONE_LATE, 2, True),
        # after it was recorded (09:00 local on 10/01): counted, not flagged
        (datetime(2027, 1, 10, 17, tzinfo=VN_TZ), State.DONE_LATE, 2, False),
    ],
)
def test_a_report_as_of_a_date_counts_only_work_finished_by_then(
    now: datetime, state: State, days: int, entered_late: bool
) -> None:
    """Task 2's report finished 17/12, recorded 10/01: its class and flag as of four dates."""
    found = item(as_of(now), "nv02")
    assert (found.state, found.days, found.entered_late) == (state, days, entered_late)
    assert (found.completion is None) == (state is State.OVERDUE)


def test_last_quarters_report_does_not_change_when_this_quarters_work_is_recorded() -> None:
    """As of 30/09/2026 the matrix is the same whether or not later work is in the ledger."""
    now = datetime(2026, 9, 30, 17, tzinfo=VN_TZ)
    with_later = as_of(now)
    without = report.build(CATALOG, {}, date(2026, 1, 1), date(2026, 12, 31), now)
    assert [(r.agency, r.counts) for r in with_later.rows] == [
        (r.agency, r.counts) for r in without.rows
    ]
    assert with_later.entered_late == []


def test_the_late_entered_records_are_named_in_every_format() -> None:
    """JSON flags the item, the table and the HTML list it with the day it was recorded."""
    rep = as_of(datetime(2027, 1, 5, 9, tzinfo=VN_TZ))
    assert [(i.task_id, i.milestone_id) for i in rep.entered_late] == [("nv02", "bao-cao")]
    doc = json.loads(report.json_text(rep))
    flagged = [(i["task"], i["milestone"]) for i in doc["items"] if i["entered_late"]]
    assert flagged == [("nv02", "bao-cao")]
    assert "ghi nhận 10/01/2027" in report.table(rep)
    page = report.html(rep)
    assert "IV. KẾT QUẢ ĐƯỢC GHI NHẬN SAU THỜI ĐIỂM BÁO CÁO" in page
    assert "10/01/2027" in page
    later = report.html(as_of(datetime(2027, 1, 11, 9, tzinfo=VN_TZ)))
    assert "GHI NHẬN SAU THỜI ĐIỂM BÁO CÁO" not in later

"""`reminder report --format xlsx`: typed cells, dates as dates, frozen filtered header, one
sheet per view (by agency, by task, overdue, particulars)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import openpyxl
from helpers import SHIPPED_CONFIG

from reminder import report
from reminder.config import load
from reminder.model import VN_TZ, Completion
from reminder.reportxlsx import xlsx_bytes
from reminder.status import State

SETTINGS = load(SHIPPED_CONFIG)
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=VN_TZ)
LATE = Completion(
    "nv02",
    "2026",
    "bao-cao",
    date(2026, 12, 17),
    datetime(2027, 1, 10, tzinfo=UTC),
    "ops:lan",
    "Báo cáo số 7/BC-SNV",
)


def workbook() -> tuple[report.Report, openpyxl.Workbook]:
    rep = report.build(
        SETTINGS.catalog,
        {("nv02", "2026", "bao-cao"): LATE},
        date(2026, 1, 1),
        date(2026, 12, 31),
        NOW,
        office=SETTINGS.office,
    )
    return rep, openpyxl.load_workbook(io.BytesIO(xlsx_bytes(rep)))


def test_one_sheet_per_view_each_with_a_frozen_filtered_header() -> None:
    """Sheets by agency, by task, overdue, particulars; header frozen; filters on the data."""
    _rep, book = workbook()
    assert book.sheetnames == ["Theo cơ quan", "Theo nhiệm vụ", "Quá hạn", "Thông tin"]
    for name in book.sheetnames[:3]:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), name
        assert all(c.font.bold for c in sheet[1]), name


def test_counts_are_numbers_and_the_rate_a_percentage() -> None:
    """By agency: the matrix as integers, the on-time rate a fraction shown as 0.0%."""
    rep, book = workbook()
    sheet = book["Theo cơ quan"]
    head = [c.value for c in sheet[1]]
    assert head[2 : 2 + len(State)] == [s.label for s in State]
    rows = {r[1].value: r for r in sheet.iter_rows(min_row=2)}
    noi_vu = rows["so-noi-vu"]
    want = next(r for r in rep.rows if r.agency == "so-noi-vu")
    assert [c.value for c in noi_vu[2 : 2 + len(State)]] == [want.counts[s] for s in State]
    rate = noi_vu[head.index("Tỷ lệ đúng hạn")]
    assert rate.value == want.on_time_rate and rate.number_format == "0.0%"
    total = sheet[sheet.max_row]
    assert total[0].value == "Tổng cộng" and total[0].font.bold


def test_deadlines_and_days_finished_are_dates() -> None:
    """By task: deadlines, days finished and recorded are dates (dd/mm/yyyy); the
    late-entered record is marked; occurrences read "năm 2026"."""
    _rep, book = workbook()
    sheet = book["Theo nhiệm vụ"]
    head = [c.value for c in sheet[1]]
    row = next(
        r for r in sheet.iter_rows(min_row=2) if (r[1].value, r[4].value) == ("nv02", LATE_NAME)
    )
    cell = {h: c for h, c in zip(head, row, strict=True)}
    assert cell["Thời hạn"].value == datetime(2026, 12, 15)
    assert cell["Thời hạn"].number_format == "dd/mm/yyyy"
    assert cell["Ngày hoàn thành"].value == datetime(2026, 12, 17)
    assert cell["Ngày cập nhật"].value == datetime(2027, 1, 10)
    assert cell["Cập nhật sau thời điểm báo cáo"].value == "Có"
    assert cell["Số ngày quá hạn, chậm"].value == 2
    assert cell["Kỳ"].value == "năm 2026"
    overdue = book["Quá hạn"]
    assert all(isinstance(r[6].value, datetime) for r in overdue.iter_rows(min_row=2))


LATE_NAME = next(m.name for t in SETTINGS.catalog.tasks if t.id == "nv02" for m in t.milestones)

"""`reminder report`: the matrix and overdue list as table, CSV (BOM), HTML (self-contained), JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import SHIPPED_CONFIG, copy_shipped
from inprocess import run_main

from reminder import report
from reminder.config import load
from reminder.model import VN_TZ, Completion
from reminder.status import State

NOW = datetime(2027, 1, 5, 9, 0, tzinfo=VN_TZ)
CATALOG = load(SHIPPED_CONFIG).catalog
DONE_NV01 = Completion(
    "nv01", "2026", "bao-cao", date(2026, 11, 20), datetime(2026, 11, 29, tzinfo=UTC), "ops:lan"
)
LATE_NV02 = Completion(
    "nv02",
    "2026",
    "bao-cao",
    date(2026, 12, 17),
    datetime(2026, 12, 17, tzinfo=UTC),
    "ops:lan",
    "Báo cáo số 7/BC-SNV",
)


def year_2026(*done: Completion, agency: str | None = None) -> report.Report:
    book = {(c.task_id, c.occurrence, c.milestone_id): c for c in done}
    return report.build(CATALOG, book, date(2026, 1, 1), date(2026, 12, 31), NOW, agency=agency)


def test_the_issue_example_done_on_time_and_every_other_dated_milestone_overdue() -> None:
    """Task 1's 2026 report done 20/11 counts on time for Sở Nội vụ; every other dated 2026
    milestone (task 1's plan of 31/03 among them) is overdue at 05/01/2027."""
    rep = year_2026(DONE_NV01)
    dated = [i for i in rep.items if i.deadline is not None]
    on_time = [i for i in dated if i.state is State.DONE_ON_TIME]
    assert [(i.task_id, i.milestone_id, i.counted_for) for i in on_time] == [
        ("nv01", "bao-cao", "so-noi-vu")
    ]
    assert all(i.state is State.OVERDUE for i in dated if i not in on_time)
    plan_31_03 = next(i for i in dated if (i.task_id, i.milestone_id) == ("nv01", "ke-hoach"))
    assert (plan_31_03.deadline, plan_31_03.days) == (date(2026, 3, 31), 280)
    noi_vu = next(r for r in rep.rows if r.agency == "so-noi-vu")
    assert noi_vu.counts[State.DONE_ON_TIME] == 1
    assert {i.state for i in rep.items if i.deadline is None} <= {State.WAITING}


def test_empty_ledger_is_a_valid_report() -> None:
    """No completion records: every item overdue or in progress (or waiting), all formats render."""
    rep = report.build(CATALOG, {}, date(2026, 1, 1), date(2027, 12, 31), NOW)
    assert {i.state for i in rep.items} <= {State.OVERDUE, State.IN_PROGRESS, State.WAITING}
    assert rep.total.counts[State.IN_PROGRESS] > 0 and rep.total.on_time_rate == 0.0
    for text in (report.table(rep), report.json_text(rep), report.html(rep)):
        assert text


def test_csv_has_a_bom_and_reads_back_with_the_csv_module() -> None:
    """UTF-8 with BOM; the matrix rows, an empty row, then overdue and late items with days."""
    data = report.csv_bytes(year_2026(DONE_NV01, LATE_NV02))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == report.MATRIX_HEADER
    blank = rows.index([])
    matrix = {r[1]: r for r in rows[1:blank]}
    assert matrix["so-noi-vu"][2:4] == ["1", "1"]  # one on time, one late
    assert matrix[""][0] == "Tổng cộng"
    assert rows[blank + 1] == report.ITEMS_HEADER
    items = rows[blank + 2 :]
    late = next(r for r in items if r[1] == "nv02")
    assert late[7:] == ["Hoàn thành quá hạn", "2", "17/12/2026", "Báo cáo số 7/BC-SNV"]
    merged = next(r for r in items if r[1] == "nv05")
    assert merged[5] == "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)"
    assert merged[7] == "Quá hạn chưa hoàn thành" and int(merged[8]) == 174


class _Checker(HTMLParser):
    """Checks that every element is closed in order, and collects attribute values."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "link", "input", "rect", "line", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.values: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values += [v or "" for _k, v in attrs]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values += [v or "" for _k, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_html_is_well_formed_self_contained_and_reads_as_an_official_report() -> None:
    """Balanced tags, no URL at all, inline SVG that parses as XML, the official headings."""
    page = report.html(year_2026(DONE_NV01, LATE_NV02))
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert not re.search(r"(https?:|//[a-z]|url\(|@import|<script|<link|src=)", page, re.I)
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])
    bars = [r for r in svg.iter("rect") if r.get("fill") not in (None, "#f0f0f0")]
    assert bars  # Sở Nội vụ's bar: 1 on time of 2 due
    for needed in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "ngày 05 tháng 01 năm 2027",
        "BÁO CÁO",
        "Tình hình thực hiện nhiệm vụ",
        "I. TỔNG HỢP THEO CƠ QUAN CHỦ TRÌ",
        "II. NHIỆM VỤ QUÁ HẠN CHƯA HOÀN THÀNH",
        "III. NHIỆM VỤ HOÀN THÀNH QUÁ HẠN",
        "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)",
        "@page { size: A4",
    ):
        assert needed in page, needed


def test_json_fields_are_the_documented_ones() -> None:
    """Stable field names (docs/status.md): top level, agency rows and items."""
    doc = json.loads(report.json_text(year_2026(DONE_NV01)))
    assert set(doc) == {
        "schema",
        "from",
        "to",
        "now",
        "agency",
        "classes",
        "agencies",
        "total",
        "plans",
        "late_in_plans",
        "items",
    }
    assert doc["schema"] == "reminder.report/1" and doc["now"] == "2027-01-05T09:00:00+07:00"
    assert set(doc["agencies"][0]) == {
        "agency",
        "name",
        "done_on_time",
        "done_late",
        "overdue",
        "in_progress",
        "waiting",
        "total",
        "due",
        "on_time_rate",
    }
    item = next(i for i in doc["items"] if i["task"] == "nv01" and i["milestone"] == "bao-cao")
    assert set(item) == {
        "task",
        "number",
        "title",
        "occurrence",
        "milestone",
        "milestone_name",
        "agency",
        "counted_for",
        "agency_label",
        "state",
        "deadline",
        "nominal_deadline",
        "moved",
        "days",
        "done_on",
        "recorded_at",
        "recorded_by",
        "ref",
        "note",
        "entered_late",
    }
    assert (item["state"], item["done_on"], item["recorded_by"]) == (
        "done_on_time",
        "2026-11-20",
        "ops:lan",
    )


def test_agency_filter_counts_a_merged_agency_for_its_successor() -> None:
    """--agency of the merged Sở KH&ĐT reports Sở Tài chính's row, with its inherited task."""
    rep = year_2026(agency="so-ke-hoach-dau-tu")
    assert [r.agency for r in rep.rows] == ["so-tai-chinh"]
    assert {i.task_id for i in rep.items} == {"nv05"}


def test_table_lists_the_matrix_and_the_overdue_items() -> None:
    """The terminal table: one line per agency, a total, then the overdue list."""
    text = report.table(year_2026(DONE_NV01))
    assert "Sở Nội vụ" in text and "Tổng cộng" in text
    assert (
        "NV  1 năm 2026   Ban hành kế hoạch đào tạo, bồi dưỡng của năm — hạn 31/03/2026, quá 280 ngày"
        in text
    )


def test_the_new_users_commands(tmp_path: Path) -> None:
    """`reminder done 1 2026 bao-cao --on 2026-11-20` then `report --year 2026 --now … --format csv`."""
    config = copy_shipped(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_main(["--config", str(config), *args], cwd=tmp_path)  # tests/inprocess.py

    done = cli(
        "done", "1", "2026", "bao-cao", "--on", "2026-11-20", "--now", "2026-11-29T10:00:00+07:00"
    )
    assert done.returncode == 0, done.stderr
    out = cli("report", "--year", "2026", "--now", "2027-01-05T09:00:00+07:00", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout.removeprefix("\ufeff"), newline="")))
    noi_vu = next(r for r in rows if r[1:2] == ["so-noi-vu"])
    assert noi_vu[2] == "1"
    bad = cli("report", "--from", "2026-05-01", "--to", "2026-04-01")
    assert bad.returncode == 65 and "before --from" in bad.stderr
    page = cli(
        "report",
        "--format",
        "html",
        "-o",
        str(tmp_path / "r.html"),
        "--now",
        "2027-01-05T09:00:00+07:00",
    )
    assert page.returncode == 0 and (tmp_path / "r.html").read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>"
    )


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_every_format_renders_a_merged_agency_and_waiting_items(fmt: str) -> None:
    """Each format names the successor label; the tasks waiting for a trigger are counted."""
    rep = year_2026()
    out = {
        "table": lambda: report.table(rep),
        "csv": lambda: report.csv_bytes(rep).decode("utf-8-sig"),
        "html": lambda: report.html(rep),
        "json": lambda: report.json_text(rep),
    }[fmt]()
    assert ("Sở Tài chính" in out) and rep.total.counts[State.WAITING] >= 1

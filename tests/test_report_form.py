"""The report in the form of Nghị định 30/2020/NĐ-CP, Phụ lục I: the .docx read back, and the
heading of every printed form taken from the plan and from [office] as they are today."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import pytest
from docx.shared import Pt
from helpers import SHIPPED_CONFIG, copy_shipped

from reminder import report
from reminder.config import load
from reminder.model import VN_TZ, Completion, Office
from reminder.reportdocx import docx_bytes

SETTINGS = load(SHIPPED_CONFIG)
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=VN_TZ)
SIGNED = Office(
    name="Văn phòng Ủy ban nhân dân tỉnh",
    parent="Ủy ban nhân dân tỉnh An Giang",
    symbol="VPUBND",
    place="An Giang",
    signer_authority="KT. Chánh Văn phòng",
    signer_title="Phó Chánh Văn phòng",
    signer_name="Nguyễn Văn An",
    recipients=("Chủ tịch UBND tỉnh (để báo cáo)", "Sở Nội vụ"),
)
DONE = Completion(
    "nv01", "2026", "ke-hoach", date(2026, 3, 20), datetime(2026, 3, 20, tzinfo=UTC), "ops:lan"
)


def build(office: Office) -> report.Report:
    book = {(DONE.task_id, DONE.occurrence, DONE.milestone_id): DONE}
    return report.build(
        SETTINGS.catalog, book, date(2026, 1, 1), date(2026, 12, 31), NOW, office=office
    )


def read(office: Office) -> docx.document.Document:
    return docx.Document(io.BytesIO(docx_bytes(build(office))))


def lines(cell: docx.table._Cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text.strip()]


def test_the_docx_has_the_decrees_heading_number_date_signer_and_recipients() -> None:
    """Header table (parent, office, "Số: …/BC-VPUBND" | quốc hiệu, tiêu ngữ, date line),
    "BÁO CÁO" and its summary, the signer block and "Nơi nhận" ending "- Lưu: VT."."""
    doc = read(SIGNED)
    left, right = doc.tables[0].rows[0].cells
    assert lines(left) == [
        "ỦY BAN NHÂN DÂN TỈNH AN GIANG",
        "VĂN PHÒNG ỦY BAN NHÂN DÂN TỈNH",
        "Số: ……………/BC-VPUBND",
    ]
    assert lines(right) == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "An Giang, ngày 07 tháng 12 năm 2026",
    ]
    assert right.paragraphs[-1].runs[0].italic
    texts = [p.text for p in doc.paragraphs]
    kind = texts.index("BÁO CÁO")
    assert texts[kind + 1].startswith("Tình hình thực hiện nhiệm vụ theo Kế hoạch phát triển")
    recipients, signer = doc.tables[-1].rows[0].cells
    assert lines(recipients) == [
        "Nơi nhận:",
        "- Chủ tịch UBND tỉnh (để báo cáo);",
        "- Sở Nội vụ;",
        "- Lưu: VT.",
    ]
    assert lines(signer) == ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "Nguyễn Văn An"]
    assert all(r.bold for p in signer.paragraphs for r in p.runs if r.text)


def test_the_docx_page_is_a4_with_the_decrees_margins_in_times_new_roman() -> None:
    """A4, margins 20/20/30/15 mm, Times New Roman 14 pt body; 13–14 pt in the heading."""
    doc = read(SIGNED)
    s = doc.sections[0]
    mm = [round(x.mm) for x in (s.page_width, s.page_height)]
    margins = [round(x.mm) for x in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)]
    assert (mm, margins) == ([210, 297], [20, 20, 30, 15])
    normal = doc.styles["Normal"].font
    assert (normal.name, normal.size) == ("Times New Roman", Pt(14))
    sizes = {r.font.size for p in doc.paragraphs for r in p.runs if r.text}
    assert sizes <= {Pt(12), Pt(13), Pt(14)}


def test_blank_office_settings_are_dotted_blanks_never_invented() -> None:
    """Without [office] values the parent, office, symbol, place, signer and recipients are
    "……………" in the .docx and the HTML alike."""
    doc = read(Office())
    left, right = doc.tables[0].rows[0].cells
    assert lines(left) == ["……………", "……………", "Số: ……………/BC-……………"]
    assert lines(right)[-1] == "……………, ngày 07 tháng 12 năm 2026"
    recipients, signer = doc.tables[-1].rows[0].cells
    assert lines(recipients) == ["Nơi nhận:", "- ……………;", "- Lưu: VT."]
    assert lines(signer) == ["……………", "……………"]
    page = report.html(build(Office()))
    for text in ("Số: ……………/BC-……………", "……………, ngày 07 tháng 12 năm 2026", "- ……………;"):
        assert text in page


@pytest.mark.parametrize("form", ["docx", "html"])
def test_the_heading_is_the_office_as_it_is_today_not_the_plans_old_province(form: str) -> None:
    """The shipped config: headed by An Giang's office, dated in An Giang, reporting to
    "Ủy ban nhân dân tỉnh Kiên Giang (nay là Ủy ban nhân dân tỉnh An Giang)"; Kiên Giang
    appears only where the plan is cited as it was signed."""
    rep = build(SETTINGS.office)
    if form == "docx":
        doc = docx.Document(io.BytesIO(docx_bytes(rep)))
        heading = "\n".join(c.text for c in doc.tables[0].rows[0].cells)
        body = "\n".join(p.text for p in doc.paragraphs)
    else:
        page = report.html(rep)
        heading = page[page.index('<table class="head">') : page.index("</table>")]
        body = page
    assert "ỦY BAN NHÂN DÂN TỈNH AN GIANG" in heading
    assert "An Giang, ngày 07 tháng 12 năm 2026" in heading
    assert "Kiên Giang" not in heading
    assert "báo cáo Ủy ban nhân dân tỉnh Kiên Giang (nay là Ủy ban nhân dân tỉnh An Giang)" in body


def test_a_plan_with_a_number_and_date_is_cited_by_them() -> None:
    """A signed plan: "Tình hình thực hiện nhiệm vụ theo Kế hoạch số 123/KH-UBND ngày …"."""
    plan = replace(SETTINGS.catalog.plan, number="123/KH-UBND", signed_on=date(2024, 12, 20))
    catalog = replace(SETTINGS.catalog, plan=plan)
    rep = report.build(catalog, {}, date(2026, 1, 1), date(2026, 12, 31), NOW, office=SIGNED)
    doc = docx.Document(io.BytesIO(docx_bytes(rep)))
    texts = [p.text for p in doc.paragraphs]
    summary = texts[texts.index("BÁO CÁO") + 1]
    assert summary.startswith(
        "Tình hình thực hiện nhiệm vụ theo Kế hoạch số 123/KH-UBND ngày 20 tháng 12 năm 2024"
    )


def test_report_format_docx_writes_the_file_and_needs_o(tmp_path: Path) -> None:
    """`report --format docx -o FILE` writes a .docx headed by [office]; without -o: exit 64."""
    config = copy_shipped(tmp_path)
    cmd = [sys.executable, "-m", "reminder", "--config", str(config), "report"]
    now = ["--now", "2026-12-07T09:00:00+07:00", "--format", "docx"]
    out = tmp_path / "bao-cao.docx"
    done = subprocess.run([*cmd, *now, "-o", str(out)], capture_output=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    left, right = docx.Document(str(out)).tables[0].rows[0].cells
    assert lines(left)[0] == "ỦY BAN NHÂN DÂN TỈNH AN GIANG"
    assert lines(right)[-1] == "An Giang, ngày 07 tháng 12 năm 2026"
    refused = subprocess.run([*cmd, *now], capture_output=True, cwd=tmp_path)
    assert refused.returncode == 64 and b"-o FILE" in refused.stderr


def test_a_whole_office_report_of_several_plans_cites_each_plan() -> None:
    """Two plans: "Tình hình thực hiện nhiệm vụ theo 2 kế hoạch đang theo dõi", and the opening
    cites both plans (with their number), not the first plan's title as if it were the only."""
    first = SETTINGS.catalog.plan
    second = replace(first, id="kh-45", title="Kế hoạch đào tạo", number="45/KH-UBND")
    catalog = replace(SETTINGS.catalog, plans={first.id: first, second.id: second})
    rep = report.build(catalog, {}, date(2026, 1, 1), date(2026, 12, 31), NOW, office=SIGNED)
    doc = docx.Document(io.BytesIO(docx_bytes(rep)))
    texts = [p.text for p in doc.paragraphs]
    assert texts[texts.index("BÁO CÁO") + 1] == (
        "Tình hình thực hiện nhiệm vụ theo 2 kế hoạch đang theo dõi"
    )
    opening = next(t for t in texts if t.startswith("Văn phòng Ủy ban nhân dân tỉnh báo cáo"))
    assert first.title in opening and "Kế hoạch số 45/KH-UBND" in opening

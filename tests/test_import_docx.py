"""`reminder import` on .docx: the appendix table found by its header, merged cells, NFD text."""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

import docx
import pytest

from reminder.importer import directory_of, read_wording
from reminder.importer.docx import read_docx
from reminder.importer.table import BadInput, Column
from reminder.importer.tasks import build

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
NAMES = read_wording(ROOT / "templates" / "import.toml").milestones


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def make_appendix(
    path: Path, header: list[str], rows: list[list[str]], nfd: bool = False
) -> docx.table.Table:  # type: ignore[name-defined]
    """A .docx with a heading paragraph, an unrelated table, then the appendix table."""
    document = docx.Document()
    document.add_paragraph("PHỤ LỤC NHIỆM VỤ")
    other = document.add_table(rows=1, cols=2)
    other.cell(0, 0).text, other.cell(0, 1).text = "Nơi nhận", "Lưu VT"
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            table.cell(r, c).text = _nfd(value) if nfd else value
    document.save(str(path))
    return table


HEADER = [
    "TT",
    "Nhiệm vụ",
    "Cơ quan chủ trì",
    "Cơ quan phối hợp",
    "Thời hạn hoàn thành",
    "Sản phẩm",
]


def test_header_variants_in_any_order_and_nfd_text(tmp_path: Path) -> None:
    """Columns named by variants, in another order, NFD text: read into NFC cells by column."""
    path = tmp_path / "phu-luc.docx"
    make_appendix(
        path,
        HEADER,
        [
            [
                "1",
                "Tổ chức Hội thi sáng tạo",
                "Liên hiệp các Hội Khoa học và Kỹ thuật tỉnh",
                "Sở Khoa học và Công nghệ",
                "02 năm/lần",
                "Quyết định",
            ],
            ["2", "Báo cáo kết quả", "Sở Nội vụ", "Sở Tài chính", "Hằng quý", "Báo cáo"],
        ],
        nfd=True,
    )
    rows = read_docx(path)
    assert [r.number for r in rows] == ["1", "2"]
    first = rows[0].cells
    assert first[Column.CONTENT] == "Tổ chức Hội thi sáng tạo"
    assert unicodedata.is_normalized("NFC", first[Column.CONTENT])
    assert first[Column.TIMING] == "02 năm/lần"
    assert first[Column.LEAD] == "Liên hiệp các Hội Khoa học và Kỹ thuật tỉnh"
    assert first[Column.PRODUCT] == "Quyết định"
    d = directory_of(SHIPPED)
    outcome = build(rows, d, taken_numbers=set(), taken_ids=set(), year=2026, milestone_names=NAMES)
    assert [t.lead.id for t in outcome.tasks if t.lead] == ["lhh-khkt", "so-noi-vu"]
    assert outcome.tasks[0].extra == {"anchor_year": 2026, "assumed": True}
    assert outcome.tasks[1].milestones[0].fields == {"due_day": 20, "due_month": 3}


def test_merged_cells_continuation_rows_and_section_headings(tmp_path: Path) -> None:
    """A timing cell merged down covers each task; a numberless row continues the task above;
    a row across the table is the section label of the tasks under it."""
    path = tmp_path / "phu-luc.docx"
    rows = [
        ["I. NHIỆM VỤ CHUNG", "", "", "", "", ""],
        ["1", "Xây dựng kế hoạch", "Sở Nội vụ", "Sở Tài chính,", "Hằng năm", ""],
        ["", "đào tạo cán bộ", "", "các tổ chức có liên quan", "", ""],
        ["2", "Tổng kết", "Sở Tài chính", "Sở Nội vụ", "", ""],
    ]
    table = make_appendix(path, HEADER, rows)
    document = docx.Document(str(path))
    table = document.tables[1]
    heading = table.cell(1, 0).merge(table.cell(1, 5))
    heading.text = "I. NHIỆM VỤ CHUNG"
    table.cell(2, 4).merge(table.cell(4, 4))  # "Hằng năm" over tasks 1 and 2
    table.cell(2, 0).merge(table.cell(3, 0))  # the number cell spans the continuation row
    document.save(str(path))
    got = read_docx(path)
    assert [r.number for r in got] == ["1", "2"]
    assert got[0].cells[Column.CONTENT] == "Xây dựng kế hoạch\nđào tạo cán bộ"
    assert got[0].cells[Column.SUPPORT] == "Sở Tài chính,\ncác tổ chức có liên quan"
    assert got[0].cells[Column.TIMING].split() == ["Hằng", "năm"]
    assert got[1].cells[Column.TIMING].split() == ["Hằng", "năm"]
    assert [r.section for r in got] == ["I. NHIỆM VỤ CHUNG", "I. NHIỆM VỤ CHUNG"]
    assert got[0].notes == []
    d = directory_of(SHIPPED)
    outcome = build(got, d, taken_numbers=set(), taken_ids=set(), year=2026, milestone_names=NAMES)
    assert outcome.tasks[0].title == "Xây dựng kế hoạch đào tạo cán bộ"
    assert [r.id for r in outcome.tasks[0].support] == ["so-tai-chinh", "to-chuc-lien-quan"]


def test_docx_without_the_appendix_or_without_rows_is_bad_input(tmp_path: Path) -> None:
    """No table with the appendix header, or the header alone: BadInput with a clear reason."""
    path = tmp_path / "a.docx"
    make_appendix(path, ["Họ tên", "Chức vụ", "Ghi chú"], [["A", "B", "C"]])
    with pytest.raises(BadInput, match="no appendix table found"):
        read_docx(path)
    make_appendix(path, HEADER, [])
    with pytest.raises(BadInput, match="no task rows"):
        read_docx(path)


def test_a_table_split_across_pages_continues_the_appendix(tmp_path: Path) -> None:
    """Word's second table with the same columns (no header) continues the first one."""
    path = tmp_path / "phu-luc.docx"
    document = docx.Document()
    header = [
        "Stt",
        "Nội dung nhiệm vụ",
        "Thời gian thực hiện",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
    ]
    first = document.add_table(rows=2, cols=5)
    for c, value in enumerate(header):
        first.cell(0, c).text = value
    for c, value in enumerate(["1", "Xây dựng kế hoạch", "Năm 2026", "Sở Nội vụ", ""]):
        first.cell(1, c).text = value
    document.add_paragraph("")
    second = document.add_table(rows=1, cols=5)
    for c, value in enumerate(["2", "Tổng kết", "Quý IV/2026", "Sở Tài chính", "Sở Nội vụ"]):
        second.cell(0, c).text = value
    document.save(str(path))
    rows = read_docx(path)
    assert [(r.number, r.cells[Column.TIMING]) for r in rows] == [
        ("1", "Năm 2026"),
        ("2", "Quý IV/2026"),
    ]
    assert Column.SUPPORT not in rows[0].cells


def test_missing_and_repeated_numbers_are_reported(tmp_path: Path) -> None:
    """Stt 1, 3, 3: a gap and a repeat, each a check on the task, the repeat renumbered."""
    path = tmp_path / "phu-luc.docx"
    row = ["Tổng kết", "Sở Nội vụ", "", "Năm 2026", ""]
    make_appendix(path, HEADER, [["1", *row], ["3", *row], ["3", *row]])
    outcome = build(
        read_docx(path),
        directory_of(SHIPPED),
        taken_numbers=set(),
        taken_ids=set(),
        year=2026,
        milestone_names=NAMES,
    )
    assert [t.number for t in outcome.tasks] == [1, 3, 4]
    assert outcome.tasks[0].checks == []
    assert outcome.tasks[1].checks == ["task number 2 missing in the appendix before this one"]
    assert outcome.tasks[2].checks == [
        "task number 3 repeated in the appendix (table 2, row 4): numbered 4"
    ]

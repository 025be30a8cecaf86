"""The test appendices of tests/data, in the shapes offices write them, import as stated.

Each `tests/data/<name>` has `<name>.expected.json`: the tasks it must import to against
the shipped config.toml (numbers as the appendix gives them, section labels, titles with
their text-only sub-items, timing, lead, support, product, note). The files are made by
tests/data/make_appendices.py; the expectations there are written by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from helpers import INLINE_CONFIG, copy_shipped

from reminder.importer import Imported, import_appendix, read_wording
from reminder.model import VN_TZ, LeadUnit, Reminder

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHAPES = ["phu-luc-hai-dong.docx", "phu-luc.xlsx", "phu-luc-nhieu-trang.pdf", "phu-luc.tsv"]


def _import(name: str) -> Imported:
    return import_appendix(
        DATA / name,
        wanted=None,
        config_text=(ROOT / "config.toml").read_text(encoding="utf-8"),
        config_name="config.toml",
        year=2026,
        wording=read_wording(ROOT / "templates" / "import.toml"),
    )


@pytest.mark.parametrize("name", SHAPES)
def test_appendix_shape_imports_as_stated(name: str) -> None:
    """Sections, a heading with sub-tasks 2.1/2.2, text-only sub-items kept in the text,
    products and notes, every timing phrase and agency: as `<name>.expected.json` says."""
    expected = json.loads((DATA / f"{name}.expected.json").read_text(encoding="utf-8"))
    outcome = _import(name).outcome
    got = [
        {
            "number": t.label,
            "section": t.section,
            "title": t.title,
            "timing": t.timing,
            "frequency": t.recurrence.frequency.value if t.recurrence else None,
            "lead": t.lead.id if t.lead else None,
            "support": [r.id for r in t.support],
            "product": t.product,
            "note": t.remark,
        }
        for t in outcome.tasks
    ]
    assert got == expected
    assert outcome.timing_understood == len(expected)
    assert [t.checks for t in outcome.tasks] == [[]] * len(expected)
    assert outcome.proposed == []


def test_the_pdf_shape_spans_pages_with_its_header_repeated() -> None:
    """The PDF appendix is several pages, each starting with the header again."""
    import pdfplumber

    with pdfplumber.open(DATA / "phu-luc-nhieu-trang.pdf") as pdf:
        assert len(pdf.pages) >= 2
        firsts = [p.extract_tables()[0][0][1] for p in pdf.pages]
    assert firsts == ["Nội dung nhiệm vụ"] * len(firsts)


def test_review_shape_lists_what_it_could_not_read_and_exits_65(tmp_path: Path) -> None:
    """Short agency names matched (Sở KH&CN, UBND …), an unknown phrase kept verbatim and
    marked, unknown agencies proposed with the closest known names, never merged; the review
    list opens the file, the file is written, the command exits 65."""
    expected = json.loads((DATA / "phu-luc-can-xem.docx.expected.json").read_text("utf-8"))
    result = _import("phu-luc-can-xem.docx")
    tasks = result.outcome.tasks
    assert [t.lead.id if t.lead else None for t in tasks] == expected["leads"]
    assert [t.timing for t in tasks if t.recurrence is None] == expected["timing_not_understood"]
    assert [e.name for e in result.outcome.proposed] == expected["proposed"]
    assert tasks[1].milestones == []  # no deadline guessed for "Khi có yêu cầu"
    text = result.toml
    head = text.split("[[agencies]]")[0]
    assert f"CẦN XEM LẠI TRƯỚC KHI SỬ DỤNG ({len(result.review)} điểm)" in head
    assert 'chưa hiểu cách ghi thời gian "Khi có yêu cầu"' in head
    assert '"Lãnh đạo Văn phòng Ủy ban nhân dân tỉnh" (lanh-dao-van-phong)' in head
    assert "review = [" in text
    copy_shipped(tmp_path)
    shutil.copy(DATA / "phu-luc-can-xem.docx", tmp_path / "phu-luc-can-xem.docx")
    done = subprocess.run(
        [sys.executable, "-m", "reminder", "import", "phu-luc-can-xem.docx", "-o", "a.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 65, done.stderr
    assert "3 tasks in 0 sections, 2 timing phrases understood" in done.stderr
    assert f"{len(result.review)} to review" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "a.toml").read_text(encoding="utf-8") == text


def test_a_clean_import_exits_0(tmp_path: Path) -> None:
    """Nothing to review: exit 0, and the file says so where the review list would be."""
    copy_shipped(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "reminder", "import", str(DATA / "phu-luc.xlsx"), "-o", "x.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "0 to review" in done.stderr
    assert "Không có điểm nào cần xem lại." in (tmp_path / "x.toml").read_text(encoding="utf-8")


def test_imported_tasks_carry_section_product_note_into_check_and_messages(
    tmp_path: Path,
) -> None:
    """Merged into the shipped config, the imported tasks pass `check` (their review items
    listed as warnings) and their section, product and note reach the reminder e-mail;
    product and note reach the report's overdue list."""
    from reminder.config import load
    from reminder.model import Role
    from reminder.render import Renderer

    config = tmp_path / "config.toml"  # --merge adds to a plan inline in config.toml
    config.write_bytes(INLINE_CONFIG.read_bytes())
    result = import_appendix(
        DATA / "phu-luc-hai-dong.docx",
        wanted=None,
        config_text=config.read_text(encoding="utf-8"),
        config_name="config.toml",
        year=2026,
        wording=read_wording(ROOT / "templates" / "import.toml"),
        merge_into=True,
    )
    merged = tmp_path / "merged.toml"
    merged.write_text(
        result.toml.replace(
            'timing = "Trước ngày 30/6/2027"\n',
            'timing = "Trước ngày 30/6/2027"\nreview = ["xác nhận thời hạn với Sở Nội vụ"]\n',
        ),
        encoding="utf-8",
    )
    settings = load(merged)
    assert any(
        "to review (left by the import): xác nhận thời hạn" in str(w) for w in settings.warnings
    )
    task = next(t for t in settings.catalog.tasks if t.title.startswith("Thu hút chuyên gia"))
    assert task.section.endswith("2. Phát triển nguồn nhân lực khoa học, công nghệ")
    assert (task.product, task.note) == ("Đề án thu hút", "Chuyển tiếp từ năm 2026")
    reminder = Reminder(
        key="k", task_id=task.id, occurrence="2027", milestone_id="han",
        deadline=date(2027, 6, 30), send_at=datetime(2027, 6, 23, 8, tzinfo=VN_TZ),
        lead_days=7, lead_unit=LeadUnit.CALENDAR, agency="so-noi-vu", named_as="so-noi-vu",
        role=Role.LEAD, channel="email", address="sonoivu@tinh.example",
    )  # fmt: skip
    text = Renderer(settings.catalog).render([reminder], today=date(2027, 6, 23)).text
    assert "Thuộc mục: I. NHIỆM VỤ CHUNG › 2. Phát triển nguồn nhân lực" in text
    assert "Sản phẩm: Đề án thu hút" in text
    assert "Ghi chú: Chuyển tiếp từ năm 2026" in text
    from dataclasses import replace

    chat = replace(reminder, channel="telegram", address="-1001000000001")
    telegram = Renderer(settings.catalog).render([chat], today=date(2027, 6, 23)).text
    assert "Sản phẩm: Đề án thu hút" in telegram
    assert "Ghi chú: Chuyển tiếp từ năm 2026" in telegram
    from reminder import report

    now = datetime(2027, 7, 5, 9, tzinfo=VN_TZ)
    overdue = report.build(settings.catalog, {}, date(2027, 1, 1), date(2027, 12, 31), now)
    page = report.html(overdue)  # task 2.2 is overdue on 05/07/2027: in the overdue list
    assert "Thu hút chuyên gia, nhà khoa học về công tác tại tỉnh – Sản phẩm: Đề án thu hút" in page
    assert "Ghi chú: Chuyển tiếp từ năm 2026" in page


def test_plan_file_written_for_plans_folder_loads_with_the_appendix_numbers(
    tmp_path: Path,
) -> None:
    """With a plan id the import is a plan file: [plan] id, tasks numbered as printed
    ("2.1"), section/product/note kept; in plans/ beside the config it loads as that plan."""
    from reminder.config import load

    copy_shipped(tmp_path)
    result = import_appendix(
        DATA / "phu-luc.xlsx",
        wanted=None,
        config_text=(ROOT / "config.toml").read_text(encoding="utf-8"),
        config_name="config.toml",
        year=2026,
        wording=read_wording(ROOT / "templates" / "import.toml"),
        plan_title="Kế hoạch phát triển nguồn nhân lực khoa học, công nghệ",
        plan_id="kh-99-2026",
    )
    (tmp_path / "plans" / "kh-99-2026.toml").write_text(result.toml, encoding="utf-8")
    settings = load(tmp_path / "config.toml")
    mine = [t for t in settings.catalog.tasks if t.plan == "kh-99-2026"]
    expected = json.loads((DATA / "phu-luc.xlsx.expected.json").read_text(encoding="utf-8"))
    assert [t.number for t in mine] == [e["number"] for e in expected]
    assert [(t.section, t.product, t.note) for t in mine] == [
        (e["section"], e["product"], e["note"]) for e in expected
    ]
    assert [t.timing.frequency.value for t in mine] == [e["frequency"] for e in expected]
    assert mine[1].name == "kh-99-2026/2.1"
    assert result.toml.startswith("# Nhập từ tệp phu-luc.xlsx")


def test_section_written_in_the_number_column_is_a_section() -> None:
    """ "II. NHIỆM VỤ CỤ THỂ" typed whole into the number cell is a section, not a task."""
    from reminder.importer.grid import Line
    from reminder.importer.structure import structure
    from reminder.importer.table import Column

    task = {Column.CONTENT: "Rà soát", Column.TIMING: "Năm 2027", Column.LEAD: "Sở Nội vụ"}
    rows = structure(
        [
            Line("II. NHIỆM VỤ CỤ THỂ", {}, "row 1"),
            Line("3", dict(task), "row 2"),
        ]
    )
    assert [(r.number, r.section) for r in rows] == [("3", "II. NHIỆM VỤ CỤ THỂ")]


SEED = ROOT / "tests" / "appendix" / "phu-luc-nhiem-vu.txt"


def test_unknown_phrase_is_not_glued_into_the_agency_name(tmp_path: Path) -> None:
    """In the seed's text, "Khi có yêu cầu Sở Nội vụ" on one line: the phrase (not
    understood) stops where the known agency's name starts; the lead stays Sở Nội vụ."""
    text = SEED.read_text(encoding="utf-8").replace(
        "Hằng năm Sở Nội vụ", "Khi có yêu cầu Sở Nội vụ", 1
    )
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    result = import_appendix(
        tmp_path / "a.txt",
        wanted=None,
        config_text=(ROOT / "config.toml").read_text(encoding="utf-8"),
        config_name="config.toml",
        year=2026,
        wording=read_wording(ROOT / "templates" / "import.toml"),
    )
    first = result.outcome.tasks[0]
    assert (first.timing, first.recurrence) == ("Khi có yêu cầu", None)
    assert first.lead is not None and first.lead.id == "so-noi-vu"
    assert [r.id for r in first.support] == [
        "truong-chinh-tri",
        "co-so-dao-tao",
        "co-quan-dia-phuong",
    ]
    assert len(result.outcome.tasks) == 11


def _laid_out(rows: list[list[str]]) -> str:
    widths = (8, 40, 24, 22, 30)
    header = [
        "Stt",
        "Nội dung nhiệm vụ",
        "Thời gian thực hiện",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
    ]
    lines = ["".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), ""]
    for row in rows:
        lines += ["".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), ""]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("shape", ["layout", "tsv"])
def test_numbers_above_9999_are_kept_not_glued(tmp_path: Path, shape: str) -> None:
    """Task numbers 9999, 10000, 10001 each start a task, kept as the appendix's numbers."""
    rows = [
        [str(n), f"Nhiệm vụ thứ {n}", "Năm 2027", "Sở Nội vụ", "Sở Tài chính"]
        for n in (9999, 10000, 10001)
    ]
    path = tmp_path / "a.txt"
    if shape == "layout":
        path.write_text(_laid_out(rows), encoding="utf-8")
    else:
        header = [
            "STT",
            "Nội dung nhiệm vụ",
            "Thời gian thực hiện",
            "Đơn vị chủ trì",
            "Đơn vị phối hợp",
        ]
        path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    outcome = import_appendix(
        path,
        wanted=None,
        config_text=(ROOT / "config.toml").read_text(encoding="utf-8"),
        config_name="config.toml",
        year=2026,
        wording=read_wording(ROOT / "templates" / "import.toml"),
        plan_id="kh-lon",
    ).outcome
    assert [(t.label, t.title) for t in outcome.tasks] == [
        ("9999", "Nhiệm vụ thứ 9999"),
        ("10000", "Nhiệm vụ thứ 10000"),
        ("10001", "Nhiệm vụ thứ 10001"),
    ]
    assert [t.lead.id if t.lead else None for t in outcome.tasks] == ["so-noi-vu"] * 3


def test_a_row_split_across_pdf_pages_is_joined() -> None:
    """Page 2 repeats the header and goes on with the rest of task 1's row (no number):
    the text joins task 1; the next numbered row is task 2."""
    from reminder.importer.grid import cell, lines_of
    from reminder.importer.structure import structure
    from reminder.importer.table import Column

    head = ["STT", "Nội dung nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì", "Đơn vị phối hợp"]
    page1 = [head, ["1", "Rà soát, sắp xếp mạng lưới", "Năm 2027", "Sở Nội vụ", "Sở Tài chính,"]]
    page2 = [
        head,
        ["", "cơ sở đào tạo trên địa bàn", "", "", "Sở Giáo dục và Đào tạo"],
        ["2", "Tổng kết", "Quý IV/2027", "Sở Tài chính", ""],
    ]
    rows = structure(
        lines_of(
            [
                (f"page {n}", [[cell(v) for v in r] for r in t])
                for n, t in enumerate((page1, page2), 1)
            ]
        )
    )
    assert [r.number for r in rows] == ["1", "2"]
    assert rows[0].cells[Column.CONTENT] == "Rà soát, sắp xếp mạng lưới\ncơ sở đào tạo trên địa bàn"
    assert rows[0].cells[Column.SUPPORT] == "Sở Tài chính,\nSở Giáo dục và Đào tạo"

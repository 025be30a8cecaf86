"""Writes the test appendices of tests/data in their shapes, and what each must import to.

    uv run python tests/data/make_appendices.py

One appendix as offices write them (sections, a heading row with sub-items 2.1/2.2,
text-only sub-items a)/b), products, notes, the timing phrases of issue 21), laid out as:

- phu-luc-hai-dong.docx   two-row header ("Cơ quan thực hiện" merged over "Chủ trì" |
                          "Phối hợp"), sections as rows merged across, a timing cell merged
                          down over two tasks;
- phu-luc.xlsx            another column order, "STT", a row of column numbers (1)…(7),
                          merged section rows;
- phu-luc-nhieu-trang.pdf the .xlsx's table as a ruled PDF over several pages, the header
                          repeated on each (fpdf2, DejaVu Sans);
- phu-luc.tsv             a table copied from Excel: tabs, two header rows, quoted
                          multi-line cells;
- phu-luc-can-xem.docx    a one-row header whose "Cơ quan thực hiện" is the lead, with an
                          unknown timing phrase and agencies written short or unknown
                          (what must be listed for review).

The expected tasks are `*.expected.json`, written from EXPECTED below by hand — not from
the importer's output.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# number, content, lead, support, timing, product, note (as the appendix writes them)
ROWS: list[tuple[str, ...]] = [
    ("I", "NHIỆM VỤ CHUNG"),
    (
        "1",
        "Tuyên truyền, phổ biến Kế hoạch đến cán bộ, công chức, viên chức",
        "Sở Nội vụ",
        "Sở Thông tin và Truyền thông; Ủy ban nhân dân các huyện, thành phố",
        "Thường xuyên",
        "Tin, bài tuyên truyền",
        "",
    ),
    ("2", "Phát triển nguồn nhân lực khoa học, công nghệ", "", "", "", "", ""),
    (
        "2.1",
        "Đào tạo, bồi dưỡng cán bộ khoa học",
        "Sở Khoa học và Công nghệ",
        "Sở Nội vụ, Sở Tài chính",
        "Hằng năm (trước 31/12)",
        "Báo cáo kết quả",
        "",
    ),
    ("a)", "Đào tạo trong nước;", "", "", "", "", ""),
    ("b)", "Đào tạo ở nước ngoài.", "", "", "", "", ""),
    (
        "2.2",
        "Thu hút chuyên gia, nhà khoa học về công tác tại tỉnh",
        "Sở Nội vụ",
        "Sở Khoa học và Công nghệ",
        "Trước ngày 30/6/2027",
        "Đề án thu hút",
        "Chuyển tiếp từ năm 2026",
    ),
    ("II", "NHIỆM VỤ CỤ THỂ"),
    (
        "3",
        "Rà soát, sắp xếp mạng lưới cơ sở đào tạo",
        "Sở Giáo dục và Đào tạo",
        "cơ sở đào tạo, bồi dưỡng",
        "Giai đoạn 2026 - 2030",
        "Quyết định phê duyệt",
        "",
    ),
    (
        "4",
        "Báo cáo tình hình thực hiện Kế hoạch",
        "Sở Nội vụ",
        "các cơ quan, đơn vị, địa phương trên địa bàn tỉnh",
        "Hằng quý (trước ngày 20 tháng cuối quý)",
        "Báo cáo quý",
        "",
    ),
    (
        "5",
        "Tổ chức Hội thi sáng tạo kỹ thuật tỉnh",
        "Liên hiệp các Hội Khoa học và Kỹ thuật tỉnh",
        "Sở Khoa học và Công nghệ và Sở Giáo dục và Đào tạo",
        "Quý III/2027",
        "",
        "",
    ),
    (
        "6",
        "Xây dựng cơ sở dữ liệu nguồn nhân lực khoa học, công nghệ",
        "Sở Khoa học và Công nghệ",
        "",
        "Tháng 10/2027",
        "Cơ sở dữ liệu",
        "",
    ),
    (
        "7",
        "Tham mưu bố trí kinh phí thực hiện Kế hoạch",
        "Sở Tài chính",
        "Sở Kế hoạch và Đầu tư",
        "Định kỳ 6 tháng",
        "",
        "",
    ),
    (
        "8",
        "Thực hiện các nhiệm vụ khác về phát triển nguồn nhân lực",
        "Sở Nội vụ",
        "",
        "Theo chỉ đạo của UBND tỉnh",
        "",
        "Khi có văn bản chỉ đạo",
    ),
]

S1, S2 = "I. NHIỆM VỤ CHUNG", "II. NHIỆM VỤ CỤ THỂ"
S1H = "I. NHIỆM VỤ CHUNG › 2. Phát triển nguồn nhân lực khoa học, công nghệ"


def _task(
    number: str,
    section: str,
    title: str,
    timing: str,
    frequency: str,
    lead: str,
    support: list[str],
    product: str = "",
    note: str = "",
) -> dict[str, object]:
    return {
        "number": number,
        "section": section,
        "title": title,
        "timing": timing,
        "frequency": frequency,
        "lead": lead,
        "support": support,
        "product": product,
        "note": note,
    }


# What the appendix must import to (against the shipped config.toml's agencies).
EXPECTED = [
    _task(
        "1",
        S1,
        "Tuyên truyền, phổ biến Kế hoạch đến cán bộ, công chức, viên chức",
        "Thường xuyên",
        "ongoing",
        "so-noi-vu",
        ["so-tttt", "ubnd-huyen"],
        "Tin, bài tuyên truyền",
    ),
    _task(
        "2.1",
        S1H,
        "Đào tạo, bồi dưỡng cán bộ khoa học: a) Đào tạo trong nước; b) Đào tạo ở nước ngoài.",
        "Hằng năm (trước 31/12)",
        "yearly",
        "so-khcn",
        ["so-noi-vu", "so-tai-chinh"],
        "Báo cáo kết quả",
    ),
    _task(
        "2.2",
        S1H,
        "Thu hút chuyên gia, nhà khoa học về công tác tại tỉnh",
        "Trước ngày 30/6/2027",
        "once",
        "so-noi-vu",
        ["so-khcn"],
        "Đề án thu hút",
        "Chuyển tiếp từ năm 2026",
    ),
    _task(
        "3",
        S2,
        "Rà soát, sắp xếp mạng lưới cơ sở đào tạo",
        "Giai đoạn 2026 - 2030",
        "span",
        "so-giao-duc",
        ["co-so-dao-tao"],
        "Quyết định phê duyệt",
    ),
    _task(
        "4",
        S2,
        "Báo cáo tình hình thực hiện Kế hoạch",
        "Hằng quý (trước ngày 20 tháng cuối quý)",
        "quarterly",
        "so-noi-vu",
        ["co-quan-dia-phuong"],
        "Báo cáo quý",
    ),
    _task(
        "5",
        S2,
        "Tổ chức Hội thi sáng tạo kỹ thuật tỉnh",
        "Quý III/2027",
        "once",
        "lhh-khkt",
        ["so-khcn", "so-giao-duc"],
    ),
    _task(
        "6",
        S2,
        "Xây dựng cơ sở dữ liệu nguồn nhân lực khoa học, công nghệ",
        "Tháng 10/2027",
        "once",
        "so-khcn",
        [],
        "Cơ sở dữ liệu",
    ),
    _task(
        "7",
        S2,
        "Tham mưu bố trí kinh phí thực hiện Kế hoạch",
        "Định kỳ 6 tháng",
        "half_yearly",
        "so-tai-chinh",
        ["so-ke-hoach-dau-tu"],
    ),
    _task(
        "8",
        S2,
        "Thực hiện các nhiệm vụ khác về phát triển nguồn nhân lực",
        "Theo chỉ đạo của UBND tỉnh",
        "assigned",
        "so-noi-vu",
        [],
        "",
        "Khi có văn bản chỉ đạo",
    ),
]

# The review shape: what is understood, and what must be listed for review.
REVIEW_ROWS = [
    ("1", "Tổng hợp, báo cáo kết quả", "Sở KH&CN", "Hằng năm"),
    (
        "2",
        "Phối hợp tổ chức sự kiện",
        "VP UBND tỉnh; Sở Văn hóa, Thể thao và Du lịch",
        "Khi có yêu cầu",
    ),
    ("3", "Tập huấn nghiệp vụ", "UBND các huyện, thành phố", "Năm 2027"),
]
REVIEW_EXPECTED = {
    "leads": ["so-khcn", "vp-ubnd-tinh", "ubnd-huyen"],  # "VP UBND tỉnh": proposed, not merged
    "timing_not_understood": ["Khi có yêu cầu"],
    "proposed": ["VP UBND tỉnh", "Sở Văn hóa, Thể thao và Du lịch"],
}

HEADER_TWO = [
    ["TT", "Nội dung nhiệm vụ", "Cơ quan thực hiện", "", "Thời gian hoàn thành", "Kết quả dự kiến", "Ghi chú"],
    ["", "", "Chủ trì", "Phối hợp", "", "", ""],
]  # fmt: skip
XLSX_HEADER = [
    "STT",
    "Nhiệm vụ",
    "Thời gian thực hiện",
    "Đơn vị chủ trì",
    "Đơn vị phối hợp",
    "Sản phẩm",
    "Ghi chú",
]


def _as_xlsx_order(row: tuple[str, ...]) -> list[str]:
    """number, content, lead, support, timing, product, note → the .xlsx's column order."""
    n, c, lead, sup, timing, product, note = row
    return [n, c, timing, lead, sup, product, note]


def _full(row: tuple[str, ...]) -> tuple[str, ...]:
    return row if len(row) == 7 else (*row, "", "", "", "", "")


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("PHỤ LỤC")
    document.add_paragraph("DANH MỤC NHIỆM VỤ TRIỂN KHAI KẾ HOẠCH")
    rows = [_full(r) for r in ROWS]
    table = document.add_table(rows=2 + len(rows), cols=7)
    table.style = "Table Grid"
    for c, text in enumerate(HEADER_TWO[0]):
        table.cell(0, c).text = text
    for c, text in enumerate(HEADER_TWO[1]):
        table.cell(1, c).text = text
    table.cell(0, 2).merge(table.cell(0, 3)).text = "Cơ quan thực hiện"
    for c in (0, 1, 4, 5, 6):
        merged = table.cell(0, c).merge(table.cell(1, c))
        merged.text = HEADER_TWO[0][c]
    for r, row in enumerate(rows, start=2):
        if row[0] in ("I", "II"):
            table.cell(r, 0).merge(table.cell(r, 6)).text = f"{row[0]}. {row[1]}"
            continue
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    # the heading row 2 has no agency and no timing: its empty cells merged across
    heading = next(r for r, row in enumerate(rows, start=2) if row[0] == "2")
    table.cell(heading, 2).merge(table.cell(heading, 6))
    document.save(str(path))


def make_xlsx(path: Path) -> None:
    import openpyxl
    from openpyxl.styles import Alignment

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Phụ lục"
    ws.append(["PHỤ LỤC NHIỆM VỤ"])
    ws.append([])
    ws.append(XLSX_HEADER)
    ws.append([f"({k})" for k in range(1, 8)])
    for row in ROWS:
        r = ws.max_row + 1
        if row[0] in ("I", "II"):
            ws.append([f"{row[0]}. {row[1]}"])
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=7)
            continue
        values = _as_xlsx_order(row)
        ws.append([int(v) if v.isdigit() else v for v in values])
    for line in ws.iter_rows():
        for c in line:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    book.save(str(path))


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_font("DejaVu", style="B", fname=str(FONT.with_name("DejaVuSans-Bold.ttf")))
    pdf.set_font("DejaVu", size=11)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.cell(text="PHỤ LỤC NHIỆM VỤ")
    pdf.ln(12)
    widths = (12, 70, 38, 40, 40, 40, 37)
    header = ["STT", "Nội dung nhiệm vụ", "Đơn vị chủ trì", "Đơn vị phối hợp", "Thời gian thực hiện", "Sản phẩm", "Ghi chú"]  # fmt: skip
    with pdf.table(col_widths=widths, line_height=9, repeat_headings=1) as table:
        table.row(header)
        for row in ROWS:
            full = _full(row)
            if row[0] in ("I", "II"):
                table.row().cell(f"{row[0]}. {row[1]}", colspan=7)
                continue
            n, c, lead, sup, timing, product, note = full
            table.row([n, c, lead, sup, timing, product, note])
    pdf.output(str(path))


def make_tsv(path: Path) -> None:
    lines = ["\t".join(HEADER_TWO[0]), "\t".join(HEADER_TWO[1])]
    for row in ROWS:
        full = list(_full(row))
        if row[0] in ("I", "II"):
            lines.append(f"{row[0]}\t{row[1]}" + "\t" * 5)
            continue
        full[3] = full[3].replace("; ", ";\n")  # a line break inside a cell: quoted
        lines.append("\t".join(f'"{v}"' if "\n" in v else v for v in full))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_review_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=1 + len(REVIEW_ROWS), cols=4)
    for c, text in enumerate(["STT", "Nội dung", "Cơ quan thực hiện", "Tiến độ"]):
        table.cell(0, c).text = text
    for r, row in enumerate(REVIEW_ROWS, start=1):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.save(str(path))


SHAPES = {
    "phu-luc-hai-dong.docx": make_docx,
    "phu-luc.xlsx": make_xlsx,
    "phu-luc-nhieu-trang.pdf": make_pdf,
    "phu-luc.tsv": make_tsv,
}


def main() -> None:
    for name, make in SHAPES.items():
        make(HERE / name)
        (HERE / f"{name}.expected.json").write_text(
            json.dumps(EXPECTED, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    make_review_docx(HERE / "phu-luc-can-xem.docx")
    (HERE / "phu-luc-can-xem.docx.expected.json").write_text(
        json.dumps(REVIEW_EXPECTED, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()

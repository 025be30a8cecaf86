"""`reminder report --format docx`: the report as an editable Word file in the form of
Nghị định 30/2020/NĐ-CP, Phụ lục I, for the office to number, sign and issue.

The texts are the `Letter` of `reminder.report` (the same strings as the HTML report); this
module only lays them out: A4, margins top/bottom 20 mm, left 30 mm, right 15 mm, Times New
Roman 13–14 pt; the heading as a two-column table without borders (parent body and issuing
office, "Số: …" | quốc hiệu, tiêu ngữ, place and date), "BÁO CÁO" and the summary line, the
body with its tables, and a borderless table at the end: "Nơi nhận" | the signer.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.document import Document as Docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from reminder.render import Renderer
from reminder.report import Grid, Letter, Report, letter

FONT = "Times New Roman"
BODY_PT, HEAD_PT, TABLE_PT, SMALL_PT = 14, 13, 11, 12
TEXT_MM = 165  # A4's 210 mm less the margins (30 + 15)
_Container = Docx | _Cell


def docx_bytes(report: Report, template_dir: Path | None = None) -> bytes:
    """The .docx file's bytes."""
    text = letter(report, Renderer(report.catalog, template_dir))
    doc = Document()
    _page(doc)
    _heading(doc, text)
    _body(doc, text)
    _signature(doc, text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _page(doc: Docx) -> None:
    """A4 portrait, the decree's margins, Times New Roman 14 as the normal style."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(0), 1.0


def _para(
    where: _Container,
    text: str = "",
    *,
    size: int = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    after: int = 0,
    before: int = 0,
    indent: bool = False,
    reuse: bool = False,
) -> Paragraph:
    """A paragraph of one run. `reuse`: the cell's first (empty) paragraph."""
    p = where.paragraphs[0] if reuse else where.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_after = Pt(after)
    p.paragraph_format.space_before = Pt(before)
    if indent:
        p.paragraph_format.first_line_indent = Mm(10)
    run = p.add_run(text)
    run.font.size, run.bold, run.italic = Pt(size), bold, italic
    return p


def _rule(where: _Container, width_mm: float, cell_mm: float) -> None:
    """A centred horizontal line `width_mm` long under the paragraph before (the decree's
    underline under the issuing office, the motto and the summary)."""
    p = where.add_paragraph()
    side = Mm(max((cell_mm - width_mm) / 2, 0))
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = side
    p.paragraph_format.space_after = Pt(2)
    p.paragraph_format.space_before = Pt(3)
    run = p.add_run()
    run.font.size = Pt(2)
    ppr = p._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(k), v)
    border.append(top)
    ppr.append(border)


def _no_borders(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        e = OxmlElement(f"w:{edge}")
        e.set(qn("w:val"), "nil")
        borders.append(e)
    tbl_pr.append(borders)


def _widths(table: Table, widths_mm: list[float]) -> None:
    """Fixed column widths (Word reads the cells', LibreOffice the grid's)."""
    table.autofit = False
    for column, w in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(w)


def _heading(doc: Docx, text: Letter) -> None:
    left_mm, right_mm = 76.0, 94.0  # 5 mm wider than the text: no line of it wraps
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _cell_margins(table, Mm(0))
    _widths(table, [left_mm, right_mm])
    left, right = table.rows[0].cells
    _para(left, text.parent, size=SMALL_PT, reuse=True)
    _para(left, text.issuer, size=SMALL_PT, bold=True)
    _rule(left, 25, left_mm)
    _para(left, text.number, size=HEAD_PT)
    _para(right, text.nation, size=SMALL_PT, bold=True, reuse=True)
    _para(right, text.motto, size=HEAD_PT, bold=True)
    _rule(right, 60, right_mm)
    _para(right, text.date_line, size=BODY_PT, italic=True, before=4)
    _para(doc, text.kind, bold=True, before=18)
    _para(doc, text.summary, bold=True)
    _rule(doc, 30, TEXT_MM)
    _para(doc, text.scope, size=HEAD_PT, italic=True, after=10)


def _body(doc: Docx, text: Letter) -> None:
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    left = WD_ALIGN_PARAGRAPH.LEFT
    _para(doc, text.opening, align=justify, indent=True, after=6)
    _para(doc, text.matrix_title, bold=True, align=left, before=6, after=4)
    _para(doc, text.totals, align=justify, indent=True, after=6)
    _grid(doc, text.matrix)
    _para(doc, text.overdue_title, bold=True, align=left, before=10, after=4)
    if text.overdue.rows:
        _grid(doc, text.overdue)
    else:
        _para(doc, text.no_overdue, align=justify, indent=True)
    if text.late.rows:
        _para(doc, text.late_title, bold=True, align=left, before=10, after=4)
        _grid(doc, text.late)
    if text.entered_late.rows:
        _para(doc, text.entered_late_title, bold=True, align=left, before=10, after=4)
        _para(doc, text.entered_late_intro, align=justify, indent=True, after=6)
        _grid(doc, text.entered_late)
    _para(doc, text.note, size=SMALL_PT, italic=True, align=justify, before=8)


def _grid(doc: Docx, grid: Grid) -> None:
    table = doc.add_table(rows=1 + len(grid.rows), cols=len(grid.head))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _cell_margins(table, Mm(1))
    for cell, head in zip(table.rows[0].cells, grid.head, strict=True):
        _para(cell, head, size=TABLE_PT, bold=True, reuse=True)
    _repeat_header(table)
    if grid.weights:
        _widths(table, [TEXT_MM * p / 100 for p in grid.percents])
    last = len(grid.rows) - 1
    for n, (row, cells) in enumerate(zip(table.rows[1:], grid.rows, strict=True)):
        for col, (cell, value) in enumerate(zip(row.cells, cells, strict=True)):
            align = (
                WD_ALIGN_PARAGRAPH.RIGHT
                if col in grid.numeric
                else WD_ALIGN_PARAGRAPH.CENTER
                if col in grid.centred
                else WD_ALIGN_PARAGRAPH.LEFT
            )
            bold = grid.total_row and n == last
            _para(cell, value, size=TABLE_PT, bold=bold, align=align, reuse=True)
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a row stays on one page


def _cell_margins(table: Table, side: Length) -> None:
    """Narrow left and right cell margins (dates fit on one line of a narrow column)."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        e = OxmlElement(f"w:{edge}")
        e.set(qn("w:w"), str(side.twips))
        e.set(qn("w:type"), "dxa")
        margins.append(e)
    table._tbl.tblPr.append(margins)


def _repeat_header(table: Table) -> None:
    """The head row is repeated on every page the table runs over."""
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _signature(doc: Docx, text: Letter) -> None:
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, [85, 80])
    left, right = table.rows[0].cells
    title = _para(
        left, text.recipients_title, size=SMALL_PT, bold=True, italic=True, reuse=True, before=12
    )
    title.alignment = WD_ALIGN_PARAGRAPH.LEFT
    for line in text.recipients:
        _para(left, line, size=TABLE_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
    first = True
    if text.signer_authority:
        _para(right, text.signer_authority, bold=True, reuse=True, before=12)
        first = False
    _para(right, text.signer_title, bold=True, reuse=first, before=12 if first else 0)
    _para(right, text.signer_name, bold=True, before=72)

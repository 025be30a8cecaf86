"""Reading an appendix from a Word .docx (python-docx): the table whose header row names
the appendix's columns, and the tables that continue it (Word splits long tables).

Merged cells: a cell spanning several grid columns counts once (in its first column); a
cell merged down over several rows ("Hằng năm" for tasks 1–5) gives its text to every
task row it covers. A row without a task number continues the task above (its text is
appended); a row holding one cell across the table is a section heading (noted).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table, _Cell

from reminder.importer.table import REQUIRED, BadInput, Column, Row, column_of, is_header

Grid = list[list[tuple[str, bool]]]  # per row, per grid column: (text, continues the cell above)
_HEADING = "\x00heading"  # marks a row made of one merged cell across the table


def read_docx(path: Path) -> list[Row]:
    """The appendix rows of a .docx; BadInput when the file has no appendix table."""
    try:
        document = Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise BadInput(f"not a readable .docx file ({exc})") from None
    rows: list[Row] = []
    columns: list[Column | None] | None = None
    tables_seen = 0
    for table in document.tables:
        tables_seen += 1
        grid = _grid(table)
        start, found = _header_of(grid)
        if found is not None:
            columns = found
        elif columns is None or not grid or len(grid[0]) != len(columns):
            continue  # not the appendix, nor a table continuing it
        rows.extend(_rows(grid[start:], columns, table_no=tables_seen, first_row=start + 1))
    if columns is None:
        wanted = " / ".join(c.value for c in REQUIRED)
        raise BadInput(
            f"no appendix table found in {tables_seen} table(s): no header row naming the "
            f'columns {wanted} (e.g. "Nội dung nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì")'
        )
    if not rows:
        raise BadInput("the appendix table has a header but no task rows")
    return rows


def _text(cell: _Cell) -> str:
    return unicodedata.normalize("NFC", "\n".join(p.text for p in cell.paragraphs)).strip()


def _grid(table: Table) -> Grid:
    """The table's cells on its layout grid, from the XML (python-docx's `row.cells` repeats
    a vertically merged cell's text, which would hide that it continues the cell above)."""
    grid: Grid = []
    for tr in table._tbl.tr_lst:
        row: list[tuple[str, bool]] = [("", False)] * tr.grid_before
        tcs = list(tr.tc_lst)
        if len(tcs) == 1 and tcs[0].grid_span > 1 and tcs[0].vMerge is None:
            grid.append([(_HEADING, False), (_text(_Cell(tcs[0], table)), False)])
            continue
        for tc in tcs:
            continues = tc.vMerge == "continue"
            text = "" if continues else _text(_Cell(tc, table))
            row.append((text, continues))
            row.extend([("", continues)] * (tc.grid_span - 1))
        grid.append(row)
    width = max((len(r) for r in grid if r[0][0] != _HEADING), default=0)
    return [r + [("", False)] * (width - len(r)) for r in grid]


def _header_of(grid: Grid) -> tuple[int, list[Column | None] | None]:
    """(first body row, the columns) if one of the first rows is the appendix's header."""
    for i, row in enumerate(grid[:5]):
        columns = [column_of(text) for text, _ in row]
        if is_header(columns):
            return i + 1, columns
    return 0, None


def _rows(grid: Grid, columns: list[Column | None], table_no: int, first_row: int) -> list[Row]:
    out: list[Row] = []
    above: list[str] = [""] * len(columns)
    pending: list[str] = []
    for offset, cells in enumerate(grid):
        where = f"table {table_no}, row {first_row + offset}"
        if cells[0][0] == _HEADING:
            if cells[1][0]:
                pending.append(f'under the heading "{" ".join(cells[1][0].split())}" ({where})')
            continue
        if not any(text or cont for text, cont in cells):
            continue
        values = [above[k] if cont else text for k, (text, cont) in enumerate(cells)]
        number = _number(cells, columns)
        if number or not out:
            row = Row(number, {}, where, pending)
            pending = []
            for col, value in zip(columns, values, strict=False):
                if col is not None and col is not Column.NUMBER and value:
                    row.cells[col] = _join(row.cells.get(col, ""), value)
            out.append(row)
        else:  # a row continuing the task above: its own (not merged) text is appended
            for col, (text, cont) in zip(columns, cells, strict=False):
                if col is not None and col is not Column.NUMBER and text and not cont:
                    out[-1].cells[col] = _join(out[-1].cells.get(col, ""), text)
        above = values
    return out


def _number(cells: list[tuple[str, bool]], columns: list[Column | None]) -> str:
    if Column.NUMBER not in columns:
        return ""
    text, cont = cells[columns.index(Column.NUMBER)]
    return "" if cont else text.strip().rstrip(".)")


def _join(a: str, b: str) -> str:
    return f"{a}\n{b}" if a else b

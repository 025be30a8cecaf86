"""Reading an appendix from a Word .docx (python-docx): its tables as grids of cells.

python-docx's `row.cells` repeats a merged cell's text, which would hide that a cell
continues the one above; the grid is read from the XML instead: a cell spanning several
grid columns is its text then `left` continuations, a cell merged down (vMerge continue)
is an `up` continuation. `grid` finds the header and the body, `structure` the tasks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table as DocxTable
from docx.table import _Cell

from reminder.importer.grid import Cell, Line, Table, lines_of
from reminder.importer.structure import structure
from reminder.importer.table import BadInput, Row


def docx_lines(path: Path) -> list[Line]:
    """The appendix lines of a .docx; BadInput when the file has no appendix table."""
    try:
        document = Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise BadInput(f"not a readable .docx file ({exc})") from None
    return lines_of(_tables(document.tables))


def _tables(tables: list[DocxTable]) -> Iterator[tuple[str, Table]]:
    for n, table in enumerate(tables, start=1):
        yield f"table {n}", _grid(table)


def _text(cell: _Cell) -> str:
    return unicodedata.normalize("NFC", "\n".join(p.text for p in cell.paragraphs)).strip()


def _grid(table: DocxTable) -> Table:
    grid: Table = []
    for tr in table._tbl.tr_lst:
        row: list[Cell] = [Cell("")] * tr.grid_before
        for tc in tr.tc_lst:
            up = tc.vMerge == "continue"
            row.append(Cell("" if up else _text(_Cell(tc, table)), up=up))
            row.extend([Cell("", up=up, left=True)] * (tc.grid_span - 1))
        grid.append(row)
    return grid


def read_docx(path: Path) -> list[Row]:
    """The task rows of a .docx (its lines, shaped by `structure`)."""
    return structure(docx_lines(path))

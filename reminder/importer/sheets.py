"""Appendix tables from an Excel workbook (.xlsx, openpyxl), a PDF's ruled tables
(pdfplumber) and tab-separated text (a table copied from Excel or a web page).

Each gives `grid` tables of `Cell`s; merged cells are continuations (`up`/`left`), so a
two-row header and a timing merged over several tasks read as in Word.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reminder.importer.grid import Cell, Line, Table, cell, lines_of
from reminder.importer.table import BadInput


def xlsx_lines(path: Path) -> list[Line]:
    """The appendix lines of the first sheet holding the header (and the sheets after it)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension is not supported"
            book = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise BadInput(f"not a readable .xlsx workbook ({exc})") from None
    try:
        return lines_of((f"sheet {ws.title!r}", _sheet(ws)) for ws in book.worksheets)
    finally:
        book.close()


def _sheet(ws: Any) -> Table:
    merged: dict[tuple[int, int], Cell] = {}
    for rng in ws.merged_cells.ranges:
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if (r, c) != (rng.min_row, rng.min_col):
                    merged[(r, c)] = Cell("", up=r > rng.min_row, left=c > rng.min_col)
    table: Table = []
    for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
        table.append([merged.get((r, c)) or cell(v) for c, v in enumerate(row, start=1)])
    while table and not any(c.text for c in table[-1]):
        table.pop()
    return table


def pdf_lines(path: Path) -> list[Line]:
    """The appendix lines of a PDF's ruled tables, page after page (pdfplumber)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        with pdfplumber.open(path) as pdf:
            letters = sum(_letters(p) for p in pdf.pages[:5])
            tables = list(_pdf_tables(pdf)) if letters >= 20 else []
    except PDFPasswordIncorrect:
        raise BadInput(
            "this PDF is encrypted (password-protected): save an unprotected copy"
        ) from None
    except (PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"not a readable PDF ({type(exc).__name__})") from None
    except Exception as exc:  # pdfminer raises plain Exceptions on damaged files
        if "encrypt" in str(exc).casefold() or "password" in str(exc).casefold():
            raise BadInput(
                "this PDF is encrypted (password-protected): save an unprotected copy"
            ) from None
        raise
    if letters < 20:
        raise BadInput(
            "this PDF has no text layer (a scan?): run OCR on it first, or use the .docx"
        )
    if not tables:
        raise BadInput("this PDF has text but no ruled table")
    return lines_of(tables)


def _letters(page: Any) -> int:
    try:
        return len(page.chars)
    finally:
        page.close()


def _pdf_tables(pdf: Any) -> Iterator[tuple[str, Table]]:
    """Each page's ruled tables; a page is closed once read (pdfplumber caches every
    page's objects otherwise: a 40-page appendix would hold them all)."""
    for n, page in enumerate(pdf.pages, start=1):
        try:
            for k, rows in enumerate(page.extract_tables(), start=1):
                yield f"page {n}, table {k}", _pdf_grid(rows)
        finally:
            page.close()


def _pdf_grid(rows: list[list[str | None]]) -> Table:
    """pdfplumber gives None where a merged cell covers a grid position: from the left when
    the cell on the left is in the same merged cell, else from above."""
    table: Table = []
    for r, row in enumerate(rows):
        out: list[Cell] = []
        for c, value in enumerate(row):
            if value is not None:
                out.append(cell(value))
            elif c > 0 and (row[c - 1] is not None or out[-1].left):
                out.append(Cell("", left=True))
            else:
                out.append(Cell("", up=r > 0))
        table.append(out)
    return table


def looks_tabbed(text: str) -> bool:
    """Whether text is tab-separated (most non-blank lines hold a tab)."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    return bool(lines) and sum("\t" in ln for ln in lines) >= max(2, len(lines) // 2)


def tsv_lines(text: str) -> list[Line]:
    """The appendix lines of tab-separated text (cells with line breaks in quotes, as
    Excel copies them)."""
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    return lines_of([("text", [[cell(v) for v in row] for row in rows])])

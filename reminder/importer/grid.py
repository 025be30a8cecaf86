"""A table as cells on a grid (from .docx, .xlsx, a PDF's ruled table or TSV) → appendix rows.

Every table reader gives `Cell`s: the text, and whether the cell continues a merged cell
from above (`up`) or from the left (`left`). This module finds the header by meaning (one
row, or two rows where a merged "Cơ quan thực hiện" stands over "Chủ trì" | "Phối hợp";
any order; "TT"/"STT"), drops the header repeated on each PDF page and the row of column
numbers "(1) (2) (3)" under it, joins a table split across pages, and returns the raw
`Line`s that `structure` turns into task rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from reminder.importer.table import REQUIRED, BadInput, Column, column_of, is_header


@dataclass(frozen=True, slots=True)
class Cell:
    """One grid position: its own text ('' when it continues a merged cell)."""

    text: str
    up: bool = False  # continues the cell above (a vertical merge)
    left: bool = False  # continues the cell on its left (a horizontal merge)


Table = list[list[Cell]]


@dataclass
class Line:
    """A body row: the number cell's text, the text per column, where, and its shape."""

    number: str
    cells: dict[Column, str]
    where: str
    across: str = ""  # the text of a row made of one cell across the table (a section row)
    own: frozenset[Column] = frozenset()  # columns with text of its own (not merged from above)


def cell(text: object) -> Cell:
    """A plain cell from any value (None → empty); text NFC, outer spaces stripped."""
    if text is None:
        return Cell("")
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    return Cell(unicodedata.normalize("NFC", str(text)).strip())


def square(rows: Iterable[list[Cell]]) -> Table:
    """Rows padded to one width (empty cells on the right)."""
    out = [list(r) for r in rows]
    width = max((len(r) for r in out), default=0)
    return [r + [Cell("")] * (width - len(r)) for r in out]


_COLUMN_NUMBER = re.compile(r"\(?\d{1,2}\)?|\(?[a-z]\)?")


def _header_at(table: Table, i: int) -> tuple[int, list[Column | None]] | None:
    """(rows the header takes, its columns) if the header starts at row i: one row, or two
    rows (upper labels merged over lower ones, the lower ones naming the column)."""
    one = [column_of(c.text) for c in _spread(table[i])]
    two: list[Column | None] | None = None
    if i + 1 < len(table):
        upper, lower = _spread(table[i]), table[i + 1]
        two = []
        for top, low in zip(upper, lower, strict=False):
            named = None if low.up or not low.text else column_of(low.text)
            if named is None and low.text and not low.up:
                named = column_of(f"{top.text} {low.text}")
            two.append(named if named is not None else column_of(top.text))
        if is_header(two) and _lower_names_columns(lower):
            return 2, _unique(two)
    if is_header(one):
        return 1, _unique(one)
    return None


def _lower_names_columns(lower: list[Cell]) -> bool:
    """Whether a second header row holds labels (and not the first task)."""
    labelled = [c for c in lower if c.text and not c.up]
    return bool(labelled) and all(column_of(c.text) is not None for c in labelled)


def _spread(row: list[Cell]) -> list[Cell]:
    """A header row with each merged cell's text repeated over the columns it spans."""
    out: list[Cell] = []
    for c in row:
        out.append(Cell(out[-1].text) if c.left and out else c)
    return out


def _unique(columns: list[Column | None]) -> list[Column | None]:
    """Each column once (the first one named so): a second "Ghi chú" column is ignored."""
    seen: set[Column] = set()
    out: list[Column | None] = []
    for col in columns:
        out.append(col if col is not None and col not in seen else None)
        if col is not None:
            seen.add(col)
    return out


def find_header(table: Table, look: int = 8) -> tuple[int, list[Column | None]] | None:
    """(first body row, columns) when one of the first rows starts the appendix header."""
    for i in range(min(look, len(table))):
        found = _header_at(table, i)
        if found is not None:
            return i + found[0], found[1]
    return None


def _is_repeated_header(row: list[Cell]) -> bool:
    named = [column_of(c.text) for c in row if c.text and not c.up]
    return (
        len([n for n in named if n is not None]) >= 2
        and sum(1 for n in named if n is None) <= len(named) // 3
    )


def _is_column_numbers(row: list[Cell]) -> bool:
    """The row "(1) (2) (3) …" or "1 2 3 …" that numbers a header's columns."""
    texts = [c.text.casefold() for c in row if c.text and not c.up and not c.left]
    if len(texts) < 3 or not all(_COLUMN_NUMBER.fullmatch(t) for t in texts):
        return False
    digits = [int(re.sub(r"\D", "", t)) for t in texts if re.search(r"\d", t)]
    return len(digits) == len(texts) and digits == list(range(digits[0], digits[0] + len(digits)))


def lines_of(tables: Iterable[tuple[str, Table]]) -> list[Line]:
    """The body lines of the appendix: the first table with a header and the following
    tables of the same width (the appendix continued on the next page), repeated headers
    and column-number rows dropped. BadInput when no table has the header."""
    columns: list[Column | None] | None = None
    out: list[Line] = []
    seen = 0
    for name, table in tables:
        seen += 1
        table = square(table)
        if not table:
            continue
        found = find_header(table)
        if found is not None and (columns is None or len(found[1]) == len(columns)):
            start, columns = found
        elif columns is None or len(table[0]) != len(columns):
            continue  # not the appendix, nor a table continuing it
        else:
            start = 0
        out.extend(_lines(table[start:], columns, name, start + 1))
    if columns is None:
        wanted = " / ".join(c.value for c in REQUIRED)
        raise BadInput(
            f"no appendix table found in {seen} table(s): no header row naming the "
            f'columns {wanted} (e.g. "Nội dung nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì")'
        )
    if not out:
        raise BadInput("the appendix table has a header but no task rows")
    return out


def _lines(table: Table, columns: list[Column | None], name: str, first: int) -> list[Line]:
    out: list[Line] = []
    above = [""] * len(columns)
    for offset, row in enumerate(table):
        where = f"{name}, row {first + offset}"
        if _is_repeated_header(row) or _is_column_numbers(row):
            continue
        own = [c for c in row if c.text and not c.left and not c.up]
        values = [above[k] if c.up else c.text for k, c in enumerate(row)]
        if not own:
            above = values
            continue
        spans_all = len(own) == 1 and all(c.left or c is own[0] for c in row) and len(row) > 2
        if spans_all:
            out.append(Line("", {}, where, across=own[0].text))
            continue
        number = ""
        cells: dict[Column, str] = {}
        mine: set[Column] = set()
        for col, c, value in zip(columns, row, values, strict=False):
            if col is Column.NUMBER:
                number = "" if c.up else c.text
            elif col is not None and value:
                cells[col] = _join(cells.get(col, ""), value)
                if not c.up:
                    mine.add(col)
        out.append(Line(number.strip(), cells, where, own=frozenset(mine)))
        above = values
    return out


def _join(a: str, b: str) -> str:
    return f"{a}\n{b}" if a else b

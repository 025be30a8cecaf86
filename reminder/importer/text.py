"""Reading an appendix from text: a PDF's text layer or a copy-paste.

Such text has lost the table: a cell's lines are broken anywhere ("Trường Đại\\nhọc",
"27-\\nNQ/TW"), cells on one line run together ("Hằng năm Sở Nội vụ"), the header is spread
over several lines and page numbers sit between rows. The columns are recovered from
anchors the project already knows: a line holding only the next task number starts a row,
the timing phrases `reminder.timing` understands end the task's content, and an agency
name (known, or starting with a head word such as "Sở", "Trường", "các") starts the lead
and supporting columns. The header gives the columns' order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from reminder.importer import names
from reminder.importer.names import Directory
from reminder.importer.table import (
    REQUIRED,
    BadInput,
    Column,
    Note,
    Row,
    fold,
    is_header,
    labels_in,
)
from reminder.timing import TimingError, parse_phrase

_NUMBER_LINE = re.compile(r"^(\d{1,6})[.)]?(?:\s+(.*))?$")  # 10 000 and more too
_SECTION = re.compile(r"^(?:[IVX]{1,5}|[A-Z])[.)]?\s+[^a-zà-ỹđ]+$")
_AFTER_TABLE = re.compile(r"^(?:nơi nhận|tm\.|kt\.|chủ tịch$|người ký)", re.IGNORECASE)
_HEADER_SLACK = 12  # letters outside the labels a header may hold ("Đơn vị chủ" before "trì")
_TIMING_STARTS = {"hằng", "hàng", "trước", "năm", "quý", "qúy", "tháng", "sau", "theo"}
_NUMBER_WORDS = {"một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười"}
_MAX_TIMING_WORDS = 14


@dataclass(frozen=True)
class Line:
    no: int  # 1-based line number in the file
    text: str  # stripped; "" for a blank line


@dataclass(frozen=True)
class Word:
    text: str
    line: int
    line_start: bool
    block_start: bool  # first word after a blank line (a new cell, most likely)


def read_text(text: str, directory: Directory) -> list[Row]:
    """The appendix rows of a text extraction; BadInput when there is no table or no row."""
    lines = _lines(text)
    start, order = _header(lines)
    records = _records(lines[start:])
    if not records:
        raise BadInput("the appendix table has a header but no task rows")
    rows = [_row(number, body, notes, order, directory) for number, body, notes, _ in records]
    for row, record in zip(rows, records, strict=True):
        row.section = record[3]
    return rows


def _lines(text: str) -> list[Line]:
    """NFC lines, stripped; a line ending in a hyphen glued to the next ("27-" + "NQ/TW")."""
    raw = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    raw = raw.replace("\f", "")
    src = [Line(n + 1, line.strip()) for n, line in enumerate(raw.split("\n"))]
    out: list[Line] = []
    for line in src:
        prev = out[-1] if out else None
        if prev is not None and re.search(r"\w-$", prev.text) and line.text:
            out[-1] = Line(prev.no, prev.text + line.text)
        else:
            out.append(line)
    return out


def _letters_outside_labels(text: str) -> int:
    folded = fold(text)
    for start, end, _ in reversed(labels_in(text)):
        folded = folded[:start] + " " + folded[end:]
    return sum(1 for c in folded if c.isalpha())


def _header(lines: list[Line]) -> tuple[int, list[Column]]:
    """(index of the first body line, the columns in the header's order)."""
    for i, line in enumerate(lines):
        if not line.text or not labels_in(line.text):
            continue
        joined, best = "", None
        for j in range(i, min(i + 16, len(lines))):
            if not lines[j].text:
                continue
            if _NUMBER_LINE.match(lines[j].text):
                break
            candidate = f"{joined} {lines[j].text}"
            if _letters_outside_labels(candidate) > _HEADER_SLACK:
                break
            joined = candidate
            columns = [col for *_, col in labels_in(joined)]
            if is_header(list(columns)):
                best = (j + 1, list(dict.fromkeys(columns)))
        if best is not None:
            return best
    wanted = " / ".join(c.value for c in REQUIRED)
    raise BadInput(
        f"no appendix table found: no header row naming the columns {wanted} "
        '(e.g. "Nội dung nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì")'
    )


Record = tuple[str, list[Line], list[Note], str]  # number, lines, notes, section


def _records(body: list[Line]) -> list[Record]:
    """Cut the body into task records at the lines holding the next task number."""
    records: list[Record] = []
    current: list[Line] = []
    notes: list[Note] = []
    pending_notes: list[Note] = []
    number, expected = "", 1
    section = own_section = ""
    for n, line in enumerate(body):
        if _AFTER_TABLE.match(line.text):
            break
        if _SECTION.match(line.text):
            section = " ".join(line.text.split())
            continue
        m = _NUMBER_LINE.match(line.text)
        start = m is not None and _starts_task(m, body, n, expected, bool(number))
        if m is not None and start:
            if number:
                records.append((number, current, notes, own_section))
            value = int(m[1])
            own_section = section
            notes = pending_notes
            pending_notes = []
            number, expected = m[1], value + 1
            current = [Line(line.no, m[2] or "")]
        elif m is not None and m[2] is None and _isolated(body, n):
            continue  # a page number between rows
        elif number:
            current.append(line)
    if number:
        records.append((number, current, notes, own_section))
    return [r for r in records if any(line.text for line in r[1])]


def _starts_task(m: re.Match[str], body: list[Line], n: int, expected: int, later: bool) -> bool:
    value, rest = int(m[1]), m[2]
    if value == expected or (not later and rest is None):
        return True
    if rest is not None or _expected_follows(body, n, expected):
        return False  # text, or a page number: the expected number comes just after
    if expected < value <= expected + 4:
        return True  # a number skipped (reported with the task)
    return value == expected - 1 and not _isolated(body, n)  # repeated (reported too)


def _expected_follows(body: list[Line], n: int, expected: int) -> bool:
    """Whether a line holding just the expected task number follows within a few lines."""
    ahead = [line.text for line in body[n + 1 : n + 12] if line.text][:6]
    return any((m := _NUMBER_LINE.match(t)) is not None and int(m[1]) == expected for t in ahead)


def _isolated(body: list[Line], n: int) -> bool:
    before = n == 0 or not body[n - 1].text
    after = n + 1 >= len(body) or not body[n + 1].text
    return before and after


# --- one record → cells ---------------------------------------------------------------


def _words(lines: list[Line]) -> list[Word]:
    out: list[Word] = []
    blank = False
    for line in lines:
        if not line.text:
            blank = True
            continue
        for k, w in enumerate(line.text.split()):
            out.append(Word(w, line.no, k == 0, k == 0 and blank))
        blank = False
    return out


def _join(ws: list[Word]) -> str:
    return " ".join(w.text for w in ws)


def _row(
    number: str, lines: list[Line], notes: list[Note], order: list[Column], d: Directory
) -> Row:
    ws = _words(lines)
    where = f"line {lines[0].no}"
    cells: dict[Column, str] = {}
    cols: list[Column] = [c for c in order if c is not Column.NUMBER]
    row_notes = list(notes)
    pos = 0
    for idx, col in enumerate(cols):
        nxt = cols[idx + 1] if idx + 1 < len(cols) else None
        end = _own_end(col, ws, pos, nxt, d)
        if end is None:
            end = _start_of(nxt, ws, pos + 1, d, cols[idx + 2 :]) if nxt else len(ws)
            if col is Column.TIMING and nxt in (Column.LEAD, Column.SUPPORT):
                # a phrase not understood ends where a known agency's name begins, even on
                # its own line ("Khi có yêu cầu Sở Nội vụ"): never glued to the agency
                end = _first_known(ws, pos + 1, end, d)
            if col is Column.TIMING:
                row_notes.append(
                    Note("timing_extent", "timing phrase not recognised: its extent is a guess")
                )
        cells[col] = _join(ws[pos:end])
        pos = end
    return Row(number, cells, where, row_notes)


def _own_end(col: Column, ws: list[Word], pos: int, nxt: Column | None, d: Directory) -> int | None:
    """Where a column that delimits itself ends: a timing phrase, a known lead agency."""
    if pos >= len(ws):
        return pos
    if col is Column.TIMING:
        return _timing_end(ws, pos, nxt, d)
    if col is Column.LEAD:
        toks, owner = _tokens(ws, pos, 16)
        hit = names.match_at(d, toks, 0, loose=True)
        if hit is not None:
            end = owner[hit[0] - 1] + 1
            if end >= len(ws) or ws[end].line_start or _next_column_at(ws, end, nxt, d):
                return end
    return None


def _next_column_at(ws: list[Word], k: int, col: Column | None, d: Directory) -> bool:
    """Whether column `col` can start at word k (on the same line as the one before)."""
    if col in (Column.LEAD, Column.SUPPORT):
        return _agency_at(ws, k, d)
    if col is Column.TIMING:
        return _timing_end(ws, k, None, d) is not None
    return False


@lru_cache(maxsize=16384)
def _word_tokens(word: str) -> tuple[names.Tok, ...]:
    """One word's name tokens (words recur: a table has few distinct ones)."""
    return tuple(names.tokens(word))


def _tokens(ws: list[Word], pos: int, count: int) -> tuple[list[names.Tok], list[int]]:
    """The name tokens of words pos… (at most `count` words), and the word each came from."""
    toks: list[names.Tok] = []
    owner: list[int] = []
    for k in range(pos, min(len(ws), pos + count)):
        part = _word_tokens(ws[k].text)
        toks += part
        owner += [k] * len(part)
    return toks, owner


def _timing_end(ws: list[Word], i: int, nxt: Column | None, d: Directory) -> int | None:
    """The end of the longest timing phrase starting at word i that the next column follows."""
    first = fold(ws[i].text).strip(",.;:")
    if first not in _TIMING_STARTS and first not in _NUMBER_WORDS and not first.isdigit():
        return None
    for j in range(min(len(ws), i + _MAX_TIMING_WORDS), i, -1):
        if _understood(_join(ws[i:j])) and _followed_ok(ws, j, nxt, d):
            return j
    return None


@lru_cache(maxsize=4096)
def _understood(phrase: str) -> bool:
    """Whether `reminder.timing` reads the phrase (the same few phrases recur in a table)."""
    try:
        parse_phrase(phrase)
    except TimingError:
        return False
    return True


def _followed_ok(ws: list[Word], j: int, nxt: Column | None, d: Directory) -> bool:
    if j >= len(ws):
        return True
    if nxt in (Column.LEAD, Column.SUPPORT):
        return _agency_at(ws, j, d)
    return ws[j].line_start


def _first_known(ws: list[Word], lo: int, hi: int, d: Directory) -> int:
    """The first word in [lo, hi) where a known agency's capitalised name starts, else hi."""
    for k in range(lo, hi):
        toks = _tokens(ws, k, 16)[0]
        if ws[k].text[:1].isupper() and names.match_at(d, toks, 0, loose=True) is not None:
            return k
    return hi


def _agency_at(ws: list[Word], j: int, d: Directory) -> bool:
    toks, _ = _tokens(ws, j, 12)
    return bool(toks) and (
        names.match_at(d, toks, 0, loose=True) is not None or names.starts_head(toks, 0)
    )


def _start_of(col: Column, ws: list[Word], pos: int, d: Directory, after: list[Column]) -> int:
    """Where column `col` starts at or after word `pos` (len(ws) when it cannot be found)."""
    if col is Column.TIMING:
        nxt = after[0] if after else None
        found = [k for k in range(pos, len(ws)) if ws[k].line_start]
        found += [k for k in range(pos, len(ws)) if not ws[k].line_start]
        for k in found:
            if _timing_end(ws, k, nxt, d) is not None:
                return k
        if after:  # not understood: the timing cell is the block before the next column
            nxt_start = _start_of(after[0], ws, pos, d, after[1:])
            blocks = [k for k in range(pos, nxt_start) if ws[k].block_start]
            return blocks[-1] if blocks else nxt_start
        return len(ws)
    if col in (Column.LEAD, Column.SUPPORT):
        for k in range(pos, len(ws)):
            if ws[k].block_start and _agency_at(ws, k, d):
                return k
        for k in range(pos, len(ws)):
            if ws[k].line_start and ws[k].text[:1].isupper() and _agency_at(ws, k, d):
                return k
        for k in range(pos, len(ws)):  # a row on one line: a known name anywhere
            if names.match_at(d, _tokens(ws, k, 16)[0], 0, loose=True) is not None:
                return k
        return len(ws)
    for k in range(pos, len(ws)):
        if ws[k].block_start:
            return k
    return len(ws)

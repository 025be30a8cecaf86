"""Reading an appendix whose columns are laid out with spaces: `pdftotext -layout` output
of a PDF, or a table pasted with its columns aligned.

The columns are the stretches of character positions that some line of the table uses,
separated by at least two positions that no line uses; the header lines above the first
row name them. A row starts at the line block (lines between blank lines) holding a task
number in the "Stt" column; a block without one continues the task above (a row broken by
a page). A cell's text is its column's slices of the row's lines, joined.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from reminder.importer.table import (
    REQUIRED,
    BadInput,
    Column,
    Row,
    column_of,
    fold,
    is_header,
    label_positions,
    labels_in,
)

_GAP = 2  # blank positions that separate two columns
_NUMBER = re.compile(r"^(\d{1,6})[.)]?$")  # 10 000 and more too
_AFTER_TABLE = re.compile(r"^\s*(?:nơi nhận|tm\.|kt\.|chủ tịch\s*$)", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    no: int
    text: str  # tabs expanded, right-stripped; "" when blank


def _header_line(text: str) -> bool:
    parts = [p for p in re.split(r"\s{2,}", text.strip()) if p]
    return len(parts) >= 3 and sum(1 for p in parts if labels_in(p)) >= 3


def _label_fragment(text: str) -> bool:
    """A header line's continuation: a few words besides labels ("thực hiện", "trì")."""
    if not text.strip() or _NUMBER.match(text.split()[0]):
        return False
    rest = fold(text)
    for start, end, _ in reversed(labels_in(text)):
        rest = rest[:start] + rest[end:]
    return sum(c.isalpha() for c in rest) <= 16


def looks_laid_out(text: str) -> bool:
    """Whether the text holds a header line whose labels are spread out by spaces."""
    return any(_header_line(line) for line in text.splitlines()[:2000])


def read_layout(text: str) -> list[Row]:
    """The appendix rows of a laid-out text; BadInput when no table or no row is found."""
    raw = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\f", "\n"))
    lines = [Line(n + 1, line.expandtabs().rstrip()) for n, line in enumerate(raw.split("\n"))]
    h = next((i for i, line in enumerate(lines) if _header_line(line.text)), None)
    if h is None:
        raise BadInput("no appendix table found: no header row with the appendix's columns")
    top, bottom = h, h
    while top > 0 and top > h - 3 and _label_fragment(lines[top - 1].text):
        top -= 1
    while bottom + 1 < len(lines) and bottom < h + 3 and _label_fragment(lines[bottom + 1].text):
        bottom += 1
    header = lines[top : bottom + 1]
    repeated = {line.text.strip() for line in header}
    body = _body([line for line in lines[bottom + 1 :] if line.text.strip() not in repeated])
    spans = _columns(header, body)
    if not body:
        raise BadInput("the appendix table has a header but no task rows")
    return _rows(body, spans)


def _body(lines: list[Line]) -> list[Line]:
    """The table's lines: up to the signature block, without page numbers."""
    out: list[Line] = []
    for line in lines:
        if _AFTER_TABLE.match(line.text):
            break
        indent = len(line.text) - len(line.text.lstrip())
        if _NUMBER.match(line.text.strip()) and indent > 10:
            continue  # a page number, away from the "Stt" column
        out.append(line)
    while out and not out[-1].text:
        out.pop()
    return out


Span = tuple[int, int, Column | None]


def _columns(header: list[Line], body: list[Line]) -> list[Span]:
    """The columns' character ranges (from the body's lines), named by the header's words."""
    ranges = _split_by_labels(_ranges(body), header)
    words: list[list[str]] = [[] for _ in ranges]
    for line in header:
        previous: tuple[int, int] | None = None  # (end of the last word, its range)
        for m in re.finditer(r"\S+", line.text):
            k = _range_of(ranges, m.start(), m.end(), previous)
            words[k].append(m.group())
            previous = (m.end(), k)
    spans: list[Span] = []
    for (start, end), label in zip(ranges, words, strict=True):
        col = column_of(" ".join(label))
        if col is None and spans:  # an unnamed stretch belongs to the column on its left
            s, _, c = spans[-1]
            spans[-1] = (s, end, c)
        else:
            spans.append((start, end, col))
    found = [c for *_, c in spans]
    if not is_header(found):
        wanted = " / ".join(c.value for c in REQUIRED)
        raise BadInput(f"the header's columns could not be told apart (need {wanted})")
    return spans


def _split_by_labels(ranges: list[tuple[int, int]], header: list[Line]) -> list[tuple[int, int]]:
    """Split a range under which the header names two columns (their text ran together)."""
    starts = sorted({x for line in header for x, _ in label_positions(line.text)})
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        inside = [x for x in starts if a <= x < b]
        cuts = [a, *[x for x in inside[1:] if x > a], b] if len(inside) > 1 else [a, b]
        out.extend((x, y) for x, y in pairwise(cuts) if y > x)
    return out


def _ranges(lines: list[Line]) -> list[tuple[int, int]]:
    """Stretches of positions some line uses, split by at least _GAP positions none uses."""
    width = max((len(line.text) for line in lines), default=0)
    used = [False] * width
    for line in lines:
        for x, c in enumerate(line.text):
            if not c.isspace():
                used[x] = True
    ranges: list[tuple[int, int]] = []
    x = 0
    while x < width:
        if not used[x]:
            x += 1
            continue
        start = x
        while True:
            while x < width and used[x]:
                x += 1
            gap_end = x
            while gap_end < width and not used[gap_end]:
                gap_end += 1
            if gap_end < width and gap_end - x < _GAP:
                x = gap_end
                continue
            break
        ranges.append((start, x))
    return ranges or [(0, 1)]


def _range_of(
    ranges: list[tuple[int, int]], start: int, end: int, previous: tuple[int, int] | None
) -> int:
    """The column a header word belongs to: the one it overlaps; else the previous word's
    when it is close (a label justified wide: "Thời   gian   thực"); else the nearest."""
    for k, (a, b) in enumerate(ranges):
        if start < b and end > a:
            return k
    if previous is not None and start - previous[0] <= 4:
        return previous[1]
    return min(
        range(len(ranges)),
        key=lambda k: min(abs(start - ranges[k][1]), abs(ranges[k][0] - end)),
    )


@lru_cache(maxsize=8192)
def _cells(line: Line, starts: tuple[int, ...]) -> tuple[str, ...]:
    """The line's words by column: a word belongs to the column its first letter is in
    (columns run from one's start to the next one's), so a word crossing a border is kept."""
    parts: list[list[str]] = [[] for _ in starts]
    for m in re.finditer(r"\S+", line.text):
        parts[max(bisect_right(starts, m.start()) - 1, 0)].append(m.group())
    return tuple(" ".join(p) for p in parts)


def _cell(line: Line, span: Span, spans: list[Span]) -> str:
    return _cells(line, tuple(s[0] for s in spans))[spans.index(span)]


def _rows(body: list[Line], spans: list[Span]) -> list[Row]:
    number_span = next((s for s in spans if s[2] is Column.NUMBER), None)
    rows: list[Row] = []
    for block in _blocks(body):
        starts = [
            i
            for i, line in enumerate(block)
            if number_span is not None and _NUMBER.match(_cell(line, number_span, spans))
        ]
        if _is_repeated_header(block, spans):
            continue
        if not starts:
            if rows:
                _extend(rows[-1], block, spans)
            continue
        cuts = [0] + [(a + b + 1) // 2 for a, b in pairwise(starts)]
        cuts.append(len(block))
        for k, i in enumerate(starts):
            part = block[cuts[k] : cuts[k + 1]]
            number = _NUMBER.match(_cell(block[i], number_span, spans))  # type: ignore[arg-type]
            row = Row(number[1] if number else "", {}, f"line {part[0].no}")
            _extend(row, part, spans)
            rows.append(row)
    if not rows:
        raise BadInput("the appendix table has a header but no numbered task rows")
    return rows


def _blocks(body: list[Line]) -> list[list[Line]]:
    blocks: list[list[Line]] = [[]]
    for line in body:
        if line.text:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _is_repeated_header(block: list[Line], spans: list[Span]) -> bool:
    labels = [column_of(" ".join(_cell(line, s, spans) for line in block)) for s in spans]
    return is_header(labels)


def _extend(row: Row, lines: list[Line], spans: list[Span]) -> None:
    for span in spans:
        col = span[2]
        if col is None or col is Column.NUMBER:
            continue
        parts = [_cell(line, span, spans) for line in lines]
        text = _join([p for p in parts if p])
        if text:
            old = row.cells.get(col, "")
            row.cells[col] = _join([old, text]) if old else text


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out = out + p if re.search(r"\w-$", out) else f"{out} {p}" if out else p
    return out

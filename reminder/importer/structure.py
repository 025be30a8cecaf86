"""The shape of an appendix: sections, tasks, their sub-items → one `Row` per task.

Rules (issue 21), on the lines a table reader gives (`grid.Line`):

- A section row — a Roman numeral ("I", "II.") in the number column, or one cell across
  the table, or "I. NHIỆM VỤ CHUNG" alone in the content — is no task: its text is the
  `section` of every task under it, until the next one.
- A numbered row (1, 2, 10 000 …) is an item; "2.1", "2.1.3" are sub-items of "2" (and of
  "2.1"); "a)", "b.", "-", "+", "•" (in the number column, or opening the content of a row
  without a number) are sub-items of the item above. A row without number or marker
  continues the item above (Word and PDFs split long rows).
- A sub-item with an agency or a timing of its own is a task, numbered as the appendix
  does: "2.1", "3a" ("a)" under 3), "2.1a"; a "-" item gets its parent's number and its
  place ("2.1") with a remark. It takes the parent's timing or lead when it has none.
- A sub-item with neither stays in its parent's text ("a) …" on a line of its own).
- A parent without agency and timing whose sub-items are tasks is a heading: it is no task,
  and its number and text join the section label of its sub-items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reminder.importer.grid import Line
from reminder.importer.table import Column, Note, Row

_ROMAN = re.compile(r"(?=[ivxlc])(?:x{0,3})(?:ix|iv|v?i{0,3})", re.IGNORECASE)
_SECTION_WORD = re.compile(r"(?:phần|mục|chương)\s+(?P<n>[ivxlc]+|[a-z]|\d+)\b", re.IGNORECASE)
_TOP = re.compile(r"(?P<n>\d+)\.?")
_DOTTED = re.compile(r"(?P<n>\d+(?:\.\d+)+)\.?")
_SUFFIXED = re.compile(r"(?P<n>\d+)(?P<l>[a-zđ])[.)]?", re.IGNORECASE)
_LETTER = re.compile(r"(?P<l>[a-zđ])[.)]?", re.IGNORECASE)
_BULLET = re.compile(r"[-–+•*]")
_LEADING = re.compile(
    r"^(?P<m>(?:\d+(?:\.\d+)+\.?|[a-zđ]\)|[a-zđ]\.(?=\s)|[-–+•*](?=\s)))\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_LEADING_ROMAN = re.compile(r"^(?P<m>[IVXLC]+)\.\s+(?P<rest>\S.*)$", re.DOTALL)
_DOING = (Column.LEAD, Column.TIMING)


@dataclass
class _Item:
    label: str  # the appendix's own number: "2", "2.1", "a", "-"
    kind: str  # "top" | "dotted" | "letter" | "bullet"
    cells: dict[Column, str]
    where: str
    section: str
    children: list[_Item] = field(default_factory=list)
    parent: _Item | None = None
    remarks: list[Note] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)  # markers of the sub-items in its text

    @property
    def acts(self) -> bool:
        """Whether the row names its own lead agency or timing (it is a task)."""
        return any(self.cells.get(c) for c in _DOING)


def _roman(text: str) -> str | None:
    t = text.strip().rstrip(".").strip()
    return t.upper() if t and _ROMAN.fullmatch(t) else None


def _section_of(line: Line) -> str | None:
    """The label of a section row, or None."""
    if line.across:
        return " ".join(line.across.split())
    content = " ".join(line.cells.get(Column.CONTENT, "").split())
    others = [c for c in line.cells if c is not Column.CONTENT and line.cells[c]]
    roman = _roman(line.number) if line.number else None
    if roman is not None and not any(c in others for c in _DOING):
        return f"{roman}. {content}".strip(". ") if content else roman
    heads = _LEADING_ROMAN.match(content) or _SECTION_WORD.match(content)
    if not line.number and not others and heads:
        return content
    number = " ".join(line.number.split())
    whole = _LEADING_ROMAN.match(number) or _SECTION_WORD.match(number)
    if whole and not others:  # "II. NHIỆM VỤ CỤ THỂ" written in the number column
        return f"{number} {content}".strip()
    return None


def _marker(line: Line) -> tuple[str, str, str] | None:
    """(kind, label, content without its marker) for a numbered or marked line."""
    number = line.number.strip()
    content = line.cells.get(Column.CONTENT, "")
    if number:
        for kind, pattern in (("dotted", _DOTTED), ("top", _TOP)):
            if (m := pattern.fullmatch(number)) is not None:
                return kind, m["n"], content
        if (m := _SUFFIXED.fullmatch(number)) is not None:
            return "suffixed", f"{m['n']}{m['l'].lower()}", content
        if (m := _LETTER.fullmatch(number)) is not None:
            return "letter", m["l"].lower(), content
        if _BULLET.fullmatch(number):
            return "bullet", "-", content
        return "odd", number, content
    if (m := _LEADING.match(content.strip())) is not None:
        mark, rest = m["m"], m["rest"]
        if _DOTTED.fullmatch(mark):
            return "dotted", mark.rstrip("."), rest
        if _BULLET.fullmatch(mark):
            return "bullet", "-", rest
        return "letter", mark[0].lower(), rest
    return None


def structure(lines: list[Line]) -> list[Row]:
    """Task rows, in the appendix's order, from the lines of its table."""
    tops: list[_Item] = []
    last: _Item | None = None
    section = ""
    by_label: dict[str, _Item] = {}
    for line in lines:
        label = _section_of(line)
        if label is not None:
            section, last = label, None
            continue
        marked = _marker(line)
        if marked is None:
            if last is None:  # text before the first item: an item of its own
                last = _Item("", "top", dict(line.cells), line.where, section)
                tops.append(last)
            else:
                _continue(last, line)
            continue
        kind, mark, content = marked
        cells = dict(line.cells)
        if content:
            cells[Column.CONTENT] = content
        else:
            cells.pop(Column.CONTENT, None)
        item = _Item(mark, kind, cells, line.where, section)
        parent = _parent_of(item, last, by_label)
        if parent is None:
            if kind not in ("top", "odd"):
                mark_text = line.number or mark
                item.remarks.append(
                    Note("orphan", f'"{mark_text}" with no item above it', mark=mark_text)
                )
            tops.append(item)
        else:
            item.parent = parent
            parent.children.append(item)
        if kind in ("top", "dotted", "suffixed", "odd"):
            by_label[mark] = item
        last = item
    rows: list[Row] = []
    for top in tops:
        _emit(top, rows)
    return rows


def _parent_of(item: _Item, last: _Item | None, by_label: dict[str, _Item]) -> _Item | None:
    if item.kind in ("top", "odd"):
        return None
    if item.kind == "dotted":
        head = item.label.rsplit(".", 1)[0]
        while head:
            if head in by_label:
                return by_label[head]
            head = head.rsplit(".", 1)[0] if "." in head else ""
        return None
    if item.kind == "suffixed":
        return by_label.get(re.sub(r"\D+$", "", item.label))
    # a letter or a bullet: under the latest numbered item (a bullet also under a letter)
    node = last
    while node is not None and node.kind in ("letter", "bullet"):
        if item.kind == "bullet" and node.kind == "letter":
            return node
        node = node.parent
    return node


def _continue(item: _Item, line: Line) -> None:
    """A row without number or marker: its own text is appended to the item above."""
    for col in line.own or frozenset(line.cells):
        text = line.cells.get(col, "")
        if text:
            item.cells[col] = f"{item.cells[col]}\n{text}" if item.cells.get(col) else text


def _label(item: _Item, parent_label: str, index: int) -> tuple[str, Note | None]:
    """The task number of a sub-item that is a task, and a remark when it is made up."""
    if item.kind in ("top", "dotted", "suffixed", "odd"):
        return item.label, None
    if item.kind == "letter":
        return f"{parent_label}{item.label}", None
    made = f"{parent_label}.{index}"
    return made, Note(
        "bullet_numbered", f'numbered {made}: the appendix marks this item with "-"', number=made
    )


def _emit(item: _Item, rows: list[Row], heading: str = "", parent: _Item | None = None) -> None:
    """The rows of one item and its sub-items (depth first, the appendix's order)."""
    text_only = [c for c in item.children if not _is_task(c)]
    tasks = [c for c in item.children if _is_task(c)]
    for child in text_only:
        _fold_into(item, child)
    label = item.label
    section = item.section
    if heading:
        section = f"{section} › {heading}" if section else heading
    is_heading = not item.acts and bool(tasks)
    if not is_heading:
        rows.append(_row(item, section, parent))
    sub_heading = heading
    if is_heading:
        words = " ".join(item.cells.get(Column.CONTENT, "").split())
        own = f"{label}. {words}" if label and words else (words or label)
        sub_heading = f"{heading} › {own}" if heading else own
    bullets = 0
    for child in tasks:
        bullets += child.kind == "bullet"
        number, remark = _label(child, label, bullets)
        child.label = number
        if remark:
            child.remarks.append(remark)
        for col, name in ((Column.TIMING, "timing"), (Column.LEAD, "lead agency")):
            if not child.cells.get(col) and item.cells.get(col):
                child.cells[col] = item.cells[col]
                child.remarks.append(
                    Note(
                        f"inherited_{name.split()[-1]}",
                        f"the {name} is its parent's ({label})",
                        parent=label,
                    )
                )
        _emit(child, rows, sub_heading, None if is_heading else item)


def _is_task(item: _Item) -> bool:
    return item.acts or any(_is_task(c) for c in item.children)


def _fold_into(parent: _Item, child: _Item) -> None:
    """A text-only sub-item (and its own text-only sub-items) joins its parent's text,
    inline after a colon: "Đào tạo cán bộ: a) trong nước; b) ở nước ngoài"."""
    for grand in child.children:
        _fold_into(child, grand)
    mark = {"letter": f"{child.label})", "bullet": "-"}.get(child.kind, child.label)
    for col, text in child.cells.items():
        if not text:
            continue
        if col is Column.CONTENT:
            text = f"{mark} {' '.join(text.split())}"
        before = parent.cells.get(col, "").rstrip()
        if not before:
            parent.cells[col] = text
        elif col is Column.CONTENT and not parent.folded and not before.endswith((":", ";")):
            parent.cells[col] = f"{before.rstrip('.,')}: {text}"
        else:
            parent.cells[col] = f"{before} {text}"
        if col is Column.CONTENT:
            parent.folded.append(mark)


def _row(item: _Item, section: str, parent: _Item | None) -> Row:
    info = list(item.remarks)
    if item.folded:
        marks = ", ".join(item.folded)
        info.append(
            Note("folded", f"its sub-items {marks} (text only) are part of its text", marks=marks)
        )
    if parent is not None:
        info.append(Note("sub_item", f"a sub-item of task {parent.label}", parent=parent.label))
    return Row(item.label, item.cells, item.where, [], section=section, info=info)

"""What every reader produces: the appendix's columns and its rows, before interpretation.

A reader (`docx`, `text`, `layout`) finds the table by its header row and returns `Row`s
whose cells are keyed by `Column`; `tasks` turns them into tasks. The header labels seen
in practice are recognised here, in one place.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum


class BadInput(Exception):
    """The file holds no appendix we can read: one line for the user, exit 65."""


class Note(str):
    """A remark on an imported task, in English (as `str`), with its `kind` and `args` so
    that the written file can say it in Vietnamese (templates/import.toml [notes])."""

    kind: str
    args: dict[str, object]

    def __new__(cls, kind: str, english: str, **args: object) -> Note:
        note = super().__new__(cls, english)
        note.kind, note.args = kind, args
        return note


class Column(Enum):
    """The columns of a task appendix ("Stt", "Nội dung nhiệm vụ", …)."""

    NUMBER = "number"
    CONTENT = "content"
    TIMING = "timing"
    LEAD = "lead"
    SUPPORT = "support"
    PRODUCT = "product"
    NOTE = "note"


REQUIRED = (Column.CONTENT, Column.TIMING, Column.LEAD)

# Order matters: "Đơn vị chủ trì thực hiện" is the lead column, not the timing one.
_LABELS = (
    (Column.LEAD, r"(?:(?:đơn vị|cơ quan) )?chủ trì(?: thực hiện)?|(?:đơn vị|cơ quan) thực hiện"),
    (Column.SUPPORT, r"(?:(?:đơn vị|cơ quan) )?phối hợp(?: thực hiện)?"),
    (
        Column.TIMING,
        r"thời (?:gian|hạn)(?: (?:thực hiện|hoàn thành))?(?:/hoàn thành)?|tiến độ(?: (?:thực hiện|hoàn thành))?",
    ),
    (
        Column.CONTENT,
        r"(?:nội dung|tên)(?: (?:nhiệm vụ|công việc|đề án|hoạt động))?(?:, giải pháp)?(?: cụ thể)?"
        r"|nhiệm vụ(?:, giải pháp)?(?: cụ thể)?",
    ),
    (
        Column.PRODUCT,
        r"(?:dự kiến )?(?:sản phẩm|kết quả)(?: (?:đầu ra|dự kiến|đạt được|cần đạt|chủ yếu))?"
        r"|hình thức (?:văn bản|sản phẩm)",
    ),
    (Column.NOTE, r"ghi chú"),
    (Column.NUMBER, r"stt|tt|số tt|số thứ tự"),
)
_ANY_LABEL = re.compile(
    "|".join(rf"(?P<{col.value}>(?<!\w)(?:{pattern})(?!\w))" for col, pattern in _LABELS)
)


_SPREAD_LABEL = re.compile(_ANY_LABEL.pattern.replace(" ", r"\s+"))


def label_positions(line: str) -> list[tuple[int, Column]]:
    """Where labels start in one laid-out line (words may be spread by several spaces)."""
    folded = unicodedata.normalize("NFC", line).casefold()
    out = []
    for m in _SPREAD_LABEL.finditer(folded):
        out.append((m.start(), Column(next(k for k, v in m.groupdict().items() if v is not None))))
    return out


def fold(text: str) -> str:
    """NFC, case-folded, one space between words: how labels and names are compared."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def column_of(label: str) -> Column | None:
    """The column a header cell names ("Cơ quan chủ trì" → LEAD), or None."""
    text = re.sub(r"\(\d{1,2}\)|\s*/\s*", lambda m: "/" if "/" in m[0] else "", fold(label))
    text = " ".join(text.split()).strip(" .:*")
    for col, pattern in _LABELS:
        if re.fullmatch(pattern, text):
            return col
    return None


def labels_in(text: str) -> list[tuple[int, int, Column]]:
    """The header labels found in running text, as (start, end, column), left to right."""
    found = []
    for m in _ANY_LABEL.finditer(fold(text)):
        col = Column(next(k for k, v in m.groupdict().items() if v is not None))
        found.append((m.start(), m.end(), col))
    return found


def is_header(columns: list[Column | None]) -> bool:
    """Whether a row of recognised labels is an appendix header (content, timing, lead)."""
    return all(col in columns for col in REQUIRED)


@dataclass
class Row:
    """One task as the table gives it: raw cell text per column, and what the reader noticed."""

    number: str
    cells: dict[Column, str]
    where: str  # "row 4" / "line 57": for the comments and messages
    notes: list[Note] = field(default_factory=list)  # what to check
    section: str = ""  # "I. NHIỆM VỤ CHUNG", and the heading row above a sub-item
    info: list[Note] = field(default_factory=list)  # plain remarks, nothing to check

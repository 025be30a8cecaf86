"""What a person types to the bot, read into a command (pure; no I/O).

Chats without buttons (Zalo, or a Telegram message typed by hand) answer in words. People
write with or without diacritics, in NFC or NFD (some phones send decomposed Vietnamese),
in any case, with a trailing full stop or "ạ". Recognised:

- done:   "xong 3", "Xong nhiệm vụ 3", "đã xong NV 3", "da hoan thanh 3", "hoàn thành 3",
          "3 xong", "3 đã hoàn thành", with a plan: "xong kh45/3" (task "<plan>/<number>",
          numbers such as "2.1" for a sub-item)
- undo:   "huỷ 3", "hủy 3", "huy xong 3", "hoàn tác 3"
- status: "trạng thái", "tt", "tình hình", "/trangthai"
- link:   a one-time link code (24 URL-safe characters, case kept), alone or after
          "/start", "mã" or "liên kết"
- help:   anything else
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["done", "undo", "status", "link", "help"]

CODE = re.compile(r"^(?:/start(?:@\S+)?\s+|(?:mã|ma|liên kết|lien ket|lienket)\s*:?\s+)?"
                  r"([A-Za-z0-9_-]{24})$", re.IGNORECASE)  # fmt: skip
_REF = r"(?P<ref>(?:[a-z0-9][a-z0-9_-]*/)?\d+(?:\.\d+)*)"
_TASK = r"(?:(?:nhiem vu|nv|viec|cong viec|so)\s*(?:so\s*)?)?#?"
_DONE = r"(?:da\s+)?(?:xong|hoan thanh|hoan tat|ht)"
_UNDO = r"(?:huy(?:\s+bo)?|hoan tac|bo)(?:\s+(?:xong|hoan thanh))?"
_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("done", re.compile(rf"^{_DONE}\s+{_TASK}\s*{_REF}$")),
    ("done", re.compile(rf"^{_TASK}\s*{_REF}\s+{_DONE}$")),
    ("undo", re.compile(rf"^{_UNDO}\s+{_TASK}\s*{_REF}$")),
    ("status", re.compile(r"^(?:/?trang\s*thai|tt|tinh hinh|/status)(?:@\S+)?$")),
)
_POLITE = re.compile(r"(?:\s+(?:a|nhe|nha|roi))+$")


@dataclass(frozen=True, slots=True)
class Said:
    """A message read: what it asks, the task it names ("3", "kh45/3"), the code it holds."""

    kind: Kind
    ref: str = ""
    code: str = ""


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d), spaces collapsed, end punctuation off."""
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("đ", "d").replace("Đ", "D").lower()
    plain = re.sub(r"[\s\u00a0]+", " ", plain).strip()
    return plain.strip(" .!,;:?")


def read(text: str) -> Said:
    """The command in `text` (see the module docstring)."""
    raw = unicodedata.normalize("NFC", text).strip()
    if found := CODE.match(raw):
        return Said("link", code=found.group(1))
    words = _POLITE.sub("", fold(raw)).strip(" .!,;:?")
    for kind, pattern in _PATTERNS:
        if found := pattern.match(words):
            ref = found.groupdict().get("ref") or ""
            return Said(kind, ref=ref)
    return Said("help")

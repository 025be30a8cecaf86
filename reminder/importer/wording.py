"""The Vietnamese wording an import writes where the appendix says nothing (assumed
milestone names, a placeholder plan, task notes), read from `templates/import.toml`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Wording:
    milestones: dict[str, str]  # yearly, period, triggered, assigned
    plan_title: str
    plan_issuer: str
    note_plan: str  # "{title}"
    note_product: str  # "{product}"
    file: dict[str, str]  # the comments atop the written file
    notes: dict[str, str]  # a task's remarks by kind (`table.Note`)
    where: dict[str, str]  # "table", "row" … in Vietnamese

    def place(self, where: str) -> str:
        """ "table 1, row 3" → "bảng 1, dòng 3"."""
        return re.sub(r"[a-z]+", lambda m: self.where.get(m[0], m[0]), where)

    def say(self, note: str) -> str:
        """A remark in Vietnamese (English when its kind has no wording)."""
        kind = getattr(note, "kind", None)
        text = self.notes.get(kind) if kind else None
        if text is None:
            return str(note)
        try:
            return text.format(**getattr(note, "args", {}))
        except (KeyError, IndexError):
            return str(note)


def read_wording(path: Path) -> Wording:
    """The wording file; KeyError/OSError/TOMLDecodeError if it is not as shipped."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    milestones = {
        k: str(data["milestones"][k]) for k in ("yearly", "period", "triggered", "assigned")
    }
    return Wording(
        milestones=milestones,
        plan_title=str(data["plan"]["title"]),
        plan_issuer=str(data["plan"]["issuer"]),
        note_plan=str(data["note"]["plan"]),
        note_product=str(data["note"]["product"]),
        file={k: str(v) for k, v in data["file"].items()},
        notes={k: str(v) for k, v in data["notes"].items()},
        where={k: str(v) for k, v in data["where"].items()},
    )

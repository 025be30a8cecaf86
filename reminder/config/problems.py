"""Configuration problems: one line each, naming the file, the line, the key and what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reminder.config.locate import Path as KeyPath
from reminder.config.locate import key_lines, line_of


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning about the configuration."""

    file: Path
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used. `problems` holds one line per error."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class Collector:
    """Gathers problems against one file, turning key paths into lines and readable keys."""

    def __init__(
        self, file: Path, lines: dict[KeyPath, int] | str, data: dict[str, object]
    ) -> None:
        """`lines`: the key paths' lines, or the file's text to find them in when a problem
        is first reported (a file without problems is never scanned)."""
        self.file = file
        self._lines = lines
        self.data = data
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    @property
    def lines(self) -> dict[KeyPath, int]:
        """The line of each key path of the file."""
        if isinstance(self._lines, str):
            self._lines = key_lines(self._lines)
        return self._lines

    def error(self, path: KeyPath, message: str) -> None:
        self.errors.append(self._problem(path, message))

    def warn(self, path: KeyPath, message: str) -> None:
        self.warnings.append(self._problem(path, message))

    def _problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, line_of(path, self.lines), readable_key(path, self.data), message)


def readable_key(path: KeyPath, data: object) -> str:
    """('tasks', 3, 'milestones', 0, 'due') → 'tasks[nv04].milestones[bao-cao].due'.

    Array items are named by their `id` when they have one, else by 1-based position
    (#2), because TOML files have no indices an ops reader could count.
    """
    out = ""
    node: object = data
    for part in path:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            if not ident and isinstance(item, dict):  # a plan file's task: its number
                ident = item.get("number")
            out += f"[{ident}]" if isinstance(ident, str) and ident else f"[#{part + 1}]"
            node = item
        else:
            out += ("." if out else "") + part
            node = node.get(part) if isinstance(node, dict) else None
    return out

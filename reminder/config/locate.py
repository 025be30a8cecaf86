"""Find the line of a key path in TOML text (tomllib reports no positions for values).

A small line scanner that understands table headers ([a.b], [[a]]), dotted keys and the
array-of-tables counters. It is used only to point an error at a line; when a path cannot
be found, the closest enclosing key or table that can is used.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"))*)\s*="
)


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip('"') for p in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", dotted)]


def key_lines(text: str) -> dict[Path, int]:
    """Map each key path found in `text` to its 1-based line number."""
    lines: dict[Path, int] = {}
    counts: dict[Path, int] = {}
    current: Path = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
            in_multiline = not in_multiline
            if in_multiline:
                m = _KEY.match(line)
                if m:
                    lines.setdefault((*current, *_parts(m.group(1))), number)
            continue
        if in_multiline:
            continue
        header = _HEADER.match(line)
        if header:
            current = _resolve(header.group(1) == "[[", _parts(header.group(2)), counts)
            lines.setdefault(current, number)
            continue
        m = _KEY.match(line)
        if m:
            lines.setdefault((*current, *_parts(m.group(1))), number)
    return lines


def _resolve(is_array: bool, names: list[str], counts: dict[Path, int]) -> Path:
    """Turn a header's dotted names into a path with array indices (0-based)."""
    path: Path = ()
    for i, name in enumerate(names):
        path = (*path, name)
        last = i == len(names) - 1
        if last and is_array:
            index = counts.get(path, -1) + 1
            counts[path] = index
            path = (*path, index)
        elif path in counts:  # an enclosing array of tables: its latest element
            path = (*path, counts[path])
    return path


def line_of(path: Path, lines: dict[Path, int]) -> int | None:
    """The line of `path`, or of its longest prefix that has one."""
    for end in range(len(path), 0, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return None

"""Find the line of a key path in TOML text (tomllib reports no positions for values).

A small line scanner that understands table headers ([a.b], [[a]]), dotted keys and the
array-of-tables counters. It is used only to point an error at a line; when a path cannot
be found, the closest enclosing key or table that can is used.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_SIMPLE = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"  # bare, "basic" or 'literal' key
_KEY = re.compile(rf"^\s*({_SIMPLE}(?:\s*\.\s*{_SIMPLE})*)\s*=")


def _parts(dotted: str) -> list[str]:
    return [p[1:-1] if p[0] in "\"'" else p for p in re.findall(_SIMPLE, dotted)]


def _open_string(line: str, open_: str | None) -> str | None:
    """The multi-line string delimiter (three double or single quotes) open after `line`.

    `open_` is the one open at its start. Comments and one-line strings are skipped, so
    three quotes inside a comment or inside a "string" do not open anything.
    """
    i, n = 0, len(line)
    while i < n:
        if open_ is not None:
            if open_ == '"""' and line[i] == "\\":
                i += 2
            elif line.startswith(open_, i):
                i += 3
                while i < n and line[i] == open_[0]:  # up to two quotes end the content
                    i += 1
                open_ = None
            else:
                i += 1
        elif line[i] == "#":
            break
        elif line.startswith('"""', i) or line.startswith("'''", i):
            open_, i = line[i : i + 3], i + 3
        elif line[i] == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
        elif line[i] == "'":
            end = line.find("'", i + 1)
            i = n if end < 0 else end + 1
        else:
            i += 1
    return open_


def key_lines(text: str) -> dict[Path, int]:
    """Map each key path found in `text` to its 1-based line number."""
    lines: dict[Path, int] = {}
    counts: dict[Path, int] = {}
    current: Path = ()
    open_: str | None = None  # the multi-line string we are inside, if any
    for number, line in enumerate(text.splitlines(), start=1):
        inside = open_ is not None
        open_ = _open_string(line, open_)
        if inside:  # the line starts inside a multi-line string: it is text, not TOML
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
    """The line of `path`, or of its longest prefix that has one.

    An array of tables (`[[delivery]]`) where one table belongs is found at its first item.
    """
    for end in range(len(path), 0, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return lines.get((*path, 0)) if path else None


def deepest_line(text: str) -> tuple[int, int]:
    """(line, depth) of the first line where arrays and inline tables nest deepest.

    Brackets inside strings and comments are skipped; a table header (`[a]`, `[[a]]`) opens
    and closes on its own line, so it never raises the depth left after it.
    """
    depth, best, best_line = 0, 0, 1
    quote: str | None = None  # the string delimiter we are inside, if any
    number = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            number += 1
            if quote in ('"', "'"):  # a one-line string cannot span lines
                quote = None
        elif quote is not None:
            if quote[0] == '"' and c == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote) - 1
        elif c in "[{":
            depth += 1
            if depth > best:
                best, best_line = depth, number
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return best_line, best

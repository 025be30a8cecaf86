"""Plain text cut into numbered messages for a chat that takes at most `limit` characters
(Zalo: 2,000 per message).

A text that fits goes as it is. A longer one is cut between items (blank lines) where it
can, else between lines, else between words; never inside a word or a link (a run of
characters without white space) unless that single word is itself longer than a message,
which no template writes. Each part then starts with its number, "(1/3)", on a line of its
own, and still fits the limit. Lengths are counted in UTF-16 code units (an emoji counts
two), the stricter of the ways a server may count.
"""

from __future__ import annotations

from collections.abc import Callable

SEPARATORS = ("\n\n", "\n", " ")


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_plain(text: str, limit: int) -> list[str]:
    """The parts of `text` (see the module docstring); [] for a blank text."""
    if limit < 40:
        raise ValueError("limit too small")
    text = text.strip()
    if not text:
        return []
    if units(text) <= limit:
        return [text]
    # Room for the number line: "(nn/nn)\n" grows with the count of parts, so try the
    # widest label that the count could need and cut again if the count outgrows it.
    width = 6
    while True:
        room = limit - (2 * width + 4)
        parts = [p.strip() for p in _split(text, SEPARATORS, room)]
        parts = [p for p in parts if p]
        if len(str(len(parts))) <= width:
            break
        width += 1
    n = len(parts)
    return [f"({i}/{n})\n{part}" for i, part in enumerate(parts, 1)]


def _split(text: str, seps: tuple[str, ...], limit: int) -> list[str]:
    return pack(text, seps, limit, pieces=str.split, hard_cut=_hard_cut)


def pack(
    text: str,
    seps: tuple[str, ...],
    limit: int,
    *,
    pieces: Callable[[str, str], list[str]],
    hard_cut: Callable[[str, int], list[str]],
) -> list[str]:
    """`text` in runs of at most `limit` UTF-16 units: the `pieces` between the first
    separator packed greedily, a piece still too long cut again at the next separator, and
    one longer than `limit` with no separator left cut by `hard_cut`. Telegram's HTML
    splitter uses it too, with its own pieces (spaces outside tags) and hard cut."""
    if units(text) <= limit:
        return [text]
    if not seps:
        return hard_cut(text, limit)
    sep, rest = seps[0], seps[1:]
    out: list[str] = []
    current: str | None = None
    size = 0
    for piece in pieces(text, sep):
        n = units(piece)
        if n > limit:
            if current is not None:
                out.append(current)
                current = None
            out.extend(pack(piece, rest, limit, pieces=pieces, hard_cut=hard_cut))
        elif current is None:
            current, size = piece, n
        elif size + len(sep) + n <= limit:
            current, size = current + sep + piece, size + len(sep) + n
        else:
            out.append(current)
            current, size = piece, n
    if current is not None:
        out.append(current)
    return out


def _hard_cut(word: str, limit: int) -> list[str]:
    """A single word longer than a message: cut by code points, never inside a surrogate
    pair's character."""
    out: list[str] = []
    chunk: list[str] = []
    used = 0
    for ch in word:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > limit:
            out.append("".join(chunk))
            chunk, used = [], 0
        chunk.append(ch)
        used += width
    if chunk:
        out.append("".join(chunk))
    return out

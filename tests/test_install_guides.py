"""docs/install.md and docs/install.vi.md stay in step; the uninstall section leaves nothing
unsaid (issue 24 items 3 and 6).

The two guides are compared section by section: the same headings (numbered alike), the same
code blocks of every kind (sh, toml, nginx; comments, which are translated, left out), and
in the prose the same inline code, the same numbers and the same shape (paragraphs, list
items, table rows). A sentence added to one guide only shows as a missing `code` span, a
number or a paragraph. Placeholders that are translated on purpose are listed in PLACEHOLDERS.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
# English placeholder → its Vietnamese, inside inline code (a reader types their own value)
PLACEHOLDERS = {
    "YOUR-ADDRESS": "ĐỊA-CHỈ-CỦA-BẠN",
    "YOUR-CHAT-ID": "MÃ-CHAT-CỦA-BẠN",
    "<the same address>": "<chính địa chỉ đó>",
    "<why>": "<lý do>",
}
FENCE = re.compile(r"^\s*(```|~~~)")


def sections(name: str) -> list[tuple[str, list[str]]]:
    """(heading, its lines) for each heading of docs/`name`, the text before the first
    heading left out; a `#` inside a code block is not a heading."""
    out: list[tuple[str, list[str]]] = []
    fenced = False
    for line in (DOCS / name).read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out


def blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(language, lines without comments) of each fenced block."""
    found: list[tuple[str, list[str]]] = []
    language: str | None = None
    body: list[str] = []
    for line in lines:
        if FENCE.match(line):
            if language is None:
                language, body = FENCE.sub("", line).strip(), []
            else:
                found.append((language, body))
                language = None
            continue
        if language is not None:
            code = re.sub(r"(^|\s+)#\s.*$", "", line).rstrip()
            if code.strip():
                body.append(code)
    return found


def prose(lines: list[str]) -> str:
    """The section's text outside code blocks, on one line."""
    kept, fenced = [], False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            kept.append(line.strip())
    return " ".join(kept)


def spans(text: str) -> Counter[str]:
    """The inline `code` of the text."""
    return Counter(re.findall(r"`([^`]+)`", text))


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def numbers(text: str) -> Counter[str]:
    """The numbers of the text outside inline code; a decimal comma read as a point, an
    English month name as its number ("June 2025" ↔ "tháng 6/2025")."""
    plain = re.sub(r"`[^`]+`", " ", text)
    for n, month in enumerate(MONTHS, start=1):
        plain = re.sub(rf"\b{month}\b", str(n), plain)
    return Counter(n.replace(",", ".") for n in re.findall(r"\b\d+(?:[.,]\d+)?\b", plain))


def shape(lines: list[str]) -> tuple[int, int, int]:
    """(paragraphs, list items, table rows) outside code blocks."""
    paragraphs = items = rows = 0
    previous, fenced = "", False
    for raw in lines:
        line = raw.strip()
        if FENCE.match(raw):
            fenced = not fenced
            previous = "```"
            continue
        if fenced:
            continue
        if re.match(r"^(\d+\.|-|\*) ", line):
            items += 1
        elif line.startswith("|"):
            rows += 1
        elif line and not previous:
            paragraphs += 1
        previous = line
    return paragraphs, items, rows


def english_spans(text: str) -> Counter[str]:
    """spans(), the placeholders put in Vietnamese."""
    translated = Counter[str]()
    for span, n in spans(text).items():
        for en, vi in PLACEHOLDERS.items():
            span = span.replace(en, vi)
        translated[span] += n
    return translated


EN, VI = sections("install.md"), sections("install.vi.md")
PAIRS = list(zip(EN, VI, strict=False))


def test_the_guides_have_the_same_sections() -> None:
    """Same number of sections, same levels and numbers (## 11a. ↔ ## 11a.)."""

    def mark(heading: str) -> str:
        level, _, title = heading.partition(" ")
        number = re.match(r"\d+[a-z]?\.", title)
        return f"{level} {number.group(0) if number else ''}"

    assert [mark(h) for h, _ in VI] == [mark(h) for h, _ in EN]


@pytest.mark.parametrize(("en", "vi"), PAIRS, ids=[h for (h, _), _ in PAIRS])
def test_each_section_says_the_same(en: tuple[str, list[str]], vi: tuple[str, list[str]]) -> None:
    """The same code blocks, inline code, numbers and shape in both languages."""
    (heading, en_lines), (_, vi_lines) = en, vi
    assert blocks(vi_lines) == blocks(en_lines), f"{heading}: code blocks differ"
    en_text, vi_text = prose(en_lines), prose(vi_lines)
    wanted, found = english_spans(en_text), spans(vi_text)
    assert found == wanted, (
        f"{heading}: only in English {dict(wanted - found)}; only in Vietnamese "
        f"{dict(found - wanted)}"
    )
    assert numbers(vi_text) == numbers(en_text), heading
    assert shape(vi_lines) == shape(en_lines), f"{heading}: (paragraphs, items, rows)"


def test_the_comparison_sees_a_sentence_left_out() -> None:
    """Dropping one sentence with code from the Vietnamese is caught (the check can fail)."""
    heading, lines = next((h, ls) for h, ls in VI if h.startswith("## 6."))
    english = next(ls for h, ls in EN if h.startswith("## 6."))
    cut = [re.sub(r"`history`[^.;]*", "", line) for line in english]
    assert english_spans(prose(cut)) != english_spans(prose(english))
    assert spans(prose(lines)) == english_spans(prose(english)), heading


def uninstall_section(name: str) -> str:
    """The text of the guide's uninstall section."""
    return "\n".join(next(ls for h, ls in sections(name) if h.startswith("## 18.")))


def installed_paths(name: str) -> set[str]:
    """The files and folders the guide's install steps (sections 2 to 9) create."""
    made: set[str] = set()
    for heading, lines in sections(name):
        number = re.match(r"## (\d+)\.", heading)
        if not number or not 2 <= int(number.group(1)) <= 9:
            continue
        for _language, body in blocks(lines):
            for line in body:
                for pattern in (
                    r"git clone \S+ (/\S+)",
                    r"-m venv (/\S+)",
                    r"cat > (/\S+)",
                    r"^install (?:-\S+ )*(?:\S+ )?(/\S+)$",
                ):
                    made.update(m.group(1) for m in re.finditer(pattern, line))
    return made


@pytest.mark.parametrize("guide", ["install.md", "install.vi.md"])
def test_uninstall_removes_what_the_install_made_and_its_caches(guide: str) -> None:
    """Every path the install steps create is removed (itself or a parent folder), and so
    are uv's, pip's and reminder's caches under /root/.cache, or the guide says they stay."""
    text = uninstall_section(guide)
    made = installed_paths(guide)
    assert {"/opt/reminder", "/opt/uv", "/etc/reminder"} <= made
    for path in sorted(made):
        parents = [str(p) for p in [Path(path), *Path(path).parents]][:-1]
        assert any(p in text for p in parents), f"{guide}: uninstall leaves {path}"
    assert "uv cache clean" in text
    for cache in ("/root/.cache/uv", "/root/.cache/pip", "/root/.cache/reminder"):
        assert cache in text, f"{guide}: says nothing of {cache}"
    for kept in ("/root/backup", "/etc/cron.daily/reminder-backup", "nginx"):
        assert kept in text, f"{guide}: says nothing of {kept}"

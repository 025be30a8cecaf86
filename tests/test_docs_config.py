"""docs/config.md quotes what `check` says about the shipped config.toml and its plan file
plans/ke-hoach.toml, line numbers included.

The examples are re-made here from the shipped file (and, for the error and ended-period
examples, from the edits the text describes), so an edit of config.toml that moves lines
(or plans/ke-hoach.toml) fails this test until the docs follow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import shipped_variant

from reminder.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
SHIPPED = ROOT / "config.toml"
FIX = "config.toml or plans/ke-hoach.toml moved: update the line numbers docs/config.md quotes to what check says now"
TASK1_ASSUMED = 'assumed = true\nlead = "so-noi-vu"\nsupport = ["truong-chinh-tri"'


def quoted(prefix: str) -> list[str]:
    """The lines of docs/config.md (inside code blocks or backticks) that start with `prefix`."""
    pattern = rf"^\s*`?({re.escape(prefix)}.*?)`?$"
    return [m.group(1) for m in re.finditer(pattern, DOC, re.M)]


def said(path: Path) -> list[str]:
    """What `check` prints as warnings for `path`, run in its folder (`check` names the
    files relative to it: config.toml, plans/ke-hoach.toml)."""
    return [f"warning: {w}".replace(f"{path.parent}/", "") for w in load(path).warnings]


def test_quoted_warnings_are_the_shipped_files() -> None:
    """Each quoted "warning: config.toml:N: …" about a group is what check says, line included."""
    real = said(SHIPPED)
    groups = [q for q in quoted("warning: config.toml:") if "groups[" in q]
    assert groups
    for line in groups:
        assert line in real, f"docs/config.md quotes {line!r}; check says {real}: {FIX}"


def test_quoted_assumed_warning_matches() -> None:
    """The abbreviated assumed-dates warning has the real count, first and last items."""
    [doc] = quoted("warning: plans/ke-hoach.toml: assumed:")
    [real] = [w for w in said(SHIPPED) if "assumed:" in w]
    head, _, tail = doc.partition(", …, ")
    assert real.startswith(head) and real.endswith(tail), f"{doc!r} vs {real!r}: {FIX}"


def test_quoted_ended_period_warning(tmp_path: Path) -> None:
    """The ended-period example is what check says of task 1 without its assumption."""
    path = shipped_variant(
        tmp_path, (TASK1_ASSUMED, TASK1_ASSUMED.removeprefix("assumed = true\n"))
    )
    [doc] = [q for q in quoted("warning: plans/ke-hoach.toml:") if "names a period" in q]
    assert doc in said(path), f"{doc!r} vs {said(path)}: {FIX}"


def test_quoted_errors_are_what_check_says(tmp_path: Path) -> None:
    """The two unknown ids of "Checking a file" are reported together, at those lines."""
    path = shipped_variant(
        tmp_path,
        (
            'lead = "so-noi-vu"\nsupport = ["truong-chinh-tri"',
            'lead = "so-noivu"\nsupport = ["truong-chinh-tri"',
        ),
        (
            '"ubnd-huyen", "to-chuc-lien-quan"]\n\n[[tasks.milestones]]\nid = "tham-muu-von"',
            '"ubnd-huyen", "to-chuc-lien-quanx"]\n\n[[tasks.milestones]]\nid = "tham-muu-von"',
        ),
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    real = [f"error: {p}".replace(str(path.parent), "/etc/reminder") for p in info.value.problems]
    assert quoted("error: /etc/reminder/") == real, FIX

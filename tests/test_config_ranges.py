"""Every number in config.toml has a range, and a value outside it is one line, exit 78.

The keys are found by walking the schema (reminder.config.schema) from its root table, so a
numeric key added later is covered without touching this file. Each is written into a copy
of the shipped config.toml (a task's key: of its plan file, plans/ke-hoach.toml) with 0, -1, 1e308, inf, nan and 2**63: a value outside the key's
range gives exactly one problem, naming the file, the line written and the key; a value
inside it loads, and the durations made from it (retry waits, lease, catch-up window) can be
computed, so that neither `check` nor `run` can end in "internal error: OverflowError".
"""

from __future__ import annotations

import math
import os
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import SHIPPED_CONFIG, SHIPPED_PLAN, copy_shipped

from reminder.cli import main
from reminder.config import ConfigError, load
from reminder.config.schema import Config
from reminder.config.shape import Limits, Table, fields_of

VALUES = ("0", "-1", "1e308", "inf", "nan", str(2**63))


@dataclass(frozen=True)
class NumericKey:
    """A numeric key: the table it is in (as a TOML header), its name, its kind and limits."""

    table: tuple[str, ...]
    name: str
    kind: type  # int or float
    limits: Limits
    in_list: bool  # a list of numbers: the limits are each item's

    @property
    def dotted(self) -> str:
        """The key as written in a header path, e.g. delivery.lease_minutes."""
        return ".".join((*self.table, self.name))


def numeric_keys(cls: type = Config, table: tuple[str, ...] = ()) -> list[NumericKey]:
    """Every int/float key (or list of them) reachable from `cls`, tables of lists included."""
    found: list[NumericKey] = []
    for f in fields_of(cls):
        kind = f.kind
        if typing.get_origin(kind) is list:
            item = typing.get_args(kind)[0]
            if isinstance(item, type) and issubclass(item, Table):
                found += numeric_keys(item, (*table, f.toml))
            elif item in (int, float):
                found.append(NumericKey(table, f.toml, item, f.key.each, in_list=True))
        elif isinstance(kind, type) and issubclass(kind, Table):
            found += numeric_keys(kind, (*table, f.toml))
        elif kind in (int, float):
            found.append(NumericKey(table, f.toml, kind, f.key.limits, in_list=False))
    return found


KEYS = numeric_keys()


def within(k: NumericKey, literal: str) -> bool:
    """Whether the TOML number `literal` is a valid value of `k` by its type and limits."""
    number = float(literal)
    if math.isnan(number) or (k.kind is int and not re.fullmatch(r"-?\d+", literal)):
        return False
    lim = k.limits
    return (
        (lim.le is None or number <= lim.le)
        and (lim.ge is None or number >= lim.ge)
        and (lim.gt is None or number > lim.gt)
    )


def _headers(text: str, header: str) -> list[int]:
    """Line indexes of `[header]` or `[[header]]` (a trailing comment allowed)."""
    rx = re.compile(rf"^\[\[?{re.escape(header)}\]\]?\s*(#.*)?$")
    return [i for i, line in enumerate(text.splitlines()) if rx.match(line)]


def with_value(k: NumericKey, literal: str) -> tuple[str, str, int]:
    """The shipped file that holds `k` (config.toml, or plans/ke-hoach.toml for a task's key),
    as a path relative to the config's folder; its text with `k` set to `literal` in the first
    table of its kind (the table added when the shipped file has none); and the 1-based line
    of the key."""
    source = SHIPPED_PLAN if k.table[0] == "tasks" else SHIPPED_CONFIG
    name = source.relative_to(SHIPPED_CONFIG.parent).as_posix()
    lines = source.read_text(encoding="utf-8").splitlines()
    value = f"[{literal}]" if k.in_list else literal
    header = ".".join(k.table)
    found = _headers("\n".join(lines), header)
    if found:
        start = found[0]
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines)
        )
        rx = re.compile(rf"^{re.escape(k.name)}\s*=")
        at = next((i for i in range(start + 1, end) if rx.match(lines[i])), None)
        if at is None:
            at = start + 1
            lines.insert(at, f"{k.name} = {value}")
        else:
            lines[at] = f"{k.name} = {value}"
        return name, "\n".join(lines) + "\n", at + 1
    # A table the shipped file leaves out ([web], a task's own ladder): added, inside the
    # first task when it belongs to tasks, with the ladder's one required key.
    block = [f"[{header}]"]
    if k.table[-1] in ("lead", "support") and k.name != "before":
        block.append("before = [1]")
    block.append(f"{k.name} = {value}")
    if k.table[0] == "tasks":
        second = _headers("\n".join(lines), "tasks")[1]
        lines[second:second] = [*block, ""]
        return name, "\n".join(lines) + "\n", second + len(block)
    lines += ["", *block]
    return name, "\n".join(lines) + "\n", len(lines)


def written(folder: Path, k: NumericKey, literal: str) -> tuple[Path, Path, int]:
    """The shipped config and plans copied into `folder` with `k` set to `literal`: (config.toml,
    the file edited, the key's line in it)."""
    config = copy_shipped(folder)
    name, text, line = with_value(k, literal)
    edited = folder / name
    edited.write_text(text, encoding="utf-8")
    return config, edited, line


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REMINDER_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def test_the_walk_finds_the_numeric_keys() -> None:
    """The schema walk reaches keys at every depth: top tables, nested tables, lists of tables."""
    dotted = {k.dotted for k in KEYS}
    assert {
        "delivery.lease_minutes",
        "delivery.retry_max_seconds",
        "channels.email.smtp.port",
        "tasks.milestones.due_day",
        "tasks.reminders.lead.before",
        "escalation.after",
        "web.link_days_after_deadline",
    } <= dotted
    assert len(KEYS) >= 25


@pytest.mark.parametrize("k", KEYS, ids=lambda k: k.dotted)
def test_every_numeric_key_has_a_range(k: NumericKey) -> None:
    """Each numeric key declares an upper bound and a lower bound: no number is unlimited."""
    lim = k.limits
    assert lim.le is not None, f"{k.dotted}: no upper bound (key(..., le=…))"
    assert lim.ge is not None or lim.gt is not None, f"{k.dotted}: no lower bound"
    assert lim.le < 1e15, f"{k.dotted}: upper bound {lim.le} is not a range"


@pytest.mark.parametrize("literal", VALUES)
@pytest.mark.parametrize("k", KEYS, ids=lambda k: k.dotted)
def test_extreme_numbers_are_one_line_or_work(
    tmp_path: Path, k: NumericKey, literal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """0, -1, 1e308, inf, nan, 2**63 on a numeric key: one problem at its line and `check`
    exits 78 with that line, or it loads."""
    config, path, line = written(tmp_path, k, literal)
    try:
        settings = load(config)
    except ConfigError as exc:
        ours = [p for p in exc.problems if p.line == line]
        if within(k, literal):  # a valid number may still clash with another key (crosscheck)
            assert all("should be" not in p.message for p in ours), exc.problems
            return
        assert len(ours) == 1, exc.problems
        problem = ours[0]
        assert re.sub(r"\[[^]]*\]", "", problem.key) == k.dotted, problem
        shown = str(problem)
        assert shown.startswith(f"{path}:{line}: ") and "\n" not in shown
        assert "should be" in problem.message or "expected" in problem.message, shown
        assert main(["--config", str(config), "check"]) == 78
        errors = [e for e in capsys.readouterr().err.splitlines() if e.startswith("error: ")]
        assert [e for e in errors if e.startswith(f"error: {path}:{line}: ")] == [f"error: {shown}"]
        return
    assert within(k, literal), f"{k.dotted} = {literal} was accepted"
    # What the daemon derives from the numbers must be computable too.
    from reminder.dispatch import Dispatcher

    backoff = Dispatcher.backoff
    holder = type("Holder", (), {"settings": settings})()
    for attempts in (1, 2, 30, 100, 10_000):
        assert backoff(holder, attempts) <= settings.retry.maximum
    assert backoff(holder, 3, 1e300) > settings.retry.maximum


@pytest.mark.parametrize(
    ("key", "literal"),
    [
        ("lease_minutes", "1e308"),
        ("lease_minutes", "inf"),
        ("retry_max_seconds", "1e300"),
        ("retry_initial_seconds", "1e300"),
    ],
)
@pytest.mark.parametrize("command", [["check"], ["run", "--once"]])
def test_the_issues_numbers_exit_78_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, literal: str, command: list[str]
) -> None:
    """`check` and `run --once` with the numbers of issue 24 exit 78, naming file, line, key."""
    k = next(k for k in KEYS if k.dotted == f"delivery.{key}")
    path, _, line = written(tmp_path, k, literal)
    assert main(["--config", str(path), *command]) == 78
    errors = [e for e in capsys.readouterr().err.splitlines() if e.startswith("error: ")]
    assert errors == [
        f"error: {path}:{line}: delivery.{key}: Input should be less than or equal to "
        f"{k.limits.le} (got {float(literal)!r})"
    ]

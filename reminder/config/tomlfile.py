"""Reading a TOML file of the configuration (config.toml or a plan file): UTF-8 without
BOM, NFC, and a syntax error as one problem with its line."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path

from reminder.config.locate import deepest_line
from reminder.config.problems import ConfigError, Problem


def read_text(file: Path) -> str:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [Problem(file, None, "", f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [Problem(file, line, "", "not valid UTF-8 text (save the file as UTF-8)")]
        ) from None
    return unicodedata.normalize("NFC", text.removeprefix("\ufeff"))


def parse_toml(file: Path, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per level of nesting
        deepest, depth = deepest_line(text)
        raise ConfigError(
            [
                Problem(
                    file,
                    deepest,
                    "",
                    f"arrays or inline tables nested {depth} levels deep: too deep to read",
                )
            ]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        col = f" (column {m.group(2)})" if m else " (at the end of the file)"
        hint = _syntax_hint(text, line)
        raise ConfigError(
            [Problem(file, line, "", f"TOML syntax error: {reason}{col}{hint}")]
        ) from None


def _syntax_hint(text: str, line: int | None) -> str:
    """A hint for the commonest slip: a time or a day/month written without quotes."""
    lines = text.splitlines()
    if line is None or not 0 < line <= len(lines):
        return ""
    _, eq, value = lines[line - 1].partition("=")
    value = value.split("#", 1)[0]
    if eq and not {'"', "'"} & set(value) and re.search(r"\d{1,2}[:/]\d{1,2}", value):
        return '; times and days go in quotes, e.g. send_time = "08:00", due = "15/12"'
    return ""

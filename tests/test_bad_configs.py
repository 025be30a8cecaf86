"""The bad-config corpus: each file in tests/bad_configs/ holds exactly one mistake.

Every file states in its header what `reminder check` must say about it:

    # expect-line: 49                          the line of the error (omitted: no line)
    # expect-key: tasks[nv01].lead             the key path as printed (omitted: no key)
    # expect-text: unknown agency or group id  text of that same error line (repeatable)
    # expect-count: 2                          how many errors in all (default 1)

All files go through the real command in-process (`reminder.cli.main`, with capsys); a
sample of them, and the missing-file case, also go through `python -m reminder` in a
subprocess with a clean environment, as ops would run it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from reminder.cli import main
from reminder.config import ConfigError, load
from reminder.exitcodes import EX_CONFIG

CORPUS = Path(__file__).parent / "bad_configs"
FILES = sorted(CORPUS.glob("[0-9][0-9]-*.toml"))
BASE = CORPUS / "_base.toml"
_DIRECTIVE = re.compile(r"^# expect-(line|key|text|count): (.*)$")

# One file per kind of mistake, run as a real process (the rest run in-process).
SUBPROCESS_SAMPLE = (
    "unclosed-string",
    "unknown-table-calendr",
    "date-as-string",
    "unknown-lead",
    "missing-plan",
    "unknown-timing-phrase",
    "group-cycle",
    "smtp-no-password",
    "not-utf8",
    "empty-file",
    "deep-array",
)


@dataclass(frozen=True)
class Expect:
    """What one corpus file says `reminder check` must report."""

    line: int | None
    key: str
    texts: tuple[str, ...]
    count: int

    def prefix(self, file: Path) -> str:
        """The start of the expected error line: "error: FILE:LINE: KEY:"."""
        where = f"{file}:{self.line}" if self.line is not None else f"{file}"
        return f"error: {where}: {self.key}:" if self.key else f"error: {where}: "


def expectations(file: Path) -> Expect:
    """Read the `# expect-…` header (the header is ASCII/UTF-8 even in the non-UTF-8 file)."""
    line, key, texts, count = None, "", [], 1
    for raw in file.read_bytes().split(b"\n"):
        text = raw.decode("utf-8", errors="replace")
        if not text.startswith("#"):
            break
        m = _DIRECTIVE.match(text)
        if text.startswith("# expect") and not m:
            raise AssertionError(f"{file.name}: malformed directive {text!r}")
        if m is None:
            continue
        name, value = m.groups()
        if name == "line":
            line = int(value)
        elif name == "key":
            key = value
        elif name == "text":
            texts.append(value)
        else:
            count = int(value)
    return Expect(line, key, tuple(texts), count)


def clean_env() -> dict[str, str]:
    """The environment without any reminder setting or secret, nor systemd credentials."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REMINDER_") and k != "CREDENTIALS_DIRECTORY"
    }


def assert_reported(file: Path, stderr: str, stdout: str) -> None:
    """stderr holds the expected error line(s), one "error:" per line, then the summary."""
    expect = expectations(file)
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    summary = f"{file}: {expect.count} error(s); nothing was changed."
    assert lines[-1] == summary, stderr
    assert all(line.startswith("error: ") for line in lines[:-1]), stderr
    assert len(lines) - 1 == expect.count, stderr
    matching = [
        line
        for line in lines[:-1]
        if line.startswith(expect.prefix(file)) and all(t in line for t in expect.texts)
    ]
    assert matching, (
        f"no line starts with {expect.prefix(file)!r} and has {expect.texts}:\n{stderr}"
    )


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No REMINDER_* variable and no systemd credentials directory in this process."""
    for name in list(os.environ):
        if name.startswith("REMINDER_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def test_corpus_is_complete() -> None:
    """The corpus has at least 45 numbered files, each stating at least one expected text."""
    assert len(FILES) >= 45
    numbers = [f.name[:2] for f in FILES]
    assert len(set(numbers)) == len(numbers)
    assert set(CORPUS.glob("*.toml")) == {*FILES, BASE}  # no stray, unnumbered case
    for file in FILES:
        assert expectations(file).texts, file.name


def test_base_is_valid(no_secrets: None) -> None:
    """The base every corpus file was made from loads without errors or warnings."""
    settings = load(BASE)
    assert len(settings.catalog.tasks) == 2
    assert settings.warnings == ()


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.stem)
def test_check_reports_the_mistake(
    file: Path, no_secrets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminder check` exits 78 with one "error: file:line: key: message" line per problem."""
    code = main(["--config", str(file), "check"])
    out, err = capsys.readouterr()
    assert code == EX_CONFIG, err
    assert_reported(file, err, out)


@pytest.mark.parametrize("name", SUBPROCESS_SAMPLE)
def test_check_subprocess(name: str) -> None:
    """`python -m reminder check` in a clean environment: exit 78, no traceback, one-line errors."""
    (file,) = [f for f in FILES if f.stem[3:] == name]  # "27-unknown-lead" → "unknown-lead"
    proc = subprocess.run(
        [sys.executable, "-m", "reminder", "--config", str(file), "check"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert proc.returncode == EX_CONFIG, proc.stderr
    assert_reported(file, proc.stderr, proc.stdout)


def test_corpus_in_process_load(no_secrets: None) -> None:
    """`load` raises ConfigError (nothing else) for every corpus file, each problem naming it."""
    for file in FILES:
        with pytest.raises(ConfigError) as info:
            load(file)
        problems = info.value.problems
        assert len(problems) >= 1, file.name
        assert len(problems) == expectations(file).count, [str(p) for p in problems]
        assert all(str(p).startswith(str(file)) for p in problems)


def test_missing_file(tmp_path: Path) -> None:
    """A config path that does not exist: exit 78, one error naming the file and the reason."""
    missing = tmp_path / "khong-co.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "reminder", "--config", str(missing), "check"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert proc.returncode == EX_CONFIG
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: {missing}: cannot read the file: No such file or directory",
        f"{missing}: 1 error(s); nothing was changed.",
    ]


def test_zero_byte_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 0-byte file (and no plans/ beside it) reports that there is no plan."""
    empty = tmp_path / "config.toml"
    empty.write_bytes(b"")
    assert main(["--config", str(empty), "check"]) == EX_CONFIG
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"error: {empty}: plan: no plan: put plan files in {tmp_path / 'plans'} (docs/config.md, "
        "Plan files), or a [plan] and its [[tasks]] in this file",
        f"{empty}: 1 error(s); nothing was changed.",
    ]


def test_directory_as_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder given as the config file is one error, not a traceback."""
    assert main(["--config", str(tmp_path), "check"]) == EX_CONFIG
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {tmp_path}: cannot read the file: ")
    assert "Traceback" not in err

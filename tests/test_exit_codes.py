"""One exit code per mistake, whatever the subcommand (issue 24 item 4; reminder/exitcodes.py,
docs/exitcodes.md): every subcommand is walked with an unknown task, agency, plan, a bad date
and a missing file, wherever it takes one."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_config

from reminder.cli import main
from reminder.commands import COMMANDS
from reminder.exitcodes import (
    EX_CANTCREAT,
    EX_CONFIG,
    EX_DATAERR,
    EX_NOINPUT,
    EX_USAGE,
)

NOW = ("--now", "2026-11-02T09:00:00+07:00")
BAD_NOW = ("--now", "hôm qua")
TASK, AGENCY, PLAN = "nv99", "so-khong-co", "kh-khong-co"

# (subcommand, arguments, exit code, what the one-line error says)
CASES: list[tuple[str, tuple[str, ...], int, str]] = [
    # an unknown task: 65
    ("explain", (TASK, *NOW), EX_DATAERR, f"no task {TASK!r}"),
    ("preview", (TASK, *NOW), EX_DATAERR, f"no task {TASK!r}"),
    ("history", ("--task", TASK), EX_DATAERR, f"no task {TASK!r}"),
    ("retry", ("--task", TASK, *NOW), EX_DATAERR, f"no task {TASK!r}"),
    ("done", (TASK, "2026", *NOW), EX_DATAERR, f"no task {TASK!r}"),
    ("done", ("--list", "--task", TASK), EX_DATAERR, f"no task {TASK!r}"),
    # an unknown agency: 65
    ("upcoming", ("--agency", AGENCY, *NOW), EX_DATAERR, f"no agency or group {AGENCY!r}"),
    ("preview", ("1", "--agency", AGENCY, *NOW), EX_DATAERR, f"no agency or group {AGENCY!r}"),
    ("report", ("--agency", AGENCY, *NOW), EX_DATAERR, f"no agency or group {AGENCY!r}"),
    ("ics", ("--agency", AGENCY, *NOW), EX_DATAERR, f"no agency or group {AGENCY!r}"),
    ("telegram-link", (AGENCY,), EX_DATAERR, f"no agency or group {AGENCY!r}"),
    ("zalo-link", (AGENCY,), EX_DATAERR, f"no agency or group {AGENCY!r}"),
    # an unknown plan: 65
    ("upcoming", ("--plan", PLAN, *NOW), EX_DATAERR, f"no plan {PLAN!r}"),
    ("report", ("--plan", PLAN, *NOW), EX_DATAERR, f"no plan {PLAN!r}"),
    ("plans", ("--archive", PLAN), EX_DATAERR, f"no plan {PLAN!r}"),
    # other unknown names: 65
    ("retry", ("nv01|2026|x", *NOW), EX_DATAERR, "no delivery with key"),
    ("telegram-chats", ("--revoke", "-100999"), EX_DATAERR, "is not linked to an agency"),
    ("send-test", ("email", "khong-phai-dia-chi"), EX_DATAERR, "expected an e-mail address"),
    # a date (or instant) that is not one: 64, from the argument parser
    ("upcoming", BAD_NOW, EX_USAGE, "argument --now: expected an ISO 8601 instant"),
    ("explain", ("1", *BAD_NOW), EX_USAGE, "argument --now"),
    ("preview", ("1", *BAD_NOW), EX_USAGE, "argument --now"),
    ("run", ("--once", *BAD_NOW), EX_USAGE, "argument --now"),
    ("retry", BAD_NOW, EX_USAGE, "argument --now"),
    ("done", ("1", "2026", "--on", "31/02/2026"), EX_USAGE, "argument --on: expected a date"),
    ("report", ("--from", "2026-13-01", "--to", "2026-12-31"), EX_USAGE, "argument --from"),
    ("ics", BAD_NOW, EX_USAGE, "argument --now"),
    ("import", ("phu-luc.docx", *BAD_NOW), EX_USAGE, "argument --now"),
    ("plans", BAD_NOW, EX_USAGE, "argument --now"),
    # a date that is one, but out of range: 65
    ("report", ("--year", "1800"), EX_DATAERR, "--year 1800 is out of range"),
    # an input file that is not there: 66; an output file that cannot be written: 73
    ("import", ("{tmp}/khong-co.docx",), EX_NOINPUT, "khong-co.docx: no such file"),
    ("report", ("-o", "{tmp}/khong-co/bao-cao.html", *NOW), EX_CANTCREAT, "cannot write"),
    ("ics", ("-o", "{tmp}/khong-co/lich.ics", *NOW), EX_CANTCREAT, "cannot write"),
    # the configuration itself missing: 78, for every command that reads it
    ("check", ("--config", "{tmp}/khong-co.toml"), EX_CONFIG, "cannot read the file"),
    ("doctor", ("--config", "{tmp}/khong-co.toml"), EX_CONFIG, "cannot read the file"),
    ("run", ("--config", "{tmp}/khong-co.toml", "--once"), EX_CONFIG, "cannot read the file"),
    ("ledger", ("copy", "--to", "mysql://x@y/z"), EX_USAGE, "--to: expected postgresql"),
]


def test_every_subcommand_is_walked() -> None:
    """The table covers every subcommand `reminder` has (a new one must join it)."""
    assert {case[0] for case in CASES} == set(COMMANDS)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped configuration, its ledger and outbox in a temp folder."""
    return write_config(tmp_path_factory.mktemp("exit"), email="outbox", telegram="outbox")


@pytest.mark.parametrize(
    ("command", "args", "code", "said"), CASES, ids=[f"{c[0]}-{c[3][:24]}" for c in CASES]
)
def test_same_mistake_same_code(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    args: tuple[str, ...],
    code: int,
    said: str,
) -> None:
    """Each mistake exits with its code from the one table, with a one-line error naming it."""
    args = tuple(a.replace("{tmp}", str(tmp_path)) for a in args)
    front = ["--config", args[1]] if args[:1] == ("--config",) else ["--config", str(config)]
    rest = args[2:] if args[:1] == ("--config",) else args
    try:
        got = main([*front, command, *rest])
    except SystemExit as exc:  # argparse
        got = exc.code  # type: ignore[assignment]
    _out, err = capsys.readouterr()
    assert got == code, err
    assert said.replace("{tmp}", str(tmp_path)) in err
    assert "Traceback" not in err


def test_the_docs_table_has_every_code() -> None:
    """docs/exitcodes.md has one row per code of reminder/exitcodes.py, with its name."""
    from reminder import exitcodes

    doc = (Path(__file__).resolve().parents[1] / "docs" / "exitcodes.md").read_text(
        encoding="utf-8"
    )
    codes = {n: v for n, v in vars(exitcodes).items() if n.startswith("EX_")}
    for name, value in codes.items():
        assert f"| {value} | `{name}` |" in doc, name

"""`reminder COMMAND --help` says what the command does and shows examples; `reminder --help`
groups the commands (daily use, records, ops) (issue 24 item 5).

The subcommands are read from the parser itself, so a command added later is covered: it
fails here until reminder/clihelp.py gives it a group and examples. Every example is parsed
by the real parser, so an example cannot name an option that does not exist.
"""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from reminder import cli
from reminder.clihelp import EXAMPLES, GROUPS


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBCOMMANDS = sorted(_subcommands())


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        cli.main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_says_what_it_does_with_examples(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminder NAME --help`: one line of what it does after the usage, then 1–2 examples."""
    text = _help([name], capsys)
    blocks = text.split("\n\n")
    assert blocks[0].startswith(f"usage: reminder {name}")
    what = blocks[1].strip()
    assert what and "\n" not in what and not what.startswith(("options:", "positional")), text
    examples = re.search(r"^examples:\n((?:  .+\n?)+)", text, flags=re.M)
    assert examples, f"{name}: no examples in its --help (add them in reminder/clihelp.py)"
    lines = [line.strip() for line in examples.group(1).splitlines()]
    assert 1 <= len(lines) <= 2
    assert all(line.startswith("reminder ") and f" {name}" in line for line in lines), lines


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_example_parses(name: str) -> None:
    """Each example is a valid command line: the parser takes it as NAME's."""
    for example in EXAMPLES[name]:
        args = cli._parser().parse_args(shlex.split(example)[1:])
        assert args.command == name, example


def test_top_level_help_groups_every_command_once(capsys: pytest.CaptureFixture[str]) -> None:
    """`reminder --help` lists daily use, records and ops, each command once, none ungrouped."""
    text = _help([], capsys)
    titles = [title for title, _names in GROUPS]
    assert titles == ["daily use", "records", "ops"]
    heads = [line[:-1] for line in text.splitlines() if re.fullmatch(r"[a-z ]+:", line)]
    assert heads == ["options", *titles], text
    listed = re.findall(r"^  ([a-z][a-z-]+)  ", text, flags=re.M)
    assert sorted(listed) == SUBCOMMANDS, text
    assert "other:" not in text
    assert "{check,upcoming" not in text  # argparse's flat choice list is replaced


def test_examples_are_checked_only_for_known_commands() -> None:
    """The help table names no command twice and only commands the parser has (or `plans`,
    which i20-plans adds)."""
    grouped = [n for _title, names in GROUPS for n in names]
    assert len(grouped) == len(set(grouped))
    assert set(EXAMPLES) == set(grouped)
    assert set(grouped) - set(SUBCOMMANDS) <= {"plans"}

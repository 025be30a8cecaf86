"""What `reminder --help` and `reminder COMMAND --help` say beyond the options.

Each subcommand's help shows the one line of what it does (its `help=` in reminder/cli.py) as
its description and one or two examples; the top-level help lists the commands in three
groups: daily use, records, ops. A command added to cli.py without an entry here is listed
under "other" and has no examples: tests/test_cli_help.py fails until it gets them.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from typing import Any

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("daily use", ("upcoming", "explain", "preview", "done", "report")),
    ("records", ("history", "retry", "ics", "import", "plans")),
    (
        "ops",
        (
            "run",
            "check",
            "doctor",
            "send-test",
            "telegram-chats",
            "telegram-link",
            "zalo-link",
            "ledger",
        ),
    ),
)

EXAMPLES: dict[str, tuple[str, ...]] = {
    "upcoming": (
        "reminder upcoming --days 60",
        "reminder upcoming --agency so-noi-vu --json",
    ),
    "explain": ("reminder explain 9", "reminder explain nv09 --years 3"),
    "preview": (
        "reminder preview 1 --channel email",
        "reminder preview 1 --agency so-tai-chinh --channel telegram",
    ),
    "done": (
        "reminder done 1 2026",
        'reminder done 1 2026 bao-cao --on 2026-11-20 --ref "Báo cáo số 12/BC-SNV"',
    ),
    "report": (
        "reminder report --year 2026",
        "reminder report --year 2026 --format html -o baocao.html",
    ),
    "history": ("reminder history --limit 20", "reminder history --status gave_up --task 9"),
    "retry": ("reminder retry --gave-up", "reminder retry --task 9"),
    "ics": ("reminder ics --agency so-noi-vu -o so-noi-vu.ics",),
    "import": (
        "reminder import phu-luc.docx --merge config.toml",
        "reminder import phu-luc.pdf -o tasks.toml",
    ),
    "plans": ("reminder plans", "reminder plans --json"),
    "run": ("reminder run", "reminder run --once --now 2026-12-01T08:00:00+07:00"),
    "check": ("reminder check", "reminder --config /etc/reminder/config.toml check"),
    "doctor": ("reminder doctor",),
    "send-test": (
        "reminder send-test email vanthu@tinh.example",
        "reminder send-test telegram -1001234567890",
    ),
    "telegram-chats": ("reminder telegram-chats", "reminder telegram-chats --linked"),
    "telegram-link": ("reminder telegram-link so-noi-vu",),
    "zalo-link": ("reminder zalo-link so-noi-vu",),
    "ledger": ("reminder ledger copy --to postgresql+psycopg://reminder@db/reminder",),
}


def describe(parser: argparse.ArgumentParser, sub: argparse._SubParsersAction[Any]) -> None:
    """Give each subcommand its description and examples, and the top level its groups."""
    lines = {a.dest: a.help or "" for a in sub._choices_actions}
    for name, command in sub.choices.items():
        command.description = lines.get(name, "")
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        examples = EXAMPLES.get(name, ())
        if examples:
            command.epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.usage = "reminder [-h] [--config CONFIG] [--log-level LEVEL] [--version] COMMAND ..."
    parser.epilog = _grouped(lines) + "\n\n`reminder COMMAND --help`: its options and examples."
    sub.help = argparse.SUPPRESS  # the groups above replace argparse's one flat list


def _grouped(lines: dict[str, str]) -> str:
    """The commands under their group headings, one line each."""
    placed = {name for _group, names in GROUPS for name in names}
    groups = [*GROUPS, ("other", tuple(n for n in lines if n not in placed))]
    width = max(len(n) for n in lines) + 4
    columns = max(shutil.get_terminal_size().columns - 2, 60)
    out: list[str] = []
    for title, names in groups:
        present = [n for n in names if n in lines]
        if present:
            out.append(f"{title}:")
            for n in present:
                text = textwrap.wrap(lines[n], columns - width) or [""]
                out.append(f"  {n:<{width - 2}}{text[0]}")
                out += [" " * width + more for more in text[1:]]
            out.append("")
    return "\n".join(out).rstrip()

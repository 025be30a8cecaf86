"""The `reminder` command: argument parsing, and errors turned into exit codes.

The commands live in reminder/commands/ (one module per family), the exit codes in
reminder/exitcodes.py (sysexits; one table for every subcommand).
Heavy libraries (the database, Telegram) are imported only by the
commands that need them, so `check` and `upcoming` stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import NoReturn

from reminder.clihelp import describe
from reminder.exitcodes import EX_CONFIG, EX_OK, EX_SOFTWARE, EX_USAGE, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="reminder",
        description="Nhắc hạn: deadline reminders for the tasks of a provincial plan.",
    )
    p.add_argument(
        "--config",
        default=os.environ.get("REMINDER_CONFIG", "config.toml"),
        help="the configuration file (default: $REMINDER_CONFIG or ./config.toml)",
    )
    p.add_argument(
        "--log-level",
        default=os.environ.get("REMINDER_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging detail (default INFO)",
    )
    p.add_argument(
        "--version", action=_Version, help="print the installed version (it names the commit)"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    sub.add_parser(
        "check", help="validate the configuration and templates; summarise what it plans"
    )

    up = sub.add_parser("upcoming", help="the reminders due in the next days: when, to whom, why")
    _now_arg(up)
    up.add_argument(
        "--days", type=_positive_int, default=30, help="how many days ahead (default 30)"
    )
    up.add_argument("--agency", help="only reminders to this agency id (or sent on its behalf)")
    up.add_argument("--plan", help="only the tasks of this plan id (see `reminder plans`)")
    up.add_argument("--json", action="store_true", help="a JSON array instead of a table")

    ex = sub.add_parser(
        "explain", help="one task's occurrences, deadlines, reasons and reminder ladder"
    )
    ex.add_argument("task", help="task id or number (e.g. nv09 or 9)")
    _now_arg(ex)
    ex.add_argument(
        "--years", type=_positive_int, default=2, help="how many years ahead (default 2)"
    )

    run = sub.add_parser("run", help="run the daemon; with --once, send what is due and exit")
    run.add_argument(
        "--once", action="store_true", help="send what is due at --now (or now), then exit"
    )
    _now_arg(run)

    pv = sub.add_parser(
        "preview",
        help="print the message the daemon will send for a task's next reminder (the whole "
        "digest to that address)",
    )
    pv.add_argument("task", help="task id or number")
    pv.add_argument("--agency", help="the receiving agency id (default: the lead's next reminder)")
    pv.add_argument(
        "--channel", choices=["email", "telegram", "zalo"], help="which channel's message"
    )
    _now_arg(pv)

    st = sub.add_parser("send-test", help="send a test message, to check credentials and addresses")
    st.add_argument("channel", choices=["email", "telegram", "zalo"])
    st.add_argument("address", help="an e-mail address, a Telegram or a Zalo chat id")

    hi = sub.add_parser("history", help="what was sent, failed, missed or is pending")
    hi.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    hi.add_argument("--limit", type=_positive_int, default=100, help="how many rows (default 100)")
    hi.add_argument(
        "--status",
        choices=["sending", "sent", "failed", "gave_up", "missed"],
        help="only this status",
    )
    hi.add_argument("--task", help="only this task id or number")

    rt = sub.add_parser(
        "retry",
        help="put failed or given-up reminders that are still useful back in the queue",
    )
    rt.add_argument("key", nargs="?", help="one delivery key (see `history --json`)")
    rt.add_argument("--task", help="only this task id or number")
    rt.add_argument("--gave-up", action="store_true", help="only reminders given up")
    _now_arg(rt)

    dn = sub.add_parser(
        "done",
        help="record work as finished (or --undo it, or --list the records): "
        "a finished milestone gets no more reminders",
    )
    dn.add_argument("task", nargs="?", help="task id or number")
    dn.add_argument(
        "occurrence",
        nargs="?",
        help="the occurrence label, e.g. 2026 (see `upcoming` or `explain`)",
    )
    dn.add_argument(
        "milestone", nargs="?", help="only this milestone id (default: the whole occurrence)"
    )
    dn.add_argument("--milestone", dest="milestone_opt", help=argparse.SUPPRESS)
    dn.add_argument(
        "--on",
        type=_parse_date,
        help="the day the work was finished (YYYY-MM-DD or DD/MM/YYYY; default today)",
    )
    dn.add_argument("--by", help="who reports it (default ops:<your user name>)")
    dn.add_argument("--ref", default="", help='the document, e.g. "Báo cáo số 12/BC-SNV"')
    dn.add_argument("--note", default="", help="a note kept with the record")
    dn.add_argument("--undo", action="store_true", help="withdraw the current record")
    dn.add_argument("--list", action="store_true", help="print the history of the records")
    dn.add_argument("--task", dest="list_task", help="with --list: only this task")
    _now_arg(dn)

    rp = sub.add_parser(
        "report",
        help="the status matrix per lead agency (on time, late, overdue …) and overdue list",
    )
    span = rp.add_mutually_exclusive_group()
    span.add_argument(
        "--year", type=_positive_int, help="deadlines in this year (default: --now's year)"
    )
    span.add_argument("--from", dest="first", type=_parse_date, help="deadlines from this day …")
    rp.add_argument("--to", dest="last", type=_parse_date, help="… to this day (with --from)")
    rp.add_argument(
        "--agency", help="only the work of this agency id (a merged one: its successor)"
    )
    rp.add_argument(
        "--format",
        choices=["table", "csv", "html", "json", "docx", "xlsx"],
        default="table",
        help="table (terminal), csv (for programs), html (print-ready A4), json, "
        "docx (Word, Nghị định 30/2020 form; needs -o), xlsx (Excel; needs -o)",
    )
    rp.add_argument("--output", "-o", help="write to this file instead of standard output")
    rp.add_argument("--plan", help="only the tasks of this plan id (default: the whole office)")
    _now_arg(rp)

    tc = sub.add_parser(
        "telegram-chats", help="list the chats that wrote to the bot or added it (for chat ids)"
    )
    tc.add_argument("--linked", action="store_true", help="the chats linked to an agency")
    tc.add_argument("--revoke", metavar="CHAT", help="unlink this chat from its agency")
    pl = sub.add_parser(
        "plans",
        help="the plans: period, tasks, deadlines on time / late / overdue; --archive ID",
    )
    pl.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    pl.add_argument(
        "--archive",
        metavar="ID",
        help="move the plan's file into plans/archive/: no more reminders, records kept",
    )
    pl.add_argument(
        "--move-inline",
        action="store_true",
        help="move the [plan] and [[tasks]] of config.toml into plans/<id>.toml",
    )
    _now_arg(pl)
    _import_parser(sub)

    sub.add_parser(
        "doctor",
        help="check what `check` cannot: templates, writable ledger/outbox, SMTP login, "
        "Telegram bot and chats, placeholder contacts, clock (exit 1 on a FAIL)",
    )
    _answer_parsers(sub)
    _ledger_parser(sub)
    describe(p, sub)  # descriptions, examples, the grouped list (reminder/clihelp.py)
    return p


def _ledger_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    lg = sub.add_parser("ledger", help="ledger maintenance: copy it into PostgreSQL")
    what = lg.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    cp = what.add_parser(
        "copy",
        help="copy the configured ledger (every table) into an empty PostgreSQL database",
    )
    cp.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql+psycopg://USER@HOST[:PORT]/DB (the password: $REMINDER_DATABASE_PASSWORD, "
        "the credential database_password, ~/.pgpass or $PGPASSWORD; never in the URL)",
    )


def _import_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    im = sub.add_parser(
        "import",
        help="read a plan's task appendix (.docx, PDF, text) into config tasks (docs/import.md)",
    )
    im.add_argument("file", help="the appendix: a .docx, a PDF with text, or a .txt of its text")
    im.add_argument(
        "--from",
        dest="source_format",
        choices=["docx", "text"],
        help="the file's kind (default: from its content; a PDF is read as text)",
    )
    im.add_argument("-o", "--output", help="write the TOML fragment here (default: stdout)")
    im.add_argument("--plan-title", help="the plan the appendix belongs to (kept in each task)")
    im.add_argument(
        "--id",
        dest="plan_id",
        metavar="PLAN",
        help="write a plan file plans/PLAN.toml (numbered as the appendix; -o: elsewhere)",
    )
    im.add_argument(
        "--force", action="store_true", help="replace an existing output file (never the input)"
    )
    im.add_argument(
        "--merge",
        metavar="CONFIG",
        help="write CONFIG merged with the import to a new file beside it, and check it",
    )
    _now_arg(im)  # the year an assumed "every N years" counts from


class _Version(argparse.Action):
    """`--version`: looks the version up only when asked (it costs a few ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> NoReturn:
        from reminder import version

        print(f"reminder {version()}")
        parser.exit(EX_OK)


def _answer_parsers(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The answer-back commands: Telegram and Zalo chat links, calendar files."""
    tl = sub.add_parser(
        "telegram-link", help="print a one-time link that ties a Telegram chat to an agency"
    )
    tl.add_argument("agency", help="the agency id (see config.toml)")
    zl = sub.add_parser(
        "zalo-link", help="print a one-time code that ties a Zalo chat to an agency"
    )
    zl.add_argument("agency", help="the agency id (see config.toml)")
    ic = sub.add_parser("ics", help="write the deadlines as a calendar file (.ics)")
    ic.add_argument("--agency", help="only the tasks this agency leads or supports")
    ic.add_argument(
        "--years",
        type=_positive_int,
        default=2,
        help="deadlines from January of last year to December of this year + N-1 "
        "(default 2: last year, this year and next year)",
    )
    ic.add_argument("-o", "--output", help="the file to write (default: standard output)")
    _now_arg(ic)


def _now_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--now",
        type=_parse_now,
        default=None,
        help="pretend it is this instant (ISO 8601, e.g. 2026-11-26T09:00:00+07:00; "
        "without an offset, Asia/Ho_Chi_Minh)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {value}")
    return value


def _parse_date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(
        f"expected a date such as 2026-11-20 or 20/11/2026, got {text!r}"
    )


def _parse_now(text: str) -> datetime:
    from reminder.model import VN_TZ

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 instant such as 2026-11-26T09:00:00+07:00, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=VN_TZ)


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function of subcommand `name`; only its module is imported."""
    import importlib

    from reminder.commands import COMMANDS

    module, function = COMMANDS[name]
    found: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(f"reminder.commands.{module}"), function
    )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `reminder` console script and `python -m reminder`."""
    args = _parser().parse_args(argv)
    from reminder.config import ConfigError

    try:
        return _command(args.command)(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{args.config}: {len(exc.problems)} error(s); nothing was changed.", file=sys.stderr)
        return EX_CONFIG
    except UsageError as exc:
        print(f"reminder {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EX_OK
    except Exception as exc:
        if args.log_level == "DEBUG":
            raise
        print(
            f"reminder {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(run with --log-level DEBUG for details)",
            file=sys.stderr,
        )
        return EX_SOFTWARE

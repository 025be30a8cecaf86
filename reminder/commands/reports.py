"""Reports: `report` (the status matrix) and `ics` (the deadlines as a calendar file)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from reminder.commands.common import (
    agency_of,
    current_completions,
    ledger_of,
    now_of,
    plan_catalog,
    settings_of,
    write_output,
)
from reminder.exitcodes import (
    EX_CANTCREAT,
    EX_DATAERR,
    EX_OK,
    UsageError,
)

if TYPE_CHECKING:
    pass


BINARY_FORMATS = ("docx", "xlsx")


def report(args: argparse.Namespace) -> int:
    """The status report of a period, in the chosen format."""
    from reminder import report as rpt

    settings = settings_of(args)
    if args.agency:
        agency_of(settings, args.agency)
    catalog = plan_catalog(settings, args.plan)
    now = now_of(args)
    first, last = _report_period(args, now.astimezone(catalog.calendar.timezone).date())
    if args.format in BINARY_FORMATS and not args.output:
        raise UsageError(f"--format {args.format} writes a file: give it with -o FILE")
    completions = current_completions(settings)  # read only: no migration, nothing created
    built = rpt.build(
        catalog, completions, first, last, now, agency=args.agency, office=settings.office
    )
    if args.format == "docx":
        from reminder.reportdocx import docx_bytes

        data = docx_bytes(built, settings.templates_dir)
    elif args.format == "xlsx":
        from reminder.reportxlsx import xlsx_bytes

        data = xlsx_bytes(built, settings.templates_dir)
    elif args.format == "csv":
        data = rpt.csv_bytes(built)
    elif args.format == "html":
        data = rpt.html(built, settings.templates_dir).encode("utf-8")
    elif args.format == "json":
        data = (rpt.json_text(built) + "\n").encode("utf-8")
    else:
        data = (rpt.table(built) + "\n").encode("utf-8")
    if args.output:
        write_output(args.output, data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EX_OK


def _report_period(args: argparse.Namespace, today: date) -> tuple[date, date]:
    if args.first is not None or args.last is not None:
        if args.first is None or args.last is None:
            raise UsageError("--from and --to go together")
        if args.last < args.first:
            raise UsageError(f"--to {args.last} is before --from {args.first}", EX_DATAERR)
        return args.first, args.last
    year = args.year or today.year
    if not 1900 < year < 3000:
        raise UsageError(f"--year {year} is out of range", EX_DATAERR)
    return date(year, 1, 1), date(year, 12, 31)


def ics(args: argparse.Namespace) -> int:
    """Write the calendar (.ics) of an agency's deadlines, or of all tasks."""

    from reminder.feed import build_feed
    from reminder.links import Links

    settings = settings_of(args)
    if args.agency:
        agency_of(settings, args.agency)
    ledger = ledger_of(settings)
    try:
        body = build_feed(settings, ledger, now_of(args), agency=args.agency, years=args.years)
    finally:
        ledger.close()
    if args.output in (None, "-"):
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        try:
            Path(args.output).write_bytes(body)
        except OSError as exc:
            raise UsageError(
                f"cannot write {args.output}: {exc.strerror or exc}", EX_CANTCREAT
            ) from None
    web = settings.web
    if args.agency and web is not None and web.public_url:
        key = Links(web.secret).feed_key(args.agency)
        print(
            f"subscription address: {web.public_url}/lich/{args.agency}.ics?k={key}",
            file=sys.stderr,
        )
    return EX_OK

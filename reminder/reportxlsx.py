"""`reminder report --format xlsx`: the report as an Excel workbook that opens right on a
Vietnamese Windows (where a CSV's ";" list separator and "," decimal mark split it wrong).

Typed cells: counts and days are numbers, deadlines and days finished are dates (shown
dd/mm/yyyy), the on-time rate is a fraction shown as a percentage. One sheet per view, each
with its header row frozen and a filter on it: by agency (the matrix and its total), by task
(every item of the report), the overdue list, and the report's particulars. The words
(sheet names, column heads) are in templates/report_parts.txt.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reminder.render import Renderer
from reminder.report import Item, Report, Row, letter, words
from reminder.status import State
from reminder.vnformat import ky

DATE_FORMAT = "dd/mm/yyyy"
RATE_FORMAT = "0.0%"
Cell = str | int | float | date | None


def xlsx_bytes(report: Report, template_dir: Path | None = None) -> bytes:
    """The .xlsx file's bytes."""
    renderer = Renderer(report.catalog, template_dir)
    say = words(renderer)
    names = say("xlsx_sheets").split("|")
    book = Workbook()
    by_agency = book.active
    assert by_agency is not None
    by_agency.title = names[0]
    _fill(
        by_agency,
        [
            *say("xlsx_agency_head_before").split("|"),
            *(s.label for s in State),
            *say("xlsx_agency_head_after").split("|"),
        ],
        [_agency_row(r) for r in [*report.rows, report.total]],
        widths=[34, 18, *(12 for _ in State), 10, 10, 12],
        rate_column=len(State) + 5,
        bold_last=True,
    )
    yes = say("yes")
    _fill(
        book.create_sheet(names[1]),
        say("xlsx_task_head").split("|"),
        [_task_row(report, i, yes) for i in report.items],
        widths=[9, 10, 50, 16, 40, 34, 24, 12, 12, 22, 10, 12, 12, 12, 28],
    )
    _fill(
        book.create_sheet(names[2]),
        say("xlsx_overdue_head").split("|"),
        [_overdue_row(n, i) for n, i in enumerate(report.overdue, 1)],
        widths=[5, 9, 50, 16, 40, 34, 12, 10],
    )
    text = letter(report, renderer)
    values: list[Cell] = [
        f"{text.kind} – {text.summary}",
        report.first,
        report.last,
        report.now.replace(tzinfo=None),
        text.issuer,
    ]
    _fill(
        book.create_sheet(names[3]),
        say("xlsx_info_head").split("|"),
        [[label, v] for label, v in zip(say("xlsx_info").split("|"), values, strict=True)],
        widths=[22, 100],
        filters=False,
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _overdue_row(n: int, i: Item) -> list[Cell]:
    occurrence = ky(i.occurrence)
    title, name, lead = i.task_title, i.milestone_name, i.agency_label
    return [n, i.task_number, title, occurrence, name, lead, i.deadline, i.days]


def _agency_row(r: Row) -> list[Cell]:
    return [
        r.name,
        r.agency or None,
        *(r.counts[s] for s in State),
        r.total,
        r.due,
        r.on_time_rate,
    ]


def _task_row(report: Report, i: Item, yes: str) -> list[Cell]:
    done = i.completion
    tz = report.catalog.calendar.timezone
    return [
        i.task_number,
        i.task_id,
        i.task_title,
        ky(i.occurrence) or None,
        i.milestone_name,
        i.agency_label,
        report.catalog.agencies[i.counted_for].name,
        i.deadline,
        i.nominal,
        i.state.label,
        i.days,
        done.done_on if done else None,
        done.recorded_at.astimezone(tz).date() if done else None,
        yes if i.entered_late else None,
        (done.ref or None) if done else None,
    ]


LINE_POINTS = 15  # one line of 11 pt text


def _heights(sheet: Worksheet, widths: Sequence[int]) -> None:
    """Each row as tall as its longest wrapped text (LibreOffice does not fit rows that
    a file leaves without a height; Excel's own fitting gives the same)."""
    for line in sheet.iter_rows():
        lines = 1
        for cell, width in zip(line, widths, strict=False):
            if isinstance(cell.value, str):
                lines = max(lines, -(-len(cell.value) // max(width - 1, 1)))
        sheet.row_dimensions[line[0].row].height = LINE_POINTS * lines


def _fill(
    sheet: Worksheet,
    head: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    widths: Sequence[int],
    rate_column: int | None = None,
    filters: bool = True,
    bold_last: bool = False,
) -> None:
    """Head in bold (frozen, filtered), then the rows; dates and rates formatted."""
    sheet.append(list(head))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="center")
    for row in rows:
        sheet.append(list(row))
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, date):
                timed = type(cell.value) is not date
                cell.number_format = DATE_FORMAT + (" hh:mm" if timed else "")
            cell.alignment = Alignment(wrap_text=isinstance(cell.value, str), vertical="top")
        if rate_column is not None:
            line[rate_column - 1].number_format = RATE_FORMAT
    _heights(sheet, widths)
    if bold_last and rows:
        for cell in sheet[len(rows) + 1]:
            cell.font = Font(bold=True)
    for n, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "A2"
    if filters:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(head))}{max(len(rows) + 1, 2)}"

"""`reminder report`: the status matrix per lead agency and the overdue list, in four forms.

`build` gathers one `Report` (pure: catalog, completion records, period, `now`); `table`,
`csv_bytes`, `html` and `json_text` write it out. The HTML is a printable A4 report in the
form of an official report, self-contained (inline CSS, an inline SVG chart, no URL), from
the `report.html` template. The JSON fields are documented in docs/status.md and stay
stable: new fields may be added, none renamed or removed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reminder.model import Catalog, Completion
from reminder.render import Renderer
from reminder.status import (
    LABELS,
    Item,
    Row,
    State,
    classify,
    counts_for,
    matrix,
    period_deadlines,
    totals,
)
from reminder.vnformat import ngay, so
from reminder.workdays import WorkCalendar

FORMATS = ("table", "csv", "html", "json")
SCHEMA = "reminder.report/1"
Work = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one report shows. `now` is local (the calendar's zone)."""

    catalog: Catalog
    first: date
    last: date
    now: datetime
    agency: str | None
    items: list[Item]
    rows: list[Row]
    total: Row

    @property
    def overdue(self) -> list[Item]:
        """Overdue items, the longest overdue first."""
        found = [i for i in self.items if i.state is State.OVERDUE]
        return sorted(found, key=lambda i: (-i.days, i.task_number, i.occurrence))

    @property
    def late(self) -> list[Item]:
        """Items finished late, the latest first."""
        found = [i for i in self.items if i.state is State.DONE_LATE]
        return sorted(found, key=lambda i: (-i.days, i.task_number, i.occurrence))


def build(
    catalog: Catalog,
    completions: Mapping[Work, Completion],
    first: date,
    last: date,
    now: datetime,
    *,
    agency: str | None = None,
    cal: WorkCalendar | None = None,
) -> Report:
    """The report of deadlines in [first, last] (and the tasks waiting for a trigger) at
    `now`; with `agency`, only the work counted for it (a merged agency: its successor)."""
    cal = cal or WorkCalendar(catalog.calendar)
    items = classify(catalog, period_deadlines(catalog, first, last, cal), completions, now)
    if agency is not None:
        counted = counts_for(catalog, agency)
        items = [i for i in items if i.counted_for == counted]
    rows = matrix(catalog, items)
    local = now.astimezone(catalog.calendar.timezone)
    return Report(catalog, first, last, local, agency, items, rows, totals(rows))


# -- table ---------------------------------------------------------------------------------

_SHORT = {
    State.DONE_ON_TIME: "Đúng hạn",
    State.DONE_LATE: "Xong, quá hạn",
    State.OVERDUE: "Quá hạn",
    State.IN_PROGRESS: "Đang làm",
    State.WAITING: "Chờ",
}


def rate_text(row: Row) -> str:
    """ "75,0%", or "–" when nothing is due yet."""
    rate = row.on_time_rate
    return "–" if rate is None else f"{so(rate * 100, 1)}%"


def table(report: Report) -> str:
    """A terminal table: the matrix, then the overdue list."""
    head = ["Cơ quan chủ trì", *(_SHORT[s] for s in State), "Tổng", "Tỷ lệ đúng hạn"]
    body = [
        [r.name, *(str(r.counts[s]) for s in State), str(r.total), rate_text(r)]
        for r in [*report.rows, report.total]
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    out = [
        f"Tình hình thực hiện nhiệm vụ, hạn từ {ngay(report.first)} đến {ngay(report.last)}, "
        f"tính đến {report.now:%H:%M} {ngay(report.now.date())}",
        "",
        line(head),
        *(line(cells) for cells in body[:-1]),
        "-" * len(line(head)),
        line(body[-1]),
        "",
    ]
    overdue = report.overdue
    out.append(f"{LABELS[State.OVERDUE]}: {len(overdue)}")
    for i in overdue:
        out.append(
            f"  NV {i.task_number:>2} {i.occurrence:<10} {i.milestone_name} — hạn {ngay(i.deadline or report.last)}, "
            f"quá {i.days} ngày — {i.agency_label}"
        )
    return "\n".join(out)


# -- CSV -----------------------------------------------------------------------------------

MATRIX_HEADER = [
    "Cơ quan chủ trì",
    "Mã",
    *(LABELS[s] for s in State),
    "Tổng số",
    "Tỷ lệ đúng hạn (%)",
]
ITEMS_HEADER = [
    "Nhiệm vụ số",
    "Mã nhiệm vụ",
    "Tên nhiệm vụ",
    "Kỳ",
    "Nội dung",
    "Cơ quan chủ trì",
    "Thời hạn",
    "Tình trạng",
    "Số ngày quá hạn",
    "Ngày hoàn thành",
    "Văn bản",
]


def csv_bytes(report: Report) -> bytes:
    """UTF-8 with a BOM (Excel then reads the Vietnamese right): the matrix, an empty row,
    then every dated item that is overdue or finished late (the days in their own column)."""
    buf = io.StringIO(newline="")
    out = csv.writer(buf)
    out.writerow(MATRIX_HEADER)
    for r in [*report.rows, report.total]:
        rate = "" if r.on_time_rate is None else f"{r.on_time_rate * 100:.1f}"
        out.writerow([r.name, r.agency, *(r.counts[s] for s in State), r.total, rate])
    out.writerow([])
    out.writerow(ITEMS_HEADER)
    for i in [*report.overdue, *report.late]:
        done = i.completion
        out.writerow(
            [
                i.task_number,
                i.task_id,
                i.task_title,
                i.occurrence,
                i.milestone_name,
                i.agency_label,
                ngay(i.deadline) if i.deadline else "",
                i.state.label,
                i.days,
                ngay(done.done_on) if done else "",
                done.ref if done else "",
            ]
        )
    return buf.getvalue().encode("utf-8-sig")


# -- JSON ----------------------------------------------------------------------------------


def _row_json(r: Row) -> dict[str, Any]:
    return {
        "agency": r.agency,
        "name": r.name,
        **{s.value: r.counts[s] for s in State},
        "total": r.total,
        "due": r.due,
        "on_time_rate": None if r.on_time_rate is None else round(r.on_time_rate, 4),
    }


def item_json(i: Item) -> dict[str, Any]:
    """One item with the documented field names (docs/status.md)."""
    done = i.completion
    return {
        "task": i.task_id,
        "number": i.task_number,
        "title": i.task_title,
        "occurrence": i.occurrence,
        "milestone": i.milestone_id,
        "milestone_name": i.milestone_name,
        "agency": i.agency,
        "counted_for": i.counted_for,
        "agency_label": i.agency_label,
        "state": i.state.value,
        "deadline": i.deadline.isoformat() if i.deadline else None,
        "nominal_deadline": i.nominal.isoformat() if i.nominal else None,
        "moved": list(i.moved),
        "days": i.days,
        "done_on": done.done_on.isoformat() if done else None,
        "recorded_at": done.recorded_at.isoformat() if done else None,
        "recorded_by": done.by if done else None,
        "ref": done.ref if done else None,
        "note": done.note if done else None,
    }


def json_text(report: Report) -> str:
    """The report as JSON (schema "reminder.report/1", documented in docs/status.md)."""
    doc = {
        "schema": SCHEMA,
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "now": report.now.isoformat(),
        "agency": report.agency,
        "classes": {s.value: s.label for s in State},
        "agencies": [_row_json(r) for r in report.rows],
        "total": _row_json(report.total),
        "items": [item_json(i) for i in report.items],
    }
    # No indent: json's C encoder (indenting falls back to the pure-Python one, 8× slower
    # on a 1,000-task year); `jq .` pretty-prints it.
    return json.dumps(doc, ensure_ascii=False)


# -- HTML ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the on-time chart, in SVG user units."""

    label: str
    rate: float | None
    y: int
    width: float
    text: str


CHART_LEFT, CHART_WIDTH, BAR_STEP, BAR_HEIGHT = 230, 380, 26, 16


def chart(rows: list[Row]) -> list[Bar]:
    """Horizontal bars of the on-time rate per agency (no bar when nothing is due)."""
    return [
        Bar(
            label=r.name,
            rate=r.on_time_rate,
            y=10 + n * BAR_STEP,
            width=round((r.on_time_rate or 0) * CHART_WIDTH, 1),
            text=rate_text(r),
        )
        for n, r in enumerate(rows)
    ]


def html(report: Report, template_dir: Path | None = None) -> str:
    """The printable report (templates/report.html)."""
    renderer = Renderer(report.catalog, template_dir)
    bars = chart(report.rows)
    return renderer.page(
        "report.html",
        {
            "plan": report.catalog.plan,
            "first": report.first,
            "last": report.last,
            "now": report.now,
            "today": report.now.date(),
            "agency": report.catalog.agencies[report.agency].name if report.agency else None,
            "states": list(State),
            "rows": report.rows,
            "total": report.total,
            "overdue": report.overdue,
            "late": report.late,
            "rate_text": rate_text,
            "bars": bars,
            "chart": {
                "left": CHART_LEFT,
                "width": CHART_WIDTH,
                "height": 20 + len(bars) * BAR_STEP,
                "bar": BAR_HEIGHT,
            },
        },
    )

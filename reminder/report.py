"""`reminder report`: the status matrix per lead agency and the overdue list, as of a date.

`build` gathers one `Report` (pure: catalog, completion records, period, `now`, [office]);
`table`, `csv_bytes`, `html` and `json_text` write it out, and reminder.reportdocx /
reminder.reportxlsx the .docx and .xlsx. The HTML and the .docx share one `Letter` (the
texts of templates/report_parts.txt in the form of Nghị định 30/2020, Phụ lục I); the HTML
is self-contained (inline CSS, an inline SVG chart, no URL), from `report.html`. The JSON fields are documented in docs/status.md and stay
stable: new fields may be added, none renamed or removed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reminder.model import Catalog, Completion, Office, number_key
from reminder.status import (
    LABELS,
    Item,
    Row,
    State,
    by_plan,
    classify,
    counts_for,
    late_plans,
    matrix,
    period_deadlines,
    totals,
)
from reminder.vnformat import ky, nfc, ngay, so
from reminder.workdays import WorkCalendar

if TYPE_CHECKING:  # Jinja (reminder.render) only for the printed forms, not table/CSV/JSON
    from reminder.render import Renderer

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
    office: Office = field(default_factory=Office)

    @property
    def overdue(self) -> list[Item]:
        """Overdue items, the longest overdue first."""
        found = [i for i in self.items if i.state is State.OVERDUE]
        return sorted(found, key=lambda i: (-i.days, number_key(i.task_number), i.occurrence))

    @property
    def late(self) -> list[Item]:
        """Items finished late, the latest first."""
        found = [i for i in self.items if i.state is State.DONE_LATE]
        return sorted(found, key=lambda i: (-i.days, number_key(i.task_number), i.occurrence))

    @property
    def entered_late(self) -> list[Item]:
        """Counted items whose record was entered after `now`, by deadline."""
        return [i for i in self.items if i.entered_late]


def build(
    catalog: Catalog,
    completions: Mapping[Work, Completion],
    first: date,
    last: date,
    now: datetime,
    *,
    agency: str | None = None,
    cal: WorkCalendar | None = None,
    office: Office | None = None,
) -> Report:
    """The report of deadlines in [first, last] (and the tasks waiting for a trigger) as of
    `now`: work finished after `now`'s date is not counted, records entered after `now` are
    flagged. With `agency`, only the work counted for it (a merged agency: its successor)."""
    cal = cal or WorkCalendar(catalog.calendar)
    items = classify(catalog, period_deadlines(catalog, first, last, cal), completions, now)
    if agency is not None:
        counted = counts_for(catalog, agency)
        items = [i for i in items if i.counted_for == counted]
    rows = matrix(catalog, items)
    local = now.astimezone(catalog.calendar.timezone)
    return Report(
        catalog, first, last, local, agency, items, rows, totals(rows), office or Office()
    )


# -- table ---------------------------------------------------------------------------------

_SHORT = {
    State.DONE_ON_TIME: "Đúng hạn",
    State.DONE_LATE: "Xong, quá hạn",
    State.OVERDUE: "Quá hạn",
    State.IN_PROGRESS: "Đang làm",
    State.WAITING: "Chờ",
}


def plan_lines(report: Report) -> list[str]:
    """The office's plans: counts per class, and who is late in each (several plans only)."""
    names = report.catalog.agencies
    out = ["Theo kế hoạch:"]
    for r in by_plan(report.catalog, report.items):
        counts = ", ".join(f"{_SHORT[s].lower()} {r.counts[s]}" for s in State if r.counts[s])
        out.append(f"  {r.plan}: {r.title} — {counts or 'không có hạn trong kỳ'}")
        if r.late:
            late = "; ".join(f"{names[a].name} ({n})" for a, n in r.late.items())
            out.append(f"    chậm, quá hạn: {late}")
    return [*out, ""]


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
    if len(report.catalog.plans) > 1:
        out += plan_lines(report)
    overdue = report.overdue
    several = len(report.catalog.plans) > 1
    out.append(f"{LABELS[State.OVERDUE]}: {len(overdue)}")
    for i in overdue:
        number = f"{i.plan}/{i.task_number}" if several else i.task_number
        out.append(
            f"  NV {number:>2} {ky(i.occurrence):<10} {i.milestone_name} — hạn {ngay(i.deadline or report.last)}, "
            f"quá {i.days} ngày — {i.agency_label}"
        )
    entered = report.entered_late
    if entered:
        out.append(f"Ghi nhận sau thời điểm báo cáo (đã tính): {len(entered)}")
        for i in entered:
            done = i.completion
            at = done.recorded_at.astimezone(report.now.tzinfo).date() if done else report.now
            out.append(
                f"  NV {i.task_number:>2} {ky(i.occurrence):<10} {i.milestone_name} — xong "
                f"{ngay(done.done_on) if done else ''}, ghi nhận {ngay(at)}"
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
        "entered_late": i.entered_late,
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
        "plans": [
            {
                "plan": r.plan,
                "title": r.title,
                **{s.value: r.counts[s] for s in State},
                "late_agencies": r.late,
            }
            for r in by_plan(report.catalog, report.items)
        ],
        "late_in_plans": late_plans(report.items),
        "items": [item_json(i) for i in report.items],
    }
    # No indent: json's C encoder (indenting falls back to the pure-Python one, 8× slower
    # on a 1,000-task year); `jq .` pretty-prints it.
    return json.dumps(doc, ensure_ascii=False)


# -- the letter: the words and cells every printed form shares ---------------------------


@dataclass(frozen=True, slots=True)
class Grid:
    """One table of the printed report: its head and rows as text; `numeric` columns are
    right-aligned, `centred` ones centred."""

    head: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()
    centred: frozenset[int] = frozenset()
    total_row: bool = False  # the last row is the total (bold)
    weights: tuple[int, ...] = ()  # the columns' relative widths

    @property
    def percents(self) -> list[float]:
        """The columns' widths in % of the table's."""
        total = sum(self.weights)
        return [round(100 * w / total, 1) for w in self.weights]


@dataclass(frozen=True, slots=True)
class Letter:
    """The report in the form of Nghị định 30/2020/NĐ-CP, Phụ lục I, as text: the same
    strings go into the .docx and the HTML (templates/report_parts.txt has the words)."""

    parent: str
    issuer: str
    number: str
    nation: str
    motto: str
    date_line: str
    kind: str
    summary: str
    scope: str
    opening: str
    matrix_title: str
    totals: str
    matrix: Grid
    overdue_title: str
    overdue: Grid
    no_overdue: str
    late_title: str
    late: Grid
    entered_late_title: str
    entered_late_intro: str
    entered_late: Grid
    note: str
    recipients_title: str
    recipients: list[str]
    signer_authority: str
    signer_title: str
    signer_name: str


def _deadline(i: Item) -> str:
    if i.deadline is None:
        return ""
    return ngay(i.deadline) + ("*" if i.nominal and i.nominal != i.deadline else "")


def words(renderer: Renderer) -> Callable[..., str]:
    """say(macro, *args): one macro of templates/report_parts.txt, as NFC text."""
    parts = renderer.env.get_template("report_parts.txt").module

    def say(name: str, *args: object) -> str:
        return nfc(str(getattr(parts, name)(*args)).strip())

    return say


def letter(report: Report, renderer: Renderer) -> Letter:
    """The report's texts, from templates/report_parts.txt."""
    say = words(renderer)
    plan, office, now = report.catalog.plan, report.office, report.now

    def head(name: str) -> list[str]:
        return say(name).split("|")

    def task(i: Item) -> str:
        t = report.catalog.task(i.task_id)
        return say("task", i.task_number, ky(i.occurrence), i.task_title, t.product, t.note)

    def local(at: datetime) -> str:
        return ngay(at.astimezone(report.catalog.calendar.timezone).date())

    matrix = Grid(
        [*head("matrix_head_before"), *(s.label for s in State), *head("matrix_head_after")],
        [
            [str(n), r.name, *(so(r.counts[s]) for s in State), so(r.total), rate_text(r)]
            for n, r in enumerate(report.rows, 1)
        ]
        + [
            [
                "",
                say("total_row"),
                *(so(report.total.counts[s]) for s in State),
                so(report.total.total),
                rate_text(report.total),
            ]
        ],
        numeric=frozenset(range(2, 2 + len(State) + 2)),
        centred=frozenset({0}),
        total_row=True,
        weights=(5, 22, *(9 for _ in State), 8, 9),
    )
    overdue = Grid(
        head("overdue_head"),
        [
            [str(n), task(i), i.milestone_name, i.agency_label, _deadline(i), so(i.days)]
            for n, i in enumerate(report.overdue, 1)
        ],
        numeric=frozenset({5}),
        centred=frozenset({0, 4}),
        weights=(5, 36, 20, 18, 15, 10),
    )
    late = Grid(
        head("late_head"),
        [
            [
                str(n),
                task(i) + (f" ({i.completion.ref})" if i.completion and i.completion.ref else ""),
                i.milestone_name,
                i.agency_label,
                _deadline(i),
                ngay(i.completion.done_on) if i.completion else "",
                so(i.days),
            ]
            for n, i in enumerate(report.late, 1)
        ],
        numeric=frozenset({6}),
        centred=frozenset({0, 4, 5}),
        weights=(6, 30, 18, 15, 14, 14, 8),
    )
    entered = Grid(
        head("entered_late_head"),
        [
            [
                str(n),
                task(i),
                i.milestone_name,
                i.agency_label,
                _deadline(i),
                ngay(i.completion.done_on) if i.completion else "",
                local(i.completion.recorded_at) if i.completion else "",
            ]
            for n, i in enumerate(report.entered_late, 1)
        ],
        centred=frozenset({0, 4, 5, 6}),
        weights=(6, 28, 17, 15, 14, 14, 14),
    )
    agency = report.catalog.agencies[report.agency].name if report.agency else None
    plans = list(report.catalog.plans.values())  # several: a whole-office report
    return Letter(
        parent=say("parent", office),
        issuer=say("issuer", office),
        number=say("number", office),
        nation=say("motto_nation"),
        motto=say("motto"),
        date_line=say("date_line", office, now.date()),
        kind=say("kind"),
        summary=(
            say("summary", plan, agency)
            if len(plans) <= 1
            else say("summary_office", len(plans), agency)
        ),
        scope=say("scope", report.first, report.last, now),
        opening=(
            say("opening", office, plan)
            if len(plans) <= 1
            else say("opening_office", office, plans)
        ),
        matrix_title=say("section_matrix"),
        totals=say("totals", report.total, list(State), rate_text(report.total)),
        matrix=matrix,
        overdue_title=say("section_overdue"),
        overdue=overdue,
        no_overdue=say("no_overdue"),
        late_title=say("section_late"),
        late=late,
        entered_late_title=say("section_entered_late"),
        entered_late_intro=say("entered_late_intro", now),
        entered_late=entered,
        note=say("note"),
        recipients_title=say("recipients_title"),
        recipients=[line for line in say("recipients", office).splitlines() if line.strip()],
        signer_authority=say("signer_authority", office),
        signer_title=say("signer_title", office),
        signer_name=say("signer_name", office),
    )


# -- HTML ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the on-time chart, in SVG user units; the label on one or two lines."""

    label: list[str]
    rate: float | None
    y: int
    width: float
    text: str


CHART_LEFT, CHART_WIDTH, BAR_STEP, BAR_HEIGHT, LABEL_CHARS = 250, 360, 34, 16, 34


def _label_lines(name: str) -> list[str]:
    """An agency's name on at most two lines of LABEL_CHARS, cut between words (the second
    line shortened with "…" only when the name needs three)."""
    from reminder.render import rut_gon

    words, lines = name.split(), [""]
    for w in words:
        if lines[-1] and len(lines[-1]) + 1 + len(w) > LABEL_CHARS:
            lines.append("")
        lines[-1] = f"{lines[-1]} {w}".strip()
    if len(lines) > 2:
        lines = [lines[0], rut_gon(" ".join(lines[1:]), LABEL_CHARS)]
    return lines


def chart(rows: list[Row]) -> list[Bar]:
    """Horizontal bars of the on-time rate per agency (no bar when nothing is due)."""
    return [
        Bar(
            label=_label_lines(r.name),
            rate=r.on_time_rate,
            y=10 + n * BAR_STEP,
            width=round((r.on_time_rate or 0) * CHART_WIDTH, 1),
            text=rate_text(r),
        )
        for n, r in enumerate(rows)
    ]


def html(report: Report, template_dir: Path | None = None) -> str:
    """The printable report (templates/report.html): the letter's texts in the decree's
    layout, and the chart."""
    from reminder.render import Renderer

    renderer = Renderer(report.catalog, template_dir)
    bars = chart(report.rows)
    return renderer.page(
        "report.html",
        {
            "letter": letter(report, renderer),
            "today": report.now.date(),
            "bars": bars,
            "chart": {
                "left": CHART_LEFT,
                "width": CHART_WIDTH,
                "height": 20 + len(bars) * BAR_STEP,
                "bar": BAR_HEIGHT,
            },
        },
    )

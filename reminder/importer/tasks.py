"""Rows → tasks: numbers, titles, timing phrases checked, agencies matched or proposed.

Pure: no I/O and no clock (`year` is given for the assumed anchor of "every N years").
Whatever is not certain becomes a note that the writer turns into a `# check:` comment,
and is counted in the summary line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reminder.importer import names
from reminder.importer.names import Directory, Entry
from reminder.importer.table import Column, Note, Row
from reminder.model import Frequency, Recurrence
from reminder.timing import TimingError, parse_phrase


@dataclass(frozen=True)
class Ref:
    """An agency or group a task names: its id, the words the appendix used, a doubt."""

    id: str
    written: str
    doubt: str = ""


@dataclass
class Milestone:
    id: str
    name: str
    fields: dict[str, object]  # due / due_day / due_month / days_after / dates
    assumed: bool
    comment: Note | None = None


@dataclass
class ImportedTask:
    id: str
    number: int
    title: str
    timing: str
    recurrence: Recurrence | None
    lead: Ref | None
    support: list[Ref]
    milestones: list[Milestone]
    where: str
    extra: dict[str, object] = field(default_factory=dict)  # anchor_year, assumed
    extra_comments: dict[str, Note] = field(default_factory=dict)
    product: str = ""
    label: str = ""  # the appendix's own number: "1", "2.1", "3a"
    section: str = ""  # "I. NHIỆM VỤ CHUNG › 2. Phát triển nguồn nhân lực"
    remark: str = ""  # the appendix's "Ghi chú"
    checks: list[Note] = field(default_factory=list)
    info: list[Note] = field(default_factory=list)  # plain comments, nothing to check

    @property
    def to_check(self) -> bool:
        """Whether anything in the task is marked for ops to check."""
        refs = [*([self.lead] if self.lead else []), *self.support]
        return bool(self.checks) or any(r.doubt for r in refs)


@dataclass
class Outcome:
    """What the import found, for the writer and the summary line."""

    tasks: list[ImportedTask]
    proposed: list[Entry]
    matched: set[str]
    timing_understood: int
    splits_to_check: int

    @property
    def sections(self) -> int:
        """How many sections (I, II, …) the tasks are under."""
        return len({t.section.split(" › ")[0] for t in self.tasks if t.section})

    def summary(self) -> str:
        """ "11 tasks, 9 timing phrases understood, 2 tasks to check; 7 agencies and groups
        matched, 2 new groups proposed, …"."""
        to_check = sum(1 for t in self.tasks if t.to_check)
        new_agencies = sum(1 for e in self.proposed if not e.is_group)
        new_groups = len(self.proposed) - new_agencies
        return (
            f"{_n(len(self.tasks), 'task')} in {_n(self.sections, 'section')}, "
            f"{self.timing_understood} timing phrases understood, "
            f"{_n(to_check, 'task')} to check; "
            f"{len(self.matched)} agencies and groups matched, "
            f"{_n(new_agencies, 'new agency', 'new agencies')} and "
            f"{_n(new_groups, 'new group')} proposed, "
            f"{_n(self.splits_to_check, 'agency split')} to check"
        )


def _n(count: int, singular: str, plural: str = "") -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def build(
    rows: list[Row],
    directory: Directory,
    *,
    taken_numbers: set[int],
    taken_ids: set[str],
    year: int,
    milestone_names: dict[str, str],
) -> Outcome:
    """Interpret the rows against the directory (which gains the proposed names)."""
    out = Outcome([], [], set(), 0, 0)
    numbers = _numbers(rows, taken_numbers)
    ids = set(taken_ids)
    for row, (number, note, checks) in zip(rows, numbers, strict=True):
        task = _task(row, number, directory, out, year, milestone_names)
        task.checks[:0] = checks
        if note:
            task.info.append(note)
        task.id = _free_id(f"nv{number:02d}", ids)
        ids.add(task.id)
        out.tasks.append(task)
    return out


def _numbers(rows: list[Row], taken: set[int]) -> list[tuple[int, Note | None, list[Note]]]:
    """Each row's task number, a plain note and what to check.

    The appendix's own number is the row's label ("1", "2.1", "3a"): a gap in its top-level
    numbers (2.1 counts for 2) and a repeated or missing label are reported. When every
    label is a plain number (1–9999) it is the task's number; otherwise the tasks are
    numbered in order (the label is kept). If the numbers clash with the config's tasks,
    all follow the config's."""
    plain = [_plain_number(r.number) for r in rows]
    all_plain = all(n is not None for n in plain)
    wanted = [
        n if all_plain else k for k, n in enumerate(plain, start=1)
    ]  # the numbers before any offset
    offset = max(taken) if taken & {n for n in wanted if n is not None} else 0
    out: list[tuple[int, Note | None, list[Note]]] = []
    used: set[int] = set(taken)
    labels: set[str] = set()
    last, seen = offset, 0
    for n, row in zip(wanted, rows, strict=True):
        note: Note | None = None
        checks: list[Note] = []
        top = re.match(r"\d+", row.number)
        top_n = int(top[0]) if top else None
        if top_n is not None and top_n > seen + 1 and top_n <= 9999:
            missing = f"{seen + 1}" if top_n == seen + 2 else f"{seen + 1}–{top_n - 1}"
            checks.append(
                Note(
                    "number_missing",
                    f"task number {missing} missing in the appendix before this one",
                    missing=missing,
                )
            )
        value = n + offset if n is not None else None
        repeated = bool(row.number) and row.number in labels
        if value is None or value in used or repeated:
            why = "no task number" if not row.number else f"task number {row.number} repeated"
            value = max(used | {last}) + 1
            kind = "number_none" if not row.number else "number_repeated"
            checks.append(
                Note(
                    kind,
                    f"{why} in the appendix ({row.where}): numbered {value}",
                    number=row.number,
                    where=row.where,
                    value=value,
                )
            )
        elif row.number != str(value):
            extra = " after the config's tasks" if offset else ""
            note = Note(
                "renumbered",
                f"Stt {row.number} in the appendix, numbered {value}{extra}",
                number=row.number,
                value=value,
            )
        used.add(value)
        labels.add(row.number)
        last, seen = value, max(seen, top_n or 0)
        out.append((value, note, checks))
    return out


def _plain_number(label: str) -> int | None:
    """A task number the config can hold (1–9999), or None for "2.1", "3a", 12345, ""."""
    return int(label) if label.isdigit() and 0 < int(label) <= 9999 else None


def _free_id(base: str, ids: set[str]) -> str:
    candidate, n = base, 2
    while candidate in ids:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _task(
    row: Row, number: int, d: Directory, out: Outcome, year: int, names_of: dict[str, str]
) -> ImportedTask:
    title = _tidy_text(row.cells.get(Column.CONTENT, ""))
    timing = _tidy_text(row.cells.get(Column.TIMING, ""))
    checks = list(row.notes)
    rec: Recurrence | None = None
    try:
        rec = parse_phrase(timing)
        out.timing_understood += 1
    except TimingError as exc:
        if timing:
            checks.append(Note("timing_unknown", str(exc), phrase=timing))
        else:
            checks.append(Note("timing_none", "no timing phrase in this row"))
    if not title:
        checks.append(Note("content_none", "no task content (Nội dung nhiệm vụ) in this row"))
    lead_refs = _refs(row.cells.get(Column.LEAD, ""), d, out)
    support = _refs(row.cells.get(Column.SUPPORT, ""), d, out)
    lead = lead_refs[0] if lead_refs else None
    if lead is None:
        checks.append(Note("lead_none", "no lead agency (Đơn vị chủ trì): set `lead`"))
    if len(lead_refs) > 1:
        checks.append(
            Note(
                "lead_several",
                "the lead column names several agencies: the first is the lead, "
                "the others were added to support",
            )
        )
        support = lead_refs[1:] + support
    support = _dedupe(support, lead.id if lead else None)
    task = ImportedTask(
        id="",
        number=number,
        title=title,
        timing=timing,
        recurrence=rec,
        lead=lead,
        support=support,
        milestones=[],
        where=row.where,
        product=_tidy_text(row.cells.get(Column.PRODUCT, "")),
        label=row.number,
        section=row.section,
        remark=_tidy_text(row.cells.get(Column.NOTE, "")),
        checks=checks,
        info=list(row.info),
    )
    _milestones(task, year, names_of)
    return task


def _tidy_text(text: str) -> str:
    s = " ".join(text.split())
    return re.sub(r"\s+([,;.:])", r"\1", s)


def _dedupe(refs: list[Ref], lead: str | None) -> list[Ref]:
    seen = {lead} if lead else set()
    out = []
    for r in refs:
        if r.id not in seen:
            seen.add(r.id)
            out.append(r)
    return out


def _refs(text: str, d: Directory, out: Outcome) -> list[Ref]:
    refs = []
    for piece in names.split(d, text):
        if piece.doubt:
            out.splits_to_check += 1
        if piece.entry is not None:
            if not piece.entry.proposed:
                out.matched.add(piece.entry.id)
            refs.append(Ref(piece.entry.id, piece.text, piece.doubt))
            continue
        entry = Entry(d.new_id(piece.text), piece.text, names.is_group_name(piece.text), True)
        d.add(entry)
        out.proposed.append(entry)
        refs.append(Ref(entry.id, piece.text, piece.doubt))
    return refs


def _milestones(task: ImportedTask, year: int, names_of: dict[str, str]) -> None:
    """The assumed milestone for the task's kind of timing (ops set the real dates)."""
    rec = task.recurrence
    if rec is None:
        return  # a phrase not understood: no deadline is guessed (check refuses it)
    freq = rec.frequency
    if rec.fixed_due or rec.period_due:
        return  # "trước ngày 15/12 hằng năm", "trước ngày 30/6/2027" give the date itself
    if freq in (Frequency.ONGOING, Frequency.SPAN):
        return  # no guessed deadline: the office's progress reports ([reminders])
    if freq is Frequency.TRIGGERED:
        mid, name = "hoan-thanh", names_of["triggered"]
        comment = Note(
            "ms_triggered", "assumed: 30 days after trigger_date (set it when the guidance arrives)"
        )
        task.milestones.append(Milestone(mid, name, {"days_after": 30}, True, comment))
        return
    if freq is Frequency.ASSIGNED:
        mid, name = "hoan-thanh", names_of["assigned"]
        comment = Note(
            "ms_assigned", "add the deadline(s) when the task is assigned, e.g. [2027-06-30]"
        )
        task.milestones.append(Milestone(mid, name, {"dates": []}, False, comment))
        return
    months = _period_months(rec)
    if months:
        mid, name = "hoan-thanh", names_of["period"]
        fields: dict[str, object] = {"due_day": 20}
        if months > 1:
            fields["due_month"] = months
        task.milestones.append(
            Milestone(
                mid,
                name,
                fields,
                True,
                Note("ms_period", "assumed: the period's last month, day 20"),
            )
        )
    else:
        mid, name = "hoan-thanh", names_of["yearly"]
        comment = Note("ms_yearly", "assumed date")
        task.milestones.append(Milestone(mid, name, {"due": "15/12"}, True, comment))
    if rec is not None and rec.interval > 1 and rec.start_year is None:
        task.extra["anchor_year"] = year
        task.extra["assumed"] = True
        task.extra_comments["anchor_year"] = Note(
            "anchor_assumed",
            f"check: assumed; every {rec.interval} years counted from {year}",
            n=rec.interval,
            year=year,
        )


def _period_months(rec: Recurrence | None) -> int:
    """Months in a quarterly/half-yearly/monthly period (0 for yearly tasks)."""
    if rec is None:
        return 0
    by_freq = {Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6, Frequency.MONTHLY: 1}
    if rec.frequency in by_freq:
        return by_freq[rec.frequency]
    if rec.frequency is Frequency.ONCE and rec.period and len(rec.period) > 4:
        return 3 if "Q" in rec.period else 1
    return 0

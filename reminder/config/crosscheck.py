"""Checks that span the file: ids, references, cycles, timing phrases, milestone rules.

Runs after the schema has accepted the file's shape. Each problem names its key path.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from reminder.config import schema
from reminder.config.problems import Collector
from reminder.model import Frequency, Recurrence
from reminder.timing import TimingError, parse_phrase, recurrence_problems, with_overrides

PERIODIC = {Frequency.QUARTERLY, Frequency.HALF_YEARLY, Frequency.MONTHLY}
# ongoing tasks and periods get the office's progress reports ([reminders] progress_reports)
SELF_PLANNED = {Frequency.ONGOING, Frequency.SPAN}


def crosscheck(cfg: schema.Config, out: Collector) -> dict[str, Recurrence]:
    """Report cross-reference problems; return each task's recurrence (by task id)."""
    ids = _check_directory(cfg, out)
    _check_cycles(cfg, out)
    _check_timezone(cfg, out)
    _check_calendar_overlap(cfg, out)
    _duplicates(out, ("tasks",), [t.id for t in cfg.tasks], "task id")
    _duplicates(out, ("tasks",), [str(t.number) for t in cfg.tasks], "task number", by_index=True)
    if cfg.escalation is not None:
        _check_refs(out, ("escalation", "to"), [cfg.escalation.to], ids)
    return check_tasks(cfg.tasks, [t.id for t in cfg.tasks], ids, out)


def directory_ids(cfg: schema.Config) -> set[str]:
    """The ids of the agencies and groups of config.toml."""
    return {a.id for a in cfg.agencies} | {g.id for g in cfg.groups}


def check_tasks(
    tasks: Sequence[schema.TaskFields], keys: Sequence[str], ids: set[str], out: Collector
) -> dict[str, Recurrence]:
    """Check the [[tasks]] of a file (config.toml's or a plan file's) against the agencies
    `ids`; return each task's recurrence by its key (the same position in `keys`)."""
    recurrences: dict[str, Recurrence] = {}
    for i, task in enumerate(tasks):
        path = ("tasks", i)
        _check_refs(out, (*path, "lead"), [task.lead], ids)
        _check_refs(out, (*path, "support"), task.support, ids, indexed=True)
        rec = _recurrence(task, path, out)
        if rec is not None:
            recurrences[keys[i]] = rec
            _check_milestones(task, rec, path, out)
    return recurrences


def duplicates(out: Collector, path: tuple[str | int, ...], values: list[str], what: str) -> None:
    """An error at each repeat of a value (at the key `path`[-1] of the item)."""
    counts = Counter(values)
    for i, value in enumerate(values):
        if counts[value] > 1 and values.index(value) != i:
            out.error((*path[:-1], i, path[-1]), f"duplicate {what} {value!r}")


def _check_directory(cfg: schema.Config, out: Collector) -> set[str]:
    entries: list[tuple[str, int, schema.Agency | schema.Group]]
    entries = [("agencies", i, a) for i, a in enumerate(cfg.agencies)]
    entries += [("groups", i, g) for i, g in enumerate(cfg.groups)]
    seen: dict[str, tuple[str, int]] = {}
    for table, i, entry in entries:
        if entry.id in seen:
            other = seen[entry.id]
            out.error(
                (table, i, "id"), f"duplicate id {entry.id!r} (also {other[0]} #{other[1] + 1})"
            )
        else:
            seen[entry.id] = (table, i)
    ids = set(seen)
    for table, i, entry in entries:
        if entry.succeeded_by is not None:
            _check_refs(out, (table, i, "succeeded_by"), [entry.succeeded_by], ids)
        if isinstance(entry, schema.Group):
            _check_refs(out, (table, i, "members"), entry.members, ids, indexed=True)
    return ids


def _check_refs(
    out: Collector,
    path: tuple[str | int, ...],
    refs: Iterable[str],
    ids: set[str],
    indexed: bool = False,
) -> None:
    for j, ref in enumerate(refs):
        if ref not in ids:
            hint = difflib.get_close_matches(ref, sorted(ids), n=1)
            guess = f"; did you mean {hint[0]!r}?" if hint else ""
            where = (*path, j) if indexed else path
            out.error(
                where,
                f"unknown agency or group id {ref!r} (expected an id from [[agencies]] or [[groups]]{guess})",
            )


def _check_cycles(cfg: schema.Config, out: Collector) -> None:
    """Groups must not contain themselves; successions must end somewhere."""
    members = {g.id: g.members for g in cfg.groups}
    succ = {e.id: e.succeeded_by for e in [*cfg.agencies, *cfg.groups] if e.succeeded_by}
    for i, group in enumerate(cfg.groups):
        cycle = _find_cycle(group.id, lambda n: members.get(n, []))
        if cycle:
            out.error(
                ("groups", i, "members"),
                f"group cycle: {' → '.join(cycle)} (a group cannot contain itself)",
            )
    for table, items in (("agencies", cfg.agencies), ("groups", cfg.groups)):
        for i, entry in enumerate(items):
            cycle = _find_cycle(entry.id, lambda n: [succ[n]] if n in succ else [])
            if cycle:
                out.error((table, i, "succeeded_by"), f"succession cycle: {' → '.join(cycle)}")


def _find_cycle(start: str, edges: Callable[[str], list[str]]) -> list[str] | None:
    """A path from `start` back to itself, if there is one (depth-first)."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in edges(node):
            if nxt == start:
                return [*trail, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None


def _check_timezone(cfg: schema.Config, out: Collector) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(cfg.calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.error(
            ("calendar", "timezone"),
            f'unknown time zone {cfg.calendar.timezone!r} (expected an IANA name such as "Asia/Ho_Chi_Minh")',
        )


def _check_calendar_overlap(cfg: schema.Config, out: Collector) -> None:
    both = sorted(set(cfg.calendar.days_off) & set(cfg.calendar.working_days))
    if both:
        dates = ", ".join(d.isoformat() for d in both)
        out.error(
            ("calendar", "working_days"), f"{dates} listed both as a day off and as a working day"
        )


def _duplicates(
    out: Collector,
    path: tuple[str | int, ...],
    values: list[str],
    what: str,
    by_index: bool = False,
) -> None:
    counts = Counter(values)
    for i, value in enumerate(values):
        if counts[value] > 1 and values.index(value) != i:
            key = "number" if by_index else "id"
            out.error((*path, i, key), f"duplicate {what} {value!r}")


def _recurrence(
    task: schema.TaskFields, path: tuple[str | int, ...], out: Collector
) -> Recurrence | None:
    try:
        rec = parse_phrase(task.timing)
    except TimingError as exc:
        out.error((*path, "timing"), str(exc))
        return None
    rec = with_overrides(
        rec,
        frequency=Frequency(task.frequency) if task.frequency else None,
        interval=task.interval,
        anchor_year=task.anchor_year,
        start_year=task.start_year,
        end_year=task.end_year,
    )
    for problem in recurrence_problems(rec):
        out.error((*path, _culprit(problem, task)), f"{task.timing!r}: {problem}")
    if task.trigger_date is not None and rec.frequency != Frequency.TRIGGERED:
        out.error(
            (*path, "trigger_date"),
            f"trigger_date only applies to tasks that wait for an event (timing {task.timing!r} is {rec.reading})",
        )
    return rec


def _culprit(problem: str, task: schema.TaskFields) -> str:
    """The key a recurrence problem points at: the structured field ops wrote, if any
    (so the line shown is the one to edit), else the timing phrase."""
    if "anchor" in problem:
        return "anchor_year"
    written = [k for k, v in vars(task).items() if v is not None]
    for word, keys in (
        ("interval", ("interval",)),
        ("start year", ("end_year", "start_year")),
        ("one-off", ("frequency",)),
    ):
        if word in problem:
            return next((k for k in keys if k in written), "timing")
    return "timing"


def _check_milestones(
    task: schema.TaskFields, rec: Recurrence, path: tuple[str | int, ...], out: Collector
) -> None:
    gives_own = rec.fixed_due or rec.period_due
    if not task.milestones and not gives_own and rec.frequency not in SELF_PLANNED:
        out.error(
            (*path, "milestones"),
            "this task needs at least one [[tasks.milestones]] (its timing gives no date)",
        )
    _duplicates(out, (*path, "milestones"), [m.id for m in task.milestones], "milestone id")
    for j, m in enumerate(task.milestones):
        _check_milestone(m, rec, (*path, "milestones", j), out)


def _check_milestone(
    m: schema.Milestone, rec: Recurrence, path: tuple[str | int, ...], out: Collector
) -> None:
    given = [k for k in ("due", "due_day", "days_after", "dates") if getattr(m, k) is not None]
    freq = rec.frequency
    if m.due_month is not None and m.due_day is None:
        out.error((*path, "due_month"), "due_month needs due_day")
    if len(given) > 1:
        out.error(
            (*path, given[1]),
            f"give one of due, due_day, days_after, dates (got {', '.join(given)})",
        )
        return
    kind = given[0] if given else None
    if kind is None and freq == Frequency.TRIGGERED:
        out.error(
            path,
            "a milestone of a task waiting for an event needs days_after (days after trigger_date) or dates",
        )
    elif kind is None and freq == Frequency.ASSIGNED:
        out.error(
            path, "a milestone of an assigned task needs dates = [...] (use [] until assigned)"
        )
    elif kind == "due" and (
        freq in PERIODIC or (freq == Frequency.ONCE and rec.period and len(rec.period) > 4)
    ):
        out.error(
            (*path, "due"),
            f'due = "DD/MM" is for yearly tasks; {rec.reading!r} needs due_day (and due_month)',
        )
    elif kind == "due_day" and not (
        freq in PERIODIC or (freq == Frequency.ONCE and rec.period and len(rec.period) > 4)
    ):
        out.error(
            (*path, "due_day"),
            f'due_day is for quarterly/half-yearly/monthly tasks; {rec.reading!r} needs due = "DD/MM"',
        )
    elif m.progress and freq not in SELF_PLANNED:
        out.error(
            (*path, "progress"),
            f"progress = true is for ongoing tasks and periods; {rec.reading!r} is neither",
        )
    elif kind == "days_after" and freq != Frequency.TRIGGERED:
        out.error(
            (*path, "days_after"),
            f"days_after is for tasks waiting for an event; {rec.reading!r} is not one",
        )
    elif kind == "due_day" and m.due_month is not None:
        months = {Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6, Frequency.MONTHLY: 1}.get(
            freq, 3 if rec.period and "Q" in rec.period else 1
        )
        if m.due_month > months:
            out.error(
                (*path, "due_month"),
                f"due_month counts months inside the period: 1 to {months} (got {m.due_month})",
            )

"""Records: `done` (and --undo, --list), `history`, `retry`."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import TYPE_CHECKING

from reminder.commands.common import (
    ledger_of,
    now_of,
    settings_of,
    task_of,
)
from reminder.config import Settings
from reminder.exitcodes import (
    EX_DATAERR,
    EX_OK,
    UsageError,
)

if TYPE_CHECKING:
    from reminder.ledger import Ledger


def done(args: argparse.Namespace) -> int:
    """Record work as finished, withdraw a record (--undo), or list the history (--list)."""
    from reminder.planner import first_reminder_day
    from reminder.status import Refused, check_done
    from reminder.workdays import WorkCalendar

    settings = settings_of(args, channel_secrets=False)
    if args.list:
        return _done_list(settings, args.list_task or args.task)
    if not (args.task and args.occurrence):
        raise UsageError("give TASK and OCCURRENCE (e.g. `reminder done 1 2026`), or --list")
    if args.milestone and args.milestone_opt and args.milestone != args.milestone_opt:
        raise UsageError(f"two milestones given: {args.milestone!r} and {args.milestone_opt!r}")
    milestone = args.milestone or args.milestone_opt
    task = task_of(settings, args.task)
    now = now_of(args)
    today = now.astimezone(settings.catalog.calendar.timezone).date()
    done_on = None if args.undo else (args.on or today)
    first = first_reminder_day(
        settings.catalog, task, args.occurrence, WorkCalendar(settings.catalog.calendar)
    )
    try:
        check_done(task, args.occurrence, milestone, done_on, today, first_reminder=first)
    except Refused as exc:
        raise UsageError(str(exc), EX_DATAERR) from None
    what = f"task {task.number} ({task.id}) occurrence {args.occurrence}" + (
        f" milestone {milestone}" if milestone else ""
    )
    ledger = ledger_of(settings)
    try:
        said = _record(ledger, task.id, args, milestone, done_on, args.by or _ops_user(), now)
    finally:
        ledger.close()
    print(f"{what}: {said}")
    return EX_OK


def _record(
    ledger: Ledger,
    task_id: str,
    args: argparse.Namespace,
    milestone: str | None,
    done_on: date | None,
    by: str,
    now: datetime,
) -> str:
    """Append the event; say what changed. Undo of nothing: exit 65, nothing written."""
    from reminder.completions import NothingToUndo
    from reminder.vnformat import ngay

    book = ledger.completions
    if done_on is None:
        try:
            book.undo(task_id, args.occurrence, milestone, by=by, note=args.note, now=now)
        except NothingToUndo:
            what = f"{args.occurrence}" + (f" milestone {milestone}" if milestone else "")
            raise UsageError(
                f"task {args.task} occurrence {what} has no completion record to undo "
                "(see `reminder done --list`)",
                EX_DATAERR,
            ) from None
        return "record withdrawn; the reminders still ahead will be sent"
    before = book.current(task_id).get((task_id, args.occurrence, milestone or ""))
    event = book.record_done(
        task_id, args.occurrence, milestone, done_on, by=by, ref=args.ref, note=args.note, now=now
    )
    if event is None:
        return f"already recorded as done on {ngay(done_on)} (nothing written)"
    verb = "corrected" if before is not None else "recorded"
    return f"{verb} as done on {ngay(done_on)} by {by}; no further reminders"


def _done_list(settings: Settings, task_ref: str | None) -> int:
    """Every completion event, oldest first: the append-only history."""
    from reminder import ledgerread
    from reminder.vnformat import ngay

    task_id = task_of(settings, task_ref).id if task_ref else None
    # sqlite3, read-only: no SQLAlchemy import, no migration (None: open the ledger)
    events = ledgerread.completion_events(settings.database_url, task_id)
    if events is None:
        ledger = ledger_of(settings)
        try:
            events = ledger.completions.events(task_id)
        finally:
            ledger.close()
    tz = settings.catalog.calendar.timezone
    cat = settings.catalog
    labels = {t.id: t.id if t.id == t.name else f"{cat.name_of(t)}/{t.id}" for t in cat.tasks}
    if not events:
        print("no completion records")
    for e in events:
        at = e.recorded_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        work = f"{labels.get(e.task_id, '?/' + e.task_id)} {e.occurrence} {e.milestone_id or '*'}"
        on = f"on {ngay(e.done_on)}" if e.done_on else ""
        extra = "  ".join(x for x in (on, f"by {e.by}" if e.by else "", e.ref, e.note) if x)
        print(f"#{e.id}  {at}  {e.action:<4}  {work}  {extra}".rstrip())
    return EX_OK


def _ops_user() -> str:
    import getpass

    try:
        return f"ops:{getpass.getuser()}"
    except (KeyError, OSError):
        return "ops"


def history(args: argparse.Namespace) -> int:
    """What was sent, failed, missed or is pending."""
    from reminder import ledgerread, views
    from reminder.ledgerread import Status

    settings = settings_of(args, channel_secrets=False)
    task_id = task_of(settings, args.task).id if args.task else None
    status = Status(args.status) if args.status else None
    rows = ledgerread.history(  # sqlite3, read-only: no SQLAlchemy import, no migration
        settings.database_url, limit=args.limit, status=status, task_id=task_id
    )
    if rows is None:  # PostgreSQL, or an older schema: the Ledger (which migrates it)
        ledger = ledger_of(settings)
        try:
            rows = ledger.history(limit=args.limit, status=status, task_id=task_id)
        finally:
            ledger.close()
    tz = settings.catalog.calendar.timezone
    print(views.history_json(rows) if args.json else views.history_table(rows, tz))
    return EX_OK


def retry(args: argparse.Namespace) -> int:
    """Put failed or given-up reminders that are still useful back in the queue (due now)."""
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Status

    settings = settings_of(args)
    if args.key and (args.task or args.gave_up):
        raise UsageError("give a KEY, or --task and/or --gave-up, not both")
    task_id = task_of(settings, args.task).id if args.task else None
    now = now_of(args)
    ledger = ledger_of(settings)
    try:
        if args.key:
            row = ledger.get(args.key)
            if row is None:
                raise UsageError(f"no delivery with key {args.key!r} in the ledger", EX_DATAERR)
            rows = [row]
        else:
            wanted = [Status.GAVE_UP] if args.gave_up else [Status.FAILED, Status.GAVE_UP]
            rows = [
                d
                for s in wanted
                for d in ledger.history(limit=1_000_000, status=s, task_id=task_id)
            ]
        queued, refused = Dispatcher(settings, ledger, channels={}).requeue(rows, now)
    finally:
        ledger.close()
    for key, why in refused:
        print(f"not queued: {key}: {why}")
    print(
        f"{len(queued)} reminder(s) queued"
        + (f", {len(refused)} not queued" if refused else "")
        + (
            ": the daemon sends them at its next sweep (within 5 minutes), "
            "at once after `systemctl reload reminder`, or run `reminder run --once`"
            if queued
            else ""
        )
    )
    return EX_OK

"""What the read-only commands (`report`, `history`, `upcoming`, `done --list`) read from a
SQLite ledger, with the standard library's sqlite3: no SQLAlchemy, SQLModel or alembic to
import (two thirds of those commands' start-up) and no migration check on a read.

Also the plain types of a delivery row, `Status` and `Delivery` (reminder.ledger re-exports
them), and of a completion event, `Action` and `CompletionEvent` (reminder.completions
re-exports them), so that reading rows needs nothing heavier.

Each reader returns None when this way does not apply, and the caller opens the `Ledger`
as before: a PostgreSQL ledger, a file that cannot be opened read-only, or a schema without
the columns read (an older ledger: opening it migrates it), a file that is not there.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote

from reminder.model import Completion

Work = tuple[str, str, str]  # (task_id, occurrence, milestone_id or '')
_PREFIX = "sqlite:///"


class Status(StrEnum):
    """Where a delivery row stands. Stored as these lowercase strings."""

    SENDING = "sending"  # claimed; a channel is (or was, if the process died) sending it
    SENT = "sent"  # the channel accepted it; final
    FAILED = "failed"  # the last attempt failed; may be claimed again at next_attempt_at
    GAVE_UP = "gave_up"  # permanent failure or retries exhausted; final
    MISSED = "missed"  # its instant passed outside the catch-up window; never sent; final


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery row as callers see it. Datetimes are aware, in UTC."""

    key: str
    task_id: str
    occurrence: str
    milestone_id: str
    agency: str
    channel: str
    address: str
    status: Status
    attempts: int
    late: bool
    last_error: str | None
    planned_at: datetime
    claimed_at: datetime | None
    sent_at: datetime | None
    next_attempt_at: datetime | None
    updated_at: datetime
    note: str
    deadline: date
    lead_days: int
    owner: str
    created_at: datetime


class Action(StrEnum):
    """What a completion event says. Stored as these lowercase strings."""

    DONE = "done"
    UNDO = "undo"


@dataclass(frozen=True, slots=True)
class CompletionEvent:
    """One event of the history, as callers see it. `recorded_at` is aware, in UTC."""

    id: int
    task_id: str
    occurrence: str
    milestone_id: str  # '' = the whole occurrence
    action: Action
    done_on: date | None
    recorded_at: datetime
    by: str
    ref: str
    note: str

    @property
    def work(self) -> Work:
        return (self.task_id, self.occurrence, self.milestone_id)


DELIVERY_FIELDS = tuple(Delivery.__dataclass_fields__)
_TIMES = ("planned_at", "claimed_at", "sent_at", "next_attempt_at", "updated_at", "created_at")


def sqlite_file(url: str) -> Path | None:
    """The file of a `sqlite:///FILE` URL; None for anything else (PostgreSQL, memory)."""
    if not url.startswith(_PREFIX) or url == _PREFIX + ":memory:" or "?" in url:
        return None
    return Path(url[len(_PREFIX) :])


def current_completions(url: str) -> dict[Work, Completion] | None:
    """The current completion of each piece of work (the latest event of each, if it is a
    record rather than an undo), as `Completions.current` gives it; None: open the Ledger."""
    rows = _select(
        url,
        "SELECT task_id, occurrence, milestone_id, action, done_on, recorded_at, "
        "recorded_by, ref, note FROM completion_event ORDER BY id",
        (),
    )
    if rows is None:
        return None
    try:
        return _current(rows)
    except (ValueError, TypeError):  # a value this reader does not know: let the Ledger read
        return None


def completion_events(url: str, task_id: str | None = None) -> list[CompletionEvent] | None:
    """The completion history, oldest first (as `Completions.events`); None: open the Ledger."""
    sql = (
        "SELECT id, task_id, occurrence, milestone_id, action, done_on, recorded_at, "
        "recorded_by, ref, note FROM completion_event"
        + (" WHERE task_id = ?" if task_id is not None else "")
        + " ORDER BY id"
    )
    rows = _select(url, sql, (task_id,) if task_id is not None else ())
    if rows is None:
        return None
    try:
        return [_event(r) for r in rows]
    except (ValueError, TypeError):  # a value this reader does not know: let the Ledger read
        return None


def _event(r: sqlite3.Row) -> CompletionEvent:
    return CompletionEvent(
        id=r["id"],
        task_id=r["task_id"],
        occurrence=r["occurrence"],
        milestone_id=r["milestone_id"],
        action=Action(r["action"]),
        done_on=None if r["done_on"] is None else date.fromisoformat(r["done_on"]),
        recorded_at=_instant(r["recorded_at"]),
        by=r["recorded_by"],
        ref=r["ref"],
        note=r["note"],
    )


def _current(rows: list[sqlite3.Row]) -> dict[Work, Completion]:
    latest: dict[Work, sqlite3.Row] = {}
    for row in rows:
        latest[(row["task_id"], row["occurrence"], row["milestone_id"])] = row
    return {
        work: Completion(
            *work,
            date.fromisoformat(r["done_on"]),
            _instant(r["recorded_at"]),
            r["recorded_by"],
            r["ref"],
            r["note"],
        )
        for work, r in latest.items()
        if r["action"] == "done" and r["done_on"] is not None
    }


def history(
    url: str, *, limit: int, status: Status | None = None, task_id: str | None = None
) -> list[Delivery] | None:
    """Delivery rows, most recently updated first (as `Ledger.history`); None: open it."""
    where, args = [], []
    if status is not None:
        where.append("status = ?")
        args.append(str(status))
    if task_id is not None:
        where.append("task_id = ?")
        args.append(task_id)
    sql = (
        f"SELECT {', '.join(DELIVERY_FIELDS)} FROM delivery"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY updated_at DESC, planned_at DESC, key LIMIT ?"
    )
    rows = _select(url, sql, (*args, limit))
    if rows is None:
        return None
    try:
        return [_delivery(r) for r in rows]
    except (ValueError, TypeError):
        return None


def _delivery(r: sqlite3.Row) -> Delivery:
    values = {name: r[name] for name in DELIVERY_FIELDS}
    for name in _TIMES:
        values[name] = None if values[name] is None else _instant(values[name])
    values["deadline"] = date.fromisoformat(values["deadline"])
    values["status"] = Status(values["status"])
    values["late"] = bool(values["late"])
    return Delivery(**values)


def _instant(text: str) -> datetime:
    """A stored instant (UTC, written without an offset) as an aware datetime."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _select(url: str, sql: str, args: tuple[object, ...]) -> list[sqlite3.Row] | None:
    """The rows of one query on the ledger file, opened read-only; None when this way does
    not apply."""
    path = sqlite_file(url)
    if path is None:
        return None
    if not path.is_file():
        return None  # the caller decides: `upcoming`/`report` read nothing, `history` opens
        # the Ledger, which creates it or says why it cannot (exit 69, naming the folder)
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, args).fetchall()
    except (sqlite3.Error, ValueError):
        return None  # no such table or column (an older schema), a locked or damaged file
    finally:
        conn.close()

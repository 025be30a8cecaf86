"""Completion records: an append-only history of "this work was finished" events.

Each event is about one occurrence of a task (milestone_id '') or one milestone of it:

- ``done``: the work was finished on `done_on` (a business date, possibly earlier than the
  day it is recorded), recorded at `recorded_at` by `by`, with a reference and a note. A
  second ``done`` for the same work is a correction: it replaces the first in the current
  view, and both stay in the history;
- ``undo``: the work is no longer counted as finished (a mistake, a report sent back).

Nothing is updated or deleted: the current completion of a piece of work is its latest
event, if that is a ``done``. The table lives in the ledger's database and is reached
through the ledger's engine (`Ledger.completions`); this module owns its SQL.

Writers take the ledger's write lock (BEGIN IMMEDIATE on SQLite), so "undo only what is
done" and "skip a repeat of the same record" are decided atomically.

The history of each piece of work is a chain, and the database keeps it one: every event
names the event it follows (`prev_id`, 0 for the first), and a unique index on (work,
prev_id) refuses a second event after the same one. Two writers that both saw "not done"
(a double click, a Telegram press and an e-mail link at the same moment, two servers on one
PostgreSQL ledger) cannot both append: the second's insert fails, it reads again and finds
the first's record. `record_first` is what the answer-back channels use: it records only
while the work has no live completion, so one piece of work has at most one, whoever asks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from reminder.ledgerread import Action, CompletionEvent  # plain types, kept there: see it
from reminder.model import Completion

__all__ = [
    "Action",
    "CompletionEvent",
    "CompletionEventRow",
    "Completions",
    "First",
    "NothingToUndo",
]

CHAIN_RETRIES = 5  # a writer that lost the race reads again this many times at most
TEXT_MAX_CHARS = 2000  # ref and note are clipped to this many characters
BY_MAX_CHARS = 200

T = TypeVar("T")
Work = tuple[str, str, str]  # (task_id, occurrence, milestone_id or '')


class NothingToUndo(Exception):
    """`undo` of work that has no current completion record."""


class CompletionEventRow(SQLModel, table=True):
    """One completion event. `id` orders the history (later events win)."""

    __tablename__ = "completion_event"

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(index=True)
    occurrence: str
    milestone_id: str = Field(default="", sa_column_kwargs={"server_default": ""})
    action: str
    done_on: date | None = None  # None for an undo
    recorded_at: datetime
    recorded_by: str = Field(default="", sa_column_kwargs={"server_default": ""})
    ref: str = Field(default="", sa_column_kwargs={"server_default": ""})
    note: str = Field(default="", sa_column_kwargs={"server_default": ""})
    prev_id: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    __table_args__ = (
        sa.Index(
            "ux_completion_event_chain",
            "task_id",
            "occurrence",
            "milestone_id",
            "prev_id",
            unique=True,
        ),
    )


_E: sa.Table = CompletionEventRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class First:
    """What `record_first` did: `event` is the new record (`new`), or the live completion
    found in its place, recorded earlier by someone else (`new` False, nothing written)."""

    event: CompletionEvent
    new: bool


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _done_values(done_on: date, by: str, ref: str, note: str) -> dict[str, Any]:
    return {
        "action": str(Action.DONE),
        "done_on": done_on,
        "recorded_by": _clip(by, BY_MAX_CHARS),
        "ref": _clip(ref, TEXT_MAX_CHARS),
        "note": _clip(note, TEXT_MAX_CHARS),
    }


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _event(m: Any) -> CompletionEvent:
    at: datetime = m["recorded_at"]
    return CompletionEvent(
        id=m["id"],
        task_id=m["task_id"],
        occurrence=m["occurrence"],
        milestone_id=m["milestone_id"],
        action=Action(m["action"]),
        done_on=m["done_on"],
        recorded_at=at if at.tzinfo else at.replace(tzinfo=UTC),
        by=m["recorded_by"],
        ref=m["ref"],
        note=m["note"],
    )


def current(events: Iterable[CompletionEvent]) -> dict[Work, Completion]:
    """The current completion of each piece of work: its latest event, if that is a done."""
    latest: dict[Work, CompletionEvent] = {}
    for e in sorted(events, key=lambda e: e.id):
        latest[e.work] = e
    return {
        work: Completion(
            e.task_id, e.occurrence, e.milestone_id, e.done_on, e.recorded_at, e.by, e.ref, e.note
        )
        for work, e in latest.items()
        if e.action is Action.DONE and e.done_on is not None
    }


class Completions:
    """The completion events of one ledger database (`Ledger.completions`)."""

    def __init__(self, engine: Engine, writer: Engine) -> None:
        """`engine` reads; `writer` is the same engine with the ledger's write options."""
        self.engine = engine
        self.writer = writer

    def record_done(
        self,
        task_id: str,
        occurrence: str,
        milestone_id: str | None,
        done_on: date,
        *,
        by: str = "",
        ref: str = "",
        note: str = "",
        now: datetime,
    ) -> CompletionEvent | None:
        """Append a ``done`` event (a first record or a correction) and return it.

        None, and nothing written, when the current record already says exactly this
        (same done_on, by, ref and note): a repeated button press or command is harmless.
        """
        work = (task_id, occurrence, milestone_id or "")
        values = _done_values(done_on, by, ref, note)

        def write(conn: Connection, last: CompletionEvent | None) -> CompletionEvent | None:
            if (
                last is not None
                and last.action is Action.DONE
                and (last.done_on, last.by, last.ref, last.note)
                == (done_on, values["recorded_by"], values["ref"], values["note"])
            ):
                return None
            return self._append(conn, work, values, now, last)

        return self._chained(work, write)

    def record_first(
        self,
        task_id: str,
        occurrence: str,
        milestone_id: str | None,
        done_on: date,
        *,
        by: str = "",
        ref: str = "",
        note: str = "",
        now: datetime,
    ) -> First:
        """Record a ``done`` only if the work has no live completion (its latest event is not
        a done); otherwise write nothing and return that completion. The answer-back
        channels' write: a second press, link or click never adds or corrects a record."""
        work = (task_id, occurrence, milestone_id or "")
        values = _done_values(done_on, by, ref, note)

        def write(conn: Connection, last: CompletionEvent | None) -> First:
            if last is not None and last.action is Action.DONE:
                return First(last, new=False)
            return First(self._append(conn, work, values, now, last), new=True)

        return self._chained(work, write)

    def undo(
        self,
        task_id: str,
        occurrence: str,
        milestone_id: str | None,
        *,
        by: str = "",
        note: str = "",
        now: datetime,
    ) -> CompletionEvent:
        """Append an ``undo`` event; NothingToUndo (nothing written) if the work is not done."""
        work = (task_id, occurrence, milestone_id or "")
        values = {
            "action": str(Action.UNDO),
            "done_on": None,
            "recorded_by": _clip(by, BY_MAX_CHARS),
            "ref": "",
            "note": _clip(note, TEXT_MAX_CHARS),
        }

        def write(conn: Connection, last: CompletionEvent | None) -> CompletionEvent:
            if last is None or last.action is not Action.DONE:
                raise NothingToUndo(f"{'/'.join(w for w in work if w)} has no completion record")
            return self._append(conn, work, values, now, last)

        return self._chained(work, write)

    def _chained(self, work: Work, write: Callable[[Connection, CompletionEvent | None], T]) -> T:
        """`write(conn, latest event)` in one write transaction; when another writer appended
        after the same event first (the unique chain index refuses ours), read again and let
        `write` decide anew."""
        for attempt in range(CHAIN_RETRIES):
            try:
                with self.writer.begin() as conn:
                    return write(conn, self._latest(conn, work))
            except sa.exc.IntegrityError:
                if attempt == CHAIN_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def events(self, task_id: str | None = None) -> list[CompletionEvent]:
        """The history, oldest first (optionally of one task)."""
        q = sa.select(_E).order_by(_E.c.id)
        if task_id is not None:
            q = q.where(_E.c.task_id == task_id)
        with self.engine.connect() as conn:
            return [_event(row._mapping) for row in conn.execute(q)]

    def current(self, task_id: str | None = None) -> dict[Work, Completion]:
        """The current completion of each piece of work (see `current`)."""
        return current(self.events(task_id))

    def done(self) -> frozenset[tuple[str, str, str | None]]:
        """The finished work as the planner reads it: (task_id, occurrence, milestone or None)."""
        return frozenset((t, o, m or None) for t, o, m in self.current())

    @staticmethod
    def _latest(conn: Connection, work: Work) -> CompletionEvent | None:
        q = (
            sa.select(_E)
            .where(
                _E.c.task_id == work[0], _E.c.occurrence == work[1], _E.c.milestone_id == work[2]
            )
            .order_by(_E.c.id.desc())
            .limit(1)
        )
        row = conn.execute(q).first()
        return None if row is None else _event(row._mapping)

    @staticmethod
    def _append(
        conn: Connection,
        work: Work,
        values: dict[str, Any],
        now: datetime,
        last: CompletionEvent | None,
    ) -> CompletionEvent:
        row = {
            "task_id": work[0],
            "occurrence": work[1],
            "milestone_id": work[2],
            "recorded_at": _utc(now),
            "prev_id": 0 if last is None else last.id,
            **values,
        }
        new_id = conn.execute(sa.insert(_E).values(**row).returning(_E.c.id)).scalar_one()
        return _event({"id": new_id, **row})

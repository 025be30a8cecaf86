"""Completion records become an append-only event history (completion_event).

Every row of the old `completion` table becomes one ``done`` event: done_on is the day it
was recorded (done_at, in Vietnam), recorded_at is done_at, the note is kept; then the old
table is dropped. Downgrade keeps the current completions (the latest event of each piece
of work, when it is a ``done``) and loses the history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VN = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has had no DST since 1975


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upgrade() -> None:
    """Create completion_event, move the completion rows into it, drop completion."""
    events = op.create_table(
        "completion_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("occurrence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "milestone_id", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False
        ),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column(
            "recorded_by", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False
        ),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("completion_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_completion_event_task_id"), ["task_id"], unique=False)
    old = sa.table(
        "completion",
        sa.column("task_id", sa.String()),
        sa.column("occurrence", sa.String()),
        sa.column("milestone_id", sa.String()),
        sa.column("done_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("note", sa.String()),
    )
    rows = op.get_bind().execute(
        sa.select(old).order_by(old.c.done_at, old.c.task_id, old.c.occurrence, old.c.milestone_id)
    )
    moved = [
        {
            "task_id": r.task_id,
            "occurrence": r.occurrence,
            "milestone_id": r.milestone_id,
            "action": "done",
            "done_on": _aware(r.done_at).astimezone(_VN).date(),
            "recorded_at": _aware(r.done_at),
            "recorded_by": "",
            "ref": "",
            "note": r.note,
        }
        for r in rows
    ]
    if moved:
        op.bulk_insert(events, moved)
    op.drop_table("completion")


def downgrade() -> None:
    """Recreate completion from the current completions (the history is lost)."""
    completion = op.create_table(
        "completion",
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("occurrence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("milestone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("task_id", "occurrence", "milestone_id"),
    )
    ev = sa.table(
        "completion_event",
        sa.column("id", sa.Integer()),
        sa.column("task_id", sa.String()),
        sa.column("occurrence", sa.String()),
        sa.column("milestone_id", sa.String()),
        sa.column("action", sa.String()),
        sa.column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("note", sa.String()),
    )
    latest: dict[tuple[str, str, str], dict[str, object]] = {}
    for r in op.get_bind().execute(sa.select(ev).order_by(ev.c.id)):
        latest[(r.task_id, r.occurrence, r.milestone_id)] = {
            "task_id": r.task_id,
            "occurrence": r.occurrence,
            "milestone_id": r.milestone_id,
            "done_at": _aware(r.recorded_at),
            "note": r.note,
            "action": r.action,
        }
    kept = [
        {k: v for k, v in row.items() if k != "action"}
        for row in latest.values()
        if row["action"] == "done"
    ]
    if kept:
        op.bulk_insert(completion, kept)
    with op.batch_alter_table("completion_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_completion_event_task_id"))
    op.drop_table("completion_event")

"""Initial ledger tables: delivery (one row per reminder key) and completion.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:35:09.920671

Reminder: a NOT NULL column added to an existing table needs a server_default
(sa_column_kwargs={"server_default": ...} on the model), or the upgrade fails on a table
that has rows. See docs/ledger.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "completion",
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("occurrence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("milestone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("task_id", "occurrence", "milestone_id"),
    )
    op.create_table(
        "delivery",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("occurrence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("milestone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "late",
            sa.Boolean(),
            server_default=sa.false(),  # "0" on SQLite, false on PostgreSQL
            nullable=False,
        ),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.Column("planned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_updated_at"))
        batch_op.drop_index(batch_op.f("ix_delivery_task_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_status"))

    op.drop_table("delivery")
    op.drop_table("completion")

"""completion_event becomes a chain: each event names the one it follows (prev_id, 0 for the
first of its work), and a unique index on (task_id, occurrence, milestone_id, prev_id) lets
only one event follow another, so two writers that both saw "not done" cannot both record
(reminder/completions.py). Existing rows are linked in id order, which is their history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LINK = sa.text(
    "UPDATE completion_event SET prev_id = COALESCE(("
    "SELECT MAX(e.id) FROM completion_event AS e "
    "WHERE e.task_id = completion_event.task_id "
    "AND e.occurrence = completion_event.occurrence "
    "AND e.milestone_id = completion_event.milestone_id "
    "AND e.id < completion_event.id), 0)"
)


def upgrade() -> None:
    """Add prev_id, link the existing events, then add the unique chain index."""
    with op.batch_alter_table("completion_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_id", sa.Integer(), server_default="0", nullable=False))
    op.get_bind().execute(_LINK)
    with op.batch_alter_table("completion_event", schema=None) as batch_op:
        batch_op.create_index(
            "ux_completion_event_chain",
            ["task_id", "occurrence", "milestone_id", "prev_id"],
            unique=True,
        )


def downgrade() -> None:
    """Drop the chain index and prev_id (the events themselves are kept)."""
    with op.batch_alter_table("completion_event", schema=None) as batch_op:
        batch_op.drop_index("ux_completion_event_chain")
        batch_op.drop_column("prev_id")

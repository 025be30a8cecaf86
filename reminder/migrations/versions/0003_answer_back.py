"""Answer-back tables: Telegram chat links and one-time codes, chats the poller saw,
acknowledgements ("Đã nhận"), calendar feed SEQUENCE numbers (reminder.replies).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 11:53:39.549415

Reminder: a NOT NULL column added to an existing table needs a server_default
(sa_column_kwargs={"server_default": ...} on the model), or the upgrade fails on a table
that has rows. See docs/ledger.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "acknowledgement",
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("occurrence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("milestone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("task_id", "occurrence", "milestone_id"),
    )
    op.create_table(
        "feed_sequence",
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sequence", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("uid"),
    )
    op.create_table(
        "telegram_chat",
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.Column("member", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_table(
        "telegram_code",
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("used_by_chat", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_table(
        "telegram_link",
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.Column("linked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column(
            "linked_by", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False
        ),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    with op.batch_alter_table("telegram_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_link_agency"), ["agency"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("telegram_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_link_agency"))

    op.drop_table("telegram_link")
    op.drop_table("telegram_code")
    op.drop_table("telegram_chat")
    op.drop_table("feed_sequence")
    op.drop_table("acknowledgement")

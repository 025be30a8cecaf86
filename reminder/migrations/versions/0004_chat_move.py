"""chat_move: chats that moved (a Telegram group upgraded to a supergroup), so that later
sends go to the new id until config.toml names it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "chat_move",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("new_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), server_default="", nullable=False),
        sa.Column("moved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "address"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("chat_move")

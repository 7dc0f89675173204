"""Create the event log.

Revision ID: b1
Revises: (none)
Create Date: 2026-11-23 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "board_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("queue_id", sa.String(length=128), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_events")),
    )
    op.create_index("ix_board_events_at_us", "board_events", ["at_us"])
    op.create_index("ix_board_events_call_id", "board_events", ["call_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_board_events_call_id", table_name="board_events")
    op.drop_index("ix_board_events_at_us", table_name="board_events")
    op.drop_table("board_events")

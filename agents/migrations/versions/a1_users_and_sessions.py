"""Create users and sessions.

Revision ID: a1_users_sessions
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "a1_users_sessions"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agents_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("agents_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agents_sessions_user_id", "agents_sessions", ["user_id"])
    op.create_index("ix_agents_sessions_last_seen_at", "agents_sessions", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_agents_sessions_last_seen_at", table_name="agents_sessions")
    op.drop_index("ix_agents_sessions_user_id", table_name="agents_sessions")
    op.drop_table("agents_sessions")
    op.drop_table("agents_users")

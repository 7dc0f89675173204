"""Create the config versions table.

Revision ID: a1_config_versions
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "a1_config_versions"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_config_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("restored_from", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("admin_config_versions")

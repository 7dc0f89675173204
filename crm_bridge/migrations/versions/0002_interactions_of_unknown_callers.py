"""Keep interactions of unknown callers: nullable customer, the caller's number, indexed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:36:13.324710
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_number", sa.String(length=20), nullable=True))
        batch_op.alter_column("customer_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_crm_interactions_caller_number"), ["caller_number"], unique=False
        )


def downgrade() -> None:
    """Revert this revision (interactions that never got a customer cannot be kept)."""
    interactions = sa.table("crm_interactions", sa.column("customer_id"))
    op.execute(interactions.delete().where(interactions.c.customer_id.is_(None)))
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_interactions_caller_number"))
        batch_op.alter_column("customer_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("caller_number")

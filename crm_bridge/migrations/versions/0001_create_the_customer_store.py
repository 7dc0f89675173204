"""Create the customer store: customers, numbers, companies, history, orders and value.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 09:08:54.379647
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "crm_companies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("account_number", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_companies")),
        sa.UniqueConstraint("account_number", name=op.f("uq_crm_companies_account_number")),
    )
    op.create_table(
        "crm_customers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("account_number", sa.String(length=64), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("owner_agent", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["crm_companies.id"],
            name=op.f("fk_crm_customers_company_id_crm_companies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_customers")),
        sa.UniqueConstraint("account_number", name=op.f("uq_crm_customers_account_number")),
    )
    op.create_table(
        "crm_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("owner_agent", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_cases_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_cases")),
    )
    with op.batch_alter_table("crm_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_cases_customer_status", ["customer_id", "status"], unique=False
        )

    op.create_table(
        "crm_company_contacts",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["crm_companies.id"],
            name=op.f("fk_crm_company_contacts_company_id_crm_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_company_contacts_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "company_id", "customer_id", "role", name=op.f("pk_crm_company_contacts")
        ),
    )
    with op.batch_alter_table("crm_company_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_company_contacts_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "crm_customer_values",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("lifetime_revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_margin_cents", sa.BigInteger(), nullable=False),
        sa.Column("orders_last_year", sa.Integer(), nullable=False),
        sa.Column("revenue_last_year_cents", sa.BigInteger(), nullable=False),
        sa.Column("last_order_at", sa.DateTime(), nullable=True),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_customer_values_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_crm_customer_values")),
    )
    with op.batch_alter_table("crm_customer_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_customer_values_lifetime_margin_cents"),
            ["lifetime_margin_cents"],
            unique=False,
        )

    op.create_table(
        "crm_emails",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_emails_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_emails")),
        sa.UniqueConstraint("customer_id", "address", name="uq_crm_emails_customer_address"),
    )
    with op.batch_alter_table("crm_emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_emails_address"), ["address"], unique=False)

    op.create_table(
        "crm_interactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("hold_seconds", sa.Integer(), nullable=False),
        sa.Column("wrap_seconds", sa.Integer(), nullable=False),
        sa.Column("recording_ref", sa.String(length=256), nullable=True),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_interactions_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_interactions")),
    )
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_interactions_customer_started", ["customer_id", "started_at"], unique=False
        )

    op.create_table(
        "crm_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("ordered_at", sa.DateTime(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("margin_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_orders_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_orders")),
    )
    with op.batch_alter_table("crm_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_orders_customer_ordered", ["customer_id", "ordered_at"], unique=False
        )

    op.create_table(
        "crm_phone_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_phone_numbers_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_phone_numbers")),
        sa.UniqueConstraint("customer_id", "e164", name="uq_crm_phone_numbers_customer_number"),
    )
    with op.batch_alter_table("crm_phone_numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_phone_numbers_e164"), ["e164"], unique=False)

    op.create_table(
        "crm_relationships",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("from_customer_id", sa.Integer(), nullable=False),
        sa.Column("to_customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_relationships_from_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_relationships_to_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_relationships")),
        sa.UniqueConstraint(
            "from_customer_id", "to_customer_id", "kind", name="uq_crm_relationships_link"
        ),
    )
    with op.batch_alter_table("crm_relationships", schema=None) as batch_op:
        batch_op.create_index("ix_crm_relationships_to", ["to_customer_id"], unique=False)

    op.create_table(
        "crm_follow_ups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["crm_cases.id"],
            name=op.f("fk_crm_follow_ups_case_id_crm_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_follow_ups_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["crm_interactions.id"],
            name=op.f("fk_crm_follow_ups_interaction_id_crm_interactions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_follow_ups")),
    )
    with op.batch_alter_table("crm_follow_ups", schema=None) as batch_op:
        batch_op.create_index("ix_crm_follow_ups_agent_due", ["agent", "due_at"], unique=False)
        batch_op.create_index("ix_crm_follow_ups_customer", ["customer_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("crm_follow_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_follow_ups_customer")
        batch_op.drop_index("ix_crm_follow_ups_agent_due")

    op.drop_table("crm_follow_ups")
    with op.batch_alter_table("crm_relationships", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_relationships_to")

    op.drop_table("crm_relationships")
    with op.batch_alter_table("crm_phone_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_phone_numbers_e164"))

    op.drop_table("crm_phone_numbers")
    with op.batch_alter_table("crm_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_orders_customer_ordered")

    op.drop_table("crm_orders")
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_interactions_customer_started")

    op.drop_table("crm_interactions")
    with op.batch_alter_table("crm_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_emails_address"))

    op.drop_table("crm_emails")
    with op.batch_alter_table("crm_customer_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_customer_values_lifetime_margin_cents"))

    op.drop_table("crm_customer_values")
    with op.batch_alter_table("crm_company_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_company_contacts_customer_id"))

    op.drop_table("crm_company_contacts")
    with op.batch_alter_table("crm_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_cases_customer_status")

    op.drop_table("crm_cases")
    op.drop_table("crm_customers")
    op.drop_table("crm_companies")

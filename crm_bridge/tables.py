"""The customer store's tables (SQLAlchemy Core); migrations/ creates them, in the same shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Named constraints so that migrations (and SQLite batch mode) can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC, read them back aware.

    SQLite keeps no zone and PostgreSQL's `timestamp` neither; normalising here gives both
    databases the same behaviour and the rest of the code one kind of datetime.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to naive UTC, refusing naive input (its zone would be a guess)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetime without a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _customer_fk(name: str = "customer_id", *, nullable: bool = False) -> Column[int]:
    return Column(
        name, Integer, ForeignKey("crm_customers.id", ondelete="CASCADE"), nullable=nullable
    )


companies = Table(
    "crm_companies",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("account_number", String(64), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

customers = Table(
    "crm_customers",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("account_number", String(64), unique=True),
    Column("company_id", Integer, ForeignKey("crm_companies.id", ondelete="SET NULL")),
    Column("language", String(16)),
    Column("owner_agent", String(64)),
    Column("notes", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

phone_numbers = Table(
    "crm_phone_numbers",
    metadata,
    _id(),
    _customer_fk(),
    # Not unique: a household or a company switchboard shares one number.
    Column("e164", String(20), nullable=False, index=True),
    Column("kind", String(16), nullable=False, default="mobile"),
    UniqueConstraint("customer_id", "e164", name="uq_crm_phone_numbers_customer_number"),
)

emails = Table(
    "crm_emails",
    metadata,
    _id(),
    _customer_fk(),
    Column("address", String(254), nullable=False, index=True),
    UniqueConstraint("customer_id", "address", name="uq_crm_emails_customer_address"),
)

company_contacts = Table(
    "crm_company_contacts",
    metadata,
    Column(
        "company_id",
        Integer,
        ForeignKey("crm_companies.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "customer_id",
        Integer,
        ForeignKey("crm_customers.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("role", String(32), primary_key=True),
)

relationships = Table(
    "crm_relationships",
    metadata,
    _id(),
    _customer_fk("from_customer_id"),
    _customer_fk("to_customer_id"),
    # Read "from <kind> to": A referred_by B, A parent_account B, A family B.
    Column("kind", String(32), nullable=False),
    UniqueConstraint(
        "from_customer_id", "to_customer_id", "kind", name="uq_crm_relationships_link"
    ),
    Index("ix_crm_relationships_to", "to_customer_id"),
)

interactions = Table(
    "crm_interactions",
    metadata,
    _id(),
    # Null for a caller nobody has made a customer of yet; create_customer adopts the
    # interaction later through caller_number.
    _customer_fk(nullable=True),
    Column("caller_number", String(20), index=True),
    Column("channel", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("agent", String(64)),
    Column("queue", String(64)),
    Column("outcome", String(32)),
    Column("disposition", String(64)),
    Column("notes", Text, nullable=False, default=""),
    Column("talk_seconds", Integer, nullable=False, default=0),
    Column("hold_seconds", Integer, nullable=False, default=0),
    Column("wrap_seconds", Integer, nullable=False, default=0),
    Column("recording_ref", String(256)),
    Column("call_id", String(128)),
    Index("ix_crm_interactions_customer_started", "customer_id", "started_at"),
)

cases = Table(
    "crm_cases",
    metadata,
    _id(),
    _customer_fk(),
    Column("subject", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("owner_agent", String(64)),
    Index("ix_crm_cases_customer_status", "customer_id", "status"),
)

orders = Table(
    "crm_orders",
    metadata,
    _id(),
    _customer_fk(),
    Column("ordered_at", UtcDateTime, nullable=False),
    # Integer cents: exact, and the same on SQLite (which has no decimal type) and PostgreSQL.
    Column("revenue_cents", BigInteger, nullable=False),
    Column("margin_cents", BigInteger, nullable=False),
    Index("ix_crm_orders_customer_ordered", "customer_id", "ordered_at"),
)

customer_values = Table(
    "crm_customer_values",
    metadata,
    Column(
        "customer_id",
        Integer,
        ForeignKey("crm_customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("score", Float, nullable=False),
    Column("tier", String(16), nullable=False),
    Column("lifetime_revenue_cents", BigInteger, nullable=False),
    Column("lifetime_margin_cents", BigInteger, nullable=False, index=True),
    Column("orders_last_year", Integer, nullable=False),
    Column("revenue_last_year_cents", BigInteger, nullable=False),
    Column("last_order_at", UtcDateTime),
    Column("scored_at", UtcDateTime, nullable=False),
)

follow_ups = Table(
    "crm_follow_ups",
    metadata,
    _id(),
    _customer_fk(),
    Column("agent", String(64), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("interaction_id", Integer, ForeignKey("crm_interactions.id", ondelete="SET NULL")),
    Column("case_id", Integer, ForeignKey("crm_cases.id", ondelete="SET NULL")),
    Column("done", Boolean, nullable=False, default=False),
    Index("ix_crm_follow_ups_agent_due", "agent", "due_at"),
    Index("ix_crm_follow_ups_customer", "customer_id"),
)

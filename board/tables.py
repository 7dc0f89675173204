"""The event log table (schema documented in docs/events.md)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "pk": "pk_%(table_name)s",
    }
)

events = sa.Table(
    "board_events",
    metadata,
    # BigInteger ids; SQLite only autoincrements an INTEGER PRIMARY KEY, hence the variant.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at_us", sa.BigInteger(), nullable=False),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("call_id", sa.String(128), nullable=True),
    sa.Column("agent_id", sa.String(128), nullable=True),
    sa.Column("queue_id", sa.String(128), nullable=True),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Index("ix_board_events_at_us", "at_us"),
    sa.Index("ix_board_events_call_id", "call_id"),
)

"""The table `admin` owns: every saved version of the routing config."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

config_versions = sa.Table(
    "admin_config_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The username of who saved it ("system" for the file loaded at first start).
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("summary", sa.String(300), nullable=False),
    # The whole config as `dump_config` writes it: restoring needs nothing else.
    sa.Column("document", sa.Text, nullable=False),
    # Unified diff against the version before it (empty for the first).
    sa.Column("diff", sa.Text, nullable=False),
    sa.Column("restored_from", sa.Integer, nullable=True),
)

"""The agents migrations: they build exactly the tables the code declares, and undo cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from agents import MIGRATIONS_DIR, VERSION_TABLE
from agents.tables import metadata
from config.database import create_engine, current_revision, downgrade, upgrade


def ours(name: str | None, kind: str, parents: object) -> bool:
    """Compare only the agents tables: other packages share the database."""
    return kind != "table" or bool(name and name.startswith("agents_"))


def differences(connection: Connection) -> list[object]:
    """Return what differs between the migrated database and `agents.tables`."""
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "include_name": ours}
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_match_the_tables_and_downgrade(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}")
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        assert await current_revision(engine, VERSION_TABLE) is not None
        async with engine.connect() as conn:
            assert await conn.run_sync(differences) == []
        await downgrade(engine, MIGRATIONS_DIR, VERSION_TABLE, "base")
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert not {"agents_users", "agents_sessions"} & tables
        assert await current_revision(engine, VERSION_TABLE) is None
    finally:
        await engine.dispose()

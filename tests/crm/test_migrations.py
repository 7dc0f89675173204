"""The store's migrations go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from config.database import current_revision, downgrade, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.tables import metadata


async def crm_tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    return {n for n in names if n.startswith("crm_")}


async def test_up_down_up(engine: AsyncEngine) -> None:
    expected = {t.name for t in metadata.sorted_tables}
    assert await crm_tables(engine) == expected | {VERSION_TABLE}
    assert await current_revision(engine, VERSION_TABLE) == "0001"

    await downgrade(engine, MIGRATIONS_DIR, VERSION_TABLE, "base")
    assert await crm_tables(engine) == {VERSION_TABLE}
    assert await current_revision(engine, VERSION_TABLE) is None

    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    assert await crm_tables(engine) == expected | {VERSION_TABLE}


def only_crm(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or (name or "").startswith("crm_")


async def test_migrations_match_the_tables(engine: AsyncEngine) -> None:
    """Autogenerate finds nothing to do: the migration and tables.py describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def diff(conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "include_name": only_crm}
        )
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []

"""The store's migrations go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from config.database import current_revision, downgrade, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.tables import customers, follow_ups, metadata
from tests.crm.conftest import NOW


async def crm_tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    return {n for n in names if n.startswith("crm_")}


async def test_up_down_up(engine: AsyncEngine) -> None:
    expected = {t.name for t in metadata.sorted_tables}
    assert await crm_tables(engine) == expected | {VERSION_TABLE}
    assert await current_revision(engine, VERSION_TABLE) == "0002"

    await downgrade(engine, MIGRATIONS_DIR, VERSION_TABLE, "0001")
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


async def test_altering_a_table_keeps_the_links_to_it(engine: AsyncEngine) -> None:
    """0002 rebuilds crm_interactions on SQLite; follow-ups pointing at it keep their link."""
    await downgrade(engine, MIGRATIONS_DIR, VERSION_TABLE, "0001")
    async with engine.begin() as conn:
        await conn.execute(insert(customers).values(id=1, name="Linked", notes="", created_at=NOW))
        await conn.execute(
            text(
                "INSERT INTO crm_interactions (id, customer_id, channel, direction, started_at,"
                " notes, talk_seconds, hold_seconds, wrap_seconds)"
                " VALUES (7, 1, 'phone', 'inbound', '2026-06-01 12:00:00', '', 0, 0, 0)"
            )
        )
        await conn.execute(
            insert(follow_ups).values(
                customer_id=1, agent="alice", due_at=NOW, note="", interaction_id=7, done=False
            )
        )
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    async with engine.connect() as conn:
        linked = await conn.scalar(select(follow_ups.c.interaction_id))
    assert linked == 7

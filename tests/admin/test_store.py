"""Config versions on SQLite and PostgreSQL: migrations, history, restore, one change at a time."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from admin import MIGRATIONS_DIR, VERSION_TABLE
from admin.service import ConfigService, StaleVersion
from admin.tables import metadata
from admin.versions import VersionStore
from config.compile import to_router
from config.database import create_engine, current_revision, downgrade, upgrade
from config.loader import dump_config, load_config
from router.engine import Engine
from tests.admin.support import EXAMPLE, LiveRouter


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database: a SQLite file, or a throwaway schema on PostgreSQL."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}")
        yield engine
        await engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"admin_test_{secrets.token_hex(6)}"
    owner = create_async_engine(url)
    async with owner.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The shared server holds other suites' tables: this test's live in its own schema.
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()
        async with owner.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await owner.dispose()


def ours(name: str | None, kind: str, parents: object) -> bool:
    return kind != "table" or bool(name and name.startswith("admin_"))


def differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "include_name": ours}
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_match_the_tables_and_downgrade(db: AsyncEngine) -> None:
    await upgrade(db, MIGRATIONS_DIR, VERSION_TABLE)
    assert await current_revision(db, VERSION_TABLE) is not None
    async with db.connect() as conn:
        assert await conn.run_sync(differences) == []
    await downgrade(db, MIGRATIONS_DIR, VERSION_TABLE, "base")
    async with db.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert "admin_config_versions" not in tables
    assert await current_revision(db, VERSION_TABLE) is None


def clock() -> datetime:
    return datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def started(db: AsyncEngine) -> tuple[ConfigService, LiveRouter]:
    await upgrade(db, MIGRATIONS_DIR, VERSION_TABLE)
    config = load_config(EXAMPLE)
    router = LiveRouter(Engine(*to_router(config)))
    service = ConfigService(VersionStore(db, clock), router.apply, config, "example.yaml")
    await service.start()
    return service, router


async def test_versions_restore_and_history(db: AsyncEngine) -> None:
    service, router = await started(db)
    first = service.config
    assert service.version.id == 1
    changed = await service.change(
        "skills", "welsh", {"name": "Welsh"}, author="ria", base_version=1
    )
    assert changed.created_at == clock()
    assert "+  welsh:\n+    name: Welsh\n" in changed.diff
    restored = await service.restore(1, author="ria")
    assert restored.restored_from == 1
    assert service.config == first
    assert router.applied == [router.applied[0], first]
    history = await service.versions.history()
    assert [(v.id, v.author) for v in history] == [(3, "ria"), (2, "ria"), (1, "system")]
    assert history[0].document == history[2].document == dump_config(first)


async def test_two_changes_on_the_same_version_one_wins(db: AsyncEngine) -> None:
    service, router = await started(db)
    results = await asyncio.gather(
        service.change("skills", "welsh", {"name": "Welsh"}, author="a", base_version=1),
        service.change("skills", "irish", {"name": "Irish"}, author="b", base_version=1),
        return_exceptions=True,
    )
    assert sum(isinstance(result, StaleVersion) for result in results) == 1
    assert service.version.id == 2
    assert len(router.applied) == 1
    assert len(await service.versions.history()) == 2

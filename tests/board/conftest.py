"""Fixtures for the board tests: a migrated event log on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from board.eventlog import MIGRATIONS_DIR, VERSION_TABLE
from config.database import create_engine, upgrade
from tests.web.browser import browser, console_messages, page  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty event log: a SQLite file, or a throwaway schema on PostgreSQL."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'board.db'}")
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        yield engine
        await engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"board_test_{secrets.token_hex(6)}"
    admin = create_async_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The shared server holds other suites' tables: this test's live in its own schema.
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

"""Fixtures for the CRM tests: stores on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from config.database import create_engine, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.sql_store import SqlDirectory
from crm_bridge.tables import metadata
from tests.support import require_port

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _admin(url: str, statement: str) -> None:
    """Run one statement on the shared server (CREATE/DROP DATABASE cannot run in a transaction)."""
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """Create a fresh database for this session (the server is shared) and drop it after."""
    require_port("127.0.0.1", 5432, "PostgreSQL")
    base = os.environ.get("SWITCHBOARD_TEST_PG", DEFAULT_PG)
    name = f"crm_test_{os.getpid()}_{secrets.token_hex(4)}"
    _run_admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_admin(url: str, statement: str) -> None:
    """Run `_admin` on its own loop in a thread: the fixture may be set up inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin(url, statement)).result()


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty customer store on real SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
    engine = create_engine(url)
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        if request.param == "postgresql":
            # One database per session; each test starts from empty tables.
            names = ", ".join(t.name for t in metadata.sorted_tables)
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def make_store(engine: AsyncEngine) -> AsyncIterator[Callable[..., SqlDirectory]]:
    """Build SQL directories on the test store (British numbers, fixed 'now' by default)."""
    made: list[SqlDirectory] = []

    def make(**options: Any) -> SqlDirectory:
        options.setdefault("default_region", "GB")
        options.setdefault("clock", lambda: NOW)
        made.append(SqlDirectory(engine, **options))
        return made[-1]

    yield make
    for directory in made:
        await directory.close()


@pytest.fixture
def store(make_store: Callable[..., SqlDirectory]) -> SqlDirectory:
    """The SQL directory at a fixed 'now', reading national numbers as British."""
    return make_store()

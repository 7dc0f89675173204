"""Fixtures for the CRM tests: a throwaway PostgreSQL database per test session."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

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
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

"""The composition root: one app, its resources started in order and stopped in reverse."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from agents import AUTH, Role
from config.app import ENGINE, SETTINGS, create_app
from config.database import create_engine
from config.settings import Settings
from crm_bridge.app import CUSTOMER_DIRECTORY
from tests.support import require_port
from tests.web.support import PASSWORD, form_token, session_cookie, sign_in
from tests.web.test_migrations import differences

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


def sweeper_running() -> bool:
    return any(task.get_name() == "agents-session-sweeper" for task in asyncio.all_tasks())


async def test_create_app_migrates_serves_and_cleans_up(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    settings = Settings(data_dir=tmp_path, session_idle_timeout_s=120)
    app = create_app(settings)
    assert app[SETTINGS] is settings
    client = await aiohttp_client(app)
    assert sweeper_running()
    async with app[ENGINE].connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert {"agents_users", "agents_sessions", "agents_alembic_version"} <= tables
    assert "crm_alembic_version" in tables
    assert CUSTOMER_DIRECTORY in app
    assert app[AUTH].sessions.policy.idle_timeout.total_seconds() == 120
    assert (await client.get("/healthz")).status == 200
    await client.close()
    assert not sweeper_running()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards (the server is shared)."""
    require_port("127.0.0.1", 5432, "PostgreSQL")
    base = os.environ.get(
        "SWITCHBOARD_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parsed = make_url(base)
    name = f"web_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_sessions_survive_a_restart_on_postgresql(
    pg_url: str, tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=pg_url)
    first = create_app(settings)
    client = await aiohttp_client(first)
    await first[AUTH].users.create("ada", PASSWORD, Role.AGENT, agent_id="a-1")
    await sign_in(client, "ada")
    token = session_cookie(client)
    await client.close()

    restarted = await aiohttp_client(create_app(settings))
    response = await restarted.get("/api/me", cookies={"sb_session": str(token)})
    assert response.status == 200
    assert (await response.json())["agent_id"] == "a-1"
    await restarted.close()
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            drift = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert {"agents_users", "agents_sessions", "agents_alembic_version"} <= tables
    assert drift == []  # the migration built exactly what agents.tables declares


async def sign_in_headers(client: Client, headers: dict[str, str]) -> tuple[int, str]:
    """Sign in with extra request headers; return the status and the session cookie line."""
    page = await client.get("/signin", headers=headers)
    token = form_token(await page.text())
    response = await client.post(
        "/signin",
        data={"csrf_token": token, "username": "ada", "password": PASSWORD},
        headers=headers,
        cookies={"sb_presession": token},
        allow_redirects=False,
    )
    cookie = next(
        (c for c in response.headers.getall("Set-Cookie", []) if c.startswith("sb_session=")), ""
    )
    return response.status, cookie


FORWARDED = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}


async def test_trusted_proxy_headers_are_believed(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1, ::1"))
    client = await aiohttp_client(app)
    await app[AUTH].users.create("ada", PASSWORD, Role.AGENT)
    status, cookie = await sign_in_headers(client, FORWARDED)
    assert status == 303
    assert "Secure" in cookie  # the client spoke HTTPS to the proxy


async def test_proxy_headers_are_ignored_without_trusted_proxies(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    client = await aiohttp_client(app)
    await app[AUTH].users.create("ada", PASSWORD, Role.AGENT)
    status, cookie = await sign_in_headers(client, FORWARDED)
    assert status == 303
    assert "Secure" not in cookie


def test_bad_proxy_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        create_app(Settings(data_dir=tmp_path, trusted_proxies="not-an-address"))


async def test_rate_limit_counts_each_client_behind_the_proxy(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        trusted_proxies="127.0.0.1",
        sign_in_failures_per_address=2,
        sign_in_failures_per_username=100,
    )
    app = create_app(settings)
    client = await aiohttp_client(app)

    async def attempt(address: str) -> int:
        headers = {"X-Forwarded-For": address}
        page = await client.get("/signin", headers=headers)
        response = await client.post(
            "/signin",
            data={"csrf_token": form_token(await page.text()), "username": "x", "password": "y"},
            headers=headers,
            allow_redirects=False,
        )
        return response.status

    assert [await attempt("203.0.113.5") for _ in range(3)] == [401, 401, 429]
    assert await attempt("203.0.113.6") == 401  # another client, its own count

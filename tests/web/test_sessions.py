"""Sessions: idle and absolute expiry, sign-out revokes, a restart keeps agents signed in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import Role, SessionPolicy
from agents.sessions import hash_token
from tests.web.support import PASSWORD, FakeClock, World, build_app, session_cookie, sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]

POLICY = SessionPolicy(
    idle_timeout=timedelta(minutes=10),
    absolute_timeout=timedelta(hours=1),
    touch_interval=timedelta(seconds=60),
)


@pytest.fixture
async def timed(tmp_path: Path, aiohttp_client: ClientFactory) -> tuple[Client, World]:
    world = build_app(tmp_path / "timed.db", policy=POLICY)
    client = await aiohttp_client(world.app)
    await world.auth.users.create("ada", PASSWORD, Role.AGENT)
    return client, world


async def test_idle_session_expires(timed: tuple[Client, World]) -> None:
    client, world = timed
    await sign_in(client, "ada")
    world.clock.advance(minutes=9, seconds=59)
    assert (await client.get("/api/me")).status == 200  # use restarts the idle clock
    world.clock.advance(minutes=9, seconds=59)
    assert (await client.get("/api/me")).status == 200
    world.clock.advance(minutes=10)
    assert (await client.get("/api/me")).status == 401
    page = await client.get("/agent", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"] == "/signin?next=/agent"


async def test_busy_session_still_ends_at_the_absolute_limit(
    timed: tuple[Client, World],
) -> None:
    client, world = timed
    await sign_in(client, "ada")
    for _ in range(11):  # 55 minutes of activity, never idle for long
        world.clock.advance(minutes=5)
        assert (await client.get("/api/me")).status == 200
    world.clock.advance(minutes=5)
    assert (await client.get("/api/me")).status == 401


async def test_session_reports_its_expiry(timed: tuple[Client, World]) -> None:
    client, _ = timed
    await sign_in(client, "ada")
    body = await (await client.get("/api/session")).json()
    assert body["idle_timeout_s"] == 600
    assert body["absolute_timeout_s"] == 3600
    assert body["expires_at"].startswith("2026-11-23T09:10:00")


async def test_sign_out_form_revokes_the_session(timed: tuple[Client, World]) -> None:
    client, _ = timed
    csrf = await sign_in(client, "ada")
    token = session_cookie(client)
    assert token
    response = await client.post("/signout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/signin"
    assert session_cookie(client) is None
    assert (await client.get("/api/me", cookies={"sb_session": token})).status == 401


async def test_api_sign_out_revokes_the_session(timed: tuple[Client, World]) -> None:
    client, _ = timed
    csrf = await sign_in(client, "ada")
    token = session_cookie(client)
    response = await client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert response.status == 204
    assert (await client.get("/api/me", cookies={"sb_session": str(token)})).status == 401


async def test_restart_keeps_sessions(tmp_path: Path, aiohttp_client: ClientFactory) -> None:
    clock = FakeClock()
    first = build_app(tmp_path / "restart.db", clock=clock)
    client = await aiohttp_client(first.app)
    await first.auth.users.create("ada", PASSWORD, Role.AGENT)
    await sign_in(client, "ada")
    token = session_cookie(client)
    await client.close()

    second = build_app(tmp_path / "restart.db", clock=clock)
    restarted = await aiohttp_client(second.app)
    response = await restarted.get("/api/me", cookies={"sb_session": str(token)})
    assert response.status == 200
    assert (await response.json())["username"] == "ada"


async def test_database_holds_only_token_hashes(timed: tuple[Client, World]) -> None:
    client, world = timed
    await sign_in(client, "ada")
    token = session_cookie(client)
    assert token
    assert await world.auth.sessions.load(token) is not None
    stored = await world.auth.sessions.load(hash_token(token))
    assert stored is None  # the stored value does not work as a cookie


async def test_sweep_removes_only_expired_sessions(timed: tuple[Client, World]) -> None:
    client, world = timed
    await sign_in(client, "ada")
    assert await world.auth.sessions.purge_expired() == 0
    world.clock.advance(minutes=11)
    assert await world.auth.sessions.purge_expired() == 1


async def test_password_change_ends_other_sessions(
    timed: tuple[Client, World], aiohttp_client: ClientFactory
) -> None:
    client, world = timed
    other = await aiohttp_client(client.server)
    await sign_in(other, "ada")
    csrf = await sign_in(client, "ada")
    response = await client.put(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "a whole new passphrase"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 204, await response.text()
    assert (await client.get("/api/me")).status == 200
    assert (await other.get("/api/me")).status == 401
    assert await world.auth.users.authenticate("ada", "a whole new passphrase") is not None
    assert await world.auth.users.authenticate("ada", PASSWORD) is None

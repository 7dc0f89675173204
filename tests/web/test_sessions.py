"""Sessions: idle and absolute expiry, sign-out revokes, a restart keeps agents signed in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import event

from agents import Role, SessionPolicy
from agents.sessions import hash_token
from agents.tables import sessions
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


async def test_many_uses_at_once_are_written_in_a_few_transactions(
    timed: tuple[Client, World],
) -> None:
    _, world = timed
    store = world.auth.sessions
    user = await world.auth.users.by_username("ada")
    assert user is not None
    tokens = [(await store.create(user))[0] for _ in range(40)]
    world.clock.advance(minutes=5)  # past the touch interval: each load notes a use
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(world.engine.sync_engine, "commit", count)
    loaded = await asyncio.gather(*(store.load(token) for token in tokens))
    assert all(s is not None and s.last_seen_at == world.clock.now for s in loaded)
    await store.flush()
    event.remove(world.engine.sync_engine, "commit", count)
    # One write per load would be 40 commits, each waited for by its request.
    assert commits < 10
    async with world.engine.connect() as conn:
        seen = (await conn.execute(sa.select(sessions.c.last_seen_at))).scalars().all()
    assert len(seen) == 40
    assert {value.replace(tzinfo=UTC) for value in seen} == {world.clock.now}


async def test_a_use_not_yet_written_still_keeps_the_session_alive(
    timed: tuple[Client, World],
) -> None:
    client, world = timed
    await sign_in(client, "ada")
    world.clock.advance(minutes=9)
    assert (await client.get("/api/me")).status == 200  # noted, maybe not written yet
    world.clock.advance(minutes=9)
    assert (await client.get("/api/me")).status == 200  # 18 min after sign-in, 9 idle


async def test_load_many_answers_only_the_live_sessions(timed: tuple[Client, World]) -> None:
    _, world = timed
    store = world.auth.sessions
    ada = await world.auth.users.by_username("ada")
    assert ada is not None
    bob = await world.auth.users.create("bob", PASSWORD, Role.AGENT, agent_id="bob")
    kept, revoked = (await store.create(ada))[0], (await store.create(ada))[0]
    disabled = (await store.create(bob))[0]
    world.clock.advance(minutes=6)
    idle = (await store.create(ada))[0]  # then never used: idle after 10 minutes
    world.clock.advance(minutes=3)
    assert (await store.load(kept)) is not None  # 9 minutes: kept alive by this use
    await store.revoke(revoked)
    assert await world.auth.users.set_disabled("bob", True)
    world.clock.advance(minutes=8)  # idle: 11 minutes after its creation
    tokens = [kept, revoked, disabled, idle, "not a token"]
    live = await store.load_many(tokens * 300)  # duplicates and more than one query's worth
    assert list(live) == [kept]
    assert live[kept].user.username == "ada"
    assert live[kept].last_seen_at == world.clock.now

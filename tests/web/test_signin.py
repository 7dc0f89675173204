"""Sign-in: cookies, session rotation, wrong passwords, the rate limit and what is logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import Role
from agents.ratelimit import Limit, SignInLimits
from tests.web.support import PASSWORD, World, build_app, form_token, session_cookie, sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


async def post_sign_in(
    client: Client, username: str, password: str, next_path: str = "/"
) -> web.Response:
    page = await client.get("/signin")
    return await client.post(  # type: ignore[return-value]
        "/signin",
        data={
            "csrf_token": form_token(await page.text()),
            "username": username,
            "password": password,
            "next": next_path,
        },
        allow_redirects=False,
    )


def set_cookies(response: web.Response) -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookies.load(header)
    return cookies


async def test_sign_in_sets_a_protected_session_cookie(client: Client) -> None:
    response = await post_sign_in(client, "ada", PASSWORD)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = set_cookies(response)["sb_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP here; see the forced-Secure test
    assert len(cookie.value) >= 40
    me = await client.get("/api/me")
    assert await me.json() == {
        "username": "ada",
        "display_name": "Ada Agent",
        "role": "agent",
        "agent_id": "a-1",
    }


async def test_cookies_are_secure_behind_tls_proxy(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    world = build_app(tmp_path / "tls.db", force_secure_cookies=True)
    client = await aiohttp_client(world.app)
    await world.auth.users.create("ada", PASSWORD, Role.AGENT)
    page = await client.get("/signin")
    assert set_cookies(page)["sb_presession"]["secure"] is True
    token = form_token(await page.text())
    # The client, like a browser, keeps Secure cookies off plain HTTP: send it as the proxy would.
    response = await client.post(
        "/signin",
        data={"csrf_token": token, "username": "ada", "password": PASSWORD},
        cookies={"sb_presession": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert set_cookies(response)["sb_session"]["secure"] is True


async def test_sign_in_rotates_the_session_id(client: Client) -> None:
    await sign_in(client, "ada")
    first = session_cookie(client)
    await sign_in(client, "ada")
    second = session_cookie(client)
    assert first and second and first != second
    stale = await client.get("/api/me", cookies={"sb_session": first})
    assert stale.status == 401


async def test_planted_session_id_never_becomes_valid(client: Client) -> None:
    planted = {"sb_session": "chosen-by-an-attacker"}
    page = await client.get("/signin", cookies=planted)
    response = await client.post(
        "/signin",
        data={"csrf_token": form_token(await page.text()), "username": "ada", "password": PASSWORD},
        cookies=planted,
        allow_redirects=False,
    )
    assert response.status == 303
    issued = set_cookies(response)["sb_session"].value
    assert issued != "chosen-by-an-attacker"
    assert (await client.get("/api/me", cookies={"sb_session": issued})).status == 200
    assert (await client.get("/api/me", cookies=planted)).status == 401


async def test_sign_in_goes_to_next_but_never_off_site(client: Client) -> None:
    inside = await post_sign_in(client, "ada", PASSWORD, next_path="/agent?tab=1")
    assert inside.headers["Location"] == "/agent?tab=1"
    for outside in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await post_sign_in(client, "ada", PASSWORD, next_path=outside)
        assert response.headers["Location"] == "/"


async def test_wrong_password_shows_an_error_and_logs_no_secret(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await post_sign_in(client, "ada", "Wrong-Pass-1234")
    assert response.status == 401
    assert "Wrong username or password." in await response.text()
    assert session_cookie(client) is None
    assert "sign-in failed" in caplog.text
    assert "Wrong-Pass-1234" not in caplog.text
    assert (await client.get("/api/me")).status == 401


async def test_unknown_user_gets_the_same_answer(client: Client) -> None:
    response = await post_sign_in(client, "nobody", PASSWORD)
    assert response.status == 401
    assert "Wrong username or password." in await response.text()


async def test_disabled_user_cannot_sign_in_and_loses_their_session(
    client: Client, world: World
) -> None:
    await sign_in(client, "ada")
    assert await world.auth.users.set_disabled("ada", True)
    assert (await client.get("/api/me")).status == 401
    response = await post_sign_in(client, "ada", PASSWORD)
    assert response.status == 401


@pytest.fixture
async def limited(tmp_path: Path, aiohttp_client: ClientFactory) -> tuple[Client, World]:
    limits = SignInLimits(per_username=Limit(3, 60.0), per_address=Limit(6, 60.0))
    world = build_app(tmp_path / "limited.db", limits=limits)
    client = await aiohttp_client(world.app)
    for name in ("ada", "bob", "cyd"):
        await world.auth.users.create(name, PASSWORD, Role.AGENT)
    return client, world


async def test_failed_attempts_per_username_are_limited(
    limited: tuple[Client, World], caplog: pytest.LogCaptureFixture
) -> None:
    client, world = limited
    for _ in range(3):
        assert (await post_sign_in(client, "ada", "not-the-password")).status == 401
    with caplog.at_level(logging.WARNING):
        refused = await post_sign_in(client, "ada", PASSWORD)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "60"
    assert "Too many attempts, try again in 60 s." in await refused.text()
    assert "throttled" in caplog.text
    # Other accounts are not locked by ada's failures.
    assert (await post_sign_in(client, "bob", PASSWORD)).status == 303
    world.monotonic.now += 25
    again = await post_sign_in(client, "ada", PASSWORD)
    assert "try again in 35 s." in await again.text()
    world.monotonic.now += 35
    assert (await post_sign_in(client, "ada", PASSWORD)).status == 303


async def test_failures_per_address_are_limited(limited: tuple[Client, World]) -> None:
    client, _ = limited
    # Six failures spread over accounts stay under each account's limit, not the address's.
    for name in ("ada", "bob", "cyd", "ada", "bob", "cyd"):
        assert (await post_sign_in(client, name, "not-the-password")).status == 401
    refused = await post_sign_in(client, "dee", "whatever-password")
    assert refused.status == 429
    assert "Too many attempts" in await refused.text()


async def test_successful_sign_ins_do_not_count(limited: tuple[Client, World]) -> None:
    client, _ = limited
    # A floor of agents behind one address signing in at the start of a shift.
    for name in ("ada", "bob", "cyd") * 3:
        assert (await post_sign_in(client, name, PASSWORD)).status == 303

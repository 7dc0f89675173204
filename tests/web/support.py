"""Helpers for the web tests: a foundation-only app on real SQLite, fake clocks, sign-in."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

import agents
from agents.passwords import HashParameters
from agents.ratelimit import Limit, SignInLimits
from config.database import create_engine, upgrade

# The cheapest argon2id the library accepts: the tests check behaviour, not hashing cost.
CHEAP_HASHING = HashParameters(time_cost=1, memory_cost_kib=8, parallelism=1)
PASSWORD = "correct horse battery"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class FakeClock:
    """A wall clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """One foundation app with its clocks and services."""

    app: web.Application
    auth: agents.Auth
    engine: AsyncEngine
    clock: FakeClock
    monotonic: FakeMonotonic


def build_app(
    db_path: Path,
    *,
    policy: agents.SessionPolicy | None = None,
    limits: SignInLimits | None = None,
    hashing: HashParameters = CHEAP_HASHING,
    force_secure_cookies: bool = False,
    extra: Callable[[web.Application], None] | None = None,
    clock: FakeClock | None = None,
) -> World:
    """Build an app with only the web foundation, on a SQLite file."""
    app = web.Application()
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")

    @contextlib.asynccontextmanager
    async def database(_: web.Application) -> AsyncIterator[None]:
        await upgrade(engine, agents.MIGRATIONS_DIR, agents.VERSION_TABLE)
        yield
        await engine.dispose()

    app.cleanup_ctx.append(database)
    clock = clock or FakeClock()
    monotonic = FakeMonotonic()
    options = agents.WebOptions(
        secret_key=b"test secret key, 32 bytes long!!",
        session_policy=policy or agents.SessionPolicy(),
        sign_in_limits=limits or SignInLimits(Limit(100, 60.0), Limit(100, 60.0)),
        hash_parameters=hashing,
        force_secure_cookies=force_secure_cookies,
    )
    auth = agents.setup(app, engine, options, clock=clock, monotonic=monotonic)
    if extra is not None:
        extra(app)
    return World(app=app, auth=auth, engine=engine, clock=clock, monotonic=monotonic)


def form_token(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    match = _CSRF_FIELD.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def sign_in(
    client: TestClient[web.Request, web.Application], username: str, password: str = PASSWORD
) -> str:
    """Sign in through the form and return the session's CSRF token."""
    page = await client.get("/signin")
    assert page.status == 200
    response = await client.post(
        "/signin",
        data={
            "csrf_token": form_token(await page.text()),
            "username": username,
            "password": password,
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    session = await client.get("/api/session")
    assert session.status == 200
    token: str = (await session.json())["csrf_token"]
    return token


def session_cookie(client: TestClient[web.Request, web.Application]) -> str | None:
    """Return the session cookie the client holds, if any."""
    for cookie in client.session.cookie_jar:
        if cookie.key == "sb_session":
            return cookie.value
    return None

"""Fixtures for the web tests; the browser fixtures live in tests/web/browser.py for reuse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import Role
from tests.web.browser import browser, console_messages, page  # noqa: F401  (fixtures)
from tests.web.support import PASSWORD, World, build_app

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A foundation app on a fresh SQLite file, with fake clocks."""
    return build_app(tmp_path / "web.db")


@pytest.fixture
async def client(world: World, aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    """A test client for `world`, with the three users created."""
    test_client = await aiohttp_client(world.app)
    users = world.auth.users
    await users.create("ada", PASSWORD, Role.AGENT, display_name="Ada Agent", agent_id="a-1")
    await users.create("sam", PASSWORD, Role.SUPERVISOR, display_name="Sam Supervisor")
    await users.create("root", PASSWORD, Role.ADMIN, display_name="Ria Admin")
    return test_client

"""Fixtures for the admin tests: the admin app on real SQLite with three users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import Role
from tests.admin.support import AdminWorld, build_admin_app
from tests.web.browser import browser, console_messages, page  # noqa: F401  (fixtures)
from tests.web.support import PASSWORD

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def world(tmp_path: Path) -> AdminWorld:
    """The admin on a fresh SQLite file, applying changes to a real routing engine."""
    return build_admin_app(tmp_path / "admin.db")


@pytest.fixture
async def client(world: AdminWorld, aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    """A test client for `world`, with an agent, a supervisor and an admin."""
    test_client = await aiohttp_client(world.app)
    users = world.web.auth.users
    await users.create("ada", PASSWORD, Role.AGENT, display_name="Ada Agent", agent_id="a-1")
    await users.create("sam", PASSWORD, Role.SUPERVISOR, display_name="Sam Supervisor")
    await users.create("root", PASSWORD, Role.ADMIN, display_name="Ria Admin")
    return test_client

"""Fixtures for the console tests: the console app on a fresh SQLite file, and Chromium."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.agents.console_app import ConsoleWorld, add_users, build_console_app
from tests.web.browser import browser, console_messages, page  # noqa: F401  (fixtures)

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def world(tmp_path: Path) -> ConsoleWorld:
    """The console app on a fresh SQLite file."""
    return build_console_app(tmp_path / "console.db")


@pytest.fixture
async def client(world: ConsoleWorld, aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    """A test client for `world`, with its users created."""
    test_client = await aiohttp_client(world.app)
    await add_users(world.app)
    return test_client

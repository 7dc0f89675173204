"""Real Chromium for browser tests: one browser per test session, a fresh context per test.

Reuse from any test package's conftest.py:

    from tests.web.browser import browser, console_messages, page  # noqa: F401

Tests that use these fixtures run on the session's event loop (the browser lives there):

    pytestmark = pytest.mark.asyncio(loop_scope="session")

and serve their app with `live_server(app)` on an ephemeral port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.support import require_tool

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The smallest laptop screen the pages must fit.
VIEWPORT = {"width": 1366, "height": 768}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, launched once for the whole test session."""
    executable = require_tool("chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def console_messages() -> list[ConsoleMessage]:
    """The console messages of the test's page (CSP violations show up here as errors)."""
    return []


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser, console_messages: list[ConsoleMessage]) -> AsyncIterator[Page]:
    """A page in a fresh browser context (own cookies), sized like a 1366x768 laptop."""
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        new_page = await context.new_page()
        # Playwright wraps handlers in attributes, so a bound builtin like list.append won't do.
        new_page.on("console", lambda message: console_messages.append(message))
        yield new_page
    finally:
        await context.close()


@contextlib.asynccontextmanager
async def live_server(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on an ephemeral port of 127.0.0.1 and yield its base URL."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()

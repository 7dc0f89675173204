"""The board in real Chromium: live updates over the websocket, breach colour, why, actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import ConsoleMessage, Page, expect

import board
from board.eventlog import read_records
from router import Call
from tests.board.app import BoardWorld, add_users, build_board_app
from tests.web.browser import live_server
from tests.web.support import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")

BREACH_BACKGROUND = "rgb(253, 236, 234)"


@pytest_asyncio.fixture(loop_scope="session")
async def site(tmp_path: Path) -> AsyncIterator[tuple[BoardWorld, str]]:
    world = build_board_app(tmp_path / "board.db")
    async with live_server(world.app) as base_url:
        await add_users(world.app)
        yield world, base_url


async def sign_in(page: Page, base_url: str, username: str) -> None:
    await page.goto(f"{base_url}/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_the_board_updates_live_and_marks_a_breach(
    page: Page, site: tuple[BoardWorld, str], console_messages: list[ConsoleMessage]
) -> None:
    world, base_url = site
    runtime = world.runtime
    engine = runtime.engine
    await sign_in(page, base_url, "sam")
    await page.goto(f"{base_url}/supervisor/board")
    await expect(page.get_by_test_id("board-status")).to_contain_text("Live")
    support = page.locator('tr[data-queue="support"]')
    await expect(support).to_be_visible()
    await expect(support).not_to_have_class("breach")
    ada = page.locator('tr[data-agent="ada"]')
    await expect(ada).to_contain_text("logged out")

    # Routing changes after the page loaded reach it over the websocket, without a reload.
    runtime.act(lambda now: engine.agent_login("ada", now))
    runtime.act(lambda now: engine.agent_ready("ada", now))
    await expect(ada).to_contain_text("ready")
    runtime.act(lambda now: engine.call_arrived(Call("c-late", "support", now - 45), now))
    runtime.act(lambda now: engine.call_arrived(Call("c-wait", "support", now), now))
    await expect(support.locator("td").nth(1)).to_have_text("2")  # waiting
    # Abandoned after 45 s against a 20 s threshold: service level 0 %, target 80 %.
    runtime.act(lambda now: engine.caller_abandoned("c-late", now))
    await expect(support).to_have_class("breach")
    await expect(support).to_contain_text("below target")
    await expect(support.locator("td").first).to_have_css("background-color", BREACH_BACKGROUND)
    await expect(page.locator('tr[data-queue="sales"]')).not_to_have_class("breach")

    # Why: the router's reason for the waiting call.
    await (
        page.locator('tr[data-call="c-wait"]')
        .get_by_role("button", name="Why? call c-wait")
        .click()
    )
    panel = page.get_by_test_id("why-panel")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("queued: no idle agent")

    # The supervisor sets Ada Not Ready: the engine changes, the board shows it, it is audited.
    await ada.get_by_role("button", name="Not ready Ada Lovelace").click()
    await expect(ada).to_contain_text("not ready")
    await expect(ada).to_contain_text("supervisor")
    assert engine.agent_snapshot("ada").reason_code == "supervisor"
    service = world.app[board.BOARD]
    await service.event_log.flush()
    audit = [
        r for r in await read_records(service.db, 0, 1e12) if r.kind == board.SUPERVISOR_ACTION
    ]
    assert [(r.agent_id, r.data["action"], r.data["by_username"]) for r in audit] == [
        ("ada", "not_ready", "sam")
    ]
    assert [m.text for m in console_messages if m.type == "error"] == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366


async def test_reports_page_shows_the_chart_and_tables(
    page: Page, site: tuple[BoardWorld, str]
) -> None:
    world, base_url = site
    runtime = world.runtime
    engine = runtime.engine
    runtime.act(lambda now: engine.call_arrived(Call("r1", "support", now - 5), now))
    runtime.act(lambda now: engine.caller_abandoned("r1", now))
    await world.app[board.BOARD].event_log.flush()
    await sign_in(page, base_url, "sam")
    await page.goto(f"{base_url}/supervisor/reports")
    await page.get_by_label("Interval").select_option("15m")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_test_id("chart")).to_be_visible()
    assert await page.get_by_test_id("chart").locator("rect").count() == 96
    totals = page.get_by_test_id("queue-report").locator("tr.total")
    await expect(totals).to_contain_text("support")


async def test_an_agent_is_refused_the_board_in_the_browser(
    page: Page, site: tuple[BoardWorld, str]
) -> None:
    _, base_url = site
    await sign_in(page, base_url, "ada")
    response = await page.goto(f"{base_url}/supervisor/board")
    assert response is not None and response.status == 403
    await expect(page.get_by_text("This needs the supervisor role.")).to_be_visible()
    await expect(page.locator("tr[data-queue]")).to_have_count(0)
    # Nor can its script open the board's websocket.
    refused = await page.evaluate(
        """() => new Promise((resolve) => {
            const socket = new WebSocket(location.origin.replace("http", "ws")
                + "/supervisor/board/ws");
            socket.onmessage = () => resolve("opened");
            socket.onerror = () => resolve("refused");
            socket.onclose = () => resolve("refused");
        })"""
    )
    assert refused == "refused"

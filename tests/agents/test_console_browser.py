"""The agent console in real Chromium: the day's work, a pop for a VIP and an unknown caller,
reconnect, a reloaded draft, CSRF, escaping and roles."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import ConsoleMessage, Dialog, Page, Route, expect

from router import AgentState
from tests.agents.console_app import ConsoleWorld, add_users, build_console_app
from tests.agents.support import UNKNOWN_NUMBER, VIP_NUMBER, add_vip
from tests.web.browser import live_server
from tests.web.support import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Wait up to 15 s (not playwright's 5 s): the machine is shared and busy."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)  # playwright's default, for other modules' tests


@pytest_asyncio.fixture(loop_scope="session")
async def site(tmp_path: Path) -> AsyncIterator[tuple[ConsoleWorld, str]]:
    world = build_console_app(tmp_path / "console.db")
    async with live_server(world.app) as base_url:
        await add_users(world.app)
        yield world, base_url


async def open_console(page: Page, base_url: str, username: str = "ada") -> None:
    await page.goto(f"{base_url}/signin?next=/agent/console")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.goto(f"{base_url}/agent/console")
    await expect(page.get_by_test_id("link-status")).to_have_text("Live")


def no_errors(messages: list[ConsoleMessage]) -> list[str]:
    return [m.text for m in messages if m.type == "error"]


async def test_a_vip_call_from_ready_to_history(
    page: Page, site: tuple[ConsoleWorld, str], console_messages: list[ConsoleMessage]
) -> None:
    world, base_url = site
    vip = await add_vip(world.directory)
    await open_console(page, base_url)
    await expect(page.get_by_test_id("agent-state")).to_have_text("logged out")
    await page.get_by_role("button", name="Ready", exact=True).click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("ready")
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.READY

    world.arrive("b-vip", VIP_NUMBER)
    offer = page.get_by_test_id("offer")
    await expect(offer).to_be_visible()
    await expect(offer).to_have_class("offer ringing")
    await expect(page.get_by_test_id("offer-left")).to_have_text(re.compile(r"^[1-6]?\d$"))
    await expect(page.get_by_test_id("pop-name")).to_have_text("Grace Hopper")
    await expect(page.get_by_test_id("pop-tier")).to_have_text("VIP · platinum")
    await expect(page.get_by_test_id("pop")).to_contain_text("ACC-1001")
    await expect(page.get_by_test_id("pop")).to_contain_text("referred by: Alan Turing")
    link = page.get_by_role("link", name="Open in CRM")
    await expect(link).to_have_attribute("href", f"https://crm.example/customers/{vip}")

    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_test_id("call-timer")).to_be_visible()
    await expect(offer).to_be_hidden()
    await page.get_by_role("button", name="Hold").click()
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()
    await page.get_by_role("button", name="Resume").click()
    await page.get_by_role("button", name="Hang up").click()

    await page.get_by_label("Disposition").select_option("sale")
    await page.get_by_label("Notes").fill("Renewed for two years")
    await page.get_by_role("button", name="Submit wrap-up").click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("ready")
    history = (await world.directory.customer_360(vip)).recent_interactions
    assert [(i.disposition, i.notes) for i in history] == [("sale", "Renewed for two years")]
    assert no_errors(console_messages) == []


async def test_an_unknown_caller_becomes_a_customer_on_the_page(
    page: Page, site: tuple[ConsoleWorld, str]
) -> None:
    world, base_url = site
    await open_console(page, base_url)
    await page.get_by_role("button", name="Ready", exact=True).click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("ready")
    world.arrive("b-new", UNKNOWN_NUMBER)
    await expect(page.get_by_text("Unknown caller")).to_be_visible()
    await expect(page.get_by_test_id("pop")).to_contain_text("+442079460999")
    await page.get_by_label("Name", exact=True).fill("Mary Jackson")
    await page.get_by_role("button", name="Create customer").click()
    await expect(page.get_by_test_id("pop-name")).to_have_text("Mary Jackson")
    await expect(page.get_by_test_id("pop-tier")).to_have_text("standard")
    found = await world.directory.lookup(UNKNOWN_NUMBER)
    assert found.customer is not None and found.customer.name == "Mary Jackson"


async def test_a_script_in_a_name_is_shown_as_text(
    page: Page, site: tuple[ConsoleWorld, str]
) -> None:
    world, base_url = site
    name = '<script>alert("pwned")</script> Eve'
    await add_vip(world.directory, name=name)
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    await open_console(page, base_url)
    await page.get_by_role("button", name="Ready", exact=True).click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("ready")
    world.arrive("b-xss", VIP_NUMBER)
    await expect(page.get_by_test_id("pop-name")).to_have_text(name)
    assert await page.locator("#pop script").count() == 0
    assert dialogs == []


async def test_the_console_reconnects_and_resyncs(
    page: Page, site: tuple[ConsoleWorld, str]
) -> None:
    world, base_url = site
    await open_console(page, base_url)
    console = world.console
    assert console.hub.connections == 1
    # A network blip: the server loses the socket; the page must come back by itself.
    for socket in list(console.sockets):
        await socket.close(code=1006)
    engine = world.runtime.engine
    world.runtime.act(lambda now: engine.agent_login("ada", now))
    world.runtime.act(lambda now: engine.agent_not_ready("ada", "training", now))
    await expect(page.get_by_test_id("agent-state")).to_have_text("not ready (Training)")
    await expect(page.get_by_test_id("link-status")).to_have_text("Live")
    assert console.hub.connections == 1


async def wrap_up_a_call(page: Page, world: ConsoleWorld, base_url: str) -> None:
    """Take a VIP's call and hang up: the wrap-up form is on the page."""
    await add_vip(world.directory)
    await open_console(page, base_url)
    await page.get_by_role("button", name="Ready", exact=True).click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("ready")
    world.arrive("b-draft", VIP_NUMBER)
    await page.get_by_role("button", name="Accept").click()
    await page.get_by_role("button", name="Hang up").click()
    await expect(page.get_by_label("Notes")).to_be_visible()


async def test_a_wrap_up_draft_survives_a_reload(
    page: Page, site: tuple[ConsoleWorld, str]
) -> None:
    world, base_url = site
    await wrap_up_a_call(page, world, base_url)
    await page.get_by_label("Notes").fill("Customer will call back about the invoice")
    await expect(page.get_by_text("Draft saved.")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Notes")).to_have_value(
        "Customer will call back about the invoice"
    )
    await expect(page.get_by_text("Draft restored.")).to_be_visible()


async def test_notes_typed_while_a_draft_is_saving_are_what_a_reload_shows(
    page: Page, site: tuple[ConsoleWorld, str]
) -> None:
    world, base_url = site
    await wrap_up_a_call(page, world, base_url)
    # Hold the first draft save in the network while the agent types on.
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()

    async def hold_the_first(route: Route) -> None:
        if held.done():
            await route.continue_()
        else:
            held.set_result(route)

    await page.route("**/api/console/wrapup/draft", hold_the_first)
    notes = page.get_by_label("Notes")
    await notes.fill("Invoice")
    async with asyncio.timeout(15):
        first = await held
    await notes.fill("Invoice 42 is wrong")
    await first.continue_()
    # "Draft saved." only once the server holds the text shown, so the reload shows it.
    await expect(page.get_by_test_id("draft-status")).to_have_text("Draft saved.")
    wrap = world.console.started().state_of("ada").wrap
    assert wrap is not None and wrap.draft.notes == "Invoice 42 is wrong"
    await page.reload()
    await expect(notes).to_have_value("Invoice 42 is wrong")
    await expect(page.get_by_test_id("draft-status")).to_have_text("Draft restored.")


async def test_a_form_without_its_csrf_token_is_refused(
    page: Page, site: tuple[ConsoleWorld, str]
) -> None:
    world, base_url = site
    await open_console(page, base_url)
    # Post the state form natively, as a forged cross-site form would, without the token.
    await page.evaluate(
        """() => {
            const form = document.getElementById("state-form");
            form.querySelector('[name="csrf_token"]').remove();
            const wanted = document.createElement("input");
            wanted.type = "hidden"; wanted.name = "state"; wanted.value = "ready";
            form.append(wanted);
            form.submit();
        }"""
    )
    await expect(page.get_by_role("alert")).to_contain_text("security token")
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.LOGGED_OUT


async def test_a_user_without_a_desk_is_denied(page: Page, site: tuple[ConsoleWorld, str]) -> None:
    _, base_url = site
    await page.goto(f"{base_url}/signin")
    await page.get_by_label("Username").fill("sam")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    response = await page.goto(f"{base_url}/agent/console")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("no agent id")


async def test_the_console_fits_a_laptop_screen(page: Page, site: tuple[ConsoleWorld, str]) -> None:
    world, base_url = site
    await add_vip(world.directory)
    await open_console(page, base_url)
    await page.get_by_role("button", name="Ready", exact=True).click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("ready")
    world.arrive("b-fit", VIP_NUMBER)
    await expect(page.get_by_test_id("pop-name")).to_have_text("Grace Hopper")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366
    # Keyboard: Accept is reachable and works with Enter.
    await page.get_by_role("button", name="Accept").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("call-timer")).to_be_visible()
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.ON_CALL
    # Blind transfer from the keyboard-reachable form: the caller waits in Support.
    await expect(page.get_by_label("Transfer to")).to_contain_text("Queue Support")
    await page.get_by_label("Transfer to").select_option("queue:support")
    await page.get_by_role("button", name="Transfer").click()
    await expect(page.get_by_role("button", name="Submit wrap-up")).to_be_visible()
    snapshot = world.runtime.engine.queue_snapshot("support", world.runtime.now())
    assert snapshot.waiting == 1

"""The foundation in real Chromium: sign-in, errors, roles, CSRF and escaping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import ConsoleMessage, Dialog, Page, expect

from agents import AUTH, Role
from config.app import create_app
from config.settings import Settings
from tests.web.browser import live_server
from tests.web.support import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOSTILE_NAME = "Mallory <script>window.__pwned = 1</script><img src=x onerror=alert(1)>"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The whole app (composition root) on an ephemeral port, with two users.

    One server for the module; each test has its own browser context, so its own cookies.
    """
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("browser")))
    async with live_server(app) as base_url:
        users = app[AUTH].users
        await users.create("ada", PASSWORD, Role.AGENT, display_name="Ada Agent", agent_id="a-1")
        await users.create("sam", PASSWORD, Role.SUPERVISOR, display_name=HOSTILE_NAME)
        yield base_url


async def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base_url}/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


def errors_in(messages: list[ConsoleMessage]) -> list[str]:
    return [m.text for m in messages if m.type == "error"]


async def test_sign_in_with_the_keyboard_lands_on_the_role_page(
    page: Page, site: str, console_messages: list[ConsoleMessage]
) -> None:
    await page.goto(f"{site}/agent")
    await expect(page).to_have_url(f"{site}/signin?next=/agent")
    # The username field has focus on arrival; the form works without a mouse.
    await page.keyboard.type("ada")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{site}/agent")
    await expect(page.get_by_role("heading", name="Agent home")).to_be_visible()
    await expect(page.get_by_test_id("display-name")).to_have_text("Ada Agent")
    await expect(page.get_by_text("Your agent id is")).to_contain_text("a-1")
    # Fits a 1366x768 screen without sideways scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert errors_in(console_messages) == []


async def test_wrong_password_shows_an_error(page: Page, site: str) -> None:
    await sign_in(page, site, "ada", "not the password")
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text("Wrong username or password.")
    await expect(page.get_by_label("Username")).to_have_value("ada")
    await expect(page.get_by_label("Password")).to_be_focused()


async def test_agent_is_refused_the_supervisor_page(page: Page, site: str) -> None:
    await sign_in(page, site, "ada")
    await expect(page).to_have_url(f"{site}/agent")
    response = await page.goto(f"{site}/supervisor")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_text("This needs the supervisor role.")


async def test_form_without_its_csrf_token_is_refused(page: Page, site: str) -> None:
    await sign_in(page, site, "ada")
    await expect(page).to_have_url(f"{site}/agent")
    # Playwright's evaluate runs outside the page's CSP; the page itself has no inline script.
    await page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
    )
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("security token is missing")
    # Still signed in: the refused form did nothing.
    await page.goto(f"{site}/agent")
    await expect(page.get_by_role("heading", name="Agent home")).to_be_visible()


async def test_sign_out_with_the_token_works(page: Page, site: str) -> None:
    await sign_in(page, site, "ada")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{site}/signin")
    await page.goto(f"{site}/agent")
    await expect(page).to_have_url(f"{site}/signin?next=/agent")


async def test_script_in_a_display_name_is_shown_as_text(
    page: Page, site: str, console_messages: list[ConsoleMessage]
) -> None:
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    await sign_in(page, site, "sam")
    await expect(page).to_have_url(f"{site}/supervisor")
    await expect(page.get_by_test_id("display-name")).to_have_text(HOSTILE_NAME)
    await expect(page.get_by_test_id("who-name")).to_have_text(HOSTILE_NAME)
    assert await page.evaluate("window.__pwned === undefined")
    assert await page.locator("main script, main img").count() == 0
    assert dialogs == []


async def test_inline_script_would_be_blocked_by_the_policy(page: Page, site: str) -> None:
    await page.goto(f"{site}/signin")
    # Inject an inline script the way an XSS would; CSP must stop it running.
    async with page.expect_console_message(
        lambda message: "Content Security Policy" in message.text
    ) as violation:
        await page.evaluate(
            "const s = document.createElement('script');"
            "s.textContent = 'window.__inline = 1';"
            "document.body.appendChild(s);"
        )
    assert (await violation.value).type == "error"
    assert await page.evaluate("window.__inline === undefined")


async def test_page_helper_calls_the_api_with_the_csrf_header(page: Page, site: str) -> None:
    await sign_in(page, site, "ada")
    await expect(page).to_have_url(f"{site}/agent")
    me = await page.evaluate("window.switchboard.api('GET', '/api/me')")
    assert me["username"] == "ada"
    status = await page.evaluate(
        "window.switchboard.api('DELETE', '/api/session').then(() => 204, e => e.status)"
    )
    assert status == 204
    await page.goto(f"{site}/agent")
    await expect(page).to_have_url(f"{site}/signin?next=/agent")


# For each visible element with its own text: its colour, the first opaque background behind
# it, and the WCAG 2.x contrast ratio between them.
CONTRAST_SCRIPT = """
() => {
  const channel = c => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const parse = s => s.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = el => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length < 4 || c[3] === 1) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    const fg = luminance(parse(getComputedStyle(el).color));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    out.push({ text: el.textContent.trim().slice(0, 40), ratio });
  }
  return out;
}
"""


async def assert_readable(page: Page) -> None:
    measured = await page.evaluate(CONTRAST_SCRIPT)
    assert measured, "the page shows text"
    too_faint = [m for m in measured if m["ratio"] < 4.5]  # WCAG AA for normal text
    assert too_faint == []


async def assert_every_field_labelled(page: Page) -> None:
    unlabelled = await page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).length"
    )
    assert unlabelled == 0


async def test_pages_are_readable_and_labelled(page: Page, site: str) -> None:
    await sign_in(page, site, "ada", "not the password")
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_readable(page)
    await assert_every_field_labelled(page)
    await sign_in(page, site, "ada")
    await expect(page).to_have_url(f"{site}/agent")
    await assert_readable(page)
    await page.goto(f"{site}/admin")
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await assert_readable(page)

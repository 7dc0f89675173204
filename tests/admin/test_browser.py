"""In Chromium: edit a queue, see the simulation comparison, apply; errors beside fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from playwright.async_api import ConsoleMessage, Page, expect

from agents import Role
from config.loader import validate_data
from tests.admin.support import AdminWorld, build_admin_app, check_config_fields
from tests.web.browser import live_server
from tests.web.support import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, AdminWorld]]:
    """The admin app on an ephemeral port with one admin."""
    world = build_admin_app(tmp_path / "admin.db")
    async with live_server(world.app) as base_url:
        await world.web.auth.users.create("root", PASSWORD, Role.ADMIN, display_name="Ria")
        yield base_url, world


async def sign_in(page: Page, base_url: str, next_path: str) -> None:
    await page.goto(f"{base_url}{next_path}")
    await page.get_by_label("Username").fill("root")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{base_url}{next_path}")


async def test_edit_a_queue_try_it_first_then_apply(
    page: Page, site: tuple[str, AdminWorld], console_messages: list[ConsoleMessage]
) -> None:
    base_url, world = site
    await sign_in(page, base_url, "/admin/config")
    await page.get_by_role("link", name="support", exact=True).click()
    await expect(page.get_by_role("heading", name="Queues: support")).to_be_visible()
    await page.get_by_label("wrap_up_s", exact=True).fill("400")
    await page.get_by_label("Calls per minute").fill("3")
    await page.get_by_label("Minutes").fill("30")
    await page.get_by_role("button", name="Try it first").click()
    table = page.get_by_role("table")
    await expect(table).to_be_visible()
    await expect(table.get_by_role("columnheader", name="Service level now")).to_be_visible()
    await expect(table.get_by_role("columnheader", name="Abandon rate proposed")).to_be_visible()
    row = table.locator("tr[data-queue='support']")
    cells = await row.locator("td").all_inner_texts()
    assert len(cells) == 6
    assert all(cell.endswith(("%", " s", "–")) for cell in cells), cells
    # Tried, not applied yet.
    assert world.service.version.id == 1
    await page.get_by_role("button", name="Save and apply").click()
    await expect(page.get_by_role("status")).to_have_text("Saved as version 2 and applied.")
    assert world.service.config.queues["support"].wrap_up_s == 400
    assert world.router.applied[-1].queues["support"].wrap_up_s == 400
    assert [m.text for m in console_messages if m.type == "error"] == []


async def test_each_error_is_shown_beside_its_field(
    page: Page, site: tuple[str, AdminWorld]
) -> None:
    base_url, world = site
    await sign_in(page, base_url, "/admin/config/queues/sales")
    threshold = page.get_by_label("service_level.threshold_s")
    await threshold.fill("-5")
    await page.get_by_label("strategy").fill("fastest")
    await page.get_by_role("button", name="Save and apply").click()
    # The same words as check-config, on the same (proposed) config.
    data = world.service.config.model_dump(mode="json", exclude_none=True)
    data["queues"]["sales"]["service_level"]["threshold_s"] = -5
    data["queues"]["sales"]["strategy"] = "fastest"
    issues = validate_data(data)
    assert isinstance(issues, list)
    expected = {issue.dotted_path: issue.message for issue in issues}
    assert set(expected) == {"queues.sales.service_level.threshold_s", "queues.sales.strategy"}
    await expect(threshold).to_have_attribute("aria-invalid", "true")
    threshold_error = page.locator("[data-error-for='service_level.threshold_s']")
    await expect(threshold_error).to_have_text(expected["queues.sales.service_level.threshold_s"])
    await expect(page.locator("[data-error-for='strategy']")).to_have_text(
        expected["queues.sales.strategy"]
    )
    assert world.service.version.id == 1


async def test_every_item_form_sends_back_the_item_it_shows(
    page: Page, site: tuple[str, AdminWorld]
) -> None:
    base_url, world = site
    await sign_in(page, base_url, "/admin/config")
    live = world.service.config
    data = live.model_dump(mode="json", exclude_none=True)
    # Every queue, route and calendar (each has its own shape); two of the simpler ones.
    shown = {section: list(data[section]) for section in ("queues", "routes", "calendars")}
    shown |= {section: list(data[section])[:2] for section in ("skills", "agents", "dispositions")}
    for section, item_ids in shown.items():
        for item_id in item_ids:
            await page.goto(f"{base_url}/admin/config/{section}/{item_id}")
            await page.get_by_label("Minutes").fill("1")
            async with page.expect_request("**/api/admin/trials") as request_info:
                await page.get_by_role("button", name="Try it first").click()
            sent = (await request_info.value).post_data_json
            assert (sent["section"], sent["item_id"]) == (section, item_id)
            # Unchanged, the form's value is the same item (empty lists and maps left out).
            proposed = validate_data({**data, section: {**data[section], item_id: sent["value"]}})
            assert proposed == live, (section, item_id, sent["value"])
            await expect(page.get_by_role("table")).to_be_visible()


def expected_placement(
    fields: dict[str, str], prefix: str, slots: list[str]
) -> tuple[dict[str, str], set[str]]:
    """Where each check-config error belongs on the item's page (`slots`: the error slots'
    fields in page order): beside its field, else beside the nearest enclosing field, else
    (a whole list or map) beside its first field, naming the path; else above the form."""
    beside: dict[str, list[str]] = {}
    general: set[str] = set()
    for key, message in fields.items():
        if key != prefix and not key.startswith(prefix + "."):
            general.add(f"{key}: {message}")
            continue
        full = key.removeprefix(prefix).removeprefix(".")
        relative = full
        while relative not in slots and relative:
            relative = relative.rpartition(".")[0]
        if relative in slots:
            rest = full.removeprefix(relative).removeprefix(".")
        else:
            children = [slot for slot in slots if full and slot.startswith(full + ".")]
            if not children:
                general.add(f"{key}: {message}")
                continue
            relative, rest = children[0], full
        beside.setdefault(relative, []).append(f"{rest}: {message}" if rest else message)
    return {slot: " ".join(lines) for slot, lines in beside.items()}, general


async def test_the_page_shows_exactly_check_configs_errors_for_the_same_input(
    page: Page,
    site: tuple[str, AdminWorld],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_url, world = site
    await sign_in(page, base_url, "/admin/config/queues/sales")
    await page.get_by_label("service_level.threshold_s").fill("-5")
    await page.get_by_label("strategy").fill("fastest_first")
    await page.get_by_label("bullseye.1.after_s").fill("10")
    await page.get_by_label("rona_max_misses").fill("0")
    await page.get_by_role("button", name="Add a field").click()
    await page.get_by_label("Field path 1").fill("overflow.to.queue")
    await page.get_by_label("Value 1").fill("nowhere")
    await page.get_by_role("button", name="Add a field").click()
    await page.get_by_label("Field path 2").fill("skills.klingon")
    await page.get_by_label("Value 2").fill("3")
    async with page.expect_response("**/api/admin/config/queues/sales") as response_info:
        await page.get_by_role("button", name="Save and apply").click()
    response = await response_info.value
    assert response.status == 422
    sent = response.request.post_data_json["value"]

    # check-config on the same proposed config, written as the export writes it.
    data = world.service.config.model_dump(mode="json", exclude_none=True)
    data["queues"]["sales"] = sent
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    cli = check_config_fields(proposed, capsys)
    assert len(cli) >= 5, cli

    errors = page.locator(".field-error[data-error-for]")
    slots = [str(await e.get_attribute("data-error-for")) for e in await errors.all()]
    beside, general = expected_placement(cli, "queues.sales", slots)
    # Every error of this change has a field on the page: none is left above the form.
    assert set(beside) >= {"strategy", "bullseye.0.after_s", "overflow.to.queue", "skills.klingon"}
    assert general == set()
    await expect(page.locator("#form-errors p.error")).to_have_count(len(general))
    assert set(await page.locator("#form-errors p.error").all_inner_texts()) == general
    for slot in slots:
        error = page.locator(f".field-error[data-error-for='{slot}']")
        await expect(error).to_have_text(beside.get(slot, ""))
        field_id = str(await error.get_attribute("id")).replace("e-", "f-", 1)
        invalid = await page.locator(f"#{field_id}").get_attribute("aria-invalid")
        assert (invalid == "true") == (slot in beside), slot
    assert world.service.version.id == 1

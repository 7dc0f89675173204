"""Try a change first: the live and the proposed config on the same synthetic traffic."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from admin.editing import plain_data, with_item
from admin.trial import TrialTraffic, compare
from config.loader import load_config, validate_data
from config.schema import ContactCentreConfig
from tests.admin.support import EXAMPLE, AdminWorld
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]


def changed(config: ContactCentreConfig, section: str, item_id: str, value: Any) -> Any:
    proposed = validate_data(with_item(plain_data(config), section, item_id, value))
    assert isinstance(proposed, ContactCentreConfig), proposed
    return proposed


def test_an_unchanged_config_gives_the_same_figures_on_both_sides() -> None:
    config = load_config(EXAMPLE)
    result = compare(config, config, TrialTraffic(minutes=30, calls_per_minute=3, seed=7))
    assert [row.queue_id for row in result.queues] == list(config.queues)
    assert result.calls > 0
    for row in result.queues:
        assert row.current == row.proposed


def test_a_longer_threshold_never_lowers_the_service_level_on_the_same_calls() -> None:
    config = load_config(EXAMPLE)
    data = plain_data(config)
    queue = data["queues"]["support"]
    queue["service_level"]["threshold_s"] = 600
    proposed = changed(config, "queues", "support", queue)
    result = compare(config, proposed, TrialTraffic(minutes=30, calls_per_minute=4, seed=3))
    row = next(r for r in result.queues if r.queue_id == "support")
    assert row.current is not None and row.proposed is not None
    # The same calls are answered at the same moments; only the yardstick moved.
    assert row.proposed.answered == row.current.answered
    assert row.proposed.service_level is not None and row.current.service_level is not None
    assert row.proposed.service_level >= row.current.service_level
    # Every answer is within 600 s: the service level is answered / (answered + abandoned).
    finished = row.proposed.answered + row.proposed.abandoned
    assert row.proposed.service_level == row.proposed.answered / finished


def test_a_new_queue_gets_no_traffic_and_a_removed_queue_shows_empty() -> None:
    config = load_config(EXAMPLE)
    proposed = changed(config, "queues", "spare", {"name": "Spare"})
    result = compare(config, proposed, TrialTraffic(minutes=10, calls_per_minute=2))
    spare = result.queues[-1]
    assert spare.queue_id == "spare"
    assert spare.current is None
    assert spare.proposed is not None and spare.proposed.offered == 0


async def test_the_api_compares_without_applying(client: Client, world: AdminWorld) -> None:
    token = await sign_in(client, "root")
    queue = plain_data(world.service.config)["queues"]["billing"]
    queue["wrap_up_s"] = 600
    response = await client.post(
        "/api/admin/trials",
        json={
            "section": "queues",
            "item_id": "billing",
            "value": queue,
            "minutes": 30,
            "calls_per_minute": 4,
            "seed": 5,
        },
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["seed"] == 5
    rows = {row["queue_id"]: row for row in result["queues"]}
    assert set(rows) == set(world.service.config.queues)
    billing = rows["billing"]
    assert billing["current"]["offered"] == billing["proposed"]["offered"] > 0
    # Ten minutes of wrap-up after every call: the billing agents are away far longer.
    assert billing["proposed"]["asa_s"] > billing["current"]["asa_s"]
    # Tried, not applied.
    assert world.service.version.id == 1
    assert world.router.applied == []


async def test_an_invalid_trial_gets_field_errors(client: Client) -> None:
    token = await sign_in(client, "root")
    response = await client.post(
        "/api/admin/trials",
        json={"section": "queues", "item_id": "sales", "value": {"name": "Sales", "wrap_up_s": -1}},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 422
    assert list((await response.json())["fields"]) == ["queues.sales.wrap_up_s"]
    too_long = await client.post(
        "/api/admin/trials",
        json={"section": "queues", "item_id": "sales", "value": {"name": "S"}, "minutes": 10_000},
        headers={"X-CSRF-Token": token},
    )
    assert too_long.status == 422
    assert "minutes" in (await too_long.json())["fields"]

"""The API refuses invalid changes field by field, exactly as check-config does."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from admin.editing import plain_data
from config.cli import main
from config.loader import load_config
from tests.admin.support import EXAMPLE, AdminWorld, check_config_fields
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]
Data = dict[str, Any]


def _set(path: str, value: object) -> Callable[[Data], Data]:
    def change(item: Data) -> Data:
        target = item
        keys = path.split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
        return item

    return change


def _drop(key: str) -> Callable[[Data], Data]:
    def change(item: Data) -> Data:
        del item[key]
        return item

    return change


def _new(value: Data) -> Callable[[Data], Data]:
    return lambda _: copy.deepcopy(value)


# (section, item id, how the item changes): each breaks one or more of check-config's rules.
BROKEN: list[tuple[str, str, Callable[[Data], Data]]] = [
    ("queues", "sales", _set("service_level.threshold_s", -5)),
    ("queues", "sales", _set("strategy", "fastest_first")),
    ("queues", "sales", _set("overflow.to", {"queue": "nowhere"})),
    ("queues", "sales", _set("wrap_up", 10)),
    ("queues", "sales", _set("bullseye", [{"after_s": 60}, {"after_s": 30}])),
    ("queues", "support", _set("overflow.to", {"queue": "vip_care"})),
    ("queues", "billing", _drop("name")),
    ("queues", "bad id!", _new({"name": "Bad"})),
    ("routes", "ghost", _new({"dnis": "not a number", "queue": "ghost", "hours": "office"})),
    ("agents", "zed", _new({"name": "Zed", "skills": {"sales": 11, "klingon": 3}})),
    ("calendars", "odd", _new({"timezone": "Mars/Olympus", "weekly": {"mon": ["17:00-09:00"]}})),
    ("dispositions", "odd", _new({"name": "", "queues": ["sales", "nowhere"]})),
    ("skills", "sales", _new({"name": "Sales", "level": 3})),
]


@pytest.mark.parametrize(("section", "item_id", "change"), BROKEN)
async def test_the_api_and_check_config_refuse_the_same_fields_with_the_same_words(
    client: Client,
    world: AdminWorld,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    section: str,
    item_id: str,
    change: Callable[[Data], Data],
) -> None:
    token = await sign_in(client, "root")
    data = plain_data(load_config(EXAMPLE))
    item = change(copy.deepcopy(data[section].get(item_id, {})))
    response = await client.put(
        f"/api/admin/config/{section}/{item_id}",
        json={"value": item, "base_version": 1},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["error"].startswith("refused: ")
    assert body["fields"], "every refusal names its fields"
    # The same proposed config, written as a file the way `export` writes one.
    data[section][item_id] = item
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    assert body["fields"] == check_config_fields(proposed, capsys)
    # Nothing was saved or applied.
    assert world.service.version.id == 1
    assert world.router.applied == []


async def test_field_errors_name_the_field_and_what_was_expected(client: Client) -> None:
    token = await sign_in(client, "root")
    response = await client.put(
        "/api/admin/config/queues/sales",
        json={"value": {"name": "Sales", "offer_timeout_s": "soon", "strategy": "fastest"}},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 422
    fields = (await response.json())["fields"]
    assert set(fields) == {"queues.sales.offer_timeout_s", "queues.sales.strategy"}
    assert fields["queues.sales.offer_timeout_s"].endswith('got "soon"')
    assert "longest_idle" in fields["queues.sales.strategy"]


async def test_a_body_that_is_not_an_item_is_refused_before_the_rules(client: Client) -> None:
    token = await sign_in(client, "root")
    response = await client.put(
        "/api/admin/config/queues/sales",
        json={"value": ["not", "a", "mapping"]},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 422
    assert "value" in (await response.json())["fields"]
    unknown = await client.put(
        "/api/admin/config/tiers/gold", json={"value": {}}, headers={"X-CSRF-Token": token}
    )
    assert unknown.status == 404


async def test_a_trial_shows_the_staffing_warnings_check_config_prints(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = await sign_in(client, "root")
    data = plain_data(load_config(EXAMPLE))
    agent = data["agents"]["ben.hughes"]
    agent["queues"]["support"] = 5  # Ben has none of support's skills
    response = await client.post(
        "/api/admin/trials",
        json={"section": "agents", "item_id": "ben.hughes", "value": agent, "minutes": 5},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200, await response.text()
    warnings = (await response.json())["warnings"]
    assert "agents.ben.hughes.queues.support" in warnings
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    capsys.readouterr()
    assert main(["check-config", str(proposed)]) == 0
    printed: dict[str, str] = {}
    for line in capsys.readouterr().err.splitlines():
        _, _, rest = line.removeprefix(f"{proposed}:").partition(": warning: ")
        key, _, message = rest.partition(": ")
        printed[key] = f"{printed[key]}; {message}" if key in printed else message
    assert warnings == printed

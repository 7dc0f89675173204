"""The admin API: changes validated by check-config's rules, versions, restore, import."""

from __future__ import annotations

from typing import Any

import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from config.compile import to_router
from router.model import Call
from tests.admin.support import AdminWorld
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]


async def admin_token(client: Client) -> str:
    return await sign_in(client, "root")


async def get_json(client: Client, path: str) -> Any:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


async def put_item(
    client: Client, token: str, section: str, item_id: str, value: object, base: int | None = None
) -> tuple[int, Any]:
    response = await client.put(
        f"/api/admin/config/{section}/{item_id}",
        json={"value": value, "base_version": base},
        headers={"X-CSRF-Token": token},
    )
    return response.status, await response.json()


async def test_the_first_start_saves_the_file_as_version_1(client: Client) -> None:
    await admin_token(client)
    view = await get_json(client, "/api/admin/config")
    assert view["version"]["id"] == 1
    assert view["version"]["author"] == "system"
    assert "sales" in view["config"]["queues"]


async def test_a_change_is_saved_as_a_version_with_author_and_diff_and_applied(
    client: Client, world: AdminWorld
) -> None:
    token = await admin_token(client)
    queue = (await get_json(client, "/api/admin/config/queues/sales"))["value"]
    queue["service_level"]["threshold_s"] = 35
    status, version = await put_item(client, token, "queues", "sales", queue, base=1)
    assert status == 200, version
    assert version["id"] == 2
    assert version["author"] == "root"
    assert version["summary"] == "change queues.sales"
    detail = await get_json(client, "/api/admin/versions/2")
    assert "-      threshold_s: 20.0\n" in detail["diff"]
    assert "+      threshold_s: 35.0\n" in detail["diff"]
    # Applied to the running router: its queue spec has the new threshold.
    applied = world.router.applied[-1]
    assert applied.queues["sales"].service_level.threshold_s == 35
    spec = next(q for q in to_router(applied).queues if q.id == "sales")
    assert spec.sl_threshold_s == 35
    assert (await get_json(client, "/api/admin/config"))["version"]["id"] == 2


async def test_a_waiting_caller_keeps_its_place_through_a_change(
    client: Client, world: AdminWorld
) -> None:
    token = await admin_token(client)
    engine = world.router.engine
    # Nobody is logged in, so the caller waits in the queue.
    engine.call_arrived(Call("c-1", "support", arrival=0.0), 0.0)
    world.router.now = 1.0
    queue = (await get_json(client, "/api/admin/config/queues/support"))["value"]
    queue["name"] = "Tech support"
    status, _ = await put_item(client, token, "queues", "support", queue)
    assert status == 200
    assert engine.has_call("c-1")
    assert engine.position("c-1") == 1


async def test_adding_and_removing_an_item(client: Client, world: AdminWorld) -> None:
    token = await admin_token(client)
    status, version = await put_item(
        client, token, "reason_codes", "fire_drill", {"name": "Fire drill"}
    )
    assert status == 200, version
    assert version["summary"] == "add reason_codes.fire_drill"
    assert world.service.config.reason_codes["fire_drill"].name == "Fire drill"
    response = await client.delete(
        "/api/admin/config/reason_codes/fire_drill", headers={"X-CSRF-Token": token}
    )
    assert response.status == 200
    assert (await response.json())["summary"] == "remove reason_codes.fire_drill"
    assert "fire_drill" not in world.service.config.reason_codes


async def test_removing_a_queue_others_refer_to_is_refused_with_their_fields(
    client: Client, world: AdminWorld
) -> None:
    token = await admin_token(client)
    response = await client.delete(
        "/api/admin/config/queues/support", headers={"X-CSRF-Token": token}
    )
    assert response.status == 422
    fields = (await response.json())["fields"]
    # The sales queue's bullseye step adds the support queue.
    assert "queues.sales.bullseye.1.add_queues.0" in fields
    assert "support" in world.service.config.queues


async def test_a_change_on_an_old_version_is_refused(client: Client, world: AdminWorld) -> None:
    token = await admin_token(client)
    skill = {"name": "Spanish"}
    assert (await put_item(client, token, "skills", "spanish", skill, base=1))[0] == 200
    status, body = await put_item(client, token, "skills", "spanish", {"name": "Español"}, base=1)
    assert status == 409
    assert "version 2 is live" in body["error"]
    assert world.service.config.skills["spanish"].name == "Spanish"


async def test_the_router_refusing_a_config_saves_nothing(
    client: Client, world: AdminWorld
) -> None:
    token = await admin_token(client)

    def refuse(_: object) -> None:
        raise ValueError("refused for the test")

    world.router.apply = refuse  # type: ignore[method-assign]
    world.service._apply = refuse  # the service holds the callable it was given
    status, body = await put_item(client, token, "skills", "spanish", {"name": "Spanish"})
    assert status == 409
    assert "refused for the test" in body["error"]
    versions = await get_json(client, "/api/admin/versions")
    assert [v["id"] for v in versions["versions"]] == [1]
    assert "spanish" not in world.service.config.skills


async def test_restoring_a_version(client: Client, world: AdminWorld) -> None:
    token = await admin_token(client)
    original = (await get_json(client, "/api/admin/config"))["config"]
    queue = dict(original["queues"]["billing"])
    queue["wrap_up_s"] = 99
    assert (await put_item(client, token, "queues", "billing", queue))[0] == 200
    assert (await put_item(client, token, "skills", "welsh", {"name": "Welsh"}))[0] == 200
    response = await client.post("/api/admin/versions/1/restore", headers={"X-CSRF-Token": token})
    assert response.status == 200, await response.text()
    restored = await response.json()
    assert restored["id"] == 4
    assert restored["restored_from"] == 1
    assert restored["summary"] == "restore version 1"
    view = await get_json(client, "/api/admin/config")
    assert view["config"] == original
    assert view["version"]["id"] == 4
    assert world.router.applied[-1] == world.service.config
    assert world.router.applied[-1].queues["billing"].wrap_up_s != 99
    history = await get_json(client, "/api/admin/versions")
    assert [v["id"] for v in history["versions"]] == [4, 3, 2, 1]
    missing = await client.post("/api/admin/versions/77/restore", headers={"X-CSRF-Token": token})
    assert missing.status == 404


async def test_the_newest_version_survives_a_restart(client: Client, world: AdminWorld) -> None:
    from tests.admin.support import build_admin_app

    token = await admin_token(client)
    assert (await put_item(client, token, "skills", "welsh", {"name": "Welsh"}))[0] == 200
    db_path = world.web.engine.url.database
    assert db_path is not None
    again = build_admin_app(__import__("pathlib").Path(db_path))
    await again.service.start()
    try:
        assert again.service.version.id == 2
        assert "welsh" in again.service.config.skills
        # It differs from the file the router started with, so it was applied at start.
        assert again.router.applied == [again.service.config]
    finally:
        await again.web.engine.dispose()


async def test_export_then_import_round_trips(client: Client, world: AdminWorld) -> None:
    token = await admin_token(client)
    response = await client.get("/api/admin/export")
    assert response.status == 200
    assert response.content_type == "application/yaml"
    assert "attachment" in response.headers["Content-Disposition"]
    text = await response.text()
    data = yaml.safe_load(text)
    data["skills"]["welsh"] = {"name": "Welsh"}
    response = await client.put(
        "/api/admin/config",
        json={"yaml": yaml.safe_dump(data, sort_keys=False), "base_version": 1},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["summary"] == "import the whole config from YAML"
    assert world.service.config.skills["welsh"].name == "Welsh"


async def test_an_invalid_import_says_where_with_lines(client: Client, world: AdminWorld) -> None:
    token = await admin_token(client)
    text = "version: 1\nqueues:\n  sales:\n    name: Sales\n    wrap_up_s: -3\n"
    response = await client.put(
        "/api/admin/config", json={"yaml": text}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 422
    fields = (await response.json())["fields"]
    assert list(fields) == ["queues.sales.wrap_up_s"]
    assert fields["queues.sales.wrap_up_s"].startswith("line 5: expected")
    assert world.service.version.id == 1


async def test_apply_keeps_calls_with_their_agents_and_moves_a_removed_queues_callers(
    client: Client, world: AdminWorld
) -> None:
    token = await admin_token(client)
    router = world.router
    engine = router.engine
    engine.agent_login("amara.okafor", 0.0)
    engine.agent_ready("amara.okafor", 0.0)
    engine.call_arrived(Call("c-talk", "sales", arrival=0.0), 0.0)
    engine.offer_answered("c-talk", 1.0)
    engine.call_arrived(Call("c-wait", "sales", arrival=2.0), 2.0)
    router.now = 3.0
    pop_up = {
        "name": "Pop-up",
        "strategy": "longest_idle",
        "skills": {"sales": 1},
        "service_level": {"threshold_s": 20, "target_percent": 80},
        "overflow": {"after_s": 600, "to": {"queue": "support"}},
    }
    status, body = await put_item(client, token, "queues", "pop_up", pop_up)
    assert status == 200, body
    assert "pop_up" in engine.queue_ids()
    engine.call_arrived(Call("c-pop", "pop_up", arrival=4.0), 4.0)
    assert engine.queue_snapshot("support", 4.0).waiting == 0
    router.now = 5.0
    response = await client.delete(
        "/api/admin/config/queues/pop_up", headers={"X-CSRF-Token": token}
    )
    assert response.status == 200, await response.text()
    assert "pop_up" not in engine.queue_ids()
    # Through both reloads: the call in progress kept its agent, the agent stayed logged in,
    # the waiting caller kept its place, and the removed queue's caller went to its overflow.
    amara = engine.agent_snapshot("amara.okafor")
    assert (amara.state.value, amara.call_id) == ("on_call", "c-talk")
    assert engine.call_agent("c-talk") == "amara.okafor"
    assert engine.position("c-wait") == 1
    assert engine.has_call("c-pop")
    assert engine.queue_snapshot("support", 5.0).waiting == 1

"""The board's routes over HTTP: roles, audited actions, why, reports, CSV and /metrics."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp import client_ws as web_ws
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

import board
from board.eventlog import read_records
from router import Call
from tests.board.app import BoardWorld, add_users, build_board_app
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]
DASHBOARD = Path(__file__).parents[2] / "docker" / "grafana-dashboard.json"
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def started(tmp_path: Path, aiohttp_client: ClientFactory) -> tuple[BoardWorld, Client]:
    world = build_board_app(tmp_path / "board.db")
    client = await aiohttp_client(world.app)
    await add_users(world.app)
    return world, client


async def test_an_agent_is_refused_the_board_its_socket_api_and_reports(
    started: tuple[BoardWorld, Client],
) -> None:
    _, client = started
    token = await sign_in(client, "ada")
    for path in ("/supervisor/board", "/supervisor/reports", "/supervisor/reports.csv"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403, path
    socket = await client.get("/supervisor/board/ws", headers={"Upgrade": "websocket"})
    assert socket.status == 403
    refused = await client.post("/api/board/agents/bob/logout", headers={"X-CSRF-Token": token})
    assert refused.status == 403
    assert (await refused.json())["error"] == "This needs the supervisor role."


async def test_supervisor_actions_change_the_agent_and_are_audited(
    started: tuple[BoardWorld, Client],
) -> None:
    world, client = started
    runtime = world.runtime
    runtime.act(lambda now: runtime.engine.agent_login("bob", now))
    runtime.act(lambda now: runtime.engine.agent_ready("bob", now))
    token = await sign_in(client, "sam")
    headers = {"X-CSRF-Token": token}
    response = await client.post(
        "/api/board/agents/bob/not-ready", json={"reason_code": "coaching"}, headers=headers
    )
    assert response.status == 200, await response.text()
    assert await response.json() == {"agent_id": "bob", "state": "not_ready", "pending": False}
    assert runtime.engine.agent_snapshot("bob").reason_code == "coaching"
    response = await client.post("/api/board/agents/bob/logout", headers=headers)
    assert (await response.json())["state"] == "logged_out"
    again = await client.post("/api/board/agents/bob/logout", headers=headers)
    assert again.status == 409
    unknown = await client.post("/api/board/agents/zed/logout", headers=headers)
    assert unknown.status == 404
    bad = await client.post(
        "/api/board/agents/bob/not-ready", json={"reason_code": "<b>"}, headers=headers
    )
    assert bad.status == 422 and "reason_code" in (await bad.json())["fields"]
    no_token = await client.post("/api/board/agents/bob/logout")
    assert no_token.status == 403

    service = world.app[board.BOARD]
    await service.event_log.flush()
    logged = await read_records(service.db, 0, 1e12)
    audit = [r for r in logged if r.kind == board.SUPERVISOR_ACTION]
    assert [(r.agent_id, r.data["action"], r.data["by_username"]) for r in audit] == [
        ("bob", "not_ready", "sam"),
        ("bob", "logout", "sam"),
    ]
    states = [r.data["new"] for r in logged if r.kind == "agent_state_changed"]
    assert states == ["not_ready", "ready", "not_ready", "logged_out"]


async def test_why_explains_a_call_with_the_routers_reasons(
    started: tuple[BoardWorld, Client],
) -> None:
    world, client = started
    runtime = world.runtime
    runtime.act(lambda now: runtime.engine.call_arrived(Call("c1", "sales", now), now))
    await sign_in(client, "sam")
    response = await client.get("/api/board/calls/c1/why")
    assert response.status == 200
    steps = (await response.json())["steps"]
    assert [s["step"] for s in steps] == ["queued"]
    assert "no idle agent" in steps[0]["why"]
    missing = await client.get("/api/board/calls/nope/why")
    assert missing.status == 404


async def test_the_socket_sends_the_board_at_once(started: tuple[BoardWorld, Client]) -> None:
    world, client = started
    runtime = world.runtime
    runtime.act(lambda now: runtime.engine.call_arrived(Call("vip-1", "sales", now), now))
    await sign_in(client, "sam")
    async with client.ws_connect("/supervisor/board/ws") as socket:
        message = await asyncio.wait_for(socket.receive(), 10)
        assert message.type is WSMsgType.TEXT
        frame = message.json()
    assert [q["id"] for q in frame["queues"]] == ["sales", "support"]
    assert frame["queues"][0]["waiting"] == 1
    assert [c["id"] for c in frame["calls"]] == ["vip-1"]
    assert {a["id"]: a["state"] for a in frame["agents"]} == {
        "ada": "logged_out",
        "bob": "logged_out",
    }


async def test_metrics_parse_with_the_prometheus_parser(
    started: tuple[BoardWorld, Client],
) -> None:
    world, client = started
    runtime = world.runtime
    engine = runtime.engine
    runtime.act(lambda now: engine.call_arrived(Call("c1", "support", now - 30), now))
    runtime.act(lambda now: engine.call_arrived(Call("c2", "support", now), now))
    runtime.act(lambda now: engine.caller_abandoned("c1", now))
    runtime.act(lambda now: engine.agent_login("ada", now))
    world.app[board.METRICS].sip_message("in", "INVITE")
    world.app[board.METRICS].sip_message("out", "INVITE", 180)
    anonymous = await client.get("/metrics", allow_redirects=False)
    assert anonymous.status == 303  # no token configured: only a signed-in supervisor
    await sign_in(client, "sam")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}

    def value(family: str, sample: str, **labels: str) -> float:
        found = [
            s.value for s in families[family].samples if s.name == sample and s.labels == labels
        ]
        assert len(found) == 1, (family, sample, labels)
        return found[0]

    assert (
        value(
            "switchboard_queue_callers_waiting",
            "switchboard_queue_callers_waiting",
            queue="support",
        )
        == 1
    )
    assert (
        value(
            "switchboard_queue_calls_abandoned",
            "switchboard_queue_calls_abandoned_total",
            queue="support",
        )
        == 1
    )
    assert (
        value(
            "switchboard_queue_calls_offered",
            "switchboard_queue_calls_offered_total",
            queue="support",
        )
        == 1
    )
    assert (
        value(
            "switchboard_queue_wait_seconds",
            "switchboard_queue_wait_seconds_count",
            queue="support",
            outcome="abandoned",
        )
        == 1
    )
    assert (
        value(
            "switchboard_queue_wait_seconds",
            "switchboard_queue_wait_seconds_bucket",
            queue="support",
            outcome="abandoned",
            le="20.0",
        )
        == 0
    )
    assert value("switchboard_agents", "switchboard_agents", state="not_ready") == 1
    assert value("switchboard_agents", "switchboard_agents", state="logged_out") == 1
    assert (
        value(
            "switchboard_queue_agents", "switchboard_queue_agents", queue="sales", state="not_ready"
        )
        == 1
    )
    assert (
        value(
            "switchboard_sip_messages",
            "switchboard_sip_messages_total",
            direction="out",
            method="INVITE",
            status="180",
        )
        == 1
    )
    assert (
        value("switchboard_routing_decision_seconds", "switchboard_routing_decision_seconds_count")
        == 4
    )
    assert "switchboard_websocket_connections" in families
    assert "switchboard_event_log_records_written" in families


async def test_reports_page_and_csv(started: tuple[BoardWorld, Client]) -> None:
    world, client = started
    runtime = world.runtime
    engine = runtime.engine
    runtime.act(lambda now: engine.call_arrived(Call("c1", "support", now - 30), now))
    runtime.act(lambda now: engine.caller_abandoned("c1", now))
    await world.app[board.BOARD].event_log.flush()
    await sign_in(client, "sam")
    page = await client.get("/supervisor/reports")  # today, by hour
    assert page.status == 200
    html = await page.text()
    assert 'data-testid="chart"' in html and "<rect" in html
    exported = await client.get("/supervisor/reports.csv?view=queues&interval=day")
    assert exported.status == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    assert [(r["queue"], r["offered"], r["abandoned"]) for r in rows] == [
        ("support", "1", "1"),
        ("support", "1", "1"),
    ]
    assert rows[1]["interval_start"] == "total"
    bad = await client.get("/supervisor/reports?from=yesterday")
    assert bad.status == 400
    assert "is not a date" in await bad.text()
    bad_view = await client.get("/supervisor/reports.csv?view=everything")
    assert bad_view.status == 400


def test_the_board_refuses_updates_faster_than_once_a_second() -> None:
    with pytest.raises(ValueError, match="at most one a second"):
        board.broadcast.Broadcaster(dict, interval_s=0.5)


async def test_the_grafana_dashboard_uses_only_exported_metrics(
    started: tuple[BoardWorld, Client],
) -> None:
    world, client = started
    runtime = world.runtime
    runtime.act(lambda now: runtime.engine.call_arrived(Call("c1", "sales", now), now))
    runtime.act(lambda now: runtime.engine.caller_abandoned("c1", now))
    world.app[board.METRICS].sip_message("in", "OPTIONS")
    world.app[board.METRICS].websocket_connections.labels("board").set(0)
    await sign_in(client, "sam")
    text = await (await client.get("/metrics")).text()
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for expr in exprs for name in re.findall(r"switchboard_[a-z_]+", expr)}
    assert used and used <= exported, used - exported
    thresholds = [o["value"] for o in dashboard["templating"]["list"][2]["options"]]
    buckets = {
        s.labels["le"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "switchboard_queue_wait_seconds_bucket"
    }
    assert set(thresholds) <= buckets


async def test_after_a_restart_the_board_keeps_todays_figures(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    first = build_board_app(tmp_path / "board.db")
    client = await aiohttp_client(first.app)
    runtime = first.runtime
    runtime.act(lambda now: runtime.engine.call_arrived(Call("c1", "support", now - 30), now))
    runtime.act(lambda now: runtime.engine.caller_abandoned("c1", now))
    await client.close()  # a clean shutdown writes the buffered records

    second = build_board_app(tmp_path / "board.db")
    client = await aiohttp_client(second.app)
    await add_users(second.app)
    await sign_in(client, "sam")
    async with client.ws_connect("/supervisor/board/ws") as socket:
        frame = (await asyncio.wait_for(socket.receive(), 10)).json()
    support = frame["queues"][1]
    assert (support["id"], support["offered"], support["abandon_rate"]) == ("support", 1, 1.0)
    assert support["sl_today"] == 0.0 and support["breach"] is True
    assert frame["calls"] == []  # the old process's calls are not live any more


async def test_prometheus_scrapes_with_the_bearer_token(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    world = build_board_app(tmp_path / "board.db", board.BoardOptions(metrics_token="s3cret"))
    client = await aiohttp_client(world.app)
    good = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert good.status == 200
    names = {f.name for f in text_string_to_metric_families(await good.text())}
    assert "switchboard_queue_callers_waiting" in names
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status == 401, headers
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


async def test_signing_out_ends_an_open_board(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    world = build_board_app(tmp_path / "board.db", board.BoardOptions(session_check_s=0))
    client = await aiohttp_client(world.app)
    await add_users(world.app)
    csrf = await sign_in(client, "sam")
    async with client.ws_connect("/supervisor/board/ws") as socket:
        first = await asyncio.wait_for(socket.receive(), 10)
        assert first.type is WSMsgType.TEXT
        signed_out = await client.post("/signout", data={"csrf_token": csrf}, allow_redirects=False)
        assert signed_out.status == 303
        # The next tick's frame finds the session gone and closes the board instead.
        message = await asyncio.wait_for(socket.receive(), 10)
        while message.type is WSMsgType.TEXT:  # a frame already on its way before sign-out
            message = await asyncio.wait_for(socket.receive(), 10)
        assert message.type is WSMsgType.CLOSE
        assert socket.close_code == 4401


async def next_frame_where(
    socket: web_ws.ClientWebSocketResponse, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Read board frames until one meets the condition (frames come once a second)."""
    async with asyncio.timeout(10):
        while True:
            frame: dict[str, Any] = (await socket.receive()).json()
            if condition(frame):
                return frame


async def websocket_gauge(client: Client) -> float:
    text = await (await client.get("/metrics")).text()
    [value] = [
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "switchboard_websocket_connections" and s.labels == {"endpoint": "board"}
    ] or [0.0]
    return value


async def test_the_agents_table_shows_call_customer_queue_handled_and_reason(
    started: tuple[BoardWorld, Client],
) -> None:
    world, client = started
    runtime = world.runtime
    engine = runtime.engine
    runtime.act(lambda now: engine.agent_login("ada", now))
    runtime.act(lambda now: engine.agent_ready("ada", now))
    runtime.act(lambda now: engine.call_arrived(Call("vip-1", "sales", now), now))
    runtime.act(lambda now: engine.offer_answered("vip-1", now))
    await sign_in(client, "sam")
    assert await websocket_gauge(client) == 0
    async with client.ws_connect("/supervisor/board/ws") as socket:
        assert await websocket_gauge(client) == 1
        frame = await next_frame_where(socket, lambda f: True)
        ada = {a["id"]: a for a in frame["agents"]}["ada"]
        assert (ada["state"], ada["call_id"], ada["queue_id"]) == ("on_call", "vip-1", "sales")
        assert ada["customer"] == "Grace Hopper"  # from the customer lookup passed in
        assert ada["handled"] == 0 and ada["in_state_s"] >= 0
        runtime.act(lambda now: engine.call_ended("vip-1", now))
        runtime.act(lambda now: engine.wrap_up_done("ada", now))
        runtime.act(lambda now: engine.agent_not_ready("ada", "lunch", now))
        frame = await next_frame_where(
            socket, lambda f: {a["id"]: a for a in f["agents"]}["ada"]["state"] == "not_ready"
        )
        ada = {a["id"]: a for a in frame["agents"]}["ada"]
        assert (ada["handled"], ada["reason_code"], ada["call_id"]) == (1, "lunch", None)
        assert ada["customer"] is None and ada["queue_id"] is None
    # The server notices the close on its own schedule: wait for the gauge to follow.
    async with asyncio.timeout(10):
        while await websocket_gauge(client) != 0:
            continue


async def test_every_metric_follows_the_prometheus_naming_conventions(
    started: tuple[BoardWorld, Client],
) -> None:
    world, client = started
    world.app[board.METRICS].sip_message("in", "INVITE")
    await sign_in(client, "sam")
    text = await (await client.get("/metrics")).text()
    families = list(text_string_to_metric_families(text))
    assert len(families) >= 12
    for family in families:
        assert re.fullmatch(r"switchboard_[a-z_]+", family.name), family.name
        assert not family.name.endswith("_total"), family.name  # the suffix is the sample's
        if family.type == "counter":
            assert {s.name for s in family.samples} <= {
                family.name + "_total",
                family.name + "_created",
            }, family.name
        if family.type == "histogram" or re.search(r"wait(?!ing)", family.name):
            assert family.name.endswith("_seconds"), family.name  # base unit in the name

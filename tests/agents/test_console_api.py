"""The console's JSON API and websocket over HTTP: the agent's day against the real engine
and the real SQLite customer store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from agents.auth import AUTH
from agents.console import ConsoleOptions
from crm_bridge.interface import NewCustomer
from router import AgentState
from tests.agents.console_app import ConsoleWorld, add_users, build_console_app
from tests.agents.support import UNKNOWN_NUMBER, VIP_NUMBER, add_vip, store_of
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]
READY = {"state": "ready"}


async def call(client: Client, method: str, path: str, token: str, body: Any = None) -> Any:
    """Call the API with the session's CSRF token; return (status, JSON or None)."""
    response = await client.request(method, path, json=body, headers={"X-CSRF-Token": token})
    data = None if response.status == 204 else await response.json()
    return response.status, data


async def ada_and_bob(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]], options: ConsoleOptions
) -> tuple[ConsoleWorld, Client, str, Client]:
    """A console app with `options`; ada and bob signed in on clients of the same server."""
    world = build_console_app(tmp_path / "c.db", options)
    ada_client = await aiohttp_client(world.app)
    bob_client = await aiohttp_client(ada_client.server)
    await add_users(world.app)
    ada_token = await sign_in(ada_client, "ada")
    await sign_in(bob_client, "bob")
    return world, ada_client, ada_token, bob_client


async def test_state_changes_need_a_configured_reason(world: ConsoleWorld, client: Client) -> None:
    token = await sign_in(client, "ada")
    status, state = await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    assert status == 200
    assert state["state"] == "ready"
    assert [q["id"] for q in state["queues"]] == ["sales", "support"]
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.READY

    body = {"state": "not_ready", "reason_code": "lunch-forever"}
    status, error = await call(client, "PUT", "/api/console/state", token, body)
    assert status == 422
    assert "reason_code" in error["fields"]
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.READY

    body = {"state": "not_ready", "reason_code": "break"}
    status, state = await call(client, "PUT", "/api/console/state", token, body)
    assert (status, state["state"], state["reason_code"]) == (200, "not_ready", "break")
    status, state = await call(client, "PUT", "/api/console/state", token, {"state": "logged_out"})
    assert state["state"] == "logged_out"


async def test_a_vip_call_from_offer_to_history(world: ConsoleWorld, client: Client) -> None:
    vip = await add_vip(world.directory)
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    world.arrive("c-vip", VIP_NUMBER)
    pop = await world.pop.wait("c-vip", 10)
    assert pop["customer"]["name"] == "Grace Hopper"
    assert pop["tier"] == "platinum"

    _, state = await call(client, "GET", "/api/console", token)
    assert state["offer"]["call_id"] == "c-vip"
    assert 0 < state["offer"]["seconds_left"] <= 60
    customer = state["pop"]["customer"]
    assert customer["account_number"] == "ACC-1001"
    assert customer["crm_url"] == f"https://crm.example/customers/{vip}"
    assert customer["relationships"] == [
        {
            "kind": "referred_by",
            "customer_id": customer["relationships"][0]["customer_id"],
            "name": "Alan Turing",
        }
    ]

    ref = {"call_id": "c-vip"}
    assert (await call(client, "POST", "/api/console/offer/accept", token, ref))[0] == 204
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.ON_CALL
    assert (await call(client, "POST", "/api/console/call/hold", token, ref))[0] == 204
    _, state = await call(client, "GET", "/api/console", token)
    assert state["call"]["on_hold"] is True
    assert (await call(client, "POST", "/api/console/call/hold", token, ref))[0] == 409
    assert (await call(client, "POST", "/api/console/call/resume", token, ref))[0] == 204
    assert (await call(client, "POST", "/api/console/call/hangup", token, ref))[0] == 204
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.WRAP_UP

    _, state = await call(client, "GET", "/api/console", token)
    assert state["wrap"]["call_id"] == "c-vip"
    assert [d["id"] for d in state["wrap"]["dispositions"]] == ["sale", "info"]  # sales queue
    draft = {"call_id": "c-vip", "disposition": "sale", "notes": "Upgraded the plan"}
    assert (await call(client, "PUT", "/api/console/wrapup/draft", token, draft))[0] == 204
    _, state = await call(client, "GET", "/api/console", token)
    assert state["wrap"]["draft"]["notes"] == "Upgraded the plan"

    wrong = {**draft, "disposition": "fixed"}  # a support-only disposition
    status, error = await call(client, "POST", "/api/console/wrapup", token, wrong)
    assert status == 422 and "disposition" in error["fields"]
    status, written = await call(client, "POST", "/api/console/wrapup", token, draft)
    assert status == 200
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.READY

    history = (await world.directory.customer_360(vip)).recent_interactions
    assert [(i.interaction_id, i.disposition, i.notes, i.agent) for i in history] == [
        (written["interaction_id"], "sale", "Upgraded the plan", "ada")
    ]
    assert history[0].hold_seconds >= 0
    assert world.pop.current("c-vip") is None  # released once written


async def test_an_unknown_caller_is_created_in_place(world: ConsoleWorld, client: Client) -> None:
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    world.arrive("c-new", UNKNOWN_NUMBER)
    pop = await world.pop.wait("c-new", 10)
    assert (pop["status"], pop["number"], pop["customer"]) == ("unknown", "+442079460999", None)

    new = {"call_id": "c-new", "name": "Katherine Johnson", "company": "NACA"}
    status, _ = await call(client, "POST", "/api/console/customer", token, new)
    assert status == 201
    _, state = await call(client, "GET", "/api/console", token)
    assert state["pop"]["customer"]["name"] == "Katherine Johnson"
    created = state["pop"]["customer"]["customer_id"]
    found = await world.directory.lookup(UNKNOWN_NUMBER)
    assert found.customer_id == created


async def test_agents_act_only_on_their_own_calls(world: ConsoleWorld, client: Client) -> None:
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    world.arrive("c-1", VIP_NUMBER)
    await client.post("/signout", data={"csrf_token": token})
    bob = await sign_in(client, "bob")
    status, error = await call(client, "POST", "/api/console/offer/accept", bob, {"call_id": "c-1"})
    assert status == 409
    assert error["error"] == "that call is not ringing for you"
    assert world.runtime.engine.call_agent("c-1") == "ada"


async def test_transfer_to_a_queue_offers_the_caller_to_its_agent(
    world: ConsoleWorld, client: Client
) -> None:
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    engine = world.runtime.engine
    world.runtime.act(lambda now: engine.agent_login("bob", now))
    world.runtime.act(lambda now: engine.agent_ready("bob", now))
    world.arrive("c-2", UNKNOWN_NUMBER, "sales")
    await call(client, "POST", "/api/console/offer/accept", token, {"call_id": "c-2"})
    _, targets = await call(client, "GET", "/api/console/transfer-targets", token)
    assert [q["id"] for q in targets["queues"]] == ["sales", "support"]
    assert targets["agents"] == [{"id": "bob", "name": "Bob Builder"}]  # logged in, not Ada
    bad = {"call_id": "c-2", "queue_id": "nowhere"}
    assert (await call(client, "POST", "/api/console/call/transfer", token, bad))[0] == 422
    both = {"call_id": "c-2", "queue_id": "support", "agent_id": "bob"}
    assert (await call(client, "POST", "/api/console/call/transfer", token, both))[0] == 422
    move = {"call_id": "c-2", "queue_id": "support"}
    assert (await call(client, "POST", "/api/console/call/transfer", token, move))[0] == 204
    assert engine.call_agent("c-2") == "bob"
    _, state = await call(client, "GET", "/api/console", token)
    assert state["wrap"]["outcome"] == "transferred"
    assert [d["id"] for d in state["wrap"]["dispositions"]] == ["sale", "info"]


async def test_a_wrap_up_ended_without_submit_writes_its_draft(
    world: ConsoleWorld, client: Client
) -> None:
    vip = await add_vip(world.directory)
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    world.arrive("c-3", VIP_NUMBER)
    await world.pop.wait("c-3", 10)
    await call(client, "POST", "/api/console/offer/accept", token, {"call_id": "c-3"})
    await call(client, "POST", "/api/console/call/hangup", token, {"call_id": "c-3"})
    draft = {"call_id": "c-3", "disposition": "info", "notes": "Half typed"}
    await call(client, "PUT", "/api/console/wrapup/draft", token, draft)
    # Going not ready ends wrap-up as the timer would: the draft must not be lost.
    body = {"state": "not_ready", "reason_code": "break"}
    status, state = await call(client, "PUT", "/api/console/state", token, body)
    assert status == 200 and state["wrap"] is None
    await world.console.started().close()  # the write runs as a task: let it finish
    history = (await store_of(world.directory).customer_360(vip)).recent_interactions
    assert [(i.disposition, i.notes) for i in history] == [("info", "Half typed")]


async def test_roles_sessions_and_csrf(world: ConsoleWorld, client: Client) -> None:
    assert (await client.get("/api/console")).status == 401
    page = await client.get("/agent/console", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/signin")
    token = await sign_in(client, "sam")  # a supervisor may open agent pages, but has no desk
    status, error = await call(client, "GET", "/api/console", token)
    assert status == 403 and "agent id" in error["error"]
    assert (await client.get("/agent/console")).status == 403
    await client.post("/signout", data={"csrf_token": token})

    token = await sign_in(client, "ada")
    page = await client.get("/agent/console")
    assert page.status == 200
    assert '<script src="/static/console.js" defer></script>' in await page.text()
    refused = await client.put("/api/console/state", json={"state": "ready"})
    assert refused.status == 403
    form = await client.post("/agent/console/state", data={"state": "ready"})
    assert form.status == 403
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.LOGGED_OUT
    sent = await client.post(
        "/agent/console/state",
        data={"state": "ready", "csrf_token": token},
        allow_redirects=False,
    )
    assert sent.status == 303
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.READY
    described = await (await client.get("/api/openapi.json")).json()
    validate(described)
    console_paths = {p for p in described["paths"] if p.startswith("/api/console")}
    assert {"/api/console/wrapup", "/api/console/call/transfer"} <= console_paths
    assert console_paths == {
        route.resource.canonical
        for route in world.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/console")
    }


async def test_the_websocket_sends_the_state_then_the_pop_with_the_offer(
    world: ConsoleWorld, client: Client
) -> None:
    await add_vip(world.directory)
    token = await sign_in(client, "ada")
    async with client.ws_connect("/agent/console/ws") as socket:
        first = await socket.receive_json(timeout=10)
        assert (first["kind"], first["state"]) == ("state", "logged_out")
        assert (await socket.receive_json(timeout=10))["kind"] == "queues"
        await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
        world.arrive("c-ws", VIP_NUMBER)
        frames: list[dict[str, Any]] = []
        while not any(f["kind"] == "pop" for f in frames):
            frames.append(await socket.receive_json(timeout=10))
        offers = [f for f in frames if f["kind"] == "state" and f["offer"]]
        assert offers and offers[0]["offer"]["call_id"] == "c-ws"
        pop = next(f for f in frames if f["kind"] == "pop")["pop"]
        assert (pop["call_id"], pop["tier"]) == ("c-ws", "platinum")

    # A reconnect gets the whole state at once, the pop included: nothing to replay.
    async with client.ws_connect("/agent/console/ws") as socket:
        again = await socket.receive_json(timeout=10)
        assert again["offer"]["call_id"] == "c-ws"
        assert again["pop"]["customer"]["name"] == "Grace Hopper"


async def test_a_foreign_origin_websocket_is_refused(client: Client) -> None:
    await sign_in(client, "ada")
    response = await client.get(
        "/agent/console/ws",
        headers={
            "Origin": "https://evil.example",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403


async def test_a_withheld_caller_needs_a_customer_before_the_wrap_up(
    world: ConsoleWorld, client: Client
) -> None:
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    world.arrive("c-anon", "anonymous")
    pop = await world.pop.wait("c-anon", 10)
    assert (pop["status"], pop["number"]) == ("unknown", None)
    await call(client, "POST", "/api/console/offer/accept", token, {"call_id": "c-anon"})
    await call(client, "POST", "/api/console/call/hangup", token, {"call_id": "c-anon"})
    form = {"call_id": "c-anon", "disposition": "info", "notes": "Asked about opening hours"}
    status, error = await call(client, "POST", "/api/console/wrapup", token, form)
    assert status == 422 and "customer" in error["fields"]
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.WRAP_UP

    new = {"call_id": "c-anon", "name": "Dorothy Vaughan"}
    status, created = await call(client, "POST", "/api/console/customer", token, new)
    assert status == 201
    status, written = await call(client, "POST", "/api/console/wrapup", token, form)
    assert status == 200
    view = await world.directory.customer_360(created["customer_id"])
    assert [(i.interaction_id, i.notes) for i in view.recent_interactions] == [
        (written["interaction_id"], "Asked about opening hours")
    ]


async def test_signing_out_closes_the_open_console(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    world = build_console_app(tmp_path / "c.db", ConsoleOptions(session_check_s=0.05))
    client = await aiohttp_client(world.app)
    await add_users(world.app)
    token = await sign_in(client, "ada")
    async with client.ws_connect("/agent/console/ws") as socket:
        assert (await socket.receive_json(timeout=10))["kind"] == "state"
        await client.post("/signout", data={"csrf_token": token})
        while (message := await socket.receive(timeout=10)).type is WSMsgType.TEXT:
            pass
        assert message.type is WSMsgType.CLOSE
        assert socket.close_code == 4401


async def test_the_session_check_closes_only_the_consoles_whose_session_ended(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    world, ada_client, ada_token, bob_client = await ada_and_bob(
        tmp_path, aiohttp_client, ConsoleOptions(session_check_s=0.05)
    )
    async with (
        ada_client.ws_connect("/agent/console/ws") as ada,
        bob_client.ws_connect("/agent/console/ws") as bob,
    ):
        assert (await ada.receive_json(timeout=10))["kind"] == "state"
        assert (await bob.receive_json(timeout=10))["kind"] == "state"
        assert await world.app[AUTH].users.set_disabled("bob", True)
        while (message := await bob.receive(timeout=10)).type is WSMsgType.TEXT:
            pass
        assert message.type is WSMsgType.CLOSE
        assert bob.close_code == 4401
        # The check that closed bob's console read ada's session too: hers stays, and live.
        status, _ = await call(ada_client, "PUT", "/api/console/state", ada_token, READY)
        assert status == 200
        while (frame := await ada.receive_json(timeout=10))["kind"] != "state":
            pass
        assert frame["state"] == "ready"
        assert world.console.hub.watching("ada")
        assert not world.console.hub.watching("bob")


@pytest.mark.parametrize("compress", [0, 15], ids=["plain", "permessage-deflate"])
async def test_every_console_gets_the_queue_counts_on_each_board_tick(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]], compress: int
) -> None:
    world = build_console_app(tmp_path / "c.db", ConsoleOptions(board_interval_s=0.02))
    clients = [await aiohttp_client(world.app)]
    clients.append(await aiohttp_client(clients[0].server))
    await add_users(world.app)
    for client, name in zip(clients, ["ada", "bob"], strict=True):
        await sign_in(client, name)
    async with (
        clients[0].ws_connect("/agent/console/ws", compress=compress) as ada,
        clients[1].ws_connect("/agent/console/ws", compress=compress) as bob,
    ):
        world.arrive("c-board", UNKNOWN_NUMBER, "support")  # waits: no agent is ready
        for socket in (ada, bob):
            counts = []
            while len(counts) < 5:
                frame = await socket.receive_json(timeout=10)
                if frame["kind"] == "queues":
                    counts.append(frame["waiting"])
            assert counts[-1] == {"sales": 0, "support": 1}


async def test_a_console_that_stops_answering_pings_is_closed_and_the_others_stay(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    world, ada_client, ada_token, bob_client = await ada_and_bob(
        tmp_path, aiohttp_client, ConsoleOptions(heartbeat_s=0.05)
    )
    async with (
        ada_client.ws_connect("/agent/console/ws") as ada,  # answers pings, as browsers do
        bob_client.ws_connect("/agent/console/ws", autoping=False) as bob,  # does not
    ):
        # The client answers a ping only while it reads, as a browser always does: ada reads.
        ada_frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def read_ada() -> None:
            async for message in ada:
                ada_frames.put_nowait(message.json())

        reading = asyncio.create_task(read_ada())
        pings = 0
        while (message := await bob.receive(timeout=10)).type is not WSMsgType.CLOSE:
            pings += message.type is WSMsgType.PING
        assert pings >= 1
        assert bob.close_code == WSCloseCode.GOING_AWAY
        # Ada answered every ping meanwhile: still open and still served.
        status, _ = await call(ada_client, "PUT", "/api/console/state", ada_token, READY)
        assert status == 200
        frame = await asyncio.wait_for(ada_frames.get(), 10)
        while (frame["kind"], frame.get("state")) != ("state", "ready"):
            frame = await asyncio.wait_for(ada_frames.get(), 10)
        assert not reading.done()
        assert world.console.hub.watching("ada")
        assert not world.console.hub.watching("bob")
        reading.cancel()


async def test_the_agent_picks_the_caller_among_several_matches(
    world: ConsoleWorld, client: Client
) -> None:
    store = store_of(world.directory)
    shared = "+44 161 496 0000"
    first = await store.create_customer(NewCustomer(name="Pat Smith", numbers=(shared,)))
    second = await store.create_customer(NewCustomer(name="Sam Smith", numbers=(shared,)))
    token = await sign_in(client, "ada")
    await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
    world.arrive("c-pick", shared)
    pop = await world.pop.wait("c-pick", 10)
    assert pop["status"] == "candidates"
    assert {c["customer_id"] for c in pop["candidates"]} == {first, second}

    unknown = {"call_id": "c-pick", "customer_id": "999999"}
    assert (await call(client, "POST", "/api/console/customer/choose", token, unknown))[0] == 404
    choice = {"call_id": "c-pick", "customer_id": second}
    assert (await call(client, "POST", "/api/console/customer/choose", token, choice))[0] == 204
    _, state = await call(client, "GET", "/api/console", token)
    assert state["pop"]["customer"]["name"] == "Sam Smith"
    assert state["pop"]["number"] == "+441614960000"


async def test_an_auto_answer_queue_connects_without_a_click(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    options = ConsoleOptions(auto_answer_queues=frozenset({"support"}))
    world = build_console_app(tmp_path / "c.db", options)
    client = await aiohttp_client(world.app)
    await add_users(world.app)
    token = await sign_in(client, "ada")
    async with client.ws_connect("/agent/console/ws") as socket:
        await call(client, "PUT", "/api/console/state", token, {"state": "ready"})
        world.arrive("c-auto", UNKNOWN_NUMBER, "support")
        frames: list[dict[str, Any]] = []
        while not (frames and frames[-1]["kind"] == "state" and frames[-1]["call"]):
            frames.append(await socket.receive_json(timeout=10))
        # The ringing state may never be sent: the newer state replaced it in the outbox.
        assert frames[-1]["call"]["call_id"] == "c-auto"
    assert world.runtime.engine.agent_snapshot("ada").state is AgentState.ON_CALL

"""The whole app from create_app: routing wired to the admin, the board and the console."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import AUTH, Role
from config.app import create_app
from config.drain import DRAIN_HOOKS
from config.routing import ROUTING, RoutingService
from config.settings import Settings
from crm_bridge.app import CUSTOMER_DIRECTORY
from crm_bridge.interface import NewCustomer
from router import AgentState, CallQueued, Event
from router.intake import Enqueued, IncomingCall
from telephony.calls import SIP_ENDPOINT
from tests.config.helpers import EXAMPLE
from tests.web.support import PASSWORD, sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
VIP_LINE = "+441632960300"  # open around the clock, to vip_care


async def started(tmp_path: Path, aiohttp_client: ClientFactory) -> tuple[Client, RoutingService]:
    app = create_app(Settings(data_dir=tmp_path, config_file=EXAMPLE))
    client = await aiohttp_client(app)
    await app[AUTH].users.create("root", PASSWORD, Role.ADMIN)
    await app[AUTH].users.create("sam", PASSWORD, Role.SUPERVISOR)
    return client, app[ROUTING]


def admit(routing: RoutingService, call_id: str) -> None:
    admission = routing.admit(IncomingCall(call_id, "+447700900123", VIP_LINE))
    assert isinstance(admission, Enqueued) and admission.queue_id == "vip_care"


async def put_json(client: Client, token: str, path: str, body: dict[str, Any]) -> Any:
    response = await client.put(path, json=body, headers={"X-CSRF-Token": token})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_an_admin_change_reaches_live_routing_and_waiting_callers_keep_their_place(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    client, routing = await started(tmp_path, aiohttp_client)
    # Logged in but not ready: callers wait, and no "nobody logged in" limit sends them off.
    routing.runtime.act(lambda now: routing.engine.agent_login("jakub.nowak", now))
    admit(routing, "first")
    admit(routing, "second")
    token = await sign_in(client, "root")
    queue = (await (await client.get("/api/admin/config/queues/vip_care")).json())["value"]
    assert queue["offer_timeout_s"] == 12
    queue["offer_timeout_s"] = 25
    await put_json(
        client,
        token,
        "/api/admin/config/queues/vip_care",
        {"value": queue, "base_version": 1},
    )
    assert routing.config.queues["vip_care"].offer_timeout_s == 25
    assert {q.id: q.offer_timeout_s for q in routing.queues()}["vip_care"] == 25
    assert routing.engine.position("first") == 1
    assert routing.engine.position("second") == 2
    assert routing.engine.agent_snapshot("jakub.nowak").state is AgentState.NOT_READY
    # The next offer uses the new timeout.
    offered_at: list[float] = []

    def ready(now: float) -> list[Event]:
        offered_at.append(now)
        return routing.engine.agent_ready("jakub.nowak", now)

    routing.runtime.act(ready)
    assert routing.engine.call_agent("first") == "jakub.nowak"
    assert routing.engine.next_deadline() == offered_at[0] + 25


async def test_the_board_explains_the_calls_routing_holds(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    client, routing = await started(tmp_path, aiohttp_client)
    routing.runtime.act(lambda now: routing.engine.agent_login("jakub.nowak", now))
    admit(routing, "first")
    await sign_in(client, "sam")
    response = await client.get("/api/board/calls/first/why")
    assert response.status == 200, await response.text()
    steps = (await response.json())["steps"]
    assert steps and "no idle agent" in steps[0]["why"]


async def test_an_agent_going_ready_in_the_console_is_offered_the_waiting_caller(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    client, routing = await started(tmp_path, aiohttp_client)
    assert client.app is not None
    await client.app[AUTH].users.create("jakub", PASSWORD, Role.AGENT, agent_id="jakub.nowak")
    routing.runtime.act(lambda now: routing.engine.agent_login("jakub.nowak", now))
    admit(routing, "first")
    token = await sign_in(client, "jakub")
    state = await put_json(client, token, "/api/console/state", {"state": "ready"})
    assert state["offer"] is not None and state["offer"]["call_id"] == "first"
    assert routing.engine.call_agent("first") == "jakub.nowak"


class SipPeer(asyncio.DatagramProtocol):
    """A bare UDP SIP peer: it sends one request and collects the responses."""

    def __init__(self) -> None:
        self.responses: asyncio.Queue[str] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.responses.put_nowait(data.decode())


def invite(dnis: str, port: int, local_port: int) -> bytes:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    head = (
        f"INVITE sip:{dnis}@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK-wiring-1;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:caller@127.0.0.1>;tag=wiring\r\n"
        f"To: <sip:{dnis}@127.0.0.1>\r\n"
        "Call-ID: wiring-1@127.0.0.1\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{local_port}>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n"
    )
    return (head + sdp).encode()


async def test_with_sip_credentials_the_app_answers_calls_through_routing(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    credentials = tmp_path / "phones.yaml"
    credentials.write_text('"1010": {password: "secret-1010"}\n', encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, config_file=EXAMPLE, sip_port=0, sip_credentials_file=credentials
    )
    app = create_app(settings)
    await aiohttp_client(app)
    port = app[SIP_ENDPOINT].port
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(SipPeer, local_addr=("127.0.0.1", 0))
    try:
        local_port = transport.get_extra_info("sockname")[1]
        transport.sendto(invite("+10000000000", port, local_port), ("127.0.0.1", port))
        final = ""
        while not final:
            response = await asyncio.wait_for(peer.responses.get(), timeout=5)
            if not response.startswith("SIP/2.0 1"):
                final = response
        # An unknown number: routing's intake refuses it, and telephony says so.
        assert final.startswith("SIP/2.0 404"), final.splitlines()[0]
        assert DRAIN_HOOKS in app and app[DRAIN_HOOKS].hooks
    finally:
        transport.close()


async def test_prometheus_scrapes_with_the_configured_token_and_sees_console_sockets(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    token = "scrape-" + "x" * 24
    app = create_app(Settings(data_dir=tmp_path, config_file=EXAMPLE, metrics_token=token))
    client = await aiohttp_client(app)
    refused = await client.get("/metrics", allow_redirects=False)
    assert refused.status in (401, 403)
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    text = await response.text()
    assert 'switchboard_websocket_connections{endpoint="console"} 0.0' in text
    assert 'switchboard_queue_callers_waiting{queue="vip_care"} 0.0' in text


async def test_the_crm_lookup_at_arrival_makes_the_account_owner_the_preferred_agent(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    client, routing = await started(tmp_path, aiohttp_client)
    assert client.app is not None
    directory = client.app[CUSTOMER_DIRECTORY]
    await directory.create_customer(
        NewCustomer(name="Grace Hopper", numbers=("+447700900555",), owner_agent="ines.moreau")
    )
    identified = asyncio.Event()

    def follow(batch: Sequence[Event]) -> None:
        if any(isinstance(e, CallQueued) and e.reason.step == "customer identified" for e in batch):
            identified.set()

    routing.runtime.subscribe(follow)
    for agent_id in ("jakub.nowak", "ines.moreau"):
        routing.runtime.act(lambda now, a=agent_id: routing.engine.agent_login(a, now))
    admission = routing.admit(IncomingCall("grace", "+447700900555", VIP_LINE))
    assert isinstance(admission, Enqueued)
    await asyncio.wait_for(identified.wait(), timeout=10)
    # Jakub is free first, but the caller now waits for her account owner.
    routing.runtime.act(lambda now: routing.engine.agent_ready("jakub.nowak", now))
    assert routing.engine.call_agent("grace") is None
    routing.runtime.act(lambda now: routing.engine.agent_ready("ines.moreau", now))
    assert routing.engine.call_agent("grace") == "ines.moreau"

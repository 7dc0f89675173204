"""A real call through the whole app: sipp caller, routes from the config, a registered phone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from agents import AUTH, Role
from board.recordings import recording_ref
from config.app import ENGINE, create_app
from config.routing import ROUTING
from config.settings import Settings
from crm_bridge.tables import interactions
from recording import RECORDINGS
from router import AgentState, CallDequeued, CallFinished, Event, Offer, Outcome
from telephony.calls import SIP_ENDPOINT
from tests.config.helpers import EXAMPLE
from tests.ports import free_media_port, free_port
from tests.telephony.calls.harness import audio_files, ok, passed, scenario
from tests.telephony.conftest import WAIT, finish_sipp, start_sipp
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
PHONE_PASSWORD = "phone-secret-1010"
WEB_PASSWORD = "correct horse battery staple"
JAKUB = ("jakub.nowak", "1010")  # in vip_care, SIP user 1010 in the example config
VIP_LINE = "+441632960300"


async def test_a_caller_on_a_configured_line_talks_to_the_registered_agent(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    credentials = tmp_path / "phones.yaml"
    credentials.write_text(f'"1010": {{password: "{PHONE_PASSWORD}"}}\n', encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data",
        config_file=EXAMPLE,
        sip_port=0,
        sip_credentials_file=credentials,
    )
    (tmp_path / "data").mkdir()
    app = create_app(settings)
    client = await aiohttp_client(app)
    routing = app[ROUTING]
    seen: list[Event] = []
    finished = asyncio.Event()

    def follow(batch: Sequence[Event]) -> None:
        seen.extend(batch)
        if any(isinstance(e, CallFinished) for e in batch):
            finished.set()

    routing.runtime.subscribe(follow)
    port = app[SIP_ENDPOINT].port
    audio = audio_files(tmp_path)
    phone_port = free_port()

    register_dir = tmp_path / "register"
    register_dir.mkdir()
    args = [f"127.0.0.1:{port}", "-sf", scenario("register_agent.xml", register_dir)]
    args += ["-s", JAKUB[1], "-au", JAKUB[1], "-ap", PHONE_PASSWORD, "-m", "1"]
    args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(phone_port)]
    ok(await finish_sipp(await start_sipp(args, register_dir), register_dir))

    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    args = ["-sf", scenario("agent_answers.xml", agent_dir, **audio), "-s", JAKUB[1], "-m", "1"]
    args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(phone_port), "-mp", str(free_media_port())]
    agent = (await start_sipp(args, agent_dir), agent_dir)

    routing.runtime.act(lambda now: routing.engine.agent_login(JAKUB[0], now))
    routing.runtime.act(lambda now: routing.engine.agent_ready(JAKUB[0], now))

    caller_dir = tmp_path / "caller"
    caller_dir.mkdir()
    (caller_dir / "callers.csv").write_text("SEQUENTIAL\nC-1001;\n", encoding="utf-8")
    args = [f"127.0.0.1:{port}", "-sf", scenario("caller_hangs_up.xml", caller_dir, **audio)]
    args += ["-s", VIP_LINE, "-m", "1", "-inf", str(caller_dir / "callers.csv")]
    args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_media_port())]
    caller = (await start_sipp(args, caller_dir), caller_dir)

    await passed(caller)
    await passed(agent)
    await asyncio.wait_for(finished.wait(), WAIT)
    [offer] = [e for e in seen if isinstance(e, Offer)]
    assert (offer.agent_id, offer.queue_id) == ("jakub.nowak", "vip_care")
    answered = [e for e in seen if isinstance(e, CallDequeued)]
    assert [(e.queue_id, e.outcome) for e in answered] == [("vip_care", Outcome.ANSWERED)]
    assert routing.engine.agent_snapshot(JAKUB[0]).state is AgentState.WRAP_UP
    recording = await app[RECORDINGS].get(offer.call_id)
    assert recording is not None
    # A supervisor plays it from the board; an agent may not.
    users = app[AUTH].users
    await users.create("sam", WEB_PASSWORD, Role.SUPERVISOR)
    await users.create("jakub", WEB_PASSWORD, Role.AGENT, agent_id=JAKUB[0])
    path = recording_ref(offer.call_id)
    token = await sign_in(client, "jakub", WEB_PASSWORD)
    assert (await client.get(path, allow_redirects=False)).status == 403
    # The agent wraps up; the interaction lands in the store with its recording's reference.
    wrapped = await client.post(
        "/api/console/wrapup",
        json={"call_id": offer.call_id, "disposition": "resolved", "notes": "VIP line test"},
        headers={"X-CSRF-Token": token},
    )
    assert wrapped.status == 200, await wrapped.text()
    async with app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(interactions.c.recording_ref, interactions.c.notes).where(
                    interactions.c.call_id == offer.call_id
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [(path, "VIP line test")]
    client.session.cookie_jar.clear()
    await sign_in(client, "sam", WEB_PASSWORD)
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert (await response.read()) == recording.path.read_bytes()

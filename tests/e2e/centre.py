"""A whole contact centre for end-to-end tests, built by the composition root itself.

`config.app.create_app(Settings(...))` on a routing config written for the test, a SIP
credentials file, a temporary data directory (SQLite) and ephemeral ports: sipp and pyVoIP
call it over SIP, aiohttp and Chromium use it over HTTP and websockets. The tests reach its
parts only through the app's typed keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

import agents
import board
from board.eventlog import read_records
from board.records import EventRecord
from config.app import ENGINE, SCREEN_POP, create_app
from config.routing import ROUTING, RoutingService
from config.settings import Settings
from recording import RECORDINGS, RecordingStore
from screenpop import ScreenPop
from telephony.calls import B2BUA, SIP_ENDPOINT, B2bua
from telephony.sip import Registrar
from tests.telephony.calls.harness import PASSWORD, EventLog

USER_PASSWORD = "correct horse battery"
DIALLED = "+441632960500"  # the one route of the test config, to queue "sales"
WAIT = 30.0  # upper bound for anything these tests wait on; never reached when working


def routing_config(queue: Mapping[str, object], phones: Mapping[str, str]) -> dict[str, Any]:
    """Return a config document: queue "sales" with `queue`'s settings, one agent per phone."""
    return {
        "version": 1,
        "queues": {"sales": {"name": "Sales", **queue}},
        "routes": {"main": {"dnis": DIALLED, "queue": "sales"}},
        "agents": {
            agent_id: {"name": agent_id, "sip_username": user, "queues": {"sales": 1}}
            for agent_id, user in phones.items()
        },
        "reason_codes": {"break": {"name": "Break"}},
        "dispositions": {"resolved": {"name": "Resolved"}},
    }


@dataclass
class Centre:
    """The running app, its URL, and what the sipp phones of the call harness use."""

    app: web.Application
    url: str
    events: EventLog
    workdir: Path

    @property
    def routing(self) -> RoutingService:
        """Return the routing service in force."""
        return self.app[ROUTING]

    @property
    def pop(self) -> ScreenPop:
        """Return the screen pop."""
        return self.app[SCREEN_POP]

    @property
    def store(self) -> RecordingStore:
        """Return the recording store."""
        return self.app[RECORDINGS]

    @property
    def b2bua(self) -> B2bua:
        """Return the B2BUA."""
        return self.app[B2BUA]

    @property
    def registrar(self) -> Registrar:
        """Return the registrar the agents' phones register with."""
        return self.b2bua.registrar

    @property
    def port(self) -> int:
        """Return the SIP port."""
        return self.app[SIP_ENDPOINT].port

    def ready(self, *agent_ids: str) -> None:
        """Log agents in and make them ready, in order."""
        runtime = self.routing.runtime
        for agent_id in agent_ids:
            runtime.act(lambda now, a=agent_id: runtime.engine.agent_login(a, now))
            runtime.act(lambda now, a=agent_id: runtime.engine.agent_ready(a, now))

    async def flushed_records(self) -> list[EventRecord]:
        """Write the event log's buffer, then read back every record."""
        await self.app[board.BOARD].event_log.flush()
        return await read_records(self.app[ENGINE], 0, 2**40)


@contextlib.asynccontextmanager
async def call_centre(
    workdir: Path, queue: Mapping[str, object], phones: dict[str, str]
) -> AsyncIterator[Centre]:
    """Run create_app's centre; `phones` maps agent id -> SIP user (and sign-in name)."""
    config = workdir / "centre.yaml"
    config.write_text(yaml.safe_dump(routing_config(queue, phones)), encoding="utf-8")
    credentials = workdir / "phones.yaml"
    secrets = {user: {"password": PASSWORD} for user in phones.values()}
    credentials.write_text(yaml.safe_dump(secrets), encoding="utf-8")
    data = workdir / "data"
    data.mkdir()
    settings = Settings(
        config_file=config,
        data_dir=data,
        sip_port=0,
        sip_credentials_file=credentials,
        crm_region="GB",
        # The machine is shared and busy: routing must see the VIP's tier, not time out.
        crm_lookup_budget_ms=10_000,
    )
    app = create_app(settings)
    events = EventLog()
    app[ROUTING].runtime.subscribe(events)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        users = app[agents.AUTH].users
        await users.create("sam", USER_PASSWORD, agents.Role.SUPERVISOR)
        for agent_id in phones:
            await users.create(agent_id, USER_PASSWORD, agents.Role.AGENT, agent_id=agent_id)
        yield Centre(app, f"http://{host}:{port}", events, workdir)
    finally:
        await runner.cleanup()


class Browserless:
    """A signed-in user's HTTP session and live websocket, as the page's script holds them."""

    def __init__(self, url: str, username: str) -> None:
        self.url = url
        self.username = username
        # unsafe: keep cookies from an IP-address host (127.0.0.1), as a browser does.
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": url}
        )
        self.frames: list[dict[str, Any]] = []
        # The loop time each frame arrived at (the same clock as the router's events).
        self.arrived: list[float] = []
        self.csrf = ""
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def open(self, path: str) -> None:
        """Sign in, then open the websocket at `path` and keep every frame it sends."""
        page = await (await self.http.get(f"{self.url}/signin")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        form = {"csrf_token": token.group(1), "username": self.username}
        form["password"] = USER_PASSWORD
        async with self.http.post(f"{self.url}/signin", data=form, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        async with self.http.get(f"{self.url}/api/session") as session:
            self.csrf = (await session.json())["csrf_token"]
        socket = await self.http.ws_connect(f"{self.url}{path}", origin=self.url)
        self._reader = asyncio.ensure_future(self._read(socket))

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.arrived.append(asyncio.get_running_loop().time())
                self.frames.append(json.loads(message.data))
                self._changed.set()

    async def api(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """Call the JSON API as the page's script does (CSRF header); return status and JSON."""
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as r:
            return r.status, (None if r.status == 204 else await r.json())

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET a page or file with the session's cookie; return status and body."""
        async with self.http.get(self.url + path, allow_redirects=False) as r:
            return r.status, await r.read()

    def arrival_of(self, frame: dict[str, Any]) -> float:
        """Return the loop time a frame arrived at."""
        return self.arrived[next(i for i, f in enumerate(self.frames) if f is frame)]

    async def wait_for(self, test: Any) -> dict[str, Any]:
        """Return the first frame (seen so far or next) for which `test(frame)` is true."""
        async with asyncio.timeout(WAIT):
            while True:
                for frame in self.frames:
                    if test(frame):
                        return frame
                self._changed.clear()
                await self._changed.wait()

    async def close(self) -> None:
        """Close the websocket and the session."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.http.close()

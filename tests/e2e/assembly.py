"""A whole contact centre for end-to-end tests, wired the way the composition root wires it.

The real packages on one SQLite file and one event loop: the web foundation, the customer
store, the routing engine, the B2BUA with its registrar and recordings, the screen pop, the
agent console and the supervisor board with its event log. It is served on ephemeral ports:
sipp and pyVoIP call it over SIP, aiohttp and Chromium use it over HTTP and websockets.
It offers H2's call-test view (`Switchboard`), so the sipp phones of its harness drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

import agents
import agents.console
import board
import crm_bridge.app
from board.eventlog import read_records
from board.records import EventRecord
from config.database import create_engine, upgrade
from crm_bridge.config import CrmConfig
from recording import RecordingStore
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Engine, QueueSpec
from router.intake import Admission, CallControl, Enqueued, IncomingCall
from router.runtime import RoutingRuntime
from screenpop import ScreenPop
from telephony.calls import B2BUA, CALL_CONTROL, SIP_ENDPOINT, setup
from telephony.sip import Registrar, StaticCredentials
from tests.telephony.calls.harness import PASSWORD, EventLog, Route, Switchboard, TestIntake
from tests.web.support import CHEAP_HASHING

USER_PASSWORD = "correct horse battery"
WAIT = 30.0  # upper bound for anything these tests wait on; never reached when working


class PoppingIntake(TestIntake):
    """Admit by dialled number, then start the call's CRM lookup (the arrival hook)."""

    def __init__(self, runtime: RoutingRuntime, routes: dict[str, Route], users: dict[str, str]):
        super().__init__(runtime, routes, users)
        self.pop: ScreenPop | None = None

    def admit(self, call: IncomingCall) -> Admission:
        """Route the call; a queued one gets its lookup started at once."""
        admission = super().admit(call)
        if isinstance(admission, Enqueued) and self.pop is not None:
            self.pop.call_arrived(call, admission.queue_id)
        return admission


class LateCallControl:
    """The B2BUA's call control, found once telephony has started (it is made at startup)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def _control(self) -> CallControl:
        return self._app[CALL_CONTROL]

    def hold(self, call_id: str) -> None:
        """Put the caller on hold."""
        self._control().hold(call_id)

    def resume(self, call_id: str) -> None:
        """Take the caller off hold."""
        self._control().resume(call_id)

    def hang_up(self, call_id: str) -> None:
        """End both legs."""
        self._control().hang_up(call_id)

    def transfer(
        self, call_id: str, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Blind-transfer the caller."""
        self._control().transfer(call_id, queue_id=queue_id, agent_id=agent_id)


@dataclass
class Centre:
    """The running contact centre: H2's call-test view, the app, its URL and its store."""

    sb: Switchboard
    app: web.Application
    url: str
    db: AsyncEngine

    async def flushed_records(self) -> list[EventRecord]:
        """Write the event log's buffer, then read back every record."""
        service = self.app[board.BOARD]
        await service.event_log.flush()
        return await read_records(self.db, 0, 2**40)


@contextlib.asynccontextmanager
async def call_centre(
    workdir: Path,
    queues: Sequence[QueueSpec],
    phones: dict[str, str],
    routes: dict[str, Route],
) -> AsyncIterator[Centre]:
    """Run the centre; `phones` maps agent id -> SIP user (the agent's sign-in name too)."""
    loop = asyncio.get_running_loop()
    db = create_engine(f"sqlite+aiosqlite:///{workdir / 'switchboard.db'}")
    for package in (agents, board):
        await upgrade(db, package.MIGRATIONS_DIR, package.VERSION_TABLE)
    await upgrade(db, crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE)
    specs = [AgentSpec(a, name=a, queues={q.id: 1 for q in queues}) for a in phones]
    runtime = RoutingRuntime(
        Engine(list(queues), specs, DEFAULT_TIER_BOOSTS, seed=0), loop.time, loop.call_at
    )
    events = EventLog()
    runtime.subscribe(events)
    app = web.Application()
    agents.setup(
        app,
        db,
        agents.WebOptions(
            secret_key=b"e2e secret key, 32 bytes long!!!",
            session_policy=agents.SessionPolicy(),
            hash_parameters=CHEAP_HASHING,
        ),
    )
    crm_bridge.app.setup(
        app, db, CrmConfig(default_region="GB", lookup_budget_s=10.0, view_budget_s=10.0)
    )
    intake = PoppingIntake(runtime, routes, phones)
    pop = ScreenPop(
        lambda: app[crm_bridge.app.CUSTOMER_DIRECTORY],
        agents.console.identify_in_engine(lambda: runtime),
    )
    intake.pop = pop
    agents.console.setup(
        app,
        routing=lambda: agents.console.ConsoleRouting(runtime, lambda: queues, lambda: specs),
        directory=lambda: app[crm_bridge.app.CUSTOMER_DIRECTORY],
        pops=pop,
        reason_codes=lambda: {"break": "Break"},
        dispositions=lambda: [agents.console.DispositionChoice("resolved", "Resolved")],
        call_control=LateCallControl(app),
    )
    board.setup(app, db, lambda: board.Routing(runtime, lambda: queues, lambda: specs))
    registrar = Registrar(
        StaticCredentials(dict.fromkeys(phones.values(), PASSWORD)), realm="switchboard.test"
    )
    store = RecordingStore(workdir / "recordings")
    setup(app, intake=intake, runtime=runtime, registrar=registrar, recordings=store, port=0)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    users = app[agents.AUTH].users
    await users.create("sam", USER_PASSWORD, agents.Role.SUPERVISOR)
    for agent_id in phones:
        await users.create(agent_id, USER_PASSWORD, agents.Role.AGENT, agent_id=agent_id)
    sb = Switchboard(
        runtime, intake, registrar, store, app[B2BUA], app[SIP_ENDPOINT], events, workdir
    )
    try:
        yield Centre(sb, app, f"http://{host}:{port}", db)
    finally:
        await runner.cleanup()
        runtime.close()
        await store.close()
        await db.dispose()


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

"""A hot reload through the admin API during real SIP traffic loses no call.

sipp callers dial Switchboard's B2BUA while sipp agent phones answer; with calls connected
and callers waiting, an admin changes the queue through the API (a new version, applied to
the running router). Every call still completes: the caller's sipp counts each call a
success only if it was answered, talked and hung up cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

import admin
from agents import Role
from config.compile import to_router
from config.database import upgrade
from config.loader import validate_document
from config.schema import ContactCentreConfig
from recording import RecordingStore
from router import CallDequeued, CallFinished, CallQueued, Engine, Event
from router.events import Outcome
from router.runtime import RoutingRuntime
from telephony.calls import B2BUA, SIP_ENDPOINT
from telephony.calls import setup as setup_calls
from telephony.sip import Registrar, StaticCredentials
from tests.ports import free_media_port, free_port
from tests.telephony.calls import harness
from tests.telephony.calls.harness import (
    PASSWORD,
    EventLog,
    Phones,
    Route,
    Switchboard,
    ok,
    scenario,
)
from tests.telephony.conftest import finish_sipp, start_sipp
from tests.web.support import PASSWORD as WEB_PASSWORD
from tests.web.support import build_app, sign_in

Client = TestClient[web.Request, web.Application]
CALLS = 9  # three agents: three connected at the reload, the rest waiting or still to come
AGENTS = {"a1": "2001", "a2": "2002", "a3": "2003"}
CONFIG = """\
version: 1
skills:
  sales: {name: Sales}
queues:
  sales:
    name: Sales
    strategy: longest_idle
    skills: {sales: 1}
    service_level: {threshold_s: 20, target_percent: 80}
    offer_timeout_s: 10
    rona_max_misses: 3
    wrap_up_s: 0
routes:
  sales_line: {dnis: "5000", queue: sales}
agents:
"""
CONFIG += "".join(
    f'  {agent}: {{name: {agent}, sip_username: "{user}", skills: {{sales: 5}}, '
    f"queues: {{sales: 5}}}}\n"
    for agent, user in AGENTS.items()
)


class Watch:
    """Every router event, and a way to wait (bounded) until they meet a condition."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changed = asyncio.Event()

    def __call__(self, batch: list[Event]) -> None:
        self.events.extend(batch)
        self.changed.set()

    def count(self, match: Callable[[Event], bool]) -> int:
        return sum(1 for event in self.events if match(event))

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(30):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def answered(event: Event) -> bool:
    return isinstance(event, CallDequeued) and event.outcome is Outcome.ANSWERED


@contextlib.asynccontextmanager
async def agent_phone(phones: Phones, user: str) -> AsyncIterator[None]:
    """Register a sipp phone for `user` that answers every call until the block ends."""
    port = free_port()
    await phones.register(user, port)
    directory = phones.sb.workdir / f"phone-{user}"
    directory.mkdir()
    args = ["-sf", scenario("agent_answers.xml", directory, **phones.audio), "-s", user]
    args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(port), "-mp", str(free_media_port())]
    process = await start_sipp(args, directory)
    try:
        yield
    finally:
        # SIGUSR1 is sipp's clean stop; its error log tells whether any call went wrong.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGUSR1)
        result = await finish_sipp(process, directory)
        assert result.errors == "", result.errors[-3000:]


async def test_a_reload_during_sipp_traffic_loses_no_call(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    config = validate_document(CONFIG, "reload.yaml")
    assert isinstance(config, ContactCentreConfig), config
    loop = asyncio.get_running_loop()
    runtime = RoutingRuntime(Engine(*to_router(config)), loop.time, loop.call_at)
    watch = Watch()
    runtime.subscribe(watch)
    harness_events = EventLog()
    runtime.subscribe(harness_events)

    applied: list[ContactCentreConfig] = []
    # Each call's queue position and each agent's call, just before and just after the reload.
    around: list[tuple[dict[str, int | None], dict[str, str | None]]] = []

    def state() -> tuple[dict[str, int | None], dict[str, str | None]]:
        engine = runtime.engine
        return (
            {call_id: engine.position(call_id) for call_id in engine.call_ids()},
            {agent: engine.agent_snapshot(agent).call_id for agent in AGENTS},
        )

    def apply(new: ContactCentreConfig) -> None:
        # As the composition root does: a hot reload published to every listener (the B2BUA).
        applied.append(new)
        around.append(state())
        runtime.act(lambda now: runtime.engine.apply_config(*to_router(new), now))
        around.append(state())

    world = build_app(tmp_path / "admin.db")

    @contextlib.asynccontextmanager
    async def migrate(_: web.Application) -> AsyncIterator[None]:
        await upgrade(world.engine, admin.MIGRATIONS_DIR, admin.VERSION_TABLE)
        yield

    world.app.cleanup_ctx.append(migrate)
    service = admin.setup(
        world.app,
        world.engine,
        admin.AdminOptions(initial=config, source="reload.yaml", apply=apply),
        clock=world.clock,
    )
    intake = harness.TestIntake(runtime, {"5000": Route("sales")}, AGENTS)
    registrar = Registrar(
        StaticCredentials(dict.fromkeys(AGENTS.values(), PASSWORD)), realm="switchboard.test"
    )
    store = RecordingStore(tmp_path / "recordings")
    setup_calls(
        world.app, intake=intake, runtime=runtime, registrar=registrar, recordings=store, port=0
    )
    client = await aiohttp_client(world.app)
    await world.auth.users.create("root", WEB_PASSWORD, Role.ADMIN, display_name="Ria")
    token = await sign_in(client, "root")
    sb = Switchboard(
        runtime,
        intake,
        registrar,
        store,
        world.app[B2BUA],
        world.app[SIP_ENDPOINT],
        harness_events,
        tmp_path,
    )
    phones = Phones(sb)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for user in AGENTS.values():
                await stack.enter_async_context(agent_phone(phones, user))
            for agent in AGENTS:
                runtime.act(lambda now, a=agent: runtime.engine.agent_login(a, now))
                runtime.act(lambda now, a=agent: runtime.engine.agent_ready(a, now))
            directory = tmp_path / "callers"
            directory.mkdir()
            (directory / "callers.csv").write_text("SEQUENTIAL\nC-1001;\n", encoding="utf-8")
            # Talk for one second rather than 2.5 (the test stays short).
            shorter = {'<pause milliseconds="2500"/>': '<pause milliseconds="1000"/>'}
            path = scenario("caller_hangs_up.xml", directory, **phones.audio, **shorter)
            args = [f"127.0.0.1:{sb.port}", "-sf", path, "-s", "5000"]
            args += ["-m", str(CALLS), "-r", "10", "-l", str(CALLS)]
            args += ["-inf", str(directory / "callers.csv")]
            args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(free_port())]
            args += ["-mp", str(free_media_port())]
            callers = await start_sipp(args, directory)

            # Mid-traffic: every agent on a call and callers waiting behind them.
            await watch.until(
                lambda: (
                    watch.count(answered) >= 3
                    and watch.count(lambda e: isinstance(e, CallQueued)) >= 4
                )
            )
            queue = (await (await client.get("/api/admin/config/queues/sales")).json())["value"]
            queue["strategy"] = "round_robin"
            queue["service_level"]["threshold_s"] = 30
            response = await client.put(
                "/api/admin/config/queues/sales",
                json={"value": queue, "base_version": 1},
                headers={"X-CSRF-Token": token},
            )
            assert response.status == 200, await response.text()
            assert service.version.id == 2
            assert [c.queues["sales"].strategy for c in applied] == ["round_robin"]
            # Waiting callers kept their places and calls in progress their agents.
            (positions, calls), after = around
            assert after == (positions, calls)
            assert all(calls.values())
            assert sum(1 for p in positions.values() if p is not None) >= 1

            ok(await finish_sipp(callers, directory))
            await watch.until(lambda: watch.count(lambda e: isinstance(e, CallFinished)) == CALLS)
    finally:
        await store.close()
    assert watch.count(answered) == CALLS
    assert watch.count(lambda e: isinstance(e, CallDequeued) and not answered(e)) == 0
    assert len(intake.calls) == CALLS

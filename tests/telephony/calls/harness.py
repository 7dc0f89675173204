"""A Switchboard for call tests: real engine and runtime, the B2BUA on loopback, sipp phones.

The CallIntake here is the tiny one the brief asks for: dialled number -> queue (or a refusal),
built over a real `Engine` and `RoutingRuntime` on the event loop's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from aiohttp import web

from recording import RecordingStore
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, Event, QueueSpec
from router.intake import Admission, Enqueued, IncomingCall, Redirected, Refused
from router.runtime import RoutingRuntime
from telephony.calls import B2BUA, SIP_ENDPOINT, B2bua, setup
from telephony.rtp.g711 import encode_ulaw
from telephony.sip import Registrar, SipEndpoint, StaticCredentials
from tests.ports import free_media_port, free_port
from tests.recording.audio import tone
from tests.telephony.conftest import (
    WAIT,
    SippResult,
    finish_sipp,
    start_sipp,
    wait_for_tcp,
)

HERE = Path(__file__).parent / "scenarios"
PARENT_SCENARIOS = Path(__file__).parent.parent / "scenarios"
TRANSPORTS = {"UDP": "u1", "TCP": "t1"}
PASSWORD = "s3cret-phone"
CALLER_TONE, AGENT_TONE = 400.0, 1000.0
E = TypeVar("E")


@dataclass(frozen=True)
class Route:
    """Where a dialled number goes."""

    queue_id: str = ""
    redirect: bool = False
    # Set: the intake answers Redirected to this URI instead of queueing.
    elsewhere: str | None = None


class TestIntake:
    """Admit calls by dialled number into a real engine; remember every call admitted."""

    def __init__(
        self, runtime: RoutingRuntime, routes: dict[str, Route], usernames: dict[str, str]
    ) -> None:
        self.runtime = runtime
        self.routes = routes
        self.usernames = usernames
        self.calls: list[IncomingCall] = []

    def admit(self, call: IncomingCall) -> Admission:
        """Enqueue a call whose number has a route; refuse others with 404."""
        self.calls.append(call)
        route = self.routes.get(call.dnis)
        if route is None:
            return Refused(404, "no route for the dialled number")
        if route.elsewhere is not None:
            return Redirected(route.elsewhere, "overflow number")
        routed = Call(
            call.call_id,
            route.queue_id,
            self.runtime.now(),
            ani=call.ani,
            dnis=call.dnis,
            customer_id=call.customer_hint,
        )
        self.runtime.act(lambda now: self.runtime.engine.call_arrived(routed, now))
        return Enqueued(route.queue_id, redirect=route.redirect)

    def agent_sip_username(self, agent_id: str) -> str | None:
        """Return the agent's phone user name."""
        return self.usernames.get(agent_id)


@dataclass
class EventLog:
    """Every router event with the loop time it was published at; wait for one to appear."""

    seen: list[tuple[float, Event]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, batch: Sequence[Event]) -> None:
        now = asyncio.get_running_loop().time()
        self.seen.extend((now, event) for event in batch)
        self.changed.set()

    def of(self, kind: type[E]) -> list[E]:
        """Return the events of one kind, in order."""
        return [e for _, e in self.seen if isinstance(e, kind)]

    def time_of(self, match: Callable[[Event], bool]) -> float:
        """Return when the first matching event was published."""
        return next(t for t, e in self.seen if match(e))

    async def wait(self, kind: type[E], match: Callable[[E], bool] = lambda _: True) -> E:
        """Wait for an event of a kind that matches (a timeout lists the events seen)."""
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    for _, event in self.seen:
                        if isinstance(event, kind) and match(event):
                            return event
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            seen = "\n".join(repr(e) for _, e in self.seen)
            raise AssertionError(f"no matching {kind.__name__}; events:\n{seen}") from None


class SipSide(Protocol):
    """What the sipp phones and `closed` use: Switchboard's SIP port, registrar and B2BUA."""

    @property
    def port(self) -> int:
        """Return Switchboard's SIP port."""
        ...

    @property
    def registrar(self) -> Registrar:
        """Return the registrar the phones register with."""
        ...

    @property
    def b2bua(self) -> B2bua:
        """Return the B2BUA the calls go through."""
        ...

    @property
    def workdir(self) -> Path:
        """Return the directory the phones keep their files in."""
        ...


@dataclass
class Switchboard:
    """The parts a call test drives and inspects."""

    runtime: RoutingRuntime
    intake: TestIntake
    registrar: Registrar
    store: RecordingStore
    b2bua: B2bua
    endpoint: SipEndpoint
    events: EventLog
    workdir: Path

    @property
    def port(self) -> int:
        """Return Switchboard's SIP port."""
        return self.endpoint.port

    def ready(self, *agent_ids: str) -> None:
        """Log agents in and make them ready, in order."""
        engine = self.runtime.engine
        for agent_id in agent_ids:
            self.runtime.act(lambda now, a=agent_id: engine.agent_login(a, now))
            self.runtime.act(lambda now, a=agent_id: engine.agent_ready(a, now))


@contextlib.asynccontextmanager
async def switchboard(
    workdir: Path,
    queues: Sequence[QueueSpec],
    agents: dict[str, str],
    routes: dict[str, Route],
    *,
    early_media: bool = True,
    configure: Callable[[web.Application], None] | None = None,
) -> AsyncIterator[Switchboard]:
    """Run the B2BUA through `setup` on an ephemeral port; `agents` maps agent id -> SIP user.

    `configure(app)` runs after `setup`, before startup (more setup calls, as the root makes).
    """
    loop = asyncio.get_running_loop()
    specs = [AgentSpec(a, queues={q.id: 1 for q in queues}) for a in agents]
    engine = Engine(queues, specs, DEFAULT_TIER_BOOSTS, seed=0)
    runtime = RoutingRuntime(engine, loop.time, loop.call_at)
    events = EventLog()
    runtime.subscribe(events)
    intake = TestIntake(runtime, routes, agents)
    registrar = Registrar(
        StaticCredentials(dict.fromkeys(agents.values(), PASSWORD)), realm="switchboard.test"
    )
    store = RecordingStore(workdir / "recordings")
    app = web.Application()
    setup(
        app,
        intake=intake,
        runtime=runtime,
        registrar=registrar,
        recordings=store,
        port=0,
        early_media=early_media,
    )
    if configure is not None:
        configure(app)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield Switchboard(
            runtime, intake, registrar, store, app[B2BUA], app[SIP_ENDPOINT], events, workdir
        )
    finally:
        await runner.cleanup()
        runtime.close()
        await store.close()


async def closed(sb: SipSide, call_id: str) -> None:
    """Wait until the B2BUA has ended both legs and closed the call's media."""
    call = sb.b2bua.call(call_id)
    if call is not None:
        await asyncio.wait_for(call.closed.wait(), WAIT)
    assert sb.b2bua.call(call_id) is None


def scenario(name: str, directory: Path, **replacements: str) -> str:
    """Copy a scenario into `directory`, filling placeholders; return its path."""
    source = HERE / name if (HERE / name).exists() else PARENT_SCENARIOS / name
    text = source.read_text(encoding="utf-8")
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def audio_files(directory: Path) -> dict[str, str]:
    """Write one second of tone per party as raw mu-law; return the scenario placeholders."""
    caller, agent = directory / "caller.ulaw", directory / "agent.ulaw"
    caller.write_bytes(encode_ulaw(tone(CALLER_TONE, 8000)))
    agent.write_bytes(encode_ulaw(tone(AGENT_TONE, 8000, 6000)))
    return {"CALLER_AUDIO": str(caller), "AGENT_AUDIO": str(agent)}


class Phones:
    """sipp processes around one Switchboard, each in its own directory (its own error log)."""

    def __init__(self, sb: SipSide) -> None:
        self.sb = sb
        self.audio = audio_files(sb.workdir)
        self._count = 0

    def _dir(self, name: str) -> Path:
        self._count += 1
        directory = self.sb.workdir / f"{self._count}-{name}"
        directory.mkdir()
        return directory

    async def register(self, user: str, port: int, transport: str = "UDP") -> None:
        """Register a sipp phone for `user` from 127.0.0.1:port (Digest auth) and wait for it."""
        directory = self._dir(f"register-{user}")
        args = [f"127.0.0.1:{self.sb.port}", "-sf", scenario("register_agent.xml", directory)]
        args += ["-s", user, "-au", user, "-ap", PASSWORD, "-m", "1"]
        args += ["-t", TRANSPORTS[transport], "-i", "127.0.0.1", "-p", str(port)]
        result = await finish_sipp(await start_sipp(args, directory), directory)
        ok(result)
        assert self.sb.registrar.lookup(user), "the phone's registration was not kept"

    async def agent(
        self, user: str, name: str, transport: str = "UDP"
    ) -> tuple[asyncio.subprocess.Process, Path]:
        """Register `user`, then run its phone as scenario `name` on the registered port."""
        port = free_port()
        await self.register(user, port, transport)
        directory = self._dir(f"agent-{user}")
        # sipp's UAS must be the phone that registered: same port, same transport.
        args = ["-sf", scenario(name, directory, **self.audio), "-s", user, "-m", "1"]
        args += ["-t", TRANSPORTS[transport], "-i", "127.0.0.1", "-p", str(port)]
        args += ["-mp", str(free_media_port())]
        process = await start_sipp(args, directory)
        if transport == "TCP":
            await wait_for_tcp("127.0.0.1", port)  # an INVITE sent before it listens would fail
        return process, directory

    async def caller(
        self,
        name: str,
        dialled: str,
        transport: str = "UDP",
        customer: str = "C-1001",
        **extra: str,
    ) -> tuple[asyncio.subprocess.Process, Path]:
        """Start a sipp caller dialling `dialled` with X-Customer-Id `customer` from its CSV."""
        directory = self._dir("caller")
        (directory / "callers.csv").write_text(f"SEQUENTIAL\n{customer};\n", encoding="utf-8")
        path = scenario(name, directory, **self.audio, **extra)
        args = [f"127.0.0.1:{self.sb.port}", "-sf", path, "-s", dialled, "-m", "1"]
        args += ["-inf", str(directory / "callers.csv")]
        args += ["-t", TRANSPORTS[transport], "-i", "127.0.0.1", "-p", str(free_port())]
        args += ["-mp", str(free_media_port())]
        return await start_sipp(args, directory), directory


async def passed(phone: tuple[asyncio.subprocess.Process, Path]) -> None:
    """Wait for a sipp phone to finish its scenario and check it succeeded."""
    process, directory = phone
    ok(await finish_sipp(process, directory))


def ok(result: SippResult) -> None:
    """Assert a sipp run passed, showing its error log when it did not."""
    assert result.returncode == 0, result.errors[-3000:] or result.stdout[-2000:]

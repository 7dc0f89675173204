"""Benchmark the agent console: consoles one process holds, and how fast a pop reaches one.

Starts the console app (web foundation, SQLite customer store, routing with N ready agents,
screen pop, console) in a server process, opens N signed-in console websockets from this
process, and while the queue counts go to every console each second, makes calls one at a
time: each is looked up, then offered to an agent whose console must receive the pop.
Prints and writes to its `console_ws` section of docs/benchmarks.md: the server's memory
(RSS) with N consoles, the frames every console received, and the pop latency from the offer
to the frame read by the client (both processes read the same CLOCK_MONOTONIC), over several
rounds (medians).

    .venv/bin/python bench/console_ws.py                      # 10,000 consoles, 3 rounds
    .venv/bin/python bench/console_ws.py --consoles 1000 --rounds 1 --no-docs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCS = ROOT / "docs" / "benchmarks.md"
QUEUES = 20
CUSTOMERS = 200
REGION = "GB"
# The database on tmpfs when there is one: the figures are about sockets, not fsync.
TMPFS = "/dev/shm" if Path("/dev/shm").is_dir() else None
RETRIES = 3


def number(n: int) -> str:
    """Return the n-th bench caller's number (UK drama range, E.164)."""
    return f"+4420794{n % 100_000:05d}"


# ------------------------------------------------------------------------------ monitor


@dataclass
class Stalls:
    """How late this process's event loop ran a 10 ms timer, and its garbage-collector pauses."""

    lags_ms: list[float] = field(default_factory=list)
    gc_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Return the p50/p99/max loop lag and the GC pauses' p99, max and total (ms)."""
        lags, gcs = self.lags_ms or [0.0], self.gc_ms or [0.0]
        return {
            "lag_p50": percentile(lags, 50),
            "lag_p99": percentile(lags, 99),
            "lag_max": max(lags),
            "gc_p99": percentile(gcs, 99),
            "gc_max": max(gcs),
            "gc_total": sum(gcs),
        }


def watch_stalls() -> tuple[Stalls, asyncio.Task[None]]:
    """Start measuring the running loop's lag and the GC's pauses (diagnostics on stderr)."""
    stalls = Stalls()
    began: list[float] = [0.0]

    def on_gc(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            stalls.gc_ms.append((time.perf_counter() - began[0]) * 1000)

    gc.callbacks.append(on_gc)

    async def lag() -> None:
        try:
            while True:
                due = time.perf_counter() + 0.01
                await asyncio.sleep(0.01)
                stalls.lags_ms.append((time.perf_counter() - due) * 1000)
        finally:
            gc.callbacks.remove(on_gc)

    return stalls, asyncio.create_task(lag())


# ------------------------------------------------------------------------------ server


def build_server(database_url: str, consoles: int) -> tuple[web.Application, dict[str, Any]]:
    """Build the console app with `consoles` agents; the dict gets the runtime at startup."""
    import agents
    import agents.console
    import crm_bridge.app
    from agents.passwords import HashParameters
    from agents.ratelimit import Limit, SignInLimits
    from config.database import create_engine, upgrade
    from crm_bridge.config import CrmConfig
    from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, QueueSpec
    from router.intake import IncomingCall
    from router.runtime import RoutingRuntime
    from screenpop import ScreenPop

    app = web.Application()
    engine = create_engine(database_url)
    queue_specs = [
        QueueSpec(f"q{n}", name=f"Queue {n}", offer_timeout_s=3600, wrap_up_s=60)
        for n in range(QUEUES)
    ]
    agent_specs = [
        AgentSpec(f"a{n}", name=f"Agent {n}", queues={f"q{n % QUEUES}": 1}) for n in range(consoles)
    ]
    held: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def database(_: web.Application) -> AsyncIterator[None]:
        await upgrade(engine, agents.MIGRATIONS_DIR, agents.VERSION_TABLE)
        await upgrade(engine, crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE)
        yield
        await engine.dispose()

    @contextlib.asynccontextmanager
    async def routing(_: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        runtime = RoutingRuntime(
            Engine(queue_specs, agent_specs, DEFAULT_TIER_BOOSTS), loop.time, loop.call_at
        )
        for spec in agent_specs:
            runtime.act(lambda now, a=spec.id: runtime.engine.agent_login(a, now))
            runtime.act(lambda now, a=spec.id: runtime.engine.agent_ready(a, now))
        held["runtime"] = runtime
        yield
        runtime.close()

    app.cleanup_ctx.append(database)
    auth = agents.setup(
        app,
        engine,
        agents.WebOptions(
            secret_key=b"bench secret key, 32 bytes long!",
            sign_in_limits=SignInLimits(Limit(10**6, 60.0), Limit(10**6, 60.0)),
            hash_parameters=HashParameters(time_cost=1, memory_cost_kib=8, parallelism=1),
        ),
    )
    crm_bridge.app.setup(app, engine, CrmConfig(default_region=REGION))
    app.cleanup_ctx.append(routing)
    pop = ScreenPop(
        lambda: app[crm_bridge.app.CUSTOMER_DIRECTORY],
        agents.console.identify_in_engine(lambda: held["runtime"]),
        crm_link="https://crm.example/customers/{customer_id}",
    )
    agents.console.setup(
        app,
        routing=lambda: agents.console.ConsoleRouting(
            held["runtime"], lambda: queue_specs, lambda: agent_specs
        ),
        directory=lambda: app[crm_bridge.app.CUSTOMER_DIRECTORY],
        pops=pop,
        reason_codes=lambda: {"break": "Break"},
        dispositions=lambda: [agents.console.DispositionChoice("done", "Done")],
    )

    @agents.public  # a bench-only app on 127.0.0.1: the driver makes its calls here
    async def arrive(request: web.Request) -> web.StreamResponse:
        call_id = request.query["call"]
        queue_id = request.query["queue"]
        ani = number(int(request.query["n"]))
        started = time.monotonic()
        pop.call_arrived(IncomingCall(call_id, ani, "+441130000000"), queue_id)
        await pop.wait(call_id, 10)
        looked_up = time.monotonic()
        runtime = held["runtime"]
        runtime.act(
            lambda now: runtime.engine.call_arrived(Call(call_id, queue_id, now, ani=ani), now)
        )
        return web.json_response(
            {
                "offered_at": looked_up,
                "lookup_ms": (looked_up - started) * 1000,
                "agent": runtime.engine.call_agent(call_id),
            }
        )

    @agents.public  # the server's loop lag and GC pauses since the last call, for stderr
    async def stalls(request: web.Request) -> web.StreamResponse:
        watched: Stalls = held["stalls"]
        answer = watched.summary()
        watched.lags_ms.clear()
        watched.gc_ms.clear()
        return web.json_response(answer)

    app.router.add_get("/bench/arrive", arrive)
    app.router.add_get("/bench/stalls", stalls)
    held["auth"] = auth
    return app, held


async def serve(consoles: int, tokens_path: Path, database_url: str) -> None:
    """Run the server, create the agents' users and sessions, then serve until killed."""
    from agents import Role
    from crm_bridge.app import CUSTOMER_DIRECTORY
    from crm_bridge.budget import BudgetedDirectory
    from crm_bridge.interface import NewCustomer
    from crm_bridge.sql_store import SqlDirectory

    app, held = build_server(database_url, consoles)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    directory = app[CUSTOMER_DIRECTORY]
    assert isinstance(directory, BudgetedDirectory)
    store = directory.inner
    assert isinstance(store, SqlDirectory)
    for n in range(CUSTOMERS):
        cid = await store.create_customer(
            NewCustomer(name=f"Customer {n}", numbers=(number(n),), account_number=f"B{n:05d}")
        )
        if n % 10 == 0:
            await store.add_order(cid, revenue_cents=5_000_000, margin_cents=4_000_000)
    auth = held["auth"]
    tokens = []
    began = time.monotonic()
    for n in range(consoles):
        user = await auth.users.create(f"agent{n}", "bench password", Role.AGENT, agent_id=f"a{n}")
        token, _ = await auth.sessions.create(user)
        tokens.append(token)
    await asyncio.to_thread(tokens_path.write_text, "\n".join(tokens))
    print(
        f"server: {consoles} users and sessions in {time.monotonic() - began:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    held["stalls"], _watching = watch_stalls()
    print(json.dumps({"port": port, "rss_kib": rss_kib(os.getpid())}), flush=True)
    await asyncio.Event().wait()


# ------------------------------------------------------------------------------ driver


def rss_kib(pid: int) -> dict[str, int]:
    """Return a process's resident memory now and at its peak, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def percentile(samples: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@dataclass
class Consoles:
    """The driver's open consoles and what they received."""

    pops: dict[str, float] = field(default_factory=dict)
    pop_seen: dict[str, asyncio.Event] = field(default_factory=dict)
    queue_frames: list[int] = field(default_factory=list)
    connected: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0


async def hold_console(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    index: int,
    consoles: Consoles,
    opened: asyncio.Future[None],
) -> None:
    """Open one console (retrying as the page does) and read its frames until cancelled."""
    for attempt in range(RETRIES + 1):
        try:
            socket = await session.ws_connect(
                url, headers={"Cookie": f"sb_session={token}"}, heartbeat=None, autoping=True
            )
            break
        except (aiohttp.ClientError, OSError):
            if attempt == RETRIES:
                consoles.failed += 1
                if not opened.done():
                    opened.set_result(None)
                return
            consoles.retried += 1
            await asyncio.sleep(0.5 * 2**attempt)  # the page's back-off before reconnecting
    consoles.connected += 1
    if not opened.done():
        opened.set_result(None)
    try:
        async for message in socket:
            data = message.data
            # Only pops are parsed: the driver must not become the bottleneck it measures.
            if data.startswith('{"kind":"queues"'):
                consoles.queue_frames[index] += 1
            elif data.startswith('{"kind":"pop"'):
                received = time.monotonic()
                call_id = json.loads(data)["pop"]["call_id"]
                if call_id not in consoles.pops:
                    consoles.pops[call_id] = received
                    consoles.pop_seen.setdefault(call_id, asyncio.Event()).set()
    except (aiohttp.ClientError, ConnectionError):
        consoles.dropped += 1  # the server closed it: counted, and the figure says so
    finally:
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await socket.close()


@dataclass
class Round:
    """One round's figures."""

    consoles: int
    connect_s: float
    rss_idle_mib: float
    rss_connected_mib: float
    rss_peak_mib: float
    latencies_ms: list[float]
    lookups_ms: list[float]
    min_queue_frames: int
    seconds: float
    retried: int
    failed: int
    lost: int
    dropped: int


async def admin(url: str, statement: str) -> None:
    """Run CREATE/DROP DATABASE on the server of `url` (outside any transaction)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def database(postgres_url: str | None, tmp: str) -> AsyncIterator[str]:
    """Yield a fresh database URL: a SQLite file, or a throwaway PostgreSQL database."""
    if postgres_url is None:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    from sqlalchemy.engine import make_url

    name = make_url(postgres_url).database or ""
    if not name.replace("_", "").isalnum() or name in {"test", "postgres"}:
        raise SystemExit("--postgres-url must name a separate, throwaway database")
    await admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url
    finally:
        await admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_round(count: int, pops: int, rate: float, postgres_url: str | None) -> Round:
    """Start a server, open `count` consoles, make `pops` calls, and measure."""
    with tempfile.TemporaryDirectory(prefix="console-bench-", dir=TMPFS) as tmp:
        async with database(postgres_url, tmp) as url:
            return await measure(count, pops, rate, tmp, url)


async def measure(count: int, pops: int, rate: float, tmp: str, url: str) -> Round:
    """Serve on `url`, open `count` consoles, make `pops` calls one by one, and measure."""
    tokens_path = Path(tmp) / "tokens"
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        str(count),
        tmp,
        url,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(await server.stdout.readline())
        base = f"http://127.0.0.1:{ready['port']}"
        rss_idle = ready["rss_kib"]["VmRSS"]
        tokens = (await asyncio.to_thread(tokens_path.read_text)).split("\n")
        consoles = Consoles(queue_frames=[0] * count)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            started = time.monotonic()
            gate = asyncio.Semaphore(50)

            url = base.replace("http", "ws", 1) + "/agent/console/ws"

            async def open_one(n: int) -> None:
                async with gate:  # at most 50 handshakes at once
                    opened = asyncio.get_running_loop().create_future()
                    holders.append(
                        asyncio.create_task(
                            hold_console(session, url, tokens[n], n, consoles, opened)
                        )
                    )
                    await opened

            holders: list[asyncio.Task[None]] = []
            await asyncio.gather(*(open_one(n) for n in range(count)))
            connect_s = time.monotonic() - started
            print(
                f"driver: {consoles.connected} consoles open in {connect_s:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            rss_connected = rss_kib(server.pid)["VmRSS"]
            async with session.get(f"{base}/bench/stalls") as response:
                await response.read()  # from here on: the pop phase's stalls only
            # The driver's own collector, walking 10,000 client connections, paused its loop
            # for up to 1.4 s and those pauses were counted as pop latency: the instrument,
            # not the server. Off while it measures (the server's is left as it is).
            gc.collect()
            gc.freeze()
            gc.disable()
            mine, watching = watch_stalls()
            frames_before = list(consoles.queue_frames)
            window = time.monotonic()
            latencies: list[float] = []
            lost = 0
            lookups: list[float] = []
            for n in range(pops):
                call_id = f"bench-{n}"
                seen = consoles.pop_seen.setdefault(call_id, asyncio.Event())
                async with session.get(
                    f"{base}/bench/arrive",
                    params={
                        "call": call_id,
                        "queue": f"q{n % QUEUES}",
                        "n": str(n % CUSTOMERS),
                    },
                ) as response:
                    answer = await response.json()
                try:
                    await asyncio.wait_for(seen.wait(), 30)
                except TimeoutError:
                    lost += 1
                else:
                    latencies.append((consoles.pops[call_id] - answer["offered_at"]) * 1000)
                lookups.append(answer["lookup_ms"])
                await asyncio.sleep(1 / rate)  # the pace of calls, not a wait for a result
            seconds = time.monotonic() - window
            async with session.get(f"{base}/bench/stalls") as response:
                theirs = await response.json()
            watching.cancel()
            gc.enable()
            gc.unfreeze()
            for who, figures in (("server", theirs), ("driver", mine.summary())):
                print(
                    f"{who} during the pops: "
                    + ", ".join(f"{k} {v:.1f} ms" for k, v in figures.items()),
                    file=sys.stderr,
                    flush=True,
                )
            received = [a - b for a, b in zip(consoles.queue_frames, frames_before, strict=True)]
            memory = rss_kib(server.pid)
            for task in holders:
                task.cancel()
            await asyncio.gather(*holders, return_exceptions=True)
        return Round(
            consoles=consoles.connected,
            connect_s=connect_s,
            rss_idle_mib=rss_idle / 1024,
            rss_connected_mib=rss_connected / 1024,
            rss_peak_mib=memory["VmHWM"] / 1024,
            latencies_ms=latencies,
            lookups_ms=lookups,
            min_queue_frames=min(received),
            seconds=seconds,
            retried=consoles.retried,
            failed=consoles.failed,
            lost=lost,
            dropped=consoles.dropped,
        )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


def report(rounds: list[Round], pops: int, rate: float, database: str) -> str:
    """Return the docs section: consoles held, and pop latency while they are open."""
    from telephony import eventloop

    med = statistics.median
    first = rounds[0]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine = (
        f"Machine: {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; load average at the end {load}; server "
        f"on {database} and the {eventloop.LOOPS[0]} event loop with the GC tuned, as "
        "`switchboard serve` runs, and the driver holding every console, on the same machine."
    )
    per_console_kib = med(
        [(r.rss_connected_mib - r.rss_idle_mib) * 1024 / r.consoles for r in rounds]
    )
    consoles = "\n".join(
        [
            f"`bench/console_ws.py`: {first.consoles:,} signed-in consoles on one server "
            f"process (websocket, session, outbox), each agent ready in routing; medians of "
            f"{len(rounds)} rounds.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| consoles connected | {first.consoles:,} (goal 10,000) |",
            f"| time to connect them all (50 handshakes at a time) | "
            f"{med([r.connect_s for r in rounds]):.1f} s |",
            f"| handshakes refused and retried, as the page does | "
            f"{med([r.retried for r in rounds]):.0f} |",
            f"| consoles still refused after {RETRIES} retries | "
            f"{med([r.failed for r in rounds]):.0f} |",
            f"| consoles the server closed during the run | "
            f"{med([r.dropped for r in rounds]):.0f} |",
            f"| server RSS before any console | {med([r.rss_idle_mib for r in rounds]):.0f} MiB |",
            f"| server RSS with every console open | "
            f"{med([r.rss_connected_mib for r in rounds]):.0f} MiB (goal < 1024 MiB) |",
            f"| server peak RSS during the run | {med([r.rss_peak_mib for r in rounds]):.0f} MiB |",
            f"| memory per console | {per_console_kib:.0f} KiB |",
            f"| queue-count frames each console got in {med([r.seconds for r in rounds]):.0f} s "
            f"(fewest of any console) | {med([r.min_queue_frames for r in rounds]):.0f} |",
        ]
    )
    p50 = med([percentile(r.latencies_ms, 50) for r in rounds])
    p99 = med([percentile(r.latencies_ms, 99) for r in rounds])
    worst = med([max(r.latencies_ms) for r in rounds])
    lookup50 = med([percentile(r.lookups_ms, 50) for r in rounds])
    lookup99 = med([percentile(r.lookups_ms, 99) for r in rounds])
    latency = "\n".join(
        [
            f"Pop latency: {pops} calls at {rate:g} a second, each offered to a ready "
            f"agent while {first.consoles:,} consoles are open and the queue counts go to "
            "every console each second. Latency from the offer (the lookup already done, as "
            "it runs while the caller queues) to the pop frame read by the agent's websocket "
            f"client (its garbage collector off meanwhile, so its own pauses do not count); "
            f"medians of {len(rounds)} rounds.",
            "",
            "| figure | p50 | p99 | max |",
            "|---|---|---|---|",
            f"| offer to pop on the console | {p50:.1f} ms | {p99:.1f} ms (goal <= 50 ms) | "
            f"{worst:.1f} ms |",
            f"| pops not received within 30 s | {med([r.lost for r in rounds]):.0f} of {pops} "
            "| | |",
            f"| CRM lookup + 360 before it (SQLite, {CUSTOMERS} customers) | {lookup50:.1f} ms "
            f"| {lookup99:.1f} ms | |",
            "",
            machine,
        ]
    )
    return consoles + "\n\n" + latency


def write_section(name: str, text: str) -> None:
    """Replace the text between a section's markers in docs/benchmarks.md."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    doc = DOCS.read_text()
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(f"{head}{start}\n{text}\n{end}{tail}")


async def drive(args: argparse.Namespace) -> int:
    rounds = []
    for n in range(args.rounds):
        result = await run_round(args.consoles, args.pops, args.rate, args.postgres_url)
        print(
            f"round {n + 1}: {result.consoles} consoles, RSS {result.rss_connected_mib:.0f} MiB, "
            f"pop p50 {percentile(result.latencies_ms, 50):.1f} ms "
            f"p99 {percentile(result.latencies_ms, 99):.1f} ms, "
            f"fewest queue frames {result.min_queue_frames} in {result.seconds:.0f} s",
            flush=True,
        )
        rounds.append(result)
    database = "SQLite (tmpfs)" if args.postgres_url is None else "PostgreSQL"
    text = report(rounds, args.pops, args.rate, database)
    print(text)
    if not args.no_docs:
        write_section("console_ws", text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=10_000)
    parser.add_argument("--pops", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="calls a second")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument(
        "--postgres-url",
        help="run the server on this throwaway PostgreSQL database (created, then dropped) "
        "instead of SQLite, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/console_bench",
    )
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        count, directory, url = int(args.serve[0]), Path(args.serve[1]), args.serve[2]
        # The server runs as `switchboard serve` does: uvloop when installed, the GC tuned.
        from telephony import eventloop

        eventloop.run(serve(count, directory / "tokens", url))
        return 0
    return asyncio.run(drive(args))


if __name__ == "__main__":
    sys.exit(main())

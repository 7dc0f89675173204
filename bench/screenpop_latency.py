"""Benchmark the screen pop: INVITE on the wire -> pop frame at the agent's websocket console.

One process runs Switchboard as `switchboard serve` builds it (config.app.create_app): the
B2BUA on UDP with its audio worker, the routing service on a generated config (one queue,
one route, one agent per call), the CRM lookup on a seeded SQLite store, the screen pop, the
agent console, the board, the event log and the metrics. The one change: the cheapest
argon2id parameters, so that 1,000 agents can be created and signed in per run (sign-in is
not on the call path). A second process (this script with --peers) is the agents' side: one
SIP endpoint registers every agent's phone (Digest) and lets offers ring, and every agent
signs in over HTTP and holds a console websocket that stamps each pop frame as it arrives.
sipp places the calls at the rate asked (callers from the store and unknown numbers), lets
them ring two seconds, then CANCELs; its message log gives each INVITE's send time. Latency =
pop frame received minus INVITE sent, both on this machine's wall clock.

Switchboard's process is pinned to one core and the simulated outside world (sipp, the agents'
process) and Switchboard's audio worker to the others (--no-pin to share them all). Sharing,
each datagram Switchboard sends wakes a receiver that the scheduler runs on Switchboard's own
core, ahead of it: a SIP send then took 50-200 us of wall clock for 20-30 us of CPU. Remote
callers and agents, as in a deployment, cost it nothing of the kind.

    .venv/bin/python bench/screenpop_latency.py               # 100 and 500 calls/s
    .venv/bin/python bench/screenpop_latency.py --rates 100 --no-docs
    .venv/bin/python bench/screenpop_latency.py --no-pin --no-docs   # all on every core
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, bench/ comes first on the path, where bench/router.py would shadow the
# router package: put the repository first instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp import web  # noqa: E402

import agents  # noqa: E402
import config.app  # noqa: E402
import crm_bridge.app  # noqa: E402
from agents.passwords import HashParameters  # noqa: E402
from config.app import create_app  # noqa: E402
from config.database import create_engine, upgrade  # noqa: E402
from config.routing import ROUTING, RoutingService  # noqa: E402
from config.settings import Settings  # noqa: E402
from crm_bridge.seed import seed_demo  # noqa: E402
from crm_bridge.tables import phone_numbers  # noqa: E402
from router.intake import IncomingCall  # noqa: E402
from router.runtime import RoutingRuntime  # noqa: E402
from telephony import eventloop  # noqa: E402
from telephony.calls import B2BUA, SIP_ENDPOINT  # noqa: E402
from telephony.sip import (  # noqa: E402
    Headers,
    ServerTransaction,
    SipEndpoint,
    SipHandler,
    make_request,
    new_call_id,
    new_tag,
    parse_address,
)
from telephony.sip.digest import compute_ha1, compute_response  # noqa: E402
from telephony.sip.transport import Peer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
REALM = "bench.switchboard"
PHONE_PASSWORD = "phone-secret"
USER_PASSWORD = "console password"
REGION = "GB"
DNIS = "5000"
# One queue, one route to it; agents are added per run (one per call of the biggest round).
CONFIG = f"""\
version: 1
skills:
  sales: {{name: Sales}}
queues:
  sales:
    name: Sales
    strategy: longest_idle
    skills: {{sales: 1}}
    service_level: {{threshold_s: 20, target_percent: 80}}
    offer_timeout_s: 120
    rona_max_misses: 3
    wrap_up_s: 0
routes:
  sales_line: {{dnis: "{DNIS}", queue: sales}}
reason_codes:
  break: {{name: Break}}
agents:
"""
# The one change to the composition root: the cheapest argon2id the library accepts, so that
# 1,000 agents can be created and signed in per run (sign-in is not on the call path).
CHEAP_HASHING = HashParameters(time_cost=1, memory_cost_kib=8, parallelism=1)
CALLER_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller rings then hangs up">
  <!-- The CANCEL and the ACK of the 487 carry the INVITE's branch (RFC 3261 9.1, 17.1.1.3). -->
  <send retrans="500"><![CDATA[
INVITE sip:__DNIS__@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
From: <sip:[field0]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:__DNIS__@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <recv response="183"/>
  <pause milliseconds="2000"/>
  <!-- Retransmitted until answered, as a phone's CANCEL is (RFC 3261 Timer E): one lost
       datagram under load must not leave the call hanging. -->
  <send retrans="500"><![CDATA[
CANCEL sip:__DNIS__@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
From: <sip:[field0]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:__DNIS__@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" optional="true"/>
  <recv response="487"/>
  <send><![CDATA[
ACK sip:__DNIS__@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
From: <sip:[field0]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
</scenario>
"""


def split_cores(pin: bool) -> tuple[set[int], set[int]] | None:
    """Return (Switchboard's core, everyone else's) to pin to, or None to share every core."""
    cores = sorted(os.sched_getaffinity(0))
    if not pin or len(cores) < 2:
        return None
    return {cores[0]}, set(cores[1:])


def pin_this_process(cores: set[int]) -> None:
    """Pin every thread of this process (Switchboard's) to `cores`."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cores)


def percentile(samples: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# -- Switchboard, built by the composition root ---------------------------------------------------


class SipCallIds:
    """Switchboard's call id -> the caller's SIP Call-ID (what sipp logs), noted on arrival."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.by_call: dict[str, str] = {}

    def __call__(self, call: IncomingCall, queue_id: str) -> None:
        """Routing's arrival hook: note the INVITE's Call-ID."""
        held = self.app[B2BUA].call(call.call_id)
        if held is not None and held.invite_tx is not None:
            self.by_call[call.call_id] = held.invite_tx.request.call_id


class Phones(SipHandler):
    """Every agent's phone on one endpoint: registers them all, lets offers ring."""

    methods = frozenset({"INVITE", "BYE"})

    async def on_request(self, tx: ServerTransaction) -> None:
        """Ring (180) until the caller gives up; the endpoint answers the CANCEL."""
        tx.respond(180 if tx.method == "INVITE" else 200)

    async def register(self, endpoint: SipEndpoint, agent_id: str, server: Peer) -> None:
        """Register one agent's phone, answering the Digest challenge."""
        call_id = new_call_id("127.0.0.1")
        uri = f"sip:{server.host}:{server.port}"
        challenge = ""
        for cseq in (1, 2):
            headers = Headers([("Expires", "3600")])
            if cseq == 2:
                headers.add("Authorization", authorization(agent_id, uri, challenge))
            request = make_request(
                "REGISTER",
                uri,
                from_address=parse_address(f"<sip:{agent_id}@{server.host}>;tag={new_tag()}"),
                to_address=parse_address(f"<sip:{agent_id}@{server.host}>"),
                call_id=call_id,
                cseq=cseq,
                contact=endpoint.contact(agent_id),
                headers=headers,
            )
            response = await endpoint.send_request(request, server).wait_final()
            if response.status == 200:
                return
            challenge = response.headers.get("www-authenticate") or ""
        raise RuntimeError(f"{agent_id} could not register: {response.status}")


def authorization(username: str, uri: str, challenge: str) -> str:
    """Answer a Digest challenge (no qop) for REGISTER."""
    nonce = re.search(r'nonce="([^"]+)"', challenge)
    assert nonce is not None, challenge
    ha1 = compute_ha1(username, REALM, PHONE_PASSWORD)
    response = compute_response(ha1, nonce=nonce.group(1), method="REGISTER", uri=uri)
    return (
        f'Digest username="{username}", realm="{REALM}", nonce="{nonce.group(1)}", '
        f'uri="{uri}", response="{response}", algorithm=MD5'
    )


@contextlib.asynccontextmanager
async def switchboard(
    workdir: Path, agent_ids: list[str]
) -> AsyncIterator[tuple[str, int, RoutingService, SipCallIds]]:
    """Run create_app; yield its web URL, SIP port, routing service and the Call-ID log."""
    config_file = workdir / "switchboard.yaml"
    config_file.write_text(
        CONFIG
        + "".join(
            f'  {a}: {{name: {a}, sip_username: "{a}", skills: {{sales: 5}}, '
            f"queues: {{sales: 5}}}}\n"
            for a in agent_ids
        ),
        encoding="utf-8",
    )
    credentials = workdir / "sip_credentials.yaml"
    credentials.write_text(
        "".join(f'"{a}": {{password: "{PHONE_PASSWORD}"}}\n' for a in agent_ids),
        encoding="utf-8",
    )
    settings = Settings(
        config_file=config_file,
        data_dir=workdir,
        sip_port=0,
        sip_credentials_file=credentials,
        sip_realm=REALM,
        rtp_port_first=20000,
        rtp_port_last=29999,
        secret_key=secrets.token_hex(32),
        crm_region=REGION,
    )
    web_options = config.app.web_options
    config.app.web_options = lambda s: dataclasses.replace(  # type: ignore[assignment]
        web_options(s), hash_parameters=CHEAP_HASHING
    )
    try:
        app = create_app(settings)
    finally:
        config.app.web_options = web_options
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    routing = app[ROUTING]
    sip_call_ids = SipCallIds(app)
    routing.on_arrival(sip_call_ids)
    users = app[agents.AUTH].users
    for agent_id in agent_ids:
        await users.create(agent_id, USER_PASSWORD, agents.Role.AGENT, agent_id=agent_id)
    try:
        yield f"http://{host}:{port}", app[SIP_ENDPOINT].port, routing, sip_call_ids
    finally:
        await runner.cleanup()


async def seeded_callers(path: Path, customers: int) -> list[str]:
    """Seed the store (reused between runs) and return caller numbers: known and unknown."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine, crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE)
        await upgrade(engine, agents.MIGRATIONS_DIR, agents.VERSION_TABLE)
        await seed_demo(engine, customers, 7, datetime(2026, 6, 1, tzinfo=UTC), region=REGION)
        async with engine.connect() as conn:
            known = (await conn.execute(sa.select(phone_numbers.c.e164).limit(5000))).scalars()
            numbers = list(known)
    finally:
        await engine.dispose()
    rng = random.Random(3)
    # One caller in four is unknown to the store: the lookup's miss path is timed too.
    unknown = [f"+4477009{rng.randrange(10**5):05d}" for _ in range(len(numbers) // 3)]
    mixed = numbers + unknown
    rng.shuffle(mixed)
    return mixed


async def until_quiet(tick: float = 0.01, ticks: int = 10, limit: float = 30.0) -> None:
    """Return once the event loop has run `ticks` timers in a row less than 1 ms late."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    on_time = 0
    while on_time < ticks and loop.time() < deadline:
        due = loop.time() + tick
        await asyncio.sleep(tick)
        on_time = on_time + 1 if loop.time() - due < 0.001 else 0


def read_message_log(message_log: Path) -> tuple[dict[str, float], set[str]]:
    """Read sipp's message log: each Call-ID's first INVITE send time, and the calls given 487."""
    sent: dict[str, float] = {}
    cancelled: set[str] = set()
    stamp = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.MULTILINE)
    text = message_log.read_text(errors="replace")
    marks = list(stamp.finditer(text))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        block = text[mark.end() : following.start() if following else len(text)]
        if "message received" in block and "\nSIP/2.0 487 " in block:
            call_id = re.search(r"^Call-ID: *(\S+)", block, re.MULTILINE)
            if call_id:
                cancelled.add(call_id.group(1))
            continue
        if "message sent" not in block or "\nINVITE sip:" not in block:
            continue
        call_id = re.search(r"^Call-ID: *(\S+)", block, re.MULTILINE)
        if call_id and call_id.group(1) not in sent:
            when = datetime.strptime(mark.group(1), "%Y-%m-%d %H:%M:%S.%f")
            sent[call_id.group(1)] = when.timestamp()
    return sent, cancelled


async def run_round(
    workdir: Path,
    sip_port: int,
    rate: int,
    calls: int,
    callers: list[str],
    consoles: asyncio.subprocess.Process,
    routing: RoutingService,
    agent_ids: list[str],
    sip_call_ids: SipCallIds,
    outside: set[int] | None,
) -> tuple[list[float], int]:
    """Make every agent Ready, place `calls` calls at `rate`/s.

    Return the latencies in ms and how many calls ended as the scenario asks (CANCEL, 487).
    """
    runtime: RoutingRuntime = routing.runtime
    engine = runtime.engine
    for agent_id in agent_ids:
        runtime.act(lambda now, a=agent_id: engine.agent_ready(a, now))
    # A thousand agents going Ready in one millisecond is the bench's doing, not a floor's:
    # let Switchboard write out the state and board frames that caused before calls come.
    await until_quiet()
    scenario = workdir / "caller.xml"
    scenario.write_text(CALLER_XML.replace("__DNIS__", DNIS))
    csv = workdir / "callers.csv"
    csv.write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in callers[:calls]))
    log = workdir / "messages.log"
    log.unlink(missing_ok=True)
    sipp = await asyncio.create_subprocess_exec(
        "sipp",
        f"127.0.0.1:{sip_port}",
        "-sf", str(scenario),
        "-inf", str(csv),
        "-r", str(rate),
        "-m", str(calls),
        "-i", "127.0.0.1",
        "-p", "0",
        "-nostdin",
        "-timeout", "120s",
        "-trace_msg", "-message_file", str(log),
        cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if outside is not None:
        os.sched_setaffinity(sipp.pid, outside)
    try:
        # Two seconds of ringing after the last INVITE; an overloaded Switchboard gets 60 more.
        await asyncio.wait_for(sipp.wait(), calls / rate + 62)
    except TimeoutError:
        sipp.send_signal(signal.SIGUSR1)  # sipp's clean stop: the log is kept
        try:
            await asyncio.wait_for(sipp.wait(), 10)
        except TimeoutError:
            sipp.kill()  # calls it still waits for: they count as not cancelled
            await sipp.wait()
    assert consoles.stdin is not None and consoles.stdout is not None
    consoles.stdin.write(b"report\n")
    await consoles.stdin.drain()
    pops: dict[str, float] = json.loads(await consoles.stdout.readline())
    sent, cancelled = read_message_log(log)
    latencies = []
    for call_id, popped in pops.items():
        sip_call_id = sip_call_ids.by_call.get(call_id)
        if sip_call_id in sent:
            latencies.append((popped - sent[sip_call_id]) * 1000)
    for agent_id in agent_ids:
        with contextlib.suppress(ValueError):
            runtime.act(lambda now, a=agent_id: engine.agent_not_ready(a, "break", now))
    return latencies, len(cancelled & sent.keys())


async def bench(
    rates: list[int],
    seconds: float,
    customers: int,
    rounds: int,
    cores: tuple[set[int], set[int]] | None,
) -> dict[int, dict[str, float]]:
    """Run `rounds` rounds per rate against one running Switchboard; medians over the rounds."""
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="screenpop-bench-") as tmp:
        workdir = Path(tmp)
        callers = await seeded_callers(workdir / "switchboard.db", customers)
        # One agent per call of the biggest round: nobody waits in the queue for an agent.
        calls = {rate: int(rate * seconds) for rate in rates}
        agent_ids = [f"a{n:04d}" for n in range(max(calls.values()))]
        async with switchboard(workdir, agent_ids) as (url, sip_port, routing, sip_call_ids):
            runtime: RoutingRuntime = routing.runtime
            engine = runtime.engine
            for agent_id in agent_ids:
                runtime.act(lambda now, a=agent_id: engine.agent_login(a, now))
            # The agents' phones and consoles live in a second process: their SIP and
            # websocket work is not Switchboard's, so it must not share its event loop.
            consoles = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--peers", url, str(sip_port), *agent_ids,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert consoles.stdout is not None
            outside = None
            if cores is not None:
                ours, outside = cores
                pin_this_process(ours)
                worker = sip_call_ids.app[B2BUA].relay.audio_worker
                for pid in (consoles.pid, worker.pid if worker is not None else None):
                    if pid is not None:
                        os.sched_setaffinity(pid, outside)
            ready = await asyncio.wait_for(consoles.stdout.readline(), 600)
            assert ready.strip() == b"connected", ready
            try:
                for rate in rates:
                    per_round = []
                    for _ in range(rounds):
                        latencies, cancelled = await run_round(
                            workdir, sip_port, rate, calls[rate], callers, consoles,
                            routing, agent_ids[: calls[rate]], sip_call_ids, outside,
                        )  # fmt: skip
                        per_round.append(
                            {
                                "calls": calls[rate],
                                "pops": len(latencies),
                                "cancelled": cancelled,
                                "p50": statistics.median(latencies or [float("nan")]),
                                "p99": percentile(latencies or [float("nan")], 99),
                                "max": max(latencies, default=float("nan")),
                            }
                        )
                        print(rate, per_round[-1], flush=True)
                    results[rate] = {
                        "calls": sum(r["calls"] for r in per_round),
                        "pops": sum(r["pops"] for r in per_round),
                        "cancelled": sum(r["cancelled"] for r in per_round),
                        "p50": statistics.median(r["p50"] for r in per_round),
                        "p99": statistics.median(r["p99"] for r in per_round),
                        "max": max(r["max"] for r in per_round),
                    }
            finally:
                consoles.terminate()
                await consoles.wait()
    return results


# -- the agents' process: phones and consoles ------------------------------------------------------


async def console(
    url: str, agent_id: str, pops: dict[str, float], connected: asyncio.Future[None]
) -> None:
    """Sign one agent in, open the console websocket, stamp every pop frame's arrival."""
    # unsafe: keep cookies from an IP-address host (127.0.0.1), as a browser does.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": url}) as http:
        page = await (await http.get(f"{url}/signin")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        form = {"csrf_token": token.group(1), "username": agent_id, "password": USER_PASSWORD}
        async with http.post(f"{url}/signin", data=form, allow_redirects=False) as signed:
            assert signed.status == 303, signed.status
        async with http.ws_connect(f"{url}/agent/console/ws", origin=url) as socket:
            connected.set_result(None)
            async for message in socket:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if frame.get("kind") == "pop":
                    pops.setdefault(frame["pop"]["call_id"], time.time())


async def peers(url: str, sip_port: int, agent_ids: list[str]) -> None:
    """Register every agent's phone, hold every console; answer each `report` line with the pops.

    The phones' endpoint outlives the consoles, so every agent leg Switchboard ends is
    answered to the end.
    """
    loop = asyncio.get_running_loop()
    phones = Phones()
    async with SipEndpoint(phones, port=0, tcp=False) as endpoint:
        server = Peer("UDP", "127.0.0.1", sip_port)
        for start in range(0, len(agent_ids), 100):
            batch = agent_ids[start : start + 100]
            await asyncio.gather(*(phones.register(endpoint, a, server) for a in batch))
        pops: dict[str, float] = {}
        tasks: list[asyncio.Future[None]] = []
        for start in range(0, len(agent_ids), 50):
            # Sign-ins in batches of 50: this batch's sockets are open before the next starts.
            for agent_id in agent_ids[start : start + 50]:
                connected = loop.create_future()
                task = asyncio.ensure_future(console(url, agent_id, pops, connected))
                tasks.append(task)
                await asyncio.wait({connected, task}, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    task.result()
        print("connected", flush=True)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while await reader.readline():
            print(json.dumps(pops), flush=True)
            pops.clear()


# -- docs ---------------------------------------------------------------------------------------


def section(
    results: dict[int, dict[str, float]],
    seconds: float,
    customers: int,
    rounds: int,
    cores: tuple[set[int], set[int]] | None,
) -> str:
    """Return the benchmarks.md section."""
    lines = [
        "Command: `.venv/bin/python bench/screenpop_latency.py`",
        "",
        "INVITE sent by sipp (its message log) -> pop frame received at the agent's console "
        "websocket (a second process holding every agent's phone and console), wall clock. "
        "Switchboard is the app `switchboard serve` runs (create_app: board, event log and "
        "metrics included), with cheap password hashing for the agents' sign-ins. "
        "In between: SIP parsing and the B2BUA, routing, the CRM lookup (SQLite, "
        f"{customers} seeded customers, a quarter of callers unknown), the screen pop and the "
        f"console fan-out. {rounds} rounds of {seconds:.0f} s per rate, each call ringing 2 s "
        "(with ringback as early media) before its caller hangs up; one Ready agent per call, "
        "so no caller waits for an agent (queueing time would not be pop latency); a round "
        "starts once Switchboard's event loop is quiet after its agents all went Ready at once. "
        "p50 and p99 "
        "are medians over the rounds, max the largest; calls, pops and cancelled are totals.",
        "",
        "pops < calls: that many calls had no pop frame matched to their INVITE by the end of "
        "the round (overload: sipp's retransmissions and timeouts, lookups over budget). "
        "cancelled: calls whose CANCEL got its 487, i.e. that ended as callers hanging up "
        "(fewer means Switchboard lost track of some, and their agents stayed reserved).",
        "",
        "| calls/s | calls | pops | cancelled | p50 | p99 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for rate, r in results.items():
        lines.append(
            f"| {rate} | {r['calls']:.0f} | {r['pops']:.0f} | {r['cancelled']:.0f} | "
            f"{r['p50']:.1f} ms | "
            f"{r['p99']:.1f} ms | {r['max']:.1f} ms |"
        )
    met = all(
        r["pops"] == r["cancelled"] == r["calls"] and r["p50"] <= 20 and r["p99"] <= 100
        for r in results.values()
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines += [
        "",
        "Goal: p50 <= 20 ms and p99 <= 100 ms: " + ("met." if met else "NOT met."),
        "",
        f"Machine: {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}. Load average at the end {load}.",
        "",
        (
            "Switchboard's process on core "
            + ", ".join(map(str, sorted(cores[0])))
            + "; sipp, the agents' process and Switchboard's audio worker on core "
            + ", ".join(map(str, sorted(cores[1])))
            + " (pinned; --no-pin shares them: see the script's docstring)."
            if cores is not None
            else "Not pinned: sipp, the agents' process and Switchboard share every core."
        ),
    ]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md."""
    start, end = "<!-- bench:screenpop_latency:start -->", "<!-- bench:screenpop_latency:end -->"
    doc = DOCS.read_text()
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(f"{head}{start}\n{text}\n{end}{tail}")


def main() -> int:
    """Run the benchmark (or, with --peers, the agents' phones and consoles side of it)."""
    if len(sys.argv) > 3 and sys.argv[1] == "--peers":
        eventloop.run(peers(sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each round")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per rate (medians)")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    parser.add_argument(
        "--no-pin", action="store_true", help="share every core (no pinning, see above)"
    )
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        print("sipp is needed (make test installs it)", file=sys.stderr)
        return 2
    # The loop and GC settings `switchboard serve` runs with.
    cores = split_cores(not args.no_pin)
    results = eventloop.run(bench(args.rates, args.seconds, args.customers, args.rounds, cores))
    text = section(results, args.seconds, args.customers, args.rounds, cores)
    print(text)
    if not args.no_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

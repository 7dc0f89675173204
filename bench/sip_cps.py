"""Find the highest SIP call rate Switchboard holds with no failed call (sipp on loopback).

Two modes, each against one Switchboard process (the real B2BUA of `telephony.calls` with the
router engine, composed here as `tests/telephony/calls/harness.py` does, since the composition
root does not wire telephony yet):

* redirect: sipp callers dial a redirect-mode route and must get a 302 naming an agent;
* bridged: sipp callers are queued, bridged to agents' phones (one sipp UAS answering for all
  registered agents, no media) and hang up at once; the BYE goes through to the agent.

Before the calls, every agent's phone registers with Digest over SIP (from the port the agent
UAS then listens on) and the agents are made ready. The search doubles the rate from
--start-rate while short probes (--probe seconds) pass, bisects between the last pass and the
first failure, then confirms with --repeat runs of --duration seconds (>= 60 s for the
reported figure); a failed confirmation steps the rate down 20% and starts again (a failing
start rate is halved until a probe passes). A run passes when every call succeeded on the
caller's side and no agent phone saw a failure. Each run uses a fresh Switchboard process.
Prints each run and, unless --no-docs, rewrites the "SIP calls per second" section of
docs/benchmarks.md.

    .venv/bin/python -m bench.sip_cps                      # both modes, 60 s confirmation
    .venv/bin/python -m bench.sip_cps --mode redirect --duration 10 --no-docs   # quick look

SIP_CPS_TRACE=1 makes every sipp log every message (to debug a failing scenario);
SIP_CPS_PROFILE=/tmp/prof writes a cProfile of each Switchboard run to /tmp/prof-MODE-PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import functools
import gc
import json
import logging
import os
import platform
import re
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

SELF = Path(__file__).resolve()
ROOT = SELF.parents[1]
sys.path.insert(0, str(ROOT))

from telephony import eventloop  # noqa: E402 - after the path fix above
from telephony.eventloop import LOOPS  # noqa: E402

SCENARIOS = ROOT / "bench" / "sipp"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:sip_cps:start -->", "<!-- bench:sip_cps:end -->"
PASSWORD = "bench-phone"
DIALLED = {"redirect": "6000", "bridged": "5000"}
GOALS = {"redirect": 1000, "bridged": 500}
START_RATES = {"redirect": 400, "bridged": 50}  # calls/s; what this machine held in probes
MODES = ("redirect", "bridged")
STARTUP_WAIT = 30.0  # seconds a fresh Switchboard or the registrations may take
MIN_RATE = 5  # calls/s; the search gives up below this
CONFIRM_STEP = 0.2  # a failed confirmation tries again this much lower
SIPP = "/usr/bin/sipp"


# -- the Switchboard side (runs in its own process: `--serve MODE`) ---------------------------


async def serve(mode: str, agents: int) -> None:
    """Run one Switchboard SIP side with `agents` agents; report on stdout, stop on SIGTERM."""
    from aiohttp import web

    from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, QueueSpec
    from router.intake import Admission, Enqueued, IncomingCall, Refused
    from router.runtime import RoutingRuntime
    from telephony.calls import B2BUA, SIP_ENDPOINT, setup
    from telephony.sip import Registrar, StaticCredentials

    class BenchIntake:
        """Admit every call to the bench queue (the route's redirect mode per --serve MODE)."""

        def __init__(self, runtime: RoutingRuntime) -> None:
            self.runtime = runtime

        def admit(self, call: IncomingCall) -> Admission:
            if call.dnis != DIALLED[mode]:
                return Refused(404, "no route for the dialled number")
            routed = Call(call.call_id, "bench", self.runtime.now(), ani=call.ani, dnis=call.dnis)
            self.runtime.act(lambda now: self.runtime.engine.call_arrived(routed, now))
            return Enqueued("bench", redirect=mode == "redirect")

        def agent_sip_username(self, agent_id: str) -> str | None:
            return agent_id

    loop = asyncio.get_running_loop()
    names = [f"agent{i}" for i in range(agents)]
    queue = QueueSpec("bench", wrap_up_s=0.0, offer_timeout_s=30.0)
    specs = [AgentSpec(name, queues={"bench": 1}) for name in names]
    engine = Engine([queue], specs, DEFAULT_TIER_BOOSTS, seed=0)
    runtime = RoutingRuntime(engine, loop.time, loop.call_at)
    registrar = Registrar(
        StaticCredentials(dict.fromkeys(names, PASSWORD)), realm="bench.switchboard"
    )
    app = web.Application()
    # As `switchboard serve` wires it: ringback played by the audio worker process, whose CPU
    # is counted with Switchboard's below.
    setup(
        app,
        intake=BenchIntake(runtime),
        runtime=runtime,
        registrar=registrar,
        port=0,
        audio_worker=True,
    )
    runner = web.AppRunner(app)
    await runner.setup()
    signals: asyncio.Queue[int] = asyncio.Queue()
    for signum in (signal.SIGUSR1, signal.SIGTERM):
        loop.add_signal_handler(signum, signals.put_nowait, signum)
    report({"ready": app[SIP_ENDPOINT].port})
    worker = app[B2BUA].relay.audio_worker
    worker_pid = worker.pid if worker is not None else None
    cpu_at_start, sys_at_start = cpu_seconds(worker_pid), system_seconds(worker_pid)
    lag = LoopLag(loop)
    pauses = GcPauses()
    try:
        while await signals.get() != signal.SIGTERM:
            # SIGUSR1: the phones have registered; log the agents in and make them ready.
            missing = [name for name in names if not registrar.lookup(name)]
            for name in names:
                runtime.act(functools.partial(engine.agent_login, name))
                runtime.act(functools.partial(engine.agent_ready, name))
            cpu_at_start, sys_at_start = cpu_seconds(worker_pid), system_seconds(worker_pid)
            lag.stop()
            lag = LoopLag(loop)
            pauses.reset()
            report({"agents_ready": len(names) - len(missing)})
        server_txs, client_txs = app[SIP_ENDPOINT].transaction_counts
        report(
            {
                "cpu_s": cpu_seconds(worker_pid) - cpu_at_start,
                "system_cpu_s": system_seconds(worker_pid) - sys_at_start,
                "calls_in_progress": app[B2BUA].calls,
                "server_transactions": server_txs,
                "client_transactions": client_txs,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **lag.figures(),
                **pauses.figures(),
            }
        )
    finally:
        pauses.stop()
        lag.stop()
        await runner.cleanup()
        runtime.close()


class LoopLag:
    """Sample how late the event loop runs a timer due every 50 ms (its responsiveness)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, every: float = 0.05) -> None:
        self.samples: list[float] = []
        self._loop = loop
        self._every = every
        self._handle = loop.call_later(every, self._tick, loop.time() + every)

    def _tick(self, due: float) -> None:
        now = self._loop.time()
        self.samples.append(now - due)
        self._handle = self._loop.call_at(now + self._every, self._tick, now + self._every)

    def figures(self) -> dict[str, float]:
        """Return the median, p99 and largest lateness in ms."""
        ordered = sorted(self.samples) or [0.0]
        return {
            "lag_ms_p50": 1000 * statistics.median(ordered),
            "lag_ms_p99": 1000 * percentile(ordered, 0.99),
            "lag_ms_max": 1000 * ordered[-1],
        }

    def stop(self) -> None:
        """Stop sampling."""
        self._handle.cancel()


class GcPauses:
    """Time the collector's passes (gc.callbacks): how many, and the longest, per generation."""

    def __init__(self) -> None:
        self._started = 0.0
        self.counts = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self.total = 0.0
        self.slow: list[tuple[float, int, float, int]] = []
        self._origin = time.perf_counter()
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.counts[generation] += 1
        self.longest[generation] = max(self.longest[generation], took)
        self.total += took
        if took > 0.1:
            at = self._started - self._origin
            self.slow.append((round(at, 1), generation, round(1000 * took), info["collected"]))

    def reset(self) -> None:
        """Forget the passes so far (the set-up's)."""
        self.counts, self.longest, self.total = [0, 0, 0], [0.0, 0.0, 0.0], 0.0
        self.slow, self._origin = [], time.perf_counter()

    def figures(self) -> dict[str, Any]:
        """Return passes per generation, the longest of each in ms, and their total in ms."""
        return {
            "gc_passes": self.counts,
            "gc_ms_max": [round(1000 * t, 1) for t in self.longest],
            "gc_ms_total": round(1000 * self.total, 1),
            "gc_slow": self.slow,
        }

    def stop(self) -> None:
        """Stop timing."""
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)


def system_seconds(worker_pid: int | None = None) -> float:
    """Return this process's CPU time in the kernel (system calls: sockets, mostly), and its
    audio worker's."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime + process_cpu(worker_pid)[1]


def cpu_seconds(worker_pid: int | None = None) -> float:
    """Return this process's user + system CPU time, and its audio worker's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + process_cpu(worker_pid)[0]


def process_cpu(pid: int | None) -> tuple[float, float]:
    """Return another process's (user + system, system) CPU seconds; zeros without one."""
    if pid is None:
        return 0.0, 0.0
    try:
        # After the command name (which may hold spaces): state, ..., utime (14th), stime.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]) / tick, int(fields[12]) / tick
    return user + system, system


def report(fields: dict[str, Any]) -> None:
    """Write one JSON line for the driver."""
    print(json.dumps(fields), flush=True)


# -- the driver ----------------------------------------------------------------------------


@dataclass
class Run:
    """One sipp run at one rate against a fresh Switchboard."""

    mode: str
    rate: int
    duration: int
    passed: bool
    calls: int
    successful: int
    failed: int
    agent_failed: int
    retransmissions: int
    udp_drops: int
    setup_ms_p50: float | None
    setup_ms_p99: float | None
    server_cpu_share: float
    server_cpu_ms_per_call: float
    server_kernel_share: float
    sipp_cpu_share: float
    lag_ms_p99: float
    lag_ms_max: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    wall_s: float
    why: str
    # Datagrams dropped by each kind of socket (full receive buffer), and the GC's passes.
    socket_drops: dict[str, int] = field(default_factory=dict)
    gc: str = ""

    def line(self) -> str:
        """Describe the run in one line."""
        verdict = "pass" if self.passed else f"FAIL ({self.why})"
        setup = f"setup p50 {ms(self.setup_ms_p50)} p99 {ms(self.setup_ms_p99)}"
        return (
            f"{self.mode:8} {self.rate:5d}/s x {self.duration:3d} s: {verdict}; "
            f"{self.successful}/{self.calls} ok, {self.failed} failed, "
            f"{self.agent_failed} agent-side failures, {self.retransmissions} retransmissions, "
            f"{self.udp_drops} UDP datagrams dropped; "
            f"{setup}; Switchboard CPU {self.server_cpu_share:.0%} of a core "
            f"({self.server_cpu_ms_per_call:.2f} ms/call, {self.server_kernel_share:.0%} in "
            "the kernel), "
            f"sipp {self.sipp_cpu_share:.0%}; loop lag p99 {self.lag_ms_p99:.0f} ms, "
            f"max {self.lag_ms_max:.0f} ms; load {self.load_before[0]:.1f} -> "
            f"{self.load_after[0]:.1f}"
            + (f"; drops by socket {self.socket_drops}" if self.socket_drops else "")
            + (f"; GC {self.gc}" if self.gc else "")
        )


def ms(value: float | None) -> str:
    """Format a sipp time (whole milliseconds) for the table."""
    if value is None:
        return "-"
    return "< 1 ms" if value < 1 else f"{value:.0f} ms"


def free_port() -> int:
    """Return a loopback port free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port pair on loopback")


def output(path: Path) -> BinaryIO:
    """Open a file for a child process's output (the child keeps its own descriptor)."""
    return open(path, "wb")


class SocketDrops:
    """Follow /proc/net/udp while a run lasts: datagrams each socket dropped (its buffer full).

    The machine-wide count mixes SIP with the RTP nobody reads; per socket says whose buffer
    overflowed. Sampled every second, as sockets of finished calls disappear with their count.
    """

    def __init__(self) -> None:
        self._most: dict[tuple[int, str], int] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling."""
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(1.0)

    def sample(self) -> None:
        """Read every UDP socket's drop count once."""
        with open("/proc/net/udp", encoding="ascii") as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                port, inode, drops = int(fields[1].rsplit(":", 1)[1], 16), fields[9], fields[-1]
                key = (port, inode)
                self._most[key] = max(self._most.get(key, 0), int(drops))

    async def stop(self) -> None:
        """Take a last sample and stop."""
        self.sample()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def by_port(self, names: dict[int, str], other: str = "other") -> dict[str, int]:
        """Return the drops summed by the name of each socket's port (`other` if unnamed)."""
        out: dict[str, int] = {}
        for (port, _), drops in self._most.items():
            name = names.get(port, other)
            out[name] = out.get(name, 0) + drops
        return {name: drops for name, drops in out.items() if drops}


def udp_receive_drops() -> int:
    """Return the machine's count of UDP datagrams dropped for a full receive buffer."""
    with open("/proc/net/snmp", encoding="ascii") as handle:
        header, values = [line.split() for line in handle if line.startswith("Udp:")][:2]
    return int(values[header.index("RcvbufErrors")])


def children_cpu() -> float:
    """Return the CPU time of waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def read_report(server: asyncio.subprocess.Process, key: str) -> dict[str, Any]:
    """Wait for the server's report line that has `key`."""
    assert server.stdout is not None
    async with asyncio.timeout(STARTUP_WAIT):
        while True:
            line = await server.stdout.readline()
            if not line:
                raise RuntimeError(f"Switchboard exited before reporting {key}")
            fields: dict[str, Any] = json.loads(line)
            if key in fields:
                return fields


async def sipp(args: list[str], workdir: Path, name: str) -> asyncio.subprocess.Process:
    """Start sipp unattended in workdir, its output in NAME.out."""
    with output(workdir / f"{name}.out") as out:
        return await asyncio.create_subprocess_exec(
            SIPP, *args, "-nostdin", cwd=workdir, stdout=out, stderr=asyncio.subprocess.STDOUT
        )


class _Phone(asyncio.DatagramProtocol):
    """A UDP socket on the agents' port that hands each received datagram to a queue."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait(data)


async def register_agents(port: int, agent_port: int, agents: int) -> None:
    """Register every agent's phone with Digest over SIP from the port the agent UAS will use.

    sipp cannot take a different Digest user per call from its CSV (the keyword is fixed when
    the scenario loads), so the bench registers the phones itself: set-up, not measured.
    """
    from telephony.sip.digest import compute_ha1, compute_response
    from telephony.sip.message import Response, parse_message

    loop = asyncio.get_running_loop()
    transport, phone = await loop.create_datagram_endpoint(
        _Phone, local_addr=("127.0.0.1", agent_port)
    )
    registrar = f"sip:127.0.0.1:{port}"

    async def exchange(user: str, cseq: int, authorization: str | None) -> Response:
        lines = [
            f"REGISTER {registrar} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{agent_port};branch=z9hG4bK{user}-{cseq};rport",
            f"From: <sip:{user}@127.0.0.1>;tag={user}",
            f"To: <sip:{user}@127.0.0.1>",
            f"Call-ID: register-{user}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{user}@127.0.0.1:{agent_port}>",
            "Expires: 3600",
            "Max-Forwards: 70",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        wire = "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"
        transport.sendto(wire.encode(), ("127.0.0.1", port))
        async with asyncio.timeout(5):
            while True:
                response = parse_message(await phone.received.get())
                if isinstance(response, Response) and response.cseq().number == cseq:
                    return response

    try:
        for i in range(agents):
            user = f"agent{i}"
            challenge = await exchange(user, 1, None)
            value = challenge.headers.get("www-authenticate") or ""
            found = dict(re.findall(r'(\w+)="?([^",]*)"?', value))
            response = compute_response(
                compute_ha1(user, found["realm"], PASSWORD),
                nonce=found["nonce"],
                method="REGISTER",
                uri=registrar,
                qop="auth",
                nc="00000001",
                cnonce="bench",
            )
            authorization = (
                f'Digest username="{user}", realm="{found["realm"]}", nonce="{found["nonce"]}", '
                f'uri="{registrar}", response="{response}", algorithm=MD5, qop=auth, '
                'nc=00000001, cnonce="bench"'
            )
            final = await exchange(user, 2, authorization)
            if final.status != 200:
                raise RuntimeError(f"{user} could not register: {final.status} {final.reason}")
    finally:
        transport.close()


def last_stats(path: Path) -> dict[str, str]:
    """Return the last row of a sipp -trace_stat CSV."""
    with open(path, newline="", encoding="latin-1") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    if len(rows) < 2:
        raise RuntimeError(f"{path.name} has no statistics")
    return dict(zip(rows[0], rows[-1], strict=False))


def setup_times(workdir: Path) -> list[float]:
    """Return every call's setup time in ms (INVITE to the 302 or 200) from sipp's rtt file."""
    times: list[float] = []
    for path in workdir.glob("*_rtt.csv"):
        with open(path, newline="", encoding="latin-1") as handle:
            for row in csv.reader(handle, delimiter=";"):
                with contextlib.suppress(ValueError, IndexError):
                    times.append(float(row[1]))
    return times


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, int(fraction * len(values)))]


async def run_once(
    mode: str, rate: int, duration: int, agents: int, log_level: str, loop: str = "asyncio"
) -> Run:
    """Start a Switchboard, register the agents, drive `rate` calls/s for `duration` s."""
    workdir = Path(tempfile.mkdtemp(prefix=f"sip_cps-{mode}-{rate}-"))
    load_before = os.getloadavg()
    agent_port = free_port()
    caller_port = free_port()
    caller_media_port = free_port()
    drops_by_socket = SocketDrops()
    with output(workdir / "switchboard.log") as log_file:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SELF),
            "--serve",
            mode,
            "--agents",
            str(agents),
            "--log-level",
            log_level,
            "--loop",
            loop,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    uas: asyncio.subprocess.Process | None = None
    try:
        port = (await read_report(server, "ready"))["ready"]
        target = f"127.0.0.1:{port}"
        # sipp's sockets get the same large receive buffer as Switchboard's.
        local = ["-i", "127.0.0.1", "-t", "u1", "-buff_size", str(4 * 1024 * 1024)]
        await register_agents(port, agent_port, agents)
        server.send_signal(signal.SIGUSR1)
        ready = (await read_report(server, "agents_ready"))["agents_ready"]
        if ready != agents:
            raise RuntimeError(f"only {ready} of {agents} agents registered")
        if mode == "bridged":
            uas = await sipp(
                [
                    *("-sf", str(SCENARIOS / "agent_uas.xml"), "-p", str(agent_port), *local),
                    *("-trace_stat", "-stf", "agent.csv", "-fd", "1", "-recv_timeout", "10000"),
                    "-trace_err",
                    *(["-trace_msg"] if os.environ.get("SIP_CPS_TRACE") else []),
                ],
                workdir,
                "agent",
            )
        cpu_before = children_cpu()
        drops_before = udp_receive_drops()
        drops_by_socket.start()
        started = time.monotonic()
        caller = await sipp(
            [
                *(target, "-sf", str(SCENARIOS / f"{mode}_caller.xml"), "-s", DIALLED[mode]),
                *("-r", str(rate), "-m", str(rate * duration), "-p", str(caller_port), *local),
                *("-mp", str(caller_media_port), "-trace_err"),
                *("-trace_stat", "-stf", "caller.csv", "-fd", "1", "-trace_rtt", "-rtt_freq", "1"),
                *(["-trace_msg"] if os.environ.get("SIP_CPS_TRACE") else []),
                *("-recv_timeout", "10000", "-timeout", f"{duration + 60}s", "-timeout_error"),
            ],
            workdir,
            "caller",
        )
        caller_rc = await caller.wait()
        wall = time.monotonic() - started
        drops = udp_receive_drops() - drops_before
        await drops_by_socket.stop()
        agent_failed = 0
        if uas is not None:
            uas.send_signal(signal.SIGUSR1)  # sipp's clean stop: it writes its final statistics
            await asyncio.wait_for(uas.wait(), STARTUP_WAIT)
            agent_failed = int(last_stats(workdir / "agent.csv")["FailedCall(C)"])
        server.send_signal(signal.SIGTERM)
        final = await read_report(server, "cpu_s")
        with contextlib.suppress(TimeoutError):
            # Its figures are in; a slow shutdown (calls still ending) is cut short below.
            await asyncio.wait_for(server.wait(), STARTUP_WAIT)
    finally:
        await drops_by_socket.stop()
        for process in (uas, server):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
    sipp_cpu = children_cpu() - cpu_before - final["cpu_s"]
    stats = last_stats(workdir / "caller.csv")
    calls = rate * duration
    successful = int(stats["SuccessfulCall(C)"])
    failed = int(stats["FailedCall(C)"])
    times = sorted(setup_times(workdir))
    why = []
    if caller_rc != 0 or failed or successful != calls:
        unfinished = calls - successful - failed
        why.append(f"{failed} failed, {unfinished} unfinished (sipp exit {caller_rc})")
    if agent_failed:
        why.append(f"{agent_failed} agent-side failures")
    return Run(
        mode=mode,
        rate=rate,
        duration=duration,
        passed=not why,
        calls=calls,
        successful=successful,
        failed=failed,
        agent_failed=agent_failed,
        retransmissions=int(stats["Retransmissions(C)"]),
        udp_drops=drops,
        setup_ms_p50=statistics.median(times) if times else None,
        setup_ms_p99=percentile(times, 0.99) if times else None,
        server_cpu_share=final["cpu_s"] / wall,
        server_cpu_ms_per_call=1000 * final["cpu_s"] / calls,
        server_kernel_share=final["system_cpu_s"] / final["cpu_s"] if final["cpu_s"] else 0.0,
        sipp_cpu_share=sipp_cpu / wall,
        lag_ms_p99=final["lag_ms_p99"],
        lag_ms_max=final["lag_ms_max"],
        load_before=load_before,
        load_after=os.getloadavg(),
        wall_s=wall,
        why="; ".join(why),
        socket_drops=drops_by_socket.by_port(
            {
                port: "Switchboard SIP",
                agent_port: "agents' SIP",
                caller_port: "callers' SIP",
                caller_media_port: "callers' RTP",
            },
            other="other (relay, sipp's other media ports)",
        ),
        gc=(
            f"passes {final['gc_passes']}, longest {final['gc_ms_max']} ms, "
            f"total {final['gc_ms_total']} ms; passes over 100 ms (s into the run, generation, "
            f"ms, collected): {final['gc_slow']}"
        ),
    )


async def search(mode: str, args: argparse.Namespace, runs: list[Run]) -> list[Run]:
    """Return the --repeat confirmation runs at the highest rate all of them passed, or []."""

    async def attempt(rate: int, duration: int) -> Run:
        run = await run_once(mode, rate, duration, args.agents, args.log_level, args.loop)
        runs.append(run)
        print(run.line(), flush=True)
        return run

    passed, failed = 0, 0
    max_rate = args.max_rate[mode]
    rate = min(args.start_rate or START_RATES[mode], max_rate)
    while True:
        if (await attempt(rate, args.probe)).passed:
            passed = rate
            if rate >= max_rate or failed:
                break
            rate = min(rate * 2, max_rate)
        else:
            failed = rate
            if passed or rate <= MIN_RATE:
                break
            rate = max(MIN_RATE, rate // 2)  # the start rate failed: halve until one passes
    while failed and passed and failed - passed > max(10, passed // 10):
        rate = (passed + failed) // 2
        if (await attempt(rate, args.probe)).passed:
            passed = rate
        else:
            failed = rate
    if not passed:
        return []
    rate = passed
    for _ in range(args.confirm_tries):
        held: list[Run] = []
        for _ in range(args.repeat):
            run = await attempt(rate, args.duration)
            if not run.passed:
                break
            held.append(run)
        else:
            return held
        rate = int(rate * (1 - CONFIRM_STEP))
        if rate < MIN_RATE:
            break
    return []


def machine() -> str:
    """Describe this machine."""
    cpus = os.cpu_count() or 0
    return (
        f"{cpus} cores (shared with other work), Python {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, sipp {sipp_version()}, all on loopback"
    )


def sipp_version() -> str:
    """Return sipp's version number."""
    import subprocess

    out = subprocess.run([SIPP, "-v"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"v(\d+\.\d+(?:\.\d+)?)", out)
    return found.group(1) if found else "?"


def section(results: dict[str, list[Run]], runs: list[Run], args: argparse.Namespace) -> str:
    """Render the docs section."""
    command = "`.venv/bin/python -m bench.sip_cps"
    max_rate = ",".join(f"{mode}={rate}" for mode, rate in args.max_rate.items())
    if args.duration != 60 or args.max_rate != dict.fromkeys(MODES, 4000) or args.mode != "both":
        command += f" --mode {args.mode} --duration {args.duration} --max-rate {max_rate}"
    command += "`"
    lines = [
        f"Command: {command}",
        "",
        "One Switchboard process and its audio worker, as `serve` runs them (the B2BUA of "
        "`telephony.calls` with the router engine, "
        f"{args.agents} agents whose phones registered with Digest over SIP, wrap-up 0 s, "
        f"logging at {args.log_level}, {args.loop} event loop); sipp callers and one sipp UAS "
        "for all agents' phones "
        "(no media) on loopback, UDP. The rate is the highest with zero failed calls over a "
        f"{args.duration} s run (the search probes {args.probe} s runs, doubling then "
        f"bisecting, up to {max_rate.replace(',', ', ')} calls/s), held by each of "
        f"{args.repeat} runs in a row; the figures are medians over those runs. Setup time is "
        "INVITE to the 302 (redirect) or the 200 (bridged) as the caller sees it (p50 and p99 "
        "over a run's calls); CPU is a share of one core over the run (user + kernel), and "
        "per call the Switchboard process's CPU time over the calls placed; loop lag is how "
        "late Switchboard's event loop ran a 50 ms timer (p99).",
        "",
        "| mode | calls/s, 0 failed | runs x calls | setup p50 | setup p99 | retrans. | "
        "Switchboard CPU | CPU per call | sipp CPU | loop lag p99 | load avg (1 min) | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for mode, held in results.items():
        goal = GOALS[mode]
        if not held:
            lines.append(f"| {mode} | none held | | | | | | | | | | >= {goal}: NOT met |")
            continue
        rate = held[0].rate
        verdict = "met" if rate >= goal else "NOT met"

        def median(field: str, runs: list[Run] = held) -> float:
            values = [getattr(run, field) for run in runs if getattr(run, field) is not None]
            return statistics.median(values) if values else float("nan")

        loads = [run.load_before[0] for run in held] + [run.load_after[0] for run in held]
        lines.append(
            f"| {mode} | {rate:,} | {len(held)} x {held[0].calls:,} | "
            f"{ms(median('setup_ms_p50'))} | {ms(median('setup_ms_p99'))} | "
            f"{median('retransmissions'):,.0f} | {median('server_cpu_share'):.0%} | "
            f"{median('server_cpu_ms_per_call'):.2f} ms | "
            f"{median('sipp_cpu_share'):.0%} | {median('lag_ms_p99'):.0f} ms | "
            f"{min(loads):.1f}-{max(loads):.1f} | >= {goal}: {verdict} |"
        )
    lines += ["", *reading(results)]
    lines += ["", "Every run, in order (probes, then the confirmations):", ""]
    lines += [f"- {run.line()}" for run in runs]
    lines += ["", f"Machine: {machine()}."]
    return "\n".join(lines)


def reading(results: dict[str, list[Run]]) -> list[str]:
    """Say what limited each mode's rate, from the confirmation runs' own figures."""
    out = []
    for mode, held in results.items():
        if not held:
            out.append(f"- {mode}: no rate held with zero failures.")
            continue
        per_call = statistics.median(run.server_cpu_ms_per_call for run in held)
        share = statistics.median(run.server_cpu_share for run in held)
        kernel = statistics.median(run.server_kernel_share for run in held)
        loads = [run.load_before[0] for run in held]
        out.append(
            f"- {mode}: Switchboard spent {per_call:.2f} ms of CPU per call "
            f"({kernel:.0%} of it in the kernel, on sockets) and got {share:.0%} of a core at "
            f"{held[0].rate} calls/s while the machine's load average was about "
            f"{statistics.median(loads):.1f} on {os.cpu_count()} cores. At that cost one core "
            f"of its own would allow roughly {1000 / per_call:,.0f} calls/s: an estimate from "
            "the CPU time, not a measured rate."
        )
    return out


def write_doc(text: str) -> None:
    """Replace the section between the markers in docs/benchmarks.md."""
    doc = DOC.read_text(encoding="utf-8")
    start, end = doc.index(START) + len(START), doc.index(END)
    DOC.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


async def drive(args: argparse.Namespace) -> int:
    """Search each mode's rate, print the figures and (unless --no-docs) write them."""
    modes = MODES if args.mode == "both" else (args.mode,)
    runs: list[Run] = []
    results: dict[str, list[Run]] = {}
    for mode in modes:
        results[mode] = await search(mode, args, runs)
        held = results[mode]
        print(
            f"{mode}: "
            + (
                f"{held[0].rate} calls/s held {len(held)} x {held[0].duration} s"
                if held
                else "no rate held"
            ),
            flush=True,
        )
    text = section(results, runs, args)
    print(text)
    if not args.no_docs:
        write_doc(text)
    return 0


def max_rates(text: str) -> dict[str, int]:
    """Parse --max-rate: one rate for every mode, or `mode=rate` pairs (the rest stay 4000)."""
    if "=" not in text:
        return dict.fromkeys(MODES, int(text))
    rates = dict.fromkeys(MODES, 4000)
    for pair in text.split(","):
        mode, _, rate = pair.partition("=")
        if mode.strip() not in rates:
            raise argparse.ArgumentTypeError(f"unknown mode {mode.strip()!r}")
        rates[mode.strip()] = int(rate)
    return rates


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the search (or, with --serve, one Switchboard)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument("--duration", type=int, default=60, help="confirmation run, seconds")
    parser.add_argument("--probe", type=int, default=10, help="search probe runs, seconds")
    parser.add_argument(
        "--max-rate",
        type=max_rates,
        default=dict.fromkeys(MODES, 4000),
        help="calls/s the search stops at (sipp tops ~4000): N, or per mode redirect=N,bridged=M",
    )
    parser.add_argument("--start-rate", type=int, help="default: 400 redirect, 50 bridged")
    parser.add_argument("--confirm-tries", type=int, default=6, help="rates tried, 20%% apart")
    parser.add_argument("--repeat", type=int, default=3, help="confirmation runs per rate")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--log-level", default="INFO", help="Switchboard's (serve's default)")
    parser.add_argument(
        "--loop", choices=LOOPS, default=LOOPS[0], help="Switchboard's event loop (as `serve`'s)"
    )
    parser.add_argument("--no-docs", action="store_true", help="print only")
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        logging.basicConfig(
            level=args.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        profile_to = os.environ.get("SIP_CPS_PROFILE")
        if profile_to:
            # Profile Switchboard's side of each run into SIP_CPS_PROFILE-<mode>-<pid>. In wall
            # time (a CPU-time timer costs a syscall per call, too slow under load): on a busy
            # machine the syscalls that give up the core (sendto) look slower than they are.
            import cProfile

            profile = cProfile.Profile()
            profile.runcall(eventloop.run, serve(args.serve, args.agents), loop=args.loop)
            profile.dump_stats(f"{profile_to}-{args.serve}-{os.getpid()}")
        else:
            eventloop.run(serve(args.serve, args.agents), loop=args.loop)
        return 0
    return asyncio.run(drive(args))


if __name__ == "__main__":
    sys.exit(main())

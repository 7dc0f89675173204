"""Telephony fixtures: fast SIP timers, a started SipEndpoint, raw UDP/TCP peers and sipp."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from telephony.sip.timers import TimerConfig
from tests.support import require_tool

SCENARIOS = Path(__file__).parent / "scenarios"
WAIT = 10.0  # upper bound for anything a test waits on; never reached when the code works
SIPP_WAIT = 40.0  # sipp itself gives up after -timeout 20s


@pytest.fixture
def fast_timers() -> TimerConfig:
    """SIP timers scaled down ~25x, so retransmissions and timeouts happen within a second."""
    return TimerConfig(t1=0.02, t2=0.08, t4=0.1, d=0.2)


class UdpPeer(asyncio.DatagramProtocol):
    """A raw UDP socket on loopback that records every datagram it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait(data)

    @property
    def port(self) -> int:
        """Return the local port."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def send(self, data: bytes, port: int) -> None:
        """Send one datagram to 127.0.0.1:port."""
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", port))

    async def recv(self) -> bytes:
        """Wait for the next datagram."""
        return await asyncio.wait_for(self.received.get(), WAIT)


@pytest.fixture
async def udp_peer() -> AsyncIterator[UdpPeer]:
    """A raw UDP peer bound to an ephemeral loopback port."""
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=("127.0.0.1", 0))
    yield peer
    transport.close()


@dataclass
class SippResult:
    """How a sipp run ended."""

    returncode: int
    stdout: str
    stderr: str
    errors: str


async def run_sipp(args: list[str], workdir: Path) -> SippResult:
    """Run sipp unattended in workdir and return its exit status and error log."""
    return await finish_sipp(await start_sipp(args, workdir), workdir)


async def start_sipp(args: list[str], workdir: Path) -> asyncio.subprocess.Process:
    """Start sipp unattended in workdir (a UAS waiting for calls, say)."""
    sipp = require_tool("sipp")
    return await asyncio.create_subprocess_exec(
        sipp,
        *args,
        "-nostdin",
        "-timeout",
        "20s",
        "-timeout_error",
        "-trace_err",
        "-error_file",
        str(workdir / "sipp_errors.log"),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish_sipp(process: asyncio.subprocess.Process, workdir: Path) -> SippResult:
    """Wait for a started sipp to end and collect its exit status and error log."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), SIPP_WAIT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    errors_file = workdir / "sipp_errors.log"
    errors = errors_file.read_text(errors="replace") if errors_file.exists() else ""
    assert process.returncode is not None
    return SippResult(process.returncode, out.decode(errors="replace"), err.decode(), errors)


async def wait_for_tcp(host: str, port: int) -> None:
    """Wait until something accepts TCP connections on host:port (an external peer starting)."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                # The peer process is still starting; there is no event to wait on but this.
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return

"""The demo's agents' phones: pyVoIP softphones that register with Switchboard and auto-answer.

Each agent of the routing config gets a `SoftphoneAgent` on its own SIP port and RTP port
range. A phone answers after a short ring (so the console shows the offer ringing), speaks a
tone, and lets the caller end the call. Finished calls are counted and their audio dropped,
so a demo running for hours holds no audio in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from telephony.pyvoip import PyVoipError, SipAccount, SoftphoneAgent, pcm_from_tone
from telephony.rtp.tone import Tone

log = logging.getLogger(__name__)

# What an agent says: a 660 Hz tone, so each recording channel is told apart by ear.
AGENT_TONE = Tone((660.0,), amplitude=3000)
# RTP ports each phone may use (pyVoIP takes two per call).
RTP_PORTS_PER_PHONE = 20


@dataclass(frozen=True, slots=True)
class PhoneLogin:
    """An agent's phone account: who it is in the routing config and how it registers."""

    agent_id: str
    sip_username: str
    password: str = field(repr=False)


@dataclass
class FleetStats:
    """How the phones are doing."""

    registered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    calls_taken: int = 0


def free_udp_port(host: str) -> int:
    """Return a UDP port free on `host` right now (pyVoIP needs a fixed port to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PhoneFleet:
    """Start, run and stop one softphone per agent."""

    def __init__(
        self,
        logins: Sequence[PhoneLogin],
        *,
        server_host: str,
        server_port: int,
        local_host: str = "127.0.0.1",
        answer_after_s: float = 1.5,
        rtp_first_port: int = 30000,
        register_timeout: int = 5,
    ) -> None:
        self.stats = FleetStats()
        self._phones: dict[str, SoftphoneAgent] = {}
        self._consumers: list[asyncio.Task[None]] = []
        self._taken = asyncio.Condition()
        speech = pcm_from_tone(AGENT_TONE, 2.0)
        for index, login in enumerate(logins):
            low = rtp_first_port + index * RTP_PORTS_PER_PHONE
            account = SipAccount(
                server=server_host,
                port=server_port,
                username=login.sip_username,
                password=login.password,
                local_host=local_host,
                sip_port=free_udp_port(local_host),
                rtp_ports=(low, low + RTP_PORTS_PER_PHONE - 1),
                register_timeout=register_timeout,
            )
            # Phones ring a little longer one after another, as people pick up at their pace.
            ring = answer_after_s * (1 + 0.25 * (index % 4))
            self._phones[login.agent_id] = SoftphoneAgent(account, answer_after=ring, play=speech)

    async def start(self) -> FleetStats:
        """Register every phone at once; a phone the registrar refuses is logged and left out."""
        ids = list(self._phones)
        results = await asyncio.gather(
            *(self._phones[agent_id].start() for agent_id in ids), return_exceptions=True
        )
        for agent_id, result in zip(ids, results, strict=True):
            if isinstance(result, PyVoipError):
                log.warning("demo phone of %s did not register: %s", agent_id, result)
                self.stats.failed.append(agent_id)
                del self._phones[agent_id]
            elif isinstance(result, BaseException):
                raise result
            else:
                self.stats.registered.append(agent_id)
                self._consumers.append(asyncio.ensure_future(self._count(agent_id)))
        return self.stats

    async def stop(self) -> None:
        """Hang up and deregister every phone."""
        await asyncio.gather(*(phone.stop() for phone in self._phones.values()))
        for consumer in self._consumers:
            consumer.cancel()
        for consumer in self._consumers:
            with contextlib.suppress(asyncio.CancelledError):
                await consumer

    async def wait_calls_taken(self, count: int) -> None:
        """Wait until the phones have finished `count` calls in all."""
        async with self._taken:
            await self._taken.wait_for(lambda: self.stats.calls_taken >= count)

    async def _count(self, agent_id: str) -> None:
        calls = self._phones[agent_id].calls
        while True:
            await calls.get()
            async with self._taken:
                self.stats.calls_taken += 1
                self._taken.notify_all()

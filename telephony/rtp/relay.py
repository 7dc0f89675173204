"""An asyncio RTP relay: each session joins a caller leg and an agent leg, one UDP port each.

A packet that reaches one leg is sent, unchanged, out of the other leg to that party's
address. Unchanged means RFC 4733 telephone-events (DTMF) pass through as they are. Each
leg learns its party's address from SDP (`expect`) and then latches onto the first packet's
source port from that host (symmetric RTP, for parties behind NAT); packets from anywhere
else are dropped. Both directions can be teed to a recorder.

RTCP is not relayed (no port+1 is bound): the relay is for audio; quality reports between
the parties are not needed for routing calls, and the relay's own counters stand in for them.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, cast

from telephony.rtp.packet import RTP_VERSION
from telephony.rtp.ports import PortAllocator, PortsExhaustedError

if TYPE_CHECKING:
    from telephony.rtp.worker import AudioWorker

__all__ = ["LegStats", "RelayLeg", "RelaySession", "RtpRelay", "Side", "Tee"]

log = logging.getLogger(__name__)


class Side(StrEnum):
    """Which party a leg faces; its value is what the tee receives."""

    CALLER = "caller"
    AGENT = "agent"


# Called with the side a packet came FROM and the whole RTP packet; must not block.
Tee = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class LegStats:
    """Counters of one leg."""

    packets_received: int
    bytes_received: int
    packets_sent: int
    bytes_sent: int
    dropped: int


class RelayLeg(asyncio.DatagramProtocol):
    """One UDP port of a session, facing one party."""

    def __init__(self, session: RelaySession, side: Side, port_owned: bool) -> None:
        self.side = side
        self.local_port = 0
        self._session = session
        self._port_owned = port_owned
        self._transport: asyncio.DatagramTransport | None = None
        self._expected_host: str | None = None
        self._remote: tuple[str, int] | None = None
        self._latched = False
        self.peer: RelayLeg | None = None
        # Told of each new address this leg sends to (an audio worker sending for it follows).
        self.on_remote: Callable[[tuple[str, int]], None] | None = None
        self.packets_received = 0
        self.bytes_received = 0
        self.packets_sent = 0
        self.bytes_sent = 0
        self.dropped = 0
        self.closed = asyncio.get_running_loop().create_future()

    @property
    def remote(self) -> tuple[str, int] | None:
        """Return where this leg sends: the latched source, else the address from SDP."""
        return self._remote

    @property
    def latched(self) -> bool:
        """Tell whether the leg has latched onto the party's actual source address."""
        return self._latched

    def expect(self, host: str, port: int) -> None:
        """Send to host:port (from the party's SDP) and latch onto its first packet's source.

        `host` must be an IP address, as packets are matched on their source address.
        Calling it again (a re-INVITE moved the media) starts latching afresh.
        """
        self._expected_host = host
        self._remote = (host, port)
        self._latched = False
        if self.on_remote is not None:
            self.on_remote(self._remote)

    def send(self, packet: bytes) -> None:
        """Send a packet (hold audio, say) to this leg's party, if its address is known."""
        transport, remote = self._transport, self._remote
        if transport is None or remote is None:
            self.dropped += 1
            return
        transport.sendto(packet, remote)
        self.packets_sent += 1
        self.bytes_sent += len(packet)

    def socket_fd(self) -> int | None:
        """Return the descriptor of the leg's UDP socket (None unless it is open)."""
        transport = self._transport
        if transport is None:
            return None
        sock = transport.get_extra_info("socket")
        return None if sock is None else int(sock.fileno())

    def stats(self) -> LegStats:
        """Return this leg's counters."""
        return LegStats(
            self.packets_received,
            self.bytes_received,
            self.packets_sent,
            self.bytes_sent,
            self.dropped,
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        # The hot path: no allocation beyond the tuple compare, one sendto.
        if addr != self._remote or not self._latched:
            if self._latched or addr[0] != self._expected_host:
                self.dropped += 1
                return
            self._remote = (addr[0], int(addr[1]))
            self._latched = True
            if self.on_remote is not None:
                self.on_remote(self._remote)
        if len(data) < 12 or data[0] >> 6 != RTP_VERSION:
            self.dropped += 1
            return
        self.packets_received += 1
        self.bytes_received += len(data)
        tee = self._session.tee
        if tee is not None:
            try:
                tee(self.side, data)
            except Exception:
                # A failing recorder must not stop the call's audio: detach it, once.
                self._session.tee = None
                log.exception("RTP tee failed; recording of this session stops")
        if self._session.forwarding:
            peer = self.peer
            if peer is not None:
                peer.send(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a party that hung up: count, never stop the relay.
        self.dropped += 1
        log.debug("RTP leg %s got a socket error: %s", self.side, type(exc).__name__)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._port_owned:
            self._session.relay.ports_release(self.local_port)
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        """Close the leg's socket; its port returns to the pool once closed."""
        if self._transport is not None:
            self._transport.close()
        elif not self.closed.done():
            self.closed.set_result(None)


class RelaySession:
    """Two legs relaying to each other; use `RtpRelay.open_session` to make one."""

    def __init__(self, relay: RtpRelay, tee: Tee | None) -> None:
        self.relay = relay
        self.tee = tee
        # False while the caller is queued: the caller leg then carries hold audio only.
        self.forwarding = True
        self.caller = RelayLeg(self, Side.CALLER, relay.owns_ports)
        self.agent = RelayLeg(self, Side.AGENT, relay.owns_ports)
        self.caller.peer = self.agent
        self.agent.peer = self.caller

    def leg(self, side: Side | str) -> RelayLeg:
        """Return the leg facing a side."""
        return self.caller if side == Side.CALLER else self.agent

    def close(self) -> None:
        """Close both legs (idempotent); await `wait_closed` to know the ports are free."""
        self.relay.forget(self)
        # The legs point at each other: unlink them so they go with their last reference, not
        # with a later pass of the cyclic GC.
        self.caller.peer = self.agent.peer = None
        self.caller.close()
        self.agent.close()

    async def wait_closed(self) -> None:
        """Wait until both legs' sockets are closed and their ports released."""
        await asyncio.gather(self.caller.closed, self.agent.closed)


class RtpRelay:
    """Open relay sessions on a host, with ports from a range (or ephemeral ones)."""

    def __init__(
        self,
        host: str,
        ports: PortAllocator | None = None,
        *,
        audio_worker: AudioWorker | None = None,
    ) -> None:
        self.host = host
        self._family, self._bind_host = _bind_address(host)
        self._ports = ports
        # Where ringback and hold audio into this relay's legs are played (None: in-process).
        self.audio_worker = audio_worker
        self._sessions: set[RelaySession] = set()

    @property
    def owns_ports(self) -> bool:
        """Tell whether ports come from a configured range (else the OS picks them)."""
        return self._ports is not None

    @property
    def sessions(self) -> int:
        """Return how many sessions are open."""
        return len(self._sessions)

    async def open_session(self, tee: Tee | None = None) -> RelaySession:
        """Bind two ports and return a session relaying between them."""
        session = RelaySession(self, tee)
        try:
            await self._bind(session.caller)
            await self._bind(session.agent)
        except BaseException:
            session.close()
            raise
        self._sessions.add(session)
        return session

    def forget(self, session: RelaySession) -> None:
        """Drop a closing session from the open set."""
        self._sessions.discard(session)

    def ports_release(self, port: int) -> None:
        """Return a port to the range."""
        if self._ports is not None:
            self._ports.release(port)

    async def close(self) -> None:
        """Close every open session and wait for their sockets."""
        sessions = list(self._sessions)
        for session in sessions:
            session.close()
        await asyncio.gather(*(s.wait_closed() for s in sessions))

    async def _bind(self, leg: RelayLeg) -> None:
        loop = asyncio.get_running_loop()
        if self._ports is None:
            sock = self._bound_socket(0)
            leg.local_port = sock.getsockname()[1]
            await _attach(loop, leg, sock)
            return
        # Another process may hold a port of our range: skip it and try the next one.
        for _ in range(self._ports.size):
            port = self._ports.acquire()
            try:
                sock = self._bound_socket(port)
            except OSError as exc:
                self._ports.release(port)
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            try:
                await _attach(loop, leg, sock)
            except BaseException:
                self._ports.release(port)
                raise
            leg.local_port = port
            return
        raise PortsExhaustedError("no free RTP port in the configured range")

    def _bound_socket(self, port: int) -> socket.socket:
        """Bind a UDP socket here: half the CPU of `local_addr=`, which resolves the address.

        Two legs per call at hundreds of calls a second: create_datagram_endpoint(local_addr=)
        cost ~49 us of CPU a leg on uvloop (it runs getaddrinfo), binding first ~28 us.
        """
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self._bind_host, port))
        except BaseException:
            sock.close()
            raise
        return sock


async def _attach(loop: asyncio.AbstractEventLoop, leg: RelayLeg, sock: socket.socket) -> None:
    """Serve a bound socket as `leg`; the socket is closed if that fails."""
    try:
        await loop.create_datagram_endpoint(lambda: leg, sock=sock)
    except BaseException:
        sock.close()
        raise


def _bind_address(host: str) -> tuple[socket.AddressFamily, str]:
    """Return the family and address to bind for `host` (a name is resolved once, here)."""
    try:
        version = ipaddress.ip_address(host).version
    except ValueError:
        family, _, _, _, address = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0]
        return family, str(address[0])
    return (socket.AF_INET6 if version == 6 else socket.AF_INET), host

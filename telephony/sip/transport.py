"""asyncio UDP and TCP listeners on one address and port, and sending to a peer.

Received bytes are parsed here and handed up as messages (or parse errors) with the `Peer`
they came from; the layer above decides what to answer. A bad datagram or a broken TCP
stream never stops the listener.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from telephony.sip.counting import MessageCounter, received_summary, safely, sent_summary
from telephony.sip.errors import SipParseError
from telephony.sip.framing import StreamFramer
from telephony.sip.message import Request, Response, parse_message
from telephony.sip.via import Via

log = logging.getLogger(__name__)

DEFAULT_PORT = 5060
CLOSE_GRACE = 2.0  # seconds a closing TCP connection gets to flush before it is aborted
# The kernel's default (~200 KB, ~350 datagrams) overflows when the process is briefly
# descheduled at a few thousand messages/s, and a dropped INVITE or ACK costs a retransmission
# timer (0.5 s and up) or a failed call. Linux caps the request at net.core.rmem_max.
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from or goes to: transport ("UDP"/"TCP"), host and port."""

    transport: str
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        """Tell whether the transport retransmits by itself (TCP)."""
        return self.transport != "UDP"

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


MessageSink = Callable[[Request | Response, Peer], None]
ErrorSink = Callable[[SipParseError, Peer], None]
UnreachableSink = Callable[[Peer], None]
# Given a datagram and its sender, handle it if it repeats a request already answered and
# return that request's method; None means "parse it".
RetransmissionSink = Callable[[bytes, Peer], str | None]


def response_destination(via: Via, source: Peer) -> Peer:
    """Where a response to a request with this top Via goes (RFC 3261 §18.2.2, RFC 3581 §4)."""
    if source.reliable:
        return source
    host = via.received or via.host
    port = via.rport or via.port or DEFAULT_PORT
    return Peer(source.transport, host, port)


def stamp_via(via: Via, source: Peer) -> bool:
    """Add received/rport to a request's top Via as a server must; return whether it changed."""
    changed = False
    if via.wants_rport and via.params.get("rport") is None:
        via.params["rport"] = str(source.port)
        via.params["received"] = source.host
        changed = True
    elif via.host != source.host and via.received != source.host:
        via.params["received"] = source.host
        changed = True
    return changed


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = Peer("UDP", str(addr[0]), int(addr[1]))
        self._owner.bytes_received(data, peer, framed=False)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the peer is gone; timers will notice.
        log.debug("UDP error: %s", exc)


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: SipTransport, peer: Peer | None = None) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.peer is None:
            host, port = transport.get_extra_info("peername")[:2]
            self.peer = Peer("TCP", str(host), int(port))
        self._owner.connection_opened(self)

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        try:
            messages = self._framer.feed(data)
        except SipParseError as exc:
            log.warning("closing TCP connection from %s: %s", self.peer, exc.reason)
            self.transport.close()
            return
        for raw in messages:
            self._owner.bytes_received(raw, self.peer, framed=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.connection_closed(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class SipTransport:
    """UDP and TCP listeners on one host and port; parses what arrives, sends what it is given."""

    def __init__(
        self,
        host: str,
        port: int,
        on_message: MessageSink,
        on_error: ErrorSink,
        *,
        on_unreachable: UnreachableSink | None = None,
        on_retransmission: RetransmissionSink | None = None,
        udp: bool = True,
        tcp: bool = True,
        count: MessageCounter | None = None,
    ) -> None:
        self.host = host
        self._count = count
        self.port = port
        self._on_message = on_message
        self._on_error = on_error
        self._on_unreachable = on_unreachable
        self._on_retransmission = on_retransmission
        self._want_udp = udp
        self._want_tcp = tcp
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Task[_TcpConnection]] = {}
        self._resolving: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind the listeners; with port 0, UDP and TCP share one free port."""
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            port = self.port
            try:
                if self._want_udp:
                    self._udp, _ = await loop.create_datagram_endpoint(
                        lambda: _UdpProtocol(self), local_addr=(self.host, port)
                    )
                    port = self._udp.get_extra_info("sockname")[1]
                    _enlarge_receive_buffer(self._udp.get_extra_info("socket"))
                if self._want_tcp:
                    self._server = await loop.create_server(
                        lambda: _TcpConnection(self), self.host, port, reuse_address=True
                    )
                    port = self._server.sockets[0].getsockname()[1]
            except OSError as exc:
                await self.stop()
                # Port 0 gave a UDP port whose TCP twin is taken: try another free port.
                if self.port == 0 and exc.errno == errno.EADDRINUSE and attempt < 19:
                    continue
                raise
            self.port = port
            log.info("SIP listening on %s port %d (%s)", self.host, port, self._kinds())
            return

    def _kinds(self) -> str:
        return "+".join(k for k, on in (("UDP", self._want_udp), ("TCP", self._want_tcp)) if on)

    async def stop(self) -> None:
        """Close the listeners and every TCP connection."""
        for task in [*self._connecting.values(), *self._resolving]:
            task.cancel()
        self._connecting.clear()
        self._resolving.clear()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
        connections = list(self._connections.values())
        for connection in connections:
            if connection.transport is not None:
                connection.transport.close()
        for connection in connections:
            try:
                await asyncio.wait_for(asyncio.shield(connection.closed), CLOSE_GRACE)
            except TimeoutError:
                # The peer stopped reading, so the buffered bytes would never drain.
                if connection.transport is not None:
                    connection.transport.abort()
                await connection.closed
        if server is not None:
            # After the connections: from Python 3.12 this waits for them too.
            await server.wait_closed()
        self._connections.clear()

    def bytes_received(self, data: bytes, peer: Peer, *, framed: bool) -> None:
        """Parse and hand up one datagram or framed stream message."""
        if not framed and self._on_retransmission is not None:
            # A retransmitted UDP request is byte for byte the first one: skip the parser.
            method = self._on_retransmission(data, peer)
            if method is not None:
                if self._count is not None:
                    safely(self._count, "in", (method, None))
                return
        try:
            message = parse_message(data, framed=framed)
        except SipParseError as exc:
            self._on_error(exc, peer)
            return
        if self._count is not None:
            safely(self._count, "in", received_summary(message))
        self._on_message(message, peer)

    def connection_opened(self, connection: _TcpConnection) -> None:
        """Remember a TCP connection so that responses and requests to its peer reuse it."""
        assert connection.peer is not None
        self._connections[(connection.peer.host, connection.peer.port)] = connection

    def connection_closed(self, connection: _TcpConnection) -> None:
        """Forget a closed TCP connection."""
        if connection.peer is not None:
            key = (connection.peer.host, connection.peer.port)
            if self._connections.get(key) is connection:
                del self._connections[key]

    def send(self, data: bytes, peer: Peer) -> None:
        """Send bytes to a peer: UDP from the listening socket, TCP over a (new) connection."""
        if self._count is not None:
            safely(self._count, "out", sent_summary(data))
        if peer.transport == "UDP":
            if self._udp is None:
                raise ConnectionError("UDP transport is not running")
            if _is_ip(peer.host):
                self._udp.sendto(data, (peer.host, peer.port))
            else:
                # sendto with a name would resolve it synchronously and block the loop.
                resolving = asyncio.get_running_loop().create_task(
                    self._resolve_and_send(data, peer)
                )
                self._resolving.add(resolving)
                resolving.add_done_callback(self._resolving.discard)
            return
        if peer.transport != "TCP":
            raise ConnectionError(f"unsupported transport {peer.transport}")
        connection = self._connections.get((peer.host, peer.port))
        if connection is not None and connection.transport is not None:
            connection.send(data)
            return
        task = self._connecting.get((peer.host, peer.port))
        if task is None:
            task = asyncio.get_running_loop().create_task(self._connect(peer))
            self._connecting[(peer.host, peer.port)] = task
        task.add_done_callback(lambda done: self._send_when_connected(done, data, peer))

    async def _resolve_and_send(self, data: bytes, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        try:
            family = self._udp.get_extra_info("socket").family if self._udp else 0
            infos = await loop.getaddrinfo(
                peer.host, peer.port, family=family, type=socket.SOCK_DGRAM
            )
        except OSError as exc:
            log.warning("cannot resolve a UDP destination: %s", exc.strerror)
            return
        if self._udp is not None and infos:
            self._udp.sendto(data, infos[0][4][:2])

    async def _connect(self, peer: Peer) -> _TcpConnection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await loop.create_connection(
                lambda: _TcpConnection(self, peer), peer.host, peer.port
            )
            return protocol
        finally:
            self._connecting.pop((peer.host, peer.port), None)

    def _send_when_connected(
        self, done: asyncio.Task[_TcpConnection], data: bytes, peer: Peer
    ) -> None:
        if done.cancelled():
            return
        exc = done.exception()
        if exc is not None:
            log.warning("TCP connection to %s failed: %s", peer, exc)
            # A transport error is a 503 to whoever sent this (RFC 3261 §8.1.3.1).
            if self._on_unreachable is not None:
                self._on_unreachable(peer)
            return
        done.result().send(data)


def _enlarge_receive_buffer(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    except OSError as exc:
        log.info("UDP receive buffer left at the default: %s", exc)


@functools.lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

"""RFC 3261 §17 transactions: INVITE and non-INVITE, client and server, with their timers.

Two RFC 6026 refinements are used because RFC 3261 gets them wrong: an INVITE server
transaction that sent a 2xx enters Accepted (it retransmits the 2xx until the ACK arrives,
and absorbs INVITE retransmissions, for timer L = 64*T1), and an INVITE client transaction
that got a 2xx enters Accepted (timer M), passing further 2xx up so the dialog can re-ACK.
Timers run on loop.call_later and are all cancelled when a transaction terminates.

A transaction that only lingers to absorb retransmissions (timers J, K, D, I, and L or M once
answered) lets go of what it no longer needs (callbacks, parsed header values) and its loop timer.
Over UDP that state lives 32 s, so at a few hundred calls/s it is tens of thousands of
transactions; every object they keep is one the cyclic GC walks, and its passes over them
stalled the event loop for over a second (bench/sip_cps, GC timed with gc.callbacks).
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Protocol

from telephony.sip.builder import make_non2xx_ack, make_response, new_tag
from telephony.sip.dialog import Dialog
from telephony.sip.headers import Headers
from telephony.sip.message import Request, Response
from telephony.sip.timers import TimerConfig
from telephony.sip.transport import Peer, response_destination
from telephony.sip.via import MAGIC_COOKIE

log = logging.getLogger(__name__)

SendFn = Callable[[bytes, Peer], None]
TxKey = tuple[str, str, str]


class TxState(enum.Enum):
    """Transaction states of RFC 3261 §17 (plus Accepted from RFC 6026)."""

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


def server_key(request: Request) -> TxKey:
    """Return the key matching a request to its server transaction (RFC 3261 §17.2.3)."""
    via = request.top_via()
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return (branch, via.sent_by, method)
    # RFC 2543 peers: no usable branch, so match on the fields that identify the request.
    cseq = request.cseq()
    from_tag = request.from_address().tag or ""
    return (f"2543:{request.call_id}:{from_tag}:{cseq.number}:{request.uri}", via.sent_by, method)


def client_key(message: Request | Response) -> tuple[str, str]:
    """Return the key matching a response to its client transaction (RFC 3261 §17.1.3)."""
    return (message.top_via().branch or "", message.cseq().method)


class _Timers:
    """Named one-shot timers on the event loop, all cancellable at once."""

    __slots__ = ("_handles", "_loop")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def start(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self.cancel(name)
        self._handles[name] = self._loop.call_later(delay, self._fire, name, callback)

    def _fire(self, name: str, callback: Callable[[], None]) -> None:
        self._handles.pop(name, None)
        callback()

    def cancel(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


class _Expiring(Protocol):
    def _terminate(self) -> None: ...


class _Lingering(_Expiring, Protocol):
    def _shed(self) -> None: ...


# How late a lingering transaction may end: the wheel wakes at most this often.
_WHEEL_STEP = 0.05


class _LingerWheel:
    """One timer for every lingering transaction of an event loop (a heap of deadlines).

    A loop timer per transaction is five objects more for the GC to walk (handle, context,
    arguments, two bound methods) for each of the tens of thousands lingering 32 s at a few
    hundred calls/s; an entry here is one tuple, and one wake-up ends every expired one.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, _Expiring]] = []
        self._order = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._wake_at = 0.0

    def add(self, delay: float, tx: _Expiring) -> None:
        deadline = self.loop.time() + delay
        heapq.heappush(self._heap, (deadline, next(self._order), tx))
        if self._handle is None or deadline < self._wake_at:
            self._schedule(deadline)

    def _schedule(self, deadline: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._wake_at = deadline
        self._handle = self.loop.call_at(deadline, self._wake)

    def _wake(self) -> None:
        self._handle = None
        now = self.loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            tx = heapq.heappop(heap)[2]
            try:
                tx._terminate()
            except Exception:
                log.exception("a lingering transaction failed to end")
        if heap:
            self._schedule(max(heap[0][0], now + _WHEEL_STEP))


_wheel: _LingerWheel | None = None


def _linger_for(delay: float, tx: _Expiring) -> None:
    """End `tx` after `delay` seconds, on the running loop's shared wheel."""
    global _wheel
    loop = asyncio.get_running_loop()
    if _wheel is None or _wheel.loop is not loop:
        _wheel = _LingerWheel(loop)
    _wheel.add(delay, tx)


def _linger(tx: _Lingering, delay: float) -> None:
    """Only retransmissions come to `tx` now, for `delay` s: it sheds what they do not need."""
    if delay <= 0:
        tx._terminate()
        return
    _linger_for(delay, tx)
    # After the current handler has run (it may still read the parsed headers).
    asyncio.get_running_loop().call_soon(tx._shed)


class ServerTransaction:
    """A received request and the responses sent to it; retransmissions get the last response."""

    def __init__(
        self,
        request: Request,
        source: Peer,
        *,
        send: SendFn,
        timers: TimerConfig,
        on_terminated: Callable[[ServerTransaction], None],
    ) -> None:
        self.request = request
        self.source = source
        self.key = server_key(request)
        self.destination = response_destination(request.top_via(), source)
        self.is_invite = request.method == "INVITE"
        self.state = TxState.PROCEEDING if self.is_invite else TxState.TRYING
        self.last_response: Response | None = None
        self.to_tag = new_tag()
        self.cancelled = False
        self.acked = False
        # Set by whoever owns the call; called when a final response to INVITE is never ACKed.
        self.on_ack_timeout: Callable[[ServerTransaction], None] | None = None
        # The dialog this request belongs to, when the endpoint matched one.
        self.dialog: Dialog | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._send = send
        self._config = timers
        self._timers = _Timers()
        self._on_terminated = on_terminated
        self._wire = b""
        self._interval = timers.t1
        self._l_deadline = 0.0

    @property
    def method(self) -> str:
        """Return the request's method."""
        return self.request.method

    @property
    def final_sent(self) -> bool:
        """Tell whether a final response has been sent."""
        return self.last_response is not None and self.last_response.status >= 200

    def create_response(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: Headers | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """Build a response to this request, with this transaction's To tag."""
        response = make_response(
            self.request, status, reason, to_tag=self.to_tag, headers=headers, body=body
        )
        if body and content_type:
            response.headers.set("Content-Type", content_type)
        return response

    def respond(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: Headers | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """Build and send a response; return it."""
        response = self.create_response(
            status, reason, headers=headers, body=body, content_type=content_type
        )
        self.send_response(response)
        return response

    def send_response(self, response: Response) -> None:
        """Send a response and move the state machine; drop one sent after the final."""
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            log.debug("dropping %d: %s transaction already answered", response.status, self.method)
            return
        self.last_response = response
        self._wire = response.to_bytes()
        self._transmit()
        if response.status < 200:
            self.state = TxState.PROCEEDING
            return
        reliable = self.source.reliable
        if not self.is_invite:
            self.state = TxState.COMPLETED
            _linger(self, self._config.j(reliable))
        elif response.status < 300:
            self.state = TxState.ACCEPTED
            if not reliable:
                self._timers.start("G2xx", self._interval, self._retransmit_2xx)
            self._timers.start("L", 64 * self._config.t1, self._timer_l)
            self._l_deadline = asyncio.get_running_loop().time() + 64 * self._config.t1
        else:
            self.state = TxState.COMPLETED
            if not reliable:
                self._timers.start("G", self._interval, self._timer_g)
            self._timers.start("H", self._config.h, self._timer_h)

    def receive_request(self, request: Request) -> None:
        """Handle a retransmission of the request, or the ACK of a non-2xx final response."""
        if request.method == "ACK":
            if self.state is TxState.COMPLETED:
                self.acked = True
                self.state = TxState.CONFIRMED
                self._timers.cancel("G")
                self._timers.cancel("H")
                _linger(self, self._config.i(self.source.reliable))
            return
        self.retransmission_received()

    def retransmission_received(self) -> None:
        """Answer a retransmission of the request with the last response sent, if any."""
        if self.state in (TxState.PROCEEDING, TxState.COMPLETED, TxState.ACCEPTED) and self._wire:
            self._transmit()

    def ack_received(self) -> None:
        """Note the ACK of a 2xx (the endpoint matches it by dialog): stop retransmitting."""
        if self.state is TxState.ACCEPTED and not self.acked:
            self.acked = True
            self._timers.cancel("G2xx")
            # Timer L's rest only absorbs retransmitted INVITEs now.
            self._timers.cancel("L")
            _linger(self, self._l_deadline - asyncio.get_running_loop().time())

    def terminate(self) -> None:
        """Stop every timer and leave the transaction table (on shutdown)."""
        self._terminate()

    def _shed(self) -> None:
        # After the current handler has run (it may still read the request's parsed headers).
        self.on_ack_timeout = None
        self.request.forget_parsed()
        if self.last_response is not None:
            self.last_response.forget_parsed()

    def _transmit(self) -> None:
        try:
            self._send(self._wire, self.destination)
        except (OSError, ConnectionError) as exc:
            log.warning("cannot send a %s response to %s: %s", self.method, self.destination, exc)

    def _timer_g(self) -> None:
        self._transmit()
        self._interval = min(2 * self._interval, self._config.t2)
        self._timers.start("G", self._interval, self._timer_g)

    def _retransmit_2xx(self) -> None:
        self._transmit()
        self._interval = min(2 * self._interval, self._config.t2)
        self._timers.start("G2xx", self._interval, self._retransmit_2xx)

    def _timer_h(self) -> None:
        log.info("no ACK for a final response to INVITE")
        self._terminate()
        if self.on_ack_timeout is not None:
            self.on_ack_timeout(self)

    def _timer_l(self) -> None:
        acked = self.acked
        self._terminate()
        if not acked:
            log.info("no ACK for a 2xx to INVITE")
            if self.on_ack_timeout is not None:
                self.on_ack_timeout(self)

    def _terminate(self) -> None:
        if self.state is TxState.TERMINATED:
            return
        self.state = TxState.TERMINATED
        self._timers.cancel_all()
        if not self.done.done():
            self.done.set_result(None)
        self._on_terminated(self)


ResponseCallback = Callable[[Response], None]


class ClientTransaction:
    """A sent request: retransmits it until answered, passes responses up, times out with a 408."""

    def __init__(
        self,
        request: Request,
        destination: Peer,
        *,
        send: SendFn,
        timers: TimerConfig,
        on_terminated: Callable[[ClientTransaction], None],
        on_response: ResponseCallback | None = None,
    ) -> None:
        self.request = request
        self.destination = destination
        self.key = client_key(request)
        self.is_invite = request.method == "INVITE"
        self.state = TxState.CALLING if self.is_invite else TxState.TRYING
        self.on_response = on_response
        self.provisional: Response | None = None
        self.final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._send = send
        self._config = timers
        self._timers = _Timers()
        self._on_terminated = on_terminated
        self._wire = request.to_bytes()
        self._ack_wire = b""
        self._interval = timers.t1
        self._m_deadline = 0.0

    @property
    def method(self) -> str:
        """Return the request's method."""
        return self.request.method

    def acked_with(self, wire: bytes) -> None:
        """Note the ACK sent for our 2xx: send it again for each retransmitted 2xx, by itself.

        The TU is then no longer needed (nor told) for the rest of timer M, so the transaction
        lets go of its response callback and lingers on the shared wheel.
        """
        if self.state is not TxState.ACCEPTED or self._ack_wire:
            return
        self._ack_wire = wire
        self.on_response = None
        self._timers.cancel("M")
        _linger_for(max(0.0, self._m_deadline - asyncio.get_running_loop().time()), self)

    def start(self) -> None:
        """Send the request and start timers A/B (INVITE) or E/F."""
        self._transmit(self._wire)
        reliable = self.destination.reliable
        if self.is_invite:
            if not reliable:
                self._timers.start("A", self._interval, self._timer_a)
            self._timers.start("B", self._config.b, self._timeout)
        else:
            if not reliable:
                self._timers.start("E", self._interval, self._timer_e)
            self._timers.start("F", self._config.f, self._timeout)

    async def wait_final(self) -> Response:
        """Wait for the final response (a local 408 on timeout)."""
        return await asyncio.shield(self.final)

    def receive_response(self, response: Response) -> None:
        """Feed a response matched to this transaction."""
        if self.is_invite:
            self._invite_response(response)
        else:
            self._non_invite_response(response)

    def transport_failed(self) -> None:
        """End with a local 503 because the destination cannot be reached."""
        if self.state in (TxState.CALLING, TxState.TRYING, TxState.PROCEEDING):
            log.info("%s could not be sent: destination unreachable", self.method)
            self._finish(self._local_response(503, "Service Unavailable"))
            self._terminate()

    def cancelled(self) -> None:
        """Note that a CANCEL was sent: give up 64*T1 later if no final response comes.

        RFC 3261 §9.1: a UAC whose CANCEL gets no final response for the INVITE within 64*T1
        considers the INVITE cancelled and destroys its transaction; without this, a phone that
        never answers the CANCEL would keep the transaction (and whoever waits on it) forever.
        """
        if self.is_invite and self.state in (TxState.CALLING, TxState.PROCEEDING):
            self._timers.start("cancel", 64 * self._config.t1, self._cancel_timeout)

    def _cancel_timeout(self) -> None:
        log.info("INVITE cancelled, no final response within 64*T1: giving up")
        self._finish(self._local_response(487, "Request Terminated"))
        self._terminate()

    def terminate(self) -> None:
        """Stop every timer and leave the transaction table (on shutdown)."""
        if not self.final.done():
            self.final.set_result(self._local_response(503, "Service Unavailable"))
        self._terminate()

    def _invite_response(self, response: Response) -> None:
        status = response.status
        if self.state in (TxState.CALLING, TxState.PROCEEDING):
            if status < 200:
                self.state = TxState.PROCEEDING
                self._timers.cancel("A")
                # Timer B guards Calling only: a phone may ring for minutes; the TU decides
                # when to give up (CANCEL), as RFC 3261 §17.1.1.2 leaves it.
                self._timers.cancel("B")
                self.provisional = response
                self._deliver(response)
            elif status < 300:
                self.state = TxState.ACCEPTED
                self._timers.cancel("A")
                self._timers.cancel("B")
                self._timers.start("M", 64 * self._config.t1, self._terminate)
                self._m_deadline = asyncio.get_running_loop().time() + 64 * self._config.t1
                self._finish(response)
                asyncio.get_running_loop().call_soon(self._shed)
            else:
                self.state = TxState.COMPLETED
                self._timers.cancel("A")
                self._timers.cancel("B")
                self._ack_wire = make_non2xx_ack(self.request, response).to_bytes()
                self._transmit(self._ack_wire)
                self._finish(response)
                _linger(self, self._config.d_for(self.destination.reliable))
        elif self.state is TxState.COMPLETED and status >= 300:
            self._transmit(self._ack_wire)
        elif self.state is TxState.ACCEPTED and 200 <= status < 300:
            if self._ack_wire:
                self._transmit(self._ack_wire)  # the ACK the TU sent, lost on its way
            else:
                self._deliver(response)

    def _non_invite_response(self, response: Response) -> None:
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            return
        if response.status < 200:
            self.state = TxState.PROCEEDING
            self.provisional = response
            self._deliver(response)
            return
        self.state = TxState.COMPLETED
        self._timers.cancel("E")
        self._timers.cancel("F")
        self._finish(response)
        _linger(self, self._config.k(self.destination.reliable))

    def _deliver(self, response: Response) -> None:
        if self.on_response is not None:
            try:
                self.on_response(response)
            except Exception:
                log.exception("response callback failed for %s", self.method)

    def _finish(self, response: Response) -> None:
        if not self.final.done():
            self.final.set_result(response)
        self._deliver(response)

    def _shed(self) -> None:
        if self.state is TxState.COMPLETED:
            # Retransmitted responses are absorbed (or re-ACKed here); nothing goes up.
            self.on_response = None
        self.provisional = None
        self.request.forget_parsed()
        if self.final.done():
            self.final.result().forget_parsed()

    def _transmit(self, data: bytes) -> None:
        try:
            self._send(data, self.destination)
        except (OSError, ConnectionError) as exc:
            log.warning("cannot send %s to %s: %s", self.method, self.destination, exc)

    def _timer_a(self) -> None:
        self._transmit(self._wire)
        self._interval *= 2
        self._timers.start("A", self._interval, self._timer_a)

    def _timer_e(self) -> None:
        self._transmit(self._wire)
        if self.state is TxState.PROCEEDING:
            self._interval = self._config.t2
        else:
            self._interval = min(2 * self._interval, self._config.t2)
        self._timers.start("E", self._interval, self._timer_e)

    def _timeout(self) -> None:
        log.info("%s transaction timed out", self.method)
        self._finish(self._local_response(408, "Request Timeout"))
        self._terminate()

    def _local_response(self, status: int, reason: str) -> Response:
        return make_response(self.request, status, reason)

    def _terminate(self) -> None:
        if self.state is TxState.TERMINATED:
            return
        self.state = TxState.TERMINATED
        self._timers.cancel_all()
        if not self.done.done():
            self.done.set_result(None)
        self._on_terminated(self)

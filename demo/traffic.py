"""The demo's callers: SIP calls at a steady random rate, with a realistic mix of who calls.

Each call is a real SIP UAC on telephony's `SipEndpoint`: an INVITE with a G.711 offer from
the caller's number to a dialled number, a tone sent as RTP once answered, and a BYE after the
talk time (or the far end's BYE first). Callers are VIP, standard or unknown in the plan's
proportions; a share of them are impatient and hang up (CANCEL) if nobody answers within
their patience. Arrivals are a Poisson process (exponential gaps), so bursts happen as in life.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from telephony.rtp.player import MediaPlayer
from telephony.rtp.tone import AudioLoop, Tone
from telephony.sdp import PCMU, SdpError, audio_offer, parse_sdp
from telephony.sip import (
    Dialog,
    Headers,
    Request,
    Response,
    ServerTransaction,
    SipEndpoint,
    SipHandler,
    make_cancel,
    make_request,
    new_call_id,
    new_tag,
    parse_address,
)
from telephony.sip.dialog import DialogKey
from telephony.sip.transport import Peer

log = logging.getLogger(__name__)

KINDS = ("vip", "standard", "unknown")
# What a caller says while talking: a quiet 440 Hz tone, so a recording shows the caller side.
CALLER_TONE = Tone((440.0,), amplitude=3000)


@dataclass(frozen=True, slots=True)
class Caller:
    """Someone who calls: their number, and the customer id their IVR passes, if any."""

    kind: str
    ani: str
    customer_hint: str | None = None


@dataclass(frozen=True, slots=True)
class TrafficPlan:
    """Where calls go and what they look like; times are means of exponential draws."""

    target: Peer
    dialled: Sequence[str]
    callers: Mapping[str, Sequence[Caller]]
    calls_per_second: float = 0.2
    mix: Mapping[str, float] = field(
        default_factory=lambda: {"vip": 0.15, "standard": 0.6, "unknown": 0.25}
    )
    # This share of callers hang up if not answered within their patience.
    impatient_share: float = 0.2
    patience_s: float = 20.0
    talk_s: float = 30.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        if not self.dialled:
            raise ValueError("dialled needs at least one number")
        kinds = [kind for kind, weight in self.mix.items() if weight > 0]
        if not kinds or any(kind not in KINDS for kind in self.mix):
            raise ValueError(f"mix weighs some of {', '.join(KINDS)}")
        if any(not self.callers.get(kind) for kind in kinds):
            raise ValueError("every kind in the mix needs at least one caller")
        if not 0 <= self.impatient_share <= 1:
            raise ValueError("impatient_share is a share between 0 and 1")


@dataclass
class TrafficStats:
    """What happened to the calls placed so far."""

    placed: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    abandoned: int = 0
    # Sent elsewhere with a 3xx (a route in redirect mode names the agent's phone).
    redirected: int = 0
    # Final statuses 4xx-6xx other than the 487 of an abandon (486 busy, 480, 503...).
    refused: Counter[int] = field(default_factory=Counter)
    ended_by_far_end: int = 0
    in_progress: int = 0

    @property
    def total(self) -> int:
        """Return how many calls were placed."""
        return sum(self.placed.values())


class _Byes(SipHandler):
    """Take the far end's BYE for a dialog the generator holds."""

    methods = frozenset({"BYE"})

    def __init__(self) -> None:
        self.endpoint: SipEndpoint | None = None
        self.hung_up: dict[DialogKey, asyncio.Event] = {}

    async def on_request(self, tx: ServerTransaction) -> None:
        assert self.endpoint is not None
        dialog = tx.dialog
        assert isinstance(dialog, Dialog)
        self.endpoint.remove_dialog(dialog)
        tx.respond(200)
        event = self.hung_up.get(dialog.key)
        if event is not None:
            event.set()


class _Media(asyncio.DatagramProtocol):
    """The caller's RTP socket: sends the tone, ignores what it hears."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)


class TrafficGenerator:
    """Place calls to Switchboard following a plan; `run` until a count or cancellation."""

    def __init__(self, plan: TrafficPlan, *, host: str = "127.0.0.1") -> None:
        self.plan = plan
        self.stats = TrafficStats()
        self._host = host
        self._rng = random.Random(plan.seed)
        self._byes = _Byes()
        self._endpoint = SipEndpoint(
            self._byes, host=host, port=0, tcp=False, user_agent="Switchboard demo caller"
        )
        self._byes.endpoint = self._endpoint
        self._calls: set[asyncio.Task[None]] = set()
        self._tone = AudioLoop.from_tone(CALLER_TONE)
        self._stopping = asyncio.Event()

    def stop_placing(self) -> None:
        """Place no more calls; `run` returns once the calls in progress have ended."""
        self._stopping.set()

    async def run(self, calls: int | None = None) -> TrafficStats:
        """Place `calls` calls (or until `stop_placing`), wait for them to end, return the stats.

        Cancelling `run` cuts calls in progress short (their sockets close without a BYE).
        """
        await self._endpoint.start()
        loop = asyncio.get_running_loop()
        try:
            next_at = loop.time()
            placed = 0
            while calls is None or placed < calls:
                # Pacing arrivals: wait for the next one's time, unless told to stop first.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), max(next_at - loop.time(), 0))
                if self._stopping.is_set():
                    break
                self._spawn(self._pick())
                placed += 1
                next_at += self._rng.expovariate(self.plan.calls_per_second)
            if self._calls:
                await asyncio.gather(*self._calls)
        finally:
            for task in list(self._calls):
                task.cancel()
            if self._calls:
                await asyncio.gather(*self._calls, return_exceptions=True)
            await self._endpoint.stop()
        return self.stats

    def _pick(self) -> tuple[Caller, str, float | None, float]:
        kinds = [kind for kind in KINDS if self.plan.mix.get(kind, 0) > 0]
        kind = self._rng.choices(kinds, [self.plan.mix[k] for k in kinds])[0]
        caller = self._rng.choice(self.plan.callers[kind])
        dialled = self._rng.choice(self.plan.dialled)
        impatient = self._rng.random() < self.plan.impatient_share
        patience = self._rng.expovariate(1 / self.plan.patience_s) if impatient else None
        talk = self._rng.expovariate(1 / self.plan.talk_s)
        return caller, dialled, patience, talk

    def _spawn(self, call: tuple[Caller, str, float | None, float]) -> None:
        task = asyncio.get_running_loop().create_task(self._call(*call))
        self._calls.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a demo call failed", exc_info=task.exception())

    async def _call(
        self, caller: Caller, dialled: str, patience: float | None, talk: float
    ) -> None:
        self.stats.placed[caller.kind] += 1
        self.stats.in_progress += 1
        loop = asyncio.get_running_loop()
        transport, media = await loop.create_datagram_endpoint(_Media, local_addr=(self._host, 0))
        try:
            await self._place(caller, dialled, patience, talk, media)
        finally:
            transport.close()
            self.stats.in_progress -= 1

    async def _place(
        self, caller: Caller, dialled: str, patience: float | None, talk: float, media: _Media
    ) -> None:
        target = self.plan.target
        assert media.transport is not None
        rtp_port = int(media.transport.get_extra_info("sockname")[1])
        contact = self._endpoint.contact(caller.ani or "anonymous")
        headers = Headers()
        if caller.customer_hint:
            headers.add("X-Customer-Id", caller.customer_hint)
        invite = make_request(
            "INVITE",
            f"sip:{dialled}@{target.host}:{target.port}",
            from_address=parse_address(
                f"<sip:{caller.ani or 'anonymous'}@{self._host}>;tag={new_tag()}"
            ),
            to_address=parse_address(f"<sip:{dialled}@{target.host}>"),
            call_id=new_call_id(self._host),
            cseq=1,
            contact=contact,
            headers=headers,
            body=audio_offer(self._host, rtp_port, codecs=(PCMU,)).encode(),
            content_type="application/sdp",
        )
        ringing = asyncio.Event()
        acks: list[Request] = []

        def on_response(response: Response) -> None:
            if response.status < 200:
                ringing.set()
            elif response.status < 300 and acks:
                # A retransmitted 2xx: our ACK was lost, send it again (RFC 3261 13.2.2.4).
                self._endpoint.send_ack(acks[0], tx.destination)

        tx = self._endpoint.send_request(invite, target, on_response=on_response)
        final_wait = asyncio.ensure_future(tx.wait_final())
        done, _ = await asyncio.wait({final_wait}, timeout=patience)
        if not done:
            # The caller gives up: CANCEL, once a provisional response says the INVITE arrived
            # (RFC 3261 9.1); the INVITE then ends with 487, or with a 200 that crossed it.
            provisional = asyncio.ensure_future(ringing.wait())
            await asyncio.wait({final_wait, provisional}, return_when=asyncio.FIRST_COMPLETED)
            provisional.cancel()
            if not final_wait.done():
                self._endpoint.send_request(make_cancel(invite), tx.destination)
        final: Response = await final_wait
        if final.status >= 300:
            if final.status == 487 and not done:
                self.stats.abandoned += 1
            elif final.status < 400:
                self.stats.redirected += 1
            else:
                self.stats.refused[final.status] += 1
            return
        dialog = Dialog.as_uac(invite, final, contact, peer=tx.destination)
        ack = dialog.create_ack(invite)
        self._endpoint.send_ack(ack, dialog.peer)
        acks.append(ack)
        if not done:
            # Answered just as the caller hung up: they hang up all the same.
            await self._bye(dialog)
            self.stats.abandoned += 1
            return
        self.stats.answered += 1
        hung_up = asyncio.Event()
        self._byes.hung_up[dialog.key] = hung_up
        self._endpoint.add_dialog(dialog)
        player = self._player(final, media)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hung_up.wait(), talk)
        finally:
            if player is not None:
                await player.stop()
            del self._byes.hung_up[dialog.key]
        if hung_up.is_set():
            self.stats.ended_by_far_end += 1
        else:
            self._endpoint.remove_dialog(dialog)
            await self._bye(dialog)

    def _player(self, answer: Response, media: _Media) -> MediaPlayer | None:
        try:
            where = parse_sdp(answer.body).audio_endpoint()
        except (SdpError, ValueError) as exc:
            log.warning("demo call answered without usable SDP: %s", exc)
            return None
        transport = media.transport
        assert transport is not None
        destination = (where.host, where.port)
        player = MediaPlayer(lambda packet: transport.sendto(packet, destination), self._tone)
        player.start()
        return player

    async def _bye(self, dialog: Dialog) -> None:
        bye = self._endpoint.send_request(dialog.create_request("BYE"), dialog.peer)
        response = await bye.wait_final()
        if response.status >= 300:
            log.warning("demo caller's BYE got %d", response.status)

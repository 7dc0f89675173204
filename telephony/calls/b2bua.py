"""The B2BUA: takes callers' INVITEs, queues them with the router, rings agents, bridges calls.

The call flow (one caller, one agent; README.md has the picture):

1. INVITE from a trunk: the endpoint sends 100 Trying; the call is admitted through
   `CallIntake.admit`. Refused -> that final status; Redirected -> 302 with the Contact;
   Enqueued -> 180 Ringing, then (early media) 183 with the relay's answer and ringback as RTP
   while the caller waits in the router's queue.
2. Router `Offer`: the agent's phone (registrar lookup of its SIP username) gets an INVITE
   whose SDP is the caller's offer pointed at an RTP relay port. `OfferTimedOut` or
   `OfferCancelled` while it rings -> CANCEL (RONA; the router offers the next agent).
   4xx-6xx from the phone, or an answer without an offered codec -> `offer_rejected`.
3. The phone answers: ACK, `offer_answered`, and the caller gets 200 OK pointed at the relay.
   The relay joins both legs and tees both directions to the recorder.
4. BYE from either side (or the console's hang-up) ends both legs, then `call_ended`.

A caller's CANCEL while queued gets 487 and `caller_abandoned`. In a route's redirect mode,
the caller gets a 302 to the offered agent's contact and the router hears the offer was
answered and ended (no media through Switchboard). The console's hold, resume and transfer
re-INVITE or BYE the agent leg while the caller keeps its dialog. Logs carry Switchboard's
call ids and agent ids, never callers' numbers.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine, Sequence
from typing import Any

from router.events import (
    CallFinished,
    Event,
    Offer,
    OfferCancelled,
    OfferTimedOut,
    Overflowed,
    RoutingError,
    UnknownCall,
)
from router.intake import CallIntake, Enqueued, IncomingCall, Redirected, Refused
from router.model import DestinationKind
from router.runtime import Action, RoutingRuntime
from telephony.calls.call import AgentLeg, Call, LocalCaller
from telephony.calls.identity import CallerIdentity, caller_identity
from telephony.calls.media import CallMedia, Recordings, audio_offer_of, mirror, parse
from telephony.rtp.ports import PortsExhaustedError
from telephony.rtp.relay import RtpRelay, Side
from telephony.rtp.tone import HOLD_BEEP, RINGBACK_EU, Tone
from telephony.sdp import Direction, SdpError, SessionDescription
from telephony.sip.builder import make_cancel, make_request, new_call_id, new_tag
from telephony.sip.dialog import Dialog, DialogKey
from telephony.sip.endpoint import SipEndpoint, SipHandler
from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers
from telephony.sip.message import Request, Response
from telephony.sip.registrar import Binding, Registrar
from telephony.sip.transaction import ServerTransaction
from telephony.sip.uri import Address, SipUri

__all__ = ["B2bua"]

log = logging.getLogger(__name__)

SDP = "application/sdp"
# Overflow targets that are addresses a caller can be redirected to (others are names).
_URI_SCHEMES = ("sip:", "sips:", "tel:")


class B2bua(SipHandler):
    """Carry out routing decisions on SIP calls; also the console's `CallControl`."""

    methods = frozenset({"INVITE", "BYE"})

    def __init__(
        self,
        *,
        intake: CallIntake,
        runtime: RoutingRuntime,
        registrar: Registrar,
        relay: RtpRelay,
        recordings: Recordings | None = None,
        media_address: str | None = None,
        hold_audio: Tone = HOLD_BEEP,
        queue_audio: Tone = RINGBACK_EU,
        early_media: bool = True,
    ) -> None:
        # early_media: queued callers get 183 with SDP and hear `queue_audio` until answered;
        # without it they get 180 only and silence.
        self.intake = intake
        self.runtime = runtime
        self.registrar = registrar
        self.relay = relay
        self.recordings = recordings
        self.media_address = media_address
        self.hold_audio = hold_audio
        self.queue_audio = queue_audio
        self.early_media = early_media
        self._endpoint: SipEndpoint | None = None
        self._calls: dict[str, Call] = {}
        self._by_invite: dict[ServerTransaction, Call] = {}
        self._dialogs: dict[DialogKey, tuple[Call, Side]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe = runtime.subscribe(self.on_events)
        self._subscribed = True
        self._accepting = True

    # -- wiring ----------------------------------------------------------------------------

    @property
    def endpoint(self) -> SipEndpoint:
        """Return the SIP endpoint this B2BUA answers on."""
        if self._endpoint is None:
            raise RuntimeError("B2bua.attach(endpoint) was not called")
        return self._endpoint

    def attach(self, endpoint: SipEndpoint) -> None:
        """Send and receive through `endpoint` (built with this B2BUA as its handler)."""
        self._endpoint = endpoint

    def call(self, call_id: str) -> Call | None:
        """Return a live call by Switchboard's call id."""
        return self._calls.get(call_id)

    @property
    def calls(self) -> int:
        """Return how many calls are in progress."""
        return len(self._calls)

    def stop_accepting(self) -> None:
        """Answer every new INVITE 503 from now on (the first step of a graceful stop)."""
        self._accepting = False

    async def drain(self, deadline: float) -> None:
        """Take no new calls; let calls in progress end until `deadline`, then hang them up."""
        self._accepting = False
        loop = asyncio.get_running_loop()
        waiting = [asyncio.ensure_future(call.closed.wait()) for call in self._calls.values()]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=max(0.0, deadline - loop.time()))
            for future in pending:
                future.cancel()
        # Callers still waiting get 503: a SIP load balancer in front retries another node.
        for call in list(self._calls.values()):
            self._end(call, None, status=503)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop listening to the router; end every call, its media and recording (idempotent)."""
        self._accepting = False
        if self._subscribed:
            self._subscribed = False
            self._unsubscribe()
        for call in list(self._calls.values()):
            self._end(call, None, status=503)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- SIP side --------------------------------------------------------------------------

    def on_request(self, tx: ServerTransaction) -> None:
        """Take a new INVITE (a caller), a re-INVITE (hold) or a BYE (inline: nothing waits)."""
        if tx.method == "BYE":
            self._on_bye(tx)
        elif tx.dialog is not None:
            self._on_reinvite(tx)
        else:
            self._on_invite(tx)

    def on_cancel(self, invite_tx: ServerTransaction) -> None:
        """The caller hung up before the answer: 487, and the router hears it was abandoned."""
        if not invite_tx.final_sent:
            invite_tx.respond(487)
        call = self._by_invite.get(invite_tx)
        if call is not None and not call.ended:
            log.info("call %s abandoned by the caller (CANCEL)", call.call_id)
            self._end(call, Side.CALLER)

    def _on_invite(self, tx: ServerTransaction) -> None:
        if not self._accepting:
            tx.respond(503, headers=Headers([("Retry-After", "30")]))
            return
        try:
            offer = audio_offer_of(tx.request.body) if tx.request.body else None
        except SdpError as exc:
            log.info("INVITE refused with 488: %s", exc.reason)
            tx.respond(488)
            return
        try:
            identity = caller_identity(tx.request)
        except SipParseError as exc:
            log.info("INVITE refused with 400: %s", exc.reason)
            tx.respond(400)
            return
        call = Call("sb-" + secrets.token_hex(8), tx, offer, identity)
        self._calls[call.call_id] = call
        self._by_invite[tx] = call
        tx.on_ack_timeout = self._on_ack_timeout
        incoming = IncomingCall(call.call_id, identity.ani, identity.dnis, identity.customer_hint)
        try:
            # Router events about this call (an offer to an idle agent) may come inside admit.
            admission = self.intake.admit(incoming)
        except Exception:
            log.exception("call %s could not be admitted", call.call_id)
            self._finish(call, 500)
            return
        if isinstance(admission, Refused):
            status = admission.sip_status if 300 <= admission.sip_status <= 699 else 503
            log.info("call %s refused with %d: %s", call.call_id, status, admission.reason)
            self._finish(call, status)
        elif isinstance(admission, Redirected):
            log.info("call %s redirected: %s", call.call_id, admission.reason)
            self._finish(call, 302, contact=admission.uri)
        elif isinstance(admission, Enqueued):
            call.admitted = True
            call.redirect = admission.redirect
            log.debug("call %s queued in %s", call.call_id, admission.queue_id)
            if call.redirect and call.offered_agent is not None:
                # Offered inside admit: the 302 is the first answer (no 180, no 100 before it).
                self._redirect_offer(call, call.offered_agent)
            if not call.ended and not tx.final_sent:
                tx.respond(180)
            self._after_admission(call)

    def _after_admission(self, call: Call) -> None:
        """Ring the agent offered inside admit, or else start the queued caller's early media."""
        if call.ended or call.redirect:
            return
        if call.offered_agent is not None:
            # Ringing opens the media (183 and ringback) first, so one task does both.
            self._spawn(self._ring(call, call.offered_agent))
        elif self.early_media or call.local is not None:
            self._spawn(self._early_media(call))

    async def _early_media(self, call: Call) -> None:
        await self._ensure_media(call)

    def admit_local(
        self, identity: CallerIdentity, offer: SessionDescription, caller: LocalCaller
    ) -> Call | None:
        """Queue a caller answered elsewhere (a PBX extension's call); None if it was not queued.

        The caller hears `queue_audio` while queued and is bridged like an INVITE's caller.
        A refusal, redirect or overflow hangs it up (`caller.hang_up`); a route's redirect
        mode does not apply, as there is no INVITE to answer with a 302.
        """
        if not self._accepting:
            caller.hang_up()
            return None
        call = Call("sb-" + secrets.token_hex(8), None, offer, identity, local=caller)
        self._calls[call.call_id] = call
        incoming = IncomingCall(call.call_id, identity.ani, identity.dnis, identity.customer_hint)
        try:
            admission = self.intake.admit(incoming)
        except Exception:
            log.exception("call %s could not be admitted", call.call_id)
            self._end(call, None, status=500)
            return None
        if not isinstance(admission, Enqueued):
            log.info("call %s (local) not queued: %s", call.call_id, admission.reason)
            self._end(call, None)
            return None
        call.admitted = True
        self._after_admission(call)
        log.debug("call %s (local) queued in %s", call.call_id, admission.queue_id)
        return None if call.ended else call

    def local_caller_gone(self, call_id: str) -> None:
        """A local caller hung up: end the call (abandoned if still queued)."""
        call = self._calls.get(call_id)
        if call is not None and call.local is not None and not call.ended:
            log.info("call %s: the local caller hung up", call.call_id)
            self._end(call, Side.CALLER)

    def on_ack(self, ack: Request, invite_tx: ServerTransaction | None) -> None:
        """Note the caller's ACK of its 200; a late-offer caller's ACK carries its answer."""
        call = self._by_invite.get(invite_tx) if invite_tx is not None else None
        if call is None or call.media is None:
            return
        if call.connected:
            call.bridged.set()
        if call.offer is not None or not ack.body:
            return
        try:
            answer = parse(ack.body)
        except SdpError as exc:
            # The call cannot carry audio; end it rather than leave two silent parties.
            log.warning("call %s: unusable SDP answer in the ACK: %s", call.call_id, exc.reason)
            self._end(call, None)
            return
        call.media.update(Side.CALLER, answer)

    def _on_bye(self, tx: ServerTransaction) -> None:
        assert tx.dialog is not None
        self.endpoint.remove_dialog(tx.dialog)
        tx.respond(200)
        entry = self._dialogs.pop(tx.dialog.key, None)
        if entry is not None:
            call, side = entry
            log.debug("call %s: BYE from the %s", call.call_id, side.value)
            self._end(call, side)

    def _on_reinvite(self, tx: ServerTransaction) -> None:
        assert tx.dialog is not None
        entry = self._dialogs.get(tx.dialog.key)
        if entry is None or entry[0].media is None:
            tx.respond(481)
            return
        call, side = entry
        media = entry[0].media
        assert media is not None
        direction = Direction.SENDRECV
        if tx.request.body:
            try:
                offer = parse(tx.request.body)
            except SdpError as exc:
                log.info("call %s: re-INVITE refused with 488: %s", call.call_id, exc.reason)
                tx.respond(488)
                return
            media.update(side, offer)
            direction = mirror(offer.audio_direction())
        answer = media.describe(side, direction)
        headers = Headers([("Contact", str(self._contact(tx.source.transport)))])
        tx.respond(200, headers=headers, body=answer.encode(), content_type=SDP)

    def _on_ack_timeout(self, tx: ServerTransaction) -> None:
        call = self._by_invite.get(tx)
        if call is not None and call.connected and not call.ended:
            log.warning("call %s: the caller never ACKed the 200; ending it", call.call_id)
            self._end(call, None)

    # -- router side -----------------------------------------------------------------------

    def on_events(self, events: Sequence[Event]) -> None:
        """Act on the router's events for calls this B2BUA holds."""
        for event in events:
            if not isinstance(
                event, Offer | OfferTimedOut | OfferCancelled | Overflowed | CallFinished
            ):
                continue
            call = self._calls.get(event.call_id)
            if call is None:
                continue
            try:
                self._on_event(call, event)
            except Exception:
                # One call's failure must not reach whoever fed the engine (another call's
                # INVITE, a timer): log it, and that call ends.
                log.exception("call %s: handling %s failed", call.call_id, type(event).__name__)
                self._end(call, None, status=500)

    def _on_event(
        self, call: Call, event: Offer | OfferTimedOut | OfferCancelled | Overflowed | CallFinished
    ) -> None:
        if isinstance(event, Offer):
            call.offered_agent = event.agent_id
            if not call.admitted:
                return  # offered inside admit: rung (or redirected) once admit has returned
            if call.redirect:
                self._redirect_offer(call, event.agent_id)
            else:
                self._spawn(self._ring(call, event.agent_id))
        elif isinstance(event, OfferTimedOut | OfferCancelled):
            self._withdraw(call, event.agent_id)
        elif isinstance(event, Overflowed):
            self._overflowed(call, event)
        elif not call.ended and not call.transferring:
            # The engine ended a connected call on its own (an abandon after the answer).
            call.connected = False
            self._end(call, None)

    def _withdraw(self, call: Call, agent_id: str) -> None:
        if call.offered_agent == agent_id:
            call.offered_agent = None
        leg = call.agent
        if leg is None or leg.agent_id != agent_id or leg.dialog is not None:
            return
        leg.withdrawn = True
        log.info("call %s: offer to %s withdrawn, cancelling its leg", call.call_id, agent_id)
        self._cancel_leg(leg)

    def _cancel_leg(self, leg: AgentLeg) -> None:
        # A CANCEL may only follow a provisional response (RFC 3261 §9.1); otherwise it is
        # sent when the first one comes, from the leg's response callback.
        tx = leg.tx
        if tx is None or tx.provisional is None or leg.cancel_sent or tx.final.done():
            return
        leg.cancel_sent = True
        self.endpoint.send_request(make_cancel(leg.invite), tx.destination)
        tx.cancelled()

    def _overflowed(self, call: Call, event: Overflowed) -> None:
        destination = event.destination
        if destination.kind is DestinationKind.QUEUE:
            return  # still in the engine, now in another queue
        call.admitted = False  # the engine has forgotten it
        target = destination.target
        if destination.kind is not DestinationKind.REFUSE and target.startswith(_URI_SCHEMES):
            # A mailbox or callback service elsewhere, named by its SIP/tel URI: send the
            # caller there, unless they were answered already (a transferred caller).
            log.info("call %s overflowed (%s): redirecting", call.call_id, destination.kind)
            self._finish(call, 302, contact=target)
            return
        if destination.sip_status is not None:
            status = destination.sip_status
        else:
            status = 503 if destination.kind is DestinationKind.REFUSE else 480
        log.info("call %s overflowed (%s): answering %d", call.call_id, destination, status)
        self._finish(call, status)

    # -- the agent leg ---------------------------------------------------------------------

    def _redirect_offer(self, call: Call, agent_id: str) -> None:
        """Answer a redirect-mode caller with a 302 to the offered agent's phone, at once."""
        if call.ended or call.offered_agent != agent_id:
            return
        binding = self._registered(call, agent_id)
        if binding is not None:
            self._redirect_to(call, binding)

    def _registered(self, call: Call, agent_id: str) -> Binding | None:
        """Return the agent's phone; without one, the router hears the offer was rejected."""
        binding = self._binding(agent_id)
        if binding is None:
            log.warning("call %s: agent %s has no registered phone", call.call_id, agent_id)
            call.offered_agent = None
            self._act(lambda now: self.runtime.engine.offer_rejected(call.call_id, now))
        return binding

    async def _ring(self, call: Call, agent_id: str) -> None:
        if call.ended or call.offered_agent != agent_id:
            return
        binding = self._registered(call, agent_id)
        if binding is None:
            return
        media = await self._ensure_media(call)
        if media is None or call.offered_agent != agent_id:
            return
        offered = media.agent_offer
        contact = self._contact(binding.destination.transport)
        from_address = Address(
            SipUri("sip", call.identity.ani or "anonymous", self.endpoint.host),
            params={"tag": new_tag()},
        )
        invite = make_request(
            "INVITE",
            str(binding.contact.uri),
            from_address=from_address,
            to_address=Address(binding.contact.uri),
            call_id=new_call_id(self.endpoint.host),
            cseq=1,
            contact=contact,
            headers=Headers([("X-Switchboard-Call", call.call_id)]),
            body=offered.encode(),
            content_type=SDP,
        )
        leg = AgentLeg(agent_id, invite, offered)
        call.agent = leg
        leg.tx = self.endpoint.send_request(
            invite, binding.destination, on_response=lambda r: self._agent_progress(leg, r)
        )
        final = await leg.tx.wait_final()
        if not 200 <= final.status < 300:
            if call.agent is leg:
                call.agent = None
            if not leg.withdrawn and call.offered_agent == agent_id and not call.ended:
                call.offered_agent = None
                log.info("call %s: agent %s answered %d", call.call_id, agent_id, final.status)
                self._act(lambda now: self.runtime.engine.offer_rejected(call.call_id, now))
            return
        dialog = Dialog.as_uac(invite, final, contact, peer=leg.tx.destination)
        # The transaction re-ACKs a retransmitted 200 itself, and lets go of the leg.
        self.endpoint.send_ack(dialog.create_ack(invite), dialog.peer, answering=leg.tx)
        leg.dialog = dialog
        self.endpoint.add_dialog(dialog)
        self._dialogs[dialog.key] = (call, Side.AGENT)
        if leg.withdrawn or call.ended or call.offered_agent != agent_id:
            # Answered as the offer was withdrawn (a race with RONA or the caller's CANCEL).
            log.info("call %s: agent %s answered too late", call.call_id, agent_id)
            self._bye(dialog)
            if call.agent is leg:
                call.agent = None
            return
        await self._bridge(call, leg, final)

    async def _ensure_media(self, call: Call) -> CallMedia | None:
        """Open the call's relay session once; with early media, answer 183 and play ringback."""
        async with call.media_lock:
            if call.media is None and not call.ended:
                try:
                    call.media = await CallMedia.open(self.relay, call.offer, self.media_address)
                except (OSError, PortsExhaustedError) as exc:
                    log.error("call %s: no RTP relay port: %s", call.call_id, exc)
                    self._end(call, None, status=503)
                    return None
                if call.ended:
                    await self._close_media(call)
                    return None
                tx = call.invite_tx
                if call.local is not None:
                    # Answered where it came in: it hears the queue audio whatever the mode.
                    call.local.media_ready(call.media.early_answer())
                    call.media.play(self.queue_audio)
                elif (
                    self.early_media
                    and call.offer is not None
                    and tx is not None
                    and not tx.final_sent
                ):
                    answer = call.media.early_answer()
                    contact = self._contact(tx.source.transport)
                    headers = Headers([("Contact", str(contact))])
                    tx.respond(183, headers=headers, body=answer.encode(), content_type=SDP)
                    call.media.play(self.queue_audio)
            return None if call.ended else call.media

    def _agent_progress(self, leg: AgentLeg, response: Response) -> None:
        if response.status < 200:
            if leg.withdrawn:
                self._cancel_leg(leg)
        elif response.status < 300 and leg.dialog is not None:
            # A retransmitted 200: our ACK was lost on the way, so send it again.
            self.endpoint.send_ack(leg.dialog.create_ack(leg.invite), leg.dialog.peer)

    async def _bridge(self, call: Call, leg: AgentLeg, ok: Response) -> None:
        assert call.media is not None and leg.dialog is not None
        try:
            answer = parse(ok.body)
            offered = {f for f in leg.offered.audio().formats if f in ("0", "8")}
            if not offered.intersection(answer.audio().formats):
                raise SdpError("the answer has none of the offered G.711 codecs")
        except SdpError as exc:
            log.warning("call %s: agent %s answered without usable SDP: %s", call.call_id,
                        leg.agent_id, exc.reason)  # fmt: skip
            self._bye(leg.dialog)
            call.agent = None
            call.offered_agent = None
            self._act(lambda now: self.runtime.engine.offer_rejected(call.call_id, now))
            return
        if not self._act(lambda now: self.runtime.engine.offer_answered(call.call_id, now)):
            self._bye(leg.dialog)
            call.agent = None
            return
        call.offered_agent = None
        call.connected = True
        if call.media.bridged:
            # A transferred caller, answered long ago: only the agent side changes.
            call.on_hold = False
            await call.media.reconnect(answer)
            call.bridged.set()
            log.debug("call %s reconnected to agent %s", call.call_id, leg.agent_id)
            return
        caller_answer = await call.media.bridge(answer, self.recordings, call.call_id)
        if call.ended:
            return  # the caller hung up (CANCEL) while the ringback stopped; _end BYEd the agent
        tx = call.invite_tx
        if tx is None:
            # A local caller is answered already and its audio reaches the relay.
            call.bridged.set()
            log.debug("call %s (local) connected to agent %s", call.call_id, leg.agent_id)
            return
        contact = self._contact(tx.source.transport)
        response = tx.create_response(
            200,
            headers=Headers([("Contact", str(contact))]),
            body=caller_answer.encode(),
            content_type=SDP,
        )
        dialog = Dialog.as_uas(tx.request, response, contact, peer=tx.source)
        call.caller_dialog = dialog
        self.endpoint.add_dialog(dialog)
        self._dialogs[dialog.key] = (call, Side.CALLER)
        tx.send_response(response)
        log.debug("call %s connected to agent %s", call.call_id, leg.agent_id)

    def _redirect_to(self, call: Call, binding: Binding) -> None:
        agent_id = call.offered_agent
        call.offered_agent = None
        log.debug("call %s redirected to agent %s", call.call_id, agent_id)
        # Answer the caller first: the router's CallFinished then finds the call already ended.
        call.admitted = False
        self._finish(call, 302, contact=str(binding.contact.uri))
        if self._act(lambda now: self.runtime.engine.offer_answered(call.call_id, now)):
            self._act(lambda now: self.runtime.engine.call_ended(call.call_id, now))

    def _binding(self, agent_id: str) -> Binding | None:
        username = self.intake.agent_sip_username(agent_id)
        if not username:
            return None
        bindings = self.registrar.lookup(username)
        # The most recently refreshed registration is the phone most likely still there.
        return bindings[-1] if bindings else None

    # -- ending ----------------------------------------------------------------------------

    def _finish(self, call: Call, status: int, *, contact: str | None = None) -> None:
        """Answer the caller's INVITE with a final non-2xx status and end the call."""
        tx = call.invite_tx
        if tx is not None and not tx.final_sent:
            headers = Headers([("Contact", f"<{contact}>")]) if contact else None
            tx.respond(status, headers=headers)
        self._end(call, None, status=status)

    def _end(self, call: Call, by: Side | None, *, status: int = 487) -> None:
        """End both legs (except the side that hung up), tell the router, free the media."""
        if call.ended:
            return
        call.ended = True
        tx = call.invite_tx
        if tx is not None and not tx.final_sent:
            tx.respond(status)
        if call.local is not None and by is not Side.CALLER:
            call.local.hang_up()
        if call.caller_dialog is not None and by is not Side.CALLER:
            self._bye(call.caller_dialog)
        leg = call.agent
        if leg is not None:
            if leg.dialog is not None:
                if by is not Side.AGENT:
                    self._bye(leg.dialog)
            else:
                leg.withdrawn = True
                self._cancel_leg(leg)
        if call.connected:
            call.connected = False
            self._act(lambda now: self.runtime.engine.call_ended(call.call_id, now))
        elif call.admitted:
            self._act(lambda now: self.runtime.engine.caller_abandoned(call.call_id, now))
        call.admitted = False
        if call.media is None:
            # Nothing to close (a redirect, a refusal; media still opening closes itself when
            # it finds the call ended): forget the call now rather than in a task.
            self._forget(call)
        else:
            self._spawn(self._cleanup(call))

    def _bye(self, dialog: Dialog) -> None:
        self.endpoint.remove_dialog(dialog)
        self._dialogs.pop(dialog.key, None)
        self.endpoint.send_request(dialog.create_request("BYE"), dialog.peer)

    async def _cleanup(self, call: Call) -> None:
        try:
            await self._close_media(call)
        finally:
            self._forget(call)

    def _forget(self, call: Call) -> None:
        self._calls.pop(call.call_id, None)
        if call.invite_tx is not None:
            self._by_invite.pop(call.invite_tx, None)
        for dialog in (call.caller_dialog, call.agent.dialog if call.agent else None):
            if dialog is not None:
                self._dialogs.pop(dialog.key, None)
                self.endpoint.remove_dialog(dialog)
        call.closed.set()

    async def _close_media(self, call: Call) -> None:
        media, call.media = call.media, None
        if media is None:
            return
        try:
            recording = await media.close()
        except Exception:
            log.exception("call %s: its recording could not be finished", call.call_id)
        else:
            if recording is not None:
                log.debug("call %s recorded", call.call_id)

    # -- console controls (router.intake.CallControl) --------------------------------------

    def hold(self, call_id: str) -> None:
        """Put the caller on hold: hold audio, recording paused, the agent's phone re-INVITEd."""
        call = self._connected(call_id)
        if call.on_hold:
            return
        call.on_hold = True
        assert call.media is not None
        call.media.hold(self.hold_audio)
        self._settling(call, self._reinvite_agent(call, Direction.INACTIVE))

    def resume(self, call_id: str) -> None:
        """Take the caller off hold."""
        call = self._connected(call_id)
        if not call.on_hold:
            return
        call.on_hold = False
        self._settling(call, self._resume(call))

    def hang_up(self, call_id: str) -> None:
        """End both legs of a call."""
        call = self._calls.get(call_id)
        if call is None or call.ended:
            raise UnknownCall(f"call {call_id} is not in progress")
        self._end(call, None)

    def transfer(
        self, call_id: str, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Blind-transfer: the agent's leg ends, the caller waits (hold audio) for the next."""
        call = self._connected(call_id)
        assert call.media is not None
        engine = self.runtime.engine
        call.transferring = True
        try:
            self.runtime.act(
                lambda now: engine.transfer(call_id, now, queue_id=queue_id, agent_id=agent_id)
            )
        except RoutingError:
            self.runtime.act(engine.advance)  # hand out events the engine held back
            raise
        finally:
            call.transferring = False
        log.info("call %s transferred (queue %s, agent %s)", call_id, queue_id, agent_id)
        call.connected = False
        call.bridged.clear()
        leg, call.agent = call.agent, None
        if leg is not None and leg.dialog is not None:
            self._bye(leg.dialog)
        if not call.on_hold:
            call.media.requeue(self.hold_audio)
        call.on_hold = False

    def _connected(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None or not call.connected or call.ended or call.media is None:
            raise UnknownCall(f"call {call_id} is not connected")
        return call

    async def _resume(self, call: Call) -> None:
        if call.media is not None:
            await call.media.resume()
        await self._reinvite_agent(call, Direction.SENDRECV)

    def _settling(self, call: Call, work: Coroutine[Any, Any, None]) -> None:
        """Run a hold/resume step; `call.settled` is clear until every such step is done."""
        call.reinvites_pending += 1
        call.settled.clear()

        async def tracked() -> None:
            try:
                await work
            finally:
                call.reinvites_pending -= 1
                if call.reinvites_pending == 0:
                    call.settled.set()

        self._spawn(tracked())

    async def _reinvite_agent(self, call: Call, direction: Direction) -> None:
        async with call.reinvite_lock:
            leg = call.agent
            if leg is None or leg.dialog is None or call.media is None or call.ended:
                return
            dialog = leg.dialog
            sdp = call.media.describe(Side.AGENT, direction)
            request = dialog.create_request("INVITE", body=sdp.encode(), content_type=SDP)
            tx = self.endpoint.send_request(request, dialog.peer)
            final = await tx.wait_final()
            if 200 <= final.status < 300:
                dialog.receive_response(request, final)
                self.endpoint.send_ack(dialog.create_ack(request), dialog.peer)
            else:
                log.warning("call %s: agent phone answered %d to a re-INVITE (%s)",
                            call.call_id, final.status, direction.value)  # fmt: skip

    # -- helpers ---------------------------------------------------------------------------

    def _contact(self, transport: str) -> Address:
        return self.endpoint.contact("switchboard", transport)

    def _act(self, action: Action) -> bool:
        """Apply a router input; False (logged) when the engine refuses it as out of date."""
        try:
            self.runtime.act(action)
        except RoutingError as exc:
            log.info("routing input not applied: %s", exc)
            # The engine keeps events it fired before refusing; hand them out now.
            self.runtime.act(self.runtime.engine.advance)
            return False
        return True

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

"""The state of one call through the B2BUA: the caller's INVITE, the agent leg, the media."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from telephony.calls.identity import CallerIdentity
from telephony.calls.media import CallMedia
from telephony.sdp import SessionDescription
from telephony.sip.dialog import Dialog
from telephony.sip.message import Request
from telephony.sip.transaction import ClientTransaction, ServerTransaction


class LocalCaller(Protocol):
    """A caller that reached Switchboard other than by an INVITE (a PBX extension's call).

    It is answered already where it came in, and sends its audio to the relay as RTP from the
    address of the offer it was admitted with.
    """

    def media_ready(self, answer: SessionDescription) -> None:
        """Send audio to the relay port this answer names (called once, before any offer)."""

    def hang_up(self) -> None:
        """Switchboard ended the call (the agent hung up, a refusal, shutdown); must not block."""


@dataclass(eq=False)
class AgentLeg:
    """Switchboard's INVITE to one agent's phone for one offer."""

    agent_id: str
    invite: Request
    # The SDP offer the INVITE carried (the agent's answer must pick one of its codecs).
    offered: SessionDescription = field(repr=False)
    tx: ClientTransaction | None = None
    # The offer was withdrawn (RONA, caller gone): CANCEL it, or BYE it if it answers anyway.
    withdrawn: bool = False
    cancel_sent: bool = False
    dialog: Dialog | None = None


@dataclass(eq=False)
class Call:
    """One caller: queued, ringing an agent, connected, or ended."""

    call_id: str
    # The caller's INVITE; None for a local caller (`local`), which has no SIP dialog here.
    invite_tx: ServerTransaction | None = field(repr=False)
    # The caller's SDP offer; None for a late offer (the caller answers in its ACK).
    offer: SessionDescription | None = field(repr=False)
    # Customer data (numbers): kept out of reprs, so a logged Call never shows it.
    identity: CallerIdentity = field(repr=False)
    # Set once the router admitted the call (it is in the engine until it ends).
    admitted: bool = False
    redirect: bool = False
    # The agent the router's current offer rings; None between offers.
    offered_agent: str | None = None
    agent: AgentLeg | None = None
    media: CallMedia | None = None
    # Held while the relay session is opened, so an offer and early media open it only once.
    media_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    caller_dialog: Dialog | None = None
    connected: bool = False
    on_hold: bool = False
    # Set while the router applies a transfer: its CallFinished ends the agent's part only.
    transferring: bool = False
    ended: bool = False
    # One re-INVITE at a time per call (a second would get 491 Request Pending).
    reinvite_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Hold/resume re-INVITEs not yet answered; `settled` is set when there are none.
    reinvites_pending: int = 0
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    # Set each time the caller and an agent are joined: the caller ACKed its 200, or a
    # transferred caller was reconnected (tests and the console can wait on it).
    bridged: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when both legs are down and the media is closed (tests and drain wait on it).
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    local: LocalCaller | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.settled.set()

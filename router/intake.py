"""Where a new call goes: the question telephony asks when an INVITE arrives, and the answers.

Telephony knows SIP, not routes, hours or customers; the composition root knows those. This
module is the small interface between them (DESIGN.md: packages meet through interfaces passed
in by the composition root). It is pure data and a Protocol, like the rest of `router/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A call as telephony received it: its id, who called, what they dialled, any hint."""

    call_id: str
    ani: str
    dnis: str
    # The X-Customer-Id header, when the caller's system (an IVR, a web call button) knows it.
    customer_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The call is in the router's queue `queue_id`; offers for it follow as router events.

    With `redirect` set (the route's redirect mode), telephony answers the offer with a 302 to
    the agent's contact instead of bridging the call.
    """

    queue_id: str
    redirect: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Refused:
    """Answer the caller with this final SIP status (486 busy, 480 unavailable, 503...)."""

    sip_status: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Redirected:
    """Answer the caller with a 302 to this SIP URI (an overflow number elsewhere)."""

    uri: str
    reason: str = ""


Admission = Enqueued | Refused | Redirected


class CallIntake(Protocol):
    """Admit new calls into routing; implemented by the composition root."""

    def admit(self, call: IncomingCall) -> Admission:
        """Decide where `call` goes now; for Enqueued, the router already holds the call.

        Telephony must be ready for router events about `call.call_id` before calling this:
        an idle agent can be offered the call inside `admit`.
        """
        ...

    def agent_sip_username(self, agent_id: str) -> str | None:
        """Return the SIP username an agent's phone registers with, or None if unknown."""
        ...


class CallControl(Protocol):
    """Act on a connected call from the agent's console; implemented by telephony.

    Each method raises `router.events.UnknownCall` for a call it does not hold.
    """

    def hold(self, call_id: str) -> None:
        """Put the caller on hold (hold audio plays to them; the tee records silence)."""
        ...

    def resume(self, call_id: str) -> None:
        """Take the caller off hold."""
        ...

    def hang_up(self, call_id: str) -> None:
        """End both legs of the call (the agent goes to wrap-up as after any call)."""
        ...

    def transfer(
        self, call_id: str, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Blind-transfer the caller to a queue or an agent; the current agent's leg ends."""
        ...

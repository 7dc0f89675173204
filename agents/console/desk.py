"""One agent's desk as the console sees it: the ringing offer, the call, the wrap-up draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agents.console.models import WrapUp


@dataclass
class OfferInfo:
    """A call ringing for the agent; `deadline` is on the routing clock."""

    call_id: str
    queue_id: str
    deadline: float
    timeout_s: float


@dataclass
class CallInfo:
    """The connected call, with its hold time so far (routing clock)."""

    call_id: str
    queue_id: str
    answered_at: datetime
    answered_clock: float
    hold_since: float | None = None
    hold_s: float = 0.0

    def held(self, now: float) -> float:
        """Return the seconds on hold so far, counting a hold still going on."""
        return self.hold_s + (0.0 if self.hold_since is None else now - self.hold_since)


@dataclass
class WrapInfo:
    """A finished call to write to the customer's history, with the agent's draft."""

    call_id: str
    queue_id: str
    answered_at: datetime
    talk_s: float
    hold_s: float
    ended_clock: float
    outcome: str = "completed"
    draft: WrapUp | None = None
    writing: bool = False

    def current_draft(self) -> WrapUp:
        """Return the draft, or an empty one for this call."""
        return self.draft if self.draft is not None else WrapUp(call_id=self.call_id)


@dataclass
class Desk:
    """What is going on at one agent's desk."""

    offer: OfferInfo | None = None
    call: CallInfo | None = None
    wrap: WrapInfo | None = None

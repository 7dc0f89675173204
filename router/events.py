"""What the engine says back: decisions and events, each with a reason a person can read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from router.model import AgentState, Destination


@dataclass(frozen=True, slots=True)
class Candidate:
    """One agent or caller that was considered, with the key it was ranked by."""

    id: str
    key: str


@dataclass(frozen=True, slots=True)
class Reason:
    """Explain a decision: the step taken, who was considered, and why this one."""

    step: str
    why: str
    candidates: tuple[Candidate, ...] = ()

    def __str__(self) -> str:
        text = f"{self.step}: {self.why}"
        if self.candidates:
            text += " [considered: " + ", ".join(f"{c.id} ({c.key})" for c in self.candidates)
            text += "]"
        return text


class Outcome(StrEnum):
    """How a caller left a queue."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A caller is waiting in a queue."""

    call_id: str
    queue_id: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring this agent with this caller."""

    call_id: str
    agent_id: str
    queue_id: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class OfferTimedOut:
    """An offer was not answered (or was rejected); the caller is back at the head of its line."""

    call_id: str
    agent_id: str
    misses: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class OfferCancelled:
    """An offer was withdrawn (the caller hung up, or the agent logged out or went not ready)."""

    call_id: str
    agent_id: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class Overflowed:
    """A queue limit sent the caller to a destination."""

    call_id: str
    queue_id: str
    destination: Destination
    reason: Reason


@dataclass(frozen=True, slots=True)
class BullseyeWidened:
    """A waiting caller's eligible pool widened to a later bullseye step."""

    call_id: str
    queue_id: str
    step: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class CallDequeued:
    """A caller left a queue (exactly once per queue it entered)."""

    call_id: str
    queue_id: str
    outcome: Outcome
    waited_s: float


@dataclass(frozen=True, slots=True)
class CallFinished:
    """A connected call ended for its agent; the engine forgets it (unless transferred)."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """A connected caller was blind-transferred by `agent_id`; it re-enters routing in `queue_id`.

    Exactly one of `to_queue` and `to_agent` says what the agent asked for (a transfer to an
    agent re-enters the call's own queue, waiting for that agent first). The record kind is
    `call_transferred`, the one the board's event log documents.
    """

    call_id: str
    agent_id: str
    queue_id: str
    to_queue: str | None
    to_agent: str | None
    reason: Reason


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent moved from one state to another; `reason_code` is set for not ready."""

    agent_id: str
    old: AgentState
    new: AgentState
    reason_code: str | None
    reason: Reason


Event = (
    CallQueued
    | Offer
    | OfferTimedOut
    | OfferCancelled
    | Overflowed
    | BullseyeWidened
    | CallDequeued
    | CallFinished
    | CallTransferred
    | AgentStateChanged
)


class RoutingError(ValueError):
    """An input the engine cannot apply (unknown id, or not allowed in the current state)."""


class UnknownCall(RoutingError):
    """The call id is not known to the engine."""


class UnknownAgent(RoutingError):
    """The agent id is not in the configuration."""


class UnknownQueue(RoutingError):
    """The queue id is not in the configuration."""


class InvalidTransition(RoutingError):
    """The input does not fit the call's or agent's current state."""

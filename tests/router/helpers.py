"""Small builders and event filters shared by the router tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from router import (
    DEFAULT_TIER_BOOSTS,
    AgentSpec,
    AgentState,
    AgentStateChanged,
    Call,
    Engine,
    Event,
    Offer,
    QueueSpec,
)

T = TypeVar("T")


def agent(agent_id: str, queues: dict[str, int] | Iterable[str], **skills: int) -> AgentSpec:
    """Build an agent spec; `queues` may be a list (priority 0) or a mapping."""
    members = dict(queues) if isinstance(queues, dict) else dict.fromkeys(queues, 0)
    return AgentSpec(agent_id, name=agent_id, skills=skills, queues=members)


def engine(queues: Sequence[QueueSpec], agents: Sequence[AgentSpec], seed: int = 0) -> Engine:
    """Build an engine with the default tier boosts."""
    return Engine(queues, agents, DEFAULT_TIER_BOOSTS, seed=seed)


def ready(e: Engine, *agent_ids: str, now: float = 0.0) -> list[Event]:
    """Log agents in and make them ready, in order."""
    events: list[Event] = []
    for agent_id in agent_ids:
        events += e.agent_login(agent_id, now)
        events += e.agent_ready(agent_id, now)
    return events


def call(call_id: str, queue: str, at: float, tier: str = "standard", **kw: object) -> Call:
    """Build a call arriving at `at`."""
    return Call(call_id=call_id, queue_id=queue, arrival=at, tier=tier, **kw)  # type: ignore[arg-type]


def of(kind: type[T], events: Iterable[Event]) -> list[T]:
    """Return the events of one kind."""
    return [e for e in events if isinstance(e, kind)]


def offers(events: Iterable[Event]) -> list[tuple[str, str]]:
    """Return (call, agent) for each offer."""
    return [(o.call_id, o.agent_id) for o in of(Offer, events)]


def states(events: Iterable[Event], agent_id: str) -> list[AgentState]:
    """Return the states an agent moved to."""
    return [e.new for e in of(AgentStateChanged, events) if e.agent_id == agent_id]


def serve(e: Engine, call_id: str, now: float) -> list[Event]:
    """Answer an offered call, then end it."""
    return e.offer_answered(call_id, now) + e.call_ended(call_id, now)

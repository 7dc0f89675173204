"""Drive the real routing engine by hand at chosen times and keep the records it produces."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from board.records import EventRecord, Recorder
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, Event, QueueSpec

# A UTC midnight, so 15-minute, hour and day intervals start at T0.
T0 = 1_795_392_000.0


class Script:
    """A real Engine fed at hand-picked times; every batch goes through the board's Recorder."""

    def __init__(self, queues: Sequence[QueueSpec], agents: Sequence[AgentSpec]) -> None:
        self.now = T0
        self.engine = Engine(queues, agents, DEFAULT_TIER_BOOSTS)
        self.specs = {q.id: q for q in queues}
        self.records: list[EventRecord] = []
        self.recorder = Recorder(lambda: self.now, lambda: self.specs, [self.records.extend])

    def at(self, t: float, action: Callable[[Engine, float], list[Event]]) -> list[Event]:
        """Run `action` at T0 + t seconds and record its events."""
        self.now = T0 + t
        events = action(self.engine, self.now)
        self.recorder(events)
        return events

    def arrive(self, t: float, call_id: str, queue_id: str) -> list[Event]:
        """A caller arrives in a queue."""
        return self.at(t, lambda e, now: e.call_arrived(Call(call_id, queue_id, now), now))

    def login_ready(self, t: float, agent_id: str) -> None:
        """An agent logs in and goes ready."""
        self.at(t, lambda e, now: e.agent_login(agent_id, now))
        self.at(t, lambda e, now: e.agent_ready(agent_id, now))

    def answer(self, t: float, call_id: str) -> None:
        """The ringing agent answers."""
        self.at(t, lambda e, now: e.offer_answered(call_id, now))

    def hang_up(self, t: float, call_id: str) -> None:
        """The connected call ends."""
        self.at(t, lambda e, now: e.call_ended(call_id, now))

    def abandon(self, t: float, call_id: str) -> None:
        """The caller hangs up while waiting."""
        self.at(t, lambda e, now: e.caller_abandoned(call_id, now))

    def wrap_done(self, t: float, agent_id: str) -> None:
        """The agent submits wrap-up."""
        self.at(t, lambda e, now: e.wrap_up_done(agent_id, now))

"""Fan frames out to agents' consoles: one small bounded outbox per connection, never blocking.

A console needs only the newest frame of each kind (its whole state, the queue counts, the
pop), so an outbox keeps one frame per kind: a new one replaces the stale one still waiting.
A slow browser therefore holds at most a few frames and never delays another agent's pop.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

# The kinds of frame; an outbox holds at most one of each.
STATE = "state"
QUEUES = "queues"
POP = "pop"


class Outbox:
    """One connection's frames to send: the newest of each kind, oldest kind first."""

    __slots__ = ("_frames", "_ready", "agent_id", "replaced")

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self._frames: dict[str, bytes] = {}
        self._ready = asyncio.Event()
        self.replaced = 0

    def offer(self, kind: str, frame: bytes) -> None:
        """Queue a frame without waiting; it replaces an unsent frame of the same kind."""
        if kind in self._frames:
            self.replaced += 1
        self._frames[kind] = frame
        self._ready.set()

    async def next(self) -> bytes:
        """Wait for and return the oldest queued frame."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        kind = next(iter(self._frames))
        return self._frames.pop(kind)

    @property
    def queued(self) -> int:
        """Return how many frames wait to be sent."""
        return len(self._frames)


class Hub:
    """Every open console by agent."""

    def __init__(self) -> None:
        self._by_agent: defaultdict[str, set[Outbox]] = defaultdict(set)
        self.connections = 0

    def connect(self, agent_id: str) -> Outbox:
        """Open an outbox for a new console of `agent_id`."""
        outbox = Outbox(agent_id)
        self._by_agent[agent_id].add(outbox)
        self.connections += 1
        return outbox

    def disconnect(self, outbox: Outbox) -> None:
        """Forget a closed console."""
        boxes = self._by_agent.get(outbox.agent_id)
        if boxes is None or outbox not in boxes:
            return
        boxes.discard(outbox)
        self.connections -= 1
        if not boxes:
            del self._by_agent[outbox.agent_id]

    def watching(self, agent_id: str) -> bool:
        """Tell whether the agent has a console open."""
        return agent_id in self._by_agent

    def agents(self) -> list[str]:
        """Return the agents with a console open."""
        return list(self._by_agent)

    def push(self, agent_id: str, kind: str, frame: bytes) -> int:
        """Offer a frame to each of the agent's consoles; return how many got it."""
        boxes = self._by_agent.get(agent_id, ())
        for outbox in boxes:
            outbox.offer(kind, frame)
        return len(boxes)

    def broadcast(self, kind: str, frame: bytes) -> None:
        """Offer the same encoded frame to every console."""
        for boxes in self._by_agent.values():
            for outbox in boxes:
                outbox.offer(kind, frame)

"""Fan frames out to agents' consoles: one small bounded outbox per connection, never blocking.

A console needs only the newest frame of each kind (its whole state, the queue counts, the
pop), so an outbox keeps one frame per kind: a new one replaces the stale one still waiting.
A slow browser therefore holds at most a few frames and never delays another agent's pop.
A pop leaves before any other waiting frame; a frame for every console goes out in chunks,
so the event loop serves pops between them instead of after thousands of sends.
"""

from __future__ import annotations

import asyncio
import struct
from collections import defaultdict
from collections.abc import Callable

# The kinds of frame; an outbox holds at most one of each.
STATE = "state"
QUEUES = "queues"
POP = "pop"
# Consoles offered a broadcast frame before yielding to the event loop: each wakes a sender,
# so this bounds how many sends a pop can find ahead of it (a few milliseconds' worth).
CHUNK = 200

# A websocket ping with no payload (RFC 6455 section 5.5.2), the same bytes for everyone.
PING = b"\x89\x00"

# Writes a whole encoded websocket frame to the connection now and returns True, or returns
# False (closing, or bytes still waiting to leave) so the frame goes through the outbox.
WriteNow = Callable[[bytes], bool]


def text_frame(payload: bytes) -> bytes:
    """Encode one unmasked, uncompressed websocket text frame (RFC 6455 section 5.2)."""
    # Written here rather than by aiohttp's per-connection writer: a board update is the same
    # bytes for every console, so it is framed once per tick, not 10,000 times. A server's
    # frames carry no mask, and an uncompressed message is valid with permessage-deflate
    # too (RFC 7692: RSV1 clear).
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Outbox:
    """One connection's frames to send: the newest of each kind; the pop first, then by age."""

    __slots__ = ("_frames", "_ready", "agent_id", "answered", "replaced", "write_now")

    def __init__(self, agent_id: str, write_now: WriteNow | None = None) -> None:
        self.agent_id = agent_id
        self._frames: dict[str, bytes] = {}
        self._ready = asyncio.Event()
        self.replaced = 0
        self.write_now = write_now
        # Whether the browser answered the last ping (see the console's heartbeat).
        self.answered = True

    def offer_or_write(self, kind: str, frame: bytes, wire: bytes) -> None:
        """Write an encoded websocket frame at once if the connection is idle, else offer it."""
        # A frame of this kind still waiting means the connection is behind: keep one.
        if kind in self._frames or self.write_now is None or not self.write_now(wire):
            self.offer(kind, frame)

    def offer(self, kind: str, frame: bytes) -> None:
        """Queue a frame without waiting; it replaces an unsent frame of the same kind."""
        if kind in self._frames:
            self.replaced += 1
        self._frames[kind] = frame
        self._ready.set()

    async def next(self) -> bytes:
        """Wait for and return the pop if one waits, else the oldest queued frame."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        pop = self._frames.pop(POP, None)
        if pop is not None:
            return pop
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

    def connect(self, agent_id: str, write_now: WriteNow | None = None) -> Outbox:
        """Open an outbox for a new console of `agent_id` (`write_now`: see WriteNow)."""
        outbox = Outbox(agent_id, write_now)
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

    async def broadcast_in_chunks(
        self, kind: str, frame: bytes, chunk: int = CHUNK, spread_s: float = 0.0
    ) -> None:
        """Send the same frame to every console, chunk by chunk over about `spread_s`.

        An idle console's connection gets the websocket frame, encoded once, written at
        once; a busy one gets it through its outbox (which keeps only the newest).
        """
        wire = text_frame(frame)
        # A copy: consoles come and go while this yields (a new one gets its own frame on
        # connect; a closed one's outbox is simply never read).
        outboxes = [outbox for boxes in self._by_agent.values() for outbox in boxes]
        # Paced rather than as fast as possible: 10,000 frames at once are a burst every
        # second that the loop, the network and the receiving end must swallow before a pop
        # that arrives meanwhile; spread out, a pop finds at most one chunk ahead of it.
        pause = spread_s * chunk / len(outboxes) if outboxes else 0.0
        for start in range(0, len(outboxes), chunk):
            for outbox in outboxes[start : start + chunk]:
                outbox.offer_or_write(kind, frame, wire)
            # Woken senders run before this resumes, with any pop that came in meanwhile.
            await asyncio.sleep(pause if start + chunk < len(outboxes) else 0)

"""Fan the board out: one frame built and encoded per tick, a bounded queue per connection.

Every open board gets the same bytes (the JSON is encoded ONCE per tick, however many boards
are open). Each connection has its own small queue; a slow browser only loses its own older
frames (each frame is the whole board, so the newest one supersedes the rest) and never
delays another board.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 1.0  # the limit: at most one update a second


class Connection:
    """One board's queue of frames to send; the oldest frame goes when it is full."""

    def __init__(self, size: int) -> None:
        self._frames: deque[bytes] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self.dropped = 0

    def offer(self, frame: bytes) -> None:
        """Queue a frame without waiting."""
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(frame)
        self._ready.set()

    async def next(self) -> bytes:
        """Wait for and return the oldest queued frame."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    @property
    def queued(self) -> int:
        """Return how many frames wait to be sent."""
        return len(self._frames)


class Broadcaster:
    """Build the board frame on a timer while anyone watches, and offer it to every board."""

    def __init__(
        self,
        build: Callable[[], dict[str, Any]],
        interval_s: float = MIN_INTERVAL_S,
        queue_size: int = 2,
    ) -> None:
        if interval_s < MIN_INTERVAL_S:
            raise ValueError(f"board updates are at most one a second, got {interval_s} s")
        self._build = build
        self.interval_s = interval_s
        self.queue_size = queue_size
        self.connections: set[Connection] = set()
        self.latest: bytes | None = None
        self.frames_built = 0
        self._task: asyncio.Task[None] | None = None

    def connect(self) -> Connection:
        """Register a new board and give it the latest frame at once (no new encoding)."""
        connection = Connection(self.queue_size)
        self.connections.add(connection)
        connection.offer(self.latest if self.latest is not None else self.tick_frame())
        return connection

    def disconnect(self, connection: Connection) -> None:
        """Forget a board."""
        self.connections.discard(connection)

    def tick_frame(self) -> bytes:
        """Build and encode the frame once; remember it as the latest."""
        self.latest = json.dumps(self._build(), separators=(",", ":")).encode()
        self.frames_built += 1
        return self.latest

    def tick(self) -> None:
        """Send one fresh frame to every board (nothing is built when nobody watches)."""
        if not self.connections:
            self.latest = None  # a stale frame must not greet the next board
            return
        frame = self.tick_frame()
        for connection in self.connections:
            connection.offer(frame)

    def start(self) -> None:
        """Start ticking on the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="board-broadcaster")

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            # The pacing of a periodic broadcast: a whole interval after the last tick, so even
            # a late tick is never followed by a catch-up burst.
            await asyncio.sleep(self.interval_s)
            try:
                self.tick()
            except Exception:
                log.exception("building the board frame failed; next tick retries")

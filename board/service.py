"""The board's running parts for one app, built at startup by the cleanup contexts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from board.broadcast import MIN_INTERVAL_S, Broadcaster
from board.eventlog import EventLog, EventLogOptions
from board.live import LiveBoard, Routing
from board.prom import BoardMetrics
from board.records import Recorder


@dataclass(frozen=True)
class BoardOptions:
    """How the board writes its log and updates its pages."""

    event_log: EventLogOptions = field(default_factory=EventLogOptions)
    # The limit is one update a second; the Broadcaster refuses anything faster.
    push_interval_s: float = MIN_INTERVAL_S
    # Frames queued per open board; each frame is the whole board, so two are plenty.
    connection_queue: int = 2
    # How often an open board re-checks that its session is still valid.
    session_check_s: float = 15.0
    # Prometheus scrapes `/metrics` with `Authorization: Bearer <token>`. Without a token,
    # `/metrics` needs a signed-in supervisor: nothing is public unless configured so.
    metrics_token: str | None = None


@dataclass
class BoardService:
    """What the board's routes use: routing, the log, the live state and the fan-out."""

    db: AsyncEngine
    options: BoardOptions
    clock: Callable[[], float]
    metrics: BoardMetrics
    event_log: EventLog
    live: LiveBoard
    routing: Routing | None = None
    recorder: Recorder | None = None
    broadcaster: Broadcaster | None = None
    sockets: set[web.WebSocketResponse] = field(default_factory=set)

    def started(self) -> tuple[Routing, Recorder, Broadcaster]:
        """Return routing, the recorder and the broadcaster (set once the app has started)."""
        if self.routing is None or self.recorder is None or self.broadcaster is None:
            raise RuntimeError("the board is not started (the app's startup has not run)")
        return self.routing, self.recorder, self.broadcaster


BOARD = web.AppKey("board.service", BoardService)
METRICS = web.AppKey("board.metrics", BoardMetrics)

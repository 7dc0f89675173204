"""The durable event log: batched, append-only writes that never block routing.

`EventLog.append` (the runtime listener's sink) only puts records in a bounded in-memory
buffer; a background task writes the buffer in one transaction every `flush_interval_s`, or
as soon as `batch_size` records are waiting. So routing never waits for the database, and a
crash loses at most the records of one batch window (those not yet written: at most
`flush_interval_s` worth, or `batch_size` records). When the database is away, batches stay
buffered and are retried; past `max_buffered` records the OLDEST are dropped, counted and
logged (routing must go on; the buffer must not eat the machine's memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from board.records import EventRecord
from board.tables import events

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "board_alembic_version"


@dataclass(frozen=True)
class EventLogOptions:
    """How often the log is written and how much it may hold in memory."""

    flush_interval_s: float = 0.25
    batch_size: int = 500
    max_buffered: int = 200_000


def _row(record: EventRecord) -> dict[str, object]:
    return {
        "at_us": round(record.at * 1_000_000),
        "kind": record.kind,
        "call_id": record.call_id,
        "agent_id": record.agent_id,
        "queue_id": record.queue_id,
        "data": dict(record.data),
    }


class EventLog:
    """Buffer records in memory and write them in batches from one background task."""

    def __init__(self, engine: AsyncEngine, options: EventLogOptions | None = None) -> None:
        self.engine = engine
        self.options = options or EventLogOptions()
        self._buffer: deque[EventRecord] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._progress = asyncio.Condition()
        self.written = 0
        self.dropped = 0
        self.failures = 0

    @property
    def buffered(self) -> int:
        """Return how many records wait to be written."""
        return len(self._buffer)

    def append(self, records: Sequence[EventRecord]) -> None:
        """Queue records for writing; never waits (called from inside routing)."""
        buffer = self._buffer
        buffer.extend(records)
        overflow = len(buffer) - self.options.max_buffered
        if overflow > 0:
            for _ in range(overflow):
                buffer.popleft()
            self.dropped += overflow
            log.error("event log buffer full: dropped the %d oldest records", overflow)
        if len(buffer) >= self.options.batch_size:
            self._wake.set()

    def start(self) -> None:
        """Start the background writer on the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="board-event-log-writer")

    async def close(self) -> None:
        """Stop the writer, then write what is still buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("event log: %d records could not be written at shutdown", self.buffered)

    async def flush(self) -> int:
        """Write everything buffered now, one transaction per batch; return how many."""
        total = 0
        async with self._lock:
            while self._buffer:
                size = min(len(self._buffer), self.options.batch_size)
                batch = [self._buffer.popleft() for _ in range(size)]
                try:
                    async with self.engine.begin() as connection:
                        await connection.execute(events.insert(), [_row(r) for r in batch])
                except BaseException:
                    # Put the batch back in front, in order, for the next attempt.
                    self._buffer.extendleft(reversed(batch))
                    raise
                total += size
                self.written += size
        if total:
            async with self._progress:
                self._progress.notify_all()
        return total

    async def wait_written(self, count: int) -> None:
        """Wait until at least `count` records have been written since start."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.written >= count)

    async def wait_failed(self, count: int) -> None:
        """Wait until the background writer has failed at least `count` times."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.failures >= count)

    async def _run(self) -> None:
        interval = self.options.flush_interval_s
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 a cancelled wait_for was seen waiting
            # forever on its inner Event.wait task, so close() hung after a database stall.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                self.failures += 1
                log.exception("event log write failed; %d records kept for retry", self.buffered)
                async with self._progress:
                    self._progress.notify_all()
                await asyncio.sleep(interval)  # back off one window before retrying


def _record(row: object) -> EventRecord:
    mapping = row._mapping  # type: ignore[attr-defined]
    return EventRecord(
        at=mapping["at_us"] / 1_000_000,
        kind=mapping["kind"],
        call_id=mapping["call_id"],
        agent_id=mapping["agent_id"],
        queue_id=mapping["queue_id"],
        data=mapping["data"],
    )


async def read_records(engine: AsyncEngine, start: float, end: float) -> list[EventRecord]:
    """Return the records with start <= at < end, oldest first (in write order on ties)."""
    query = (
        events.select()
        .where(events.c.at_us >= round(start * 1_000_000), events.c.at_us < round(end * 1_000_000))
        .order_by(events.c.at_us, events.c.id)
    )
    async with engine.connect() as connection:
        result = await connection.execute(query)
        return [_record(row) for row in result]

"""The durable event log on real SQLite and PostgreSQL: batching, order, round trip, retry."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from board.eventlog import MIGRATIONS_DIR, VERSION_TABLE, EventLog, EventLogOptions, read_records
from board.live import LiveBoard
from board.records import EventRecord, Recorder
from board.tables import events
from config.database import create_engine, upgrade
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, QueueSpec
from router.model import Destination, DestinationKind
from router.runtime import RoutingRuntime
from tests.board.support import T0, Script

SALES = QueueSpec("sales", sl_threshold_s=20, wrap_up_s=5)


def script() -> Script:
    s = Script([SALES], [AgentSpec("ada", queues={"sales": 1})])
    s.login_ready(0, "ada")
    s.arrive(10, "c1", "sales")
    s.answer(12, "c1")
    s.hang_up(40, "c1")
    s.arrive(41, "c2", "sales")
    s.abandon(50, "c2")
    return s


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.scalar(select(func.count()).select_from(events))) or 0)


async def test_every_record_round_trips_in_order(db: AsyncEngine) -> None:
    records = script().records
    log = EventLog(db, EventLogOptions(flush_interval_s=60, batch_size=4))
    log.append(records)
    assert await log.flush() == len(records)
    back = await read_records(db, T0, T0 + 3600)
    assert back == [
        EventRecord(r.at, r.kind, r.call_id, r.agent_id, r.queue_id, dict(r.data)) for r in records
    ]
    kinds = [r.kind for r in back]
    assert kinds[:2] == ["agent_state_changed", "agent_state_changed"]  # login, ready
    assert "call_dequeued" in kinds and "call_finished" in kinds
    dequeued = [r for r in back if r.kind == "call_dequeued"]
    assert [r.data["outcome"] for r in dequeued] == ["answered", "abandoned"]
    assert dequeued[0].data["sl_threshold_s"] == 20
    assert back[0].data["reason"]["why"] == "logged in"
    # The range is half-open and the time filter works in the database.
    assert await read_records(db, T0 + 10.5, T0 + 40) == [
        r for r in back if T0 + 10.5 <= r.at < T0 + 40
    ]


async def test_the_writer_flushes_a_full_batch_without_waiting_for_the_timer(
    db: AsyncEngine,
) -> None:
    records = script().records
    log = EventLog(db, EventLogOptions(flush_interval_s=3600, batch_size=len(records)))
    log.start()
    try:
        log.append(records[:-1])
        log.append(records[-1:])  # the batch is full: the writer wakes at once
        async with asyncio.timeout(20):
            await log.wait_written(len(records))
    finally:
        await log.close()
    assert await count(db) == len(records)


async def test_the_timer_flushes_a_partial_batch_and_close_writes_the_rest(
    db: AsyncEngine,
) -> None:
    records = script().records
    log = EventLog(db, EventLogOptions(flush_interval_s=0.05, batch_size=10_000))
    log.start()
    log.append(records[:3])
    async with asyncio.timeout(20):
        await log.wait_written(3)
    log.append(records[3:])
    await log.close()
    assert await count(db) == len(records)
    assert log.buffered == 0


async def test_a_failed_write_keeps_records_for_retry_and_the_buffer_is_bounded(
    tmp_path: Path,
) -> None:
    # A database without the table (not migrated yet): every write fails until it is.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'late.db'}")
    records = script().records
    log = EventLog(engine, EventLogOptions(flush_interval_s=60, batch_size=4, max_buffered=6))
    log.append(records[:6])
    with pytest.raises(OperationalError, match="no such table"):
        await log.flush()
    assert log.buffered == 6  # nothing lost on a failed write
    log.append(records[6:8])
    assert (log.buffered, log.dropped) == (6, 2)  # the two oldest went, and were counted
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    assert await log.flush() == 6
    assert [r.at for r in await read_records(engine, T0, T0 + 3600)] == [r.at for r in records[2:8]]
    await engine.dispose()


@contextlib.asynccontextmanager
async def table_locked(db: AsyncEngine, log: EventLog) -> AsyncIterator[None]:
    """Hold a lock that stops every write to the event log; enter once the writer is stuck."""
    if db.dialect.name == "sqlite":
        assert db.url.database is not None
        other = sqlite3.connect(db.url.database, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            # The writer gives up after SQLite's busy timeout and keeps its records.
            log.append(script().records[:1])
            async with asyncio.timeout(20):
                await log.wait_failed(1)
            yield
        finally:
            other.rollback()
            other.close()
        return
    async with db.connect() as other, db.connect() as watcher:
        await other.execute(text("LOCK TABLE board_events IN ACCESS EXCLUSIVE MODE"))
        log.append(script().records[:1])
        waiting = text(
            "SELECT count(*) FROM pg_locks"
            " WHERE NOT granted AND relation = 'board_events'::regclass"
        )
        try:
            # Wait until the writer's insert is queued behind the lock.
            async with asyncio.timeout(20):
                while not await watcher.scalar(waiting):
                    await watcher.rollback()
            yield
        finally:
            await other.rollback()


async def test_routing_goes_on_while_the_log_cannot_be_written(db: AsyncEngine) -> None:
    log = EventLog(db, EventLogOptions(flush_interval_s=0.05, batch_size=8))
    loop = asyncio.get_running_loop()
    runtime = RoutingRuntime(Engine([SALES], [], DEFAULT_TIER_BOOSTS), loop.time, loop.call_at)
    live = LiveBoard(time.time)
    runtime.subscribe(Recorder(time.time, lambda: {"sales": SALES}, [log.append, live.apply]))
    log.start()
    try:
        async with table_locked(db, log):
            for n in range(40):
                runtime.act(
                    lambda now, n=n: runtime.engine.call_arrived(Call(f"c{n}", "sales", now), now)
                )
            # Every caller is routed and on the board while the writer is stuck.
            assert len(runtime.engine.call_ids()) == 40
            assert len(live.calls) == 40
            assert log.written == 0
            assert log.buffered >= 40  # the first record may be in the stuck transaction
        async with asyncio.timeout(20):
            await log.wait_written(41)
    finally:
        await log.close()
        runtime.close()
    logged = await read_records(db, 0, 1e12)
    assert [r.call_id for r in logged if r.kind == "call_queued"] == [f"c{n}" for n in range(40)]


async def test_each_kind_of_routing_event_the_issue_names_is_logged(db: AsyncEngine) -> None:
    sales = QueueSpec(
        "sales",
        sl_threshold_s=20,
        wrap_up_s=30,
        offer_timeout_s=10,
        rona_max_misses=1,
        max_wait_s=60,
        on_max_wait=Destination(DestinationKind.QUEUE, "support"),
    )
    support = QueueSpec("support", wrap_up_s=30)
    s = Script([sales, support], [AgentSpec("ada", queues={"sales": 1})])
    s.login_ready(0, "ada")  # agent login, state change
    s.arrive(10, "c1", "sales")  # arrived: offered at once
    s.at(21, lambda e, now: e.advance(now))  # RONA: ada goes not ready, c1 queued again
    s.at(75, lambda e, now: e.advance(now))  # c1 waited past 60 s: overflowed to support
    s.at(80, lambda e, now: e.agent_ready("ada", now))
    s.arrive(81, "c2", "sales")
    s.answer(82, "c2")  # answered
    s.hang_up(90, "c2")  # ended
    s.wrap_done(95, "ada")  # wrap-up done
    s.abandon(96, "c1")  # abandoned (in support)
    s.at(97, lambda e, now: e.agent_logout("ada", now))  # logout
    log = EventLog(db)
    log.append(s.records)
    await log.flush()
    back = await read_records(db, T0, T0 + 3600)
    kinds = {r.kind for r in back}
    assert {"offer", "offer_timed_out", "call_queued", "overflowed", "call_finished"} <= kinds
    outcomes = [
        (r.call_id, r.queue_id, r.data["outcome"]) for r in back if r.kind == "call_dequeued"
    ]
    assert ("c1", "sales", "overflowed") in outcomes
    assert ("c2", "sales", "answered") in outcomes
    assert ("c1", "support", "abandoned") in outcomes
    moves = [(r.data["old"], r.data["new"]) for r in back if r.kind == "agent_state_changed"]
    assert moves[0] == ("logged_out", "not_ready")  # login
    assert ("wrap_up", "ready") in moves  # wrap-up done
    assert moves[-1][1] == "logged_out"  # logout
    assert ("reserved", "not_ready") in moves  # RONA took ada out

"""Trying a change on the last day's real callers, read back from the board's event log."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.arrivals import calls_from_log
from agents import Role
from board import eventlog
from board.eventlog import EventLog, read_records
from board.records import EventRecord, Recorder
from config.compile import to_router
from config.database import create_engine, upgrade
from config.loader import load_config
from router.engine import Engine
from router.model import Call
from tests.admin.support import EXAMPLE, build_admin_app
from tests.web.support import PASSWORD, FakeClock, sign_in

Client = TestClient[web.Request, web.Application]

# The admin's fake wall clock starts here; the logged calls are in the 24 hours before it.
NOW = FakeClock().now.timestamp()


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now


async def log_a_morning(engine: AsyncEngine) -> None:
    """Route two real calls through the engine and write its events to the event log."""
    await upgrade(engine, eventlog.MIGRATIONS_DIR, eventlog.VERSION_TABLE)
    model = to_router(load_config(EXAMPLE))
    router = Engine(*model)
    log = EventLog(engine)
    clock = Clock(NOW - 3600)
    recorder = Recorder(clock, lambda: {q.id: q for q in model.queues}, [log.append])
    start = clock.now

    def at(offset: float, events: Callable[[float], list[object]]) -> None:
        clock.now = start + offset
        recorder(events(offset))  # type: ignore[arg-type]

    at(0, lambda t: router.agent_login("ben.hughes", t))
    at(0, lambda t: router.agent_ready("ben.hughes", t))
    at(5, lambda t: router.call_arrived(Call("real-1", "sales", arrival=t), t))
    at(8, lambda t: router.offer_answered("real-1", t))
    # Nobody serving billing is logged in: this caller hangs up after 30 s.
    at(15, lambda t: router.call_arrived(Call("real-2", "billing", arrival=t), t))
    at(45, lambda t: router.caller_abandoned("real-2", t))
    at(128, lambda t: router.call_ended("real-1", t))
    await log.flush()


async def test_callers_are_rebuilt_from_the_logged_events(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
    try:
        await log_a_morning(engine)
        records = await read_records(engine, NOW - 86400, NOW)
    finally:
        await engine.dispose()
    calls = calls_from_log(records)
    assert [(c.queue_id, c.arrival_s) for c in calls] == [("sales", 0.0), ("billing", 10.0)]
    answered, abandoned = calls
    assert answered.handle_s == 120.0
    assert math.isinf(answered.patience_s)
    assert abandoned.patience_s == 30.0
    # Talk time unknown (never answered): the mean of the calls that were.
    assert abandoned.handle_s == 120.0
    # No real call id leaves the log.
    assert {c.call_id for c in calls}.isdisjoint({"real-1", "real-2"})


async def test_the_api_tries_a_change_on_the_last_day(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    engines: list[AsyncEngine] = []

    async def read_events(start: float, end: float) -> Sequence[EventRecord]:
        return await read_records(engines[0], start, end)

    world = build_admin_app(tmp_path / "admin.db", read_events=read_events)
    engines.append(world.web.engine)
    client = await aiohttp_client(world.app)
    await log_a_morning(world.web.engine)
    await world.web.auth.users.create("root", PASSWORD, Role.ADMIN, display_name="Ria")
    token = await sign_in(client, "root")
    queue = (await (await client.get("/api/admin/config/queues/billing")).json())["value"]
    queue["name"] = "Billing and payments"
    response = await client.post(
        "/api/admin/trials",
        json={"section": "queues", "item_id": "billing", "value": queue, "source": "last_day"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["source"] == "last_day"
    assert result["calls"] == 2
    rows = {row["queue_id"]: row for row in result["queues"]}
    assert rows["sales"]["current"]["offered"] == 1
    assert rows["billing"]["proposed"]["offered"] == 1
    # A day later the log has nothing to replay.
    world.web.clock.advance(days=2)
    token = await sign_in(client, "root")  # the session ended meanwhile
    stale = await client.post(
        "/api/admin/trials",
        json={"section": "queues", "item_id": "billing", "value": queue, "source": "last_day"},
        headers={"X-CSRF-Token": token},
    )
    assert stale.status == 422
    assert "source" in (await stale.json())["fields"]


async def test_without_an_event_log_the_last_day_is_refused(
    client: Client,
) -> None:
    token = await sign_in(client, "root")
    response = await client.post(
        "/api/admin/trials",
        json={"section": "skills", "item_id": "x", "value": {"name": "X"}, "source": "last_day"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 422
    assert (await response.json())["error"] == "no event log is connected"

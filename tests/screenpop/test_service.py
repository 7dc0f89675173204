"""The screen pop against the real SQLite store and the real engine: the lookup runs beside
queueing, routing hears the tier, the pop reaches the offered agent whichever comes first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.console import identify_in_engine
from config.database import create_engine, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.interface import LookupResult, NewCustomer
from crm_bridge.sql_store import SqlDirectory
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, Offer, QueueSpec
from router.intake import IncomingCall
from router.runtime import RoutingRuntime
from screenpop import ScreenPop

VIP = "+44 20 7946 0001"
NOBODY = "+44 20 7946 0999"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    yield engine
    await engine.dispose()


class GatedDirectory(SqlDirectory):
    """The real store, whose lookups wait at a gate the test opens (a slow CRM)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, default_region="GB")
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def lookup(
        self, ani: str | None, customer_id: str | None = None, account: str | None = None
    ) -> LookupResult:
        self.started.set()
        await self.gate.wait()
        return await super().lookup(ani, customer_id, account)


class World:
    """Routing on the running loop, the pop, and what it delivered."""

    def __init__(self, directory: SqlDirectory) -> None:
        loop = asyncio.get_running_loop()
        engine = Engine(
            [QueueSpec("sales", offer_timeout_s=60, wrap_up_s=60)],
            [AgentSpec("ada", queues={"sales": 1})],
            DEFAULT_TIER_BOOSTS,
        )
        self.runtime = RoutingRuntime(engine, loop.time, loop.call_at)
        self.engine = engine
        self.pop = ScreenPop(lambda: directory, identify_in_engine(lambda: self.runtime))
        self.delivered: list[tuple[str, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.pop.deliver_to(self._deliver)
        self.runtime.subscribe(self.pop.on_events)
        self.offers: list[Offer] = []
        self.runtime.subscribe(
            lambda batch: self.offers.extend(e for e in batch if isinstance(e, Offer))
        )

    def _deliver(self, agent_id: str, pop: dict[str, Any]) -> None:
        self.delivered.append((agent_id, pop))
        self.arrived.set()

    def arrive(self, call_id: str, ani: str) -> None:
        self.pop.call_arrived(IncomingCall(call_id, ani, "+441130000000"), "sales")
        self.runtime.act(
            lambda now: self.engine.call_arrived(Call(call_id, "sales", now, ani=ani), now)
        )

    def ready(self, agent_id: str = "ada") -> None:
        self.runtime.act(lambda now: self.engine.agent_login(agent_id, now))
        self.runtime.act(lambda now: self.engine.agent_ready(agent_id, now))


async def add_vip(store: SqlDirectory) -> str:
    customer_id = await store.create_customer(NewCustomer(name="Grace Hopper", numbers=(VIP,)))
    for _ in range(2):
        await store.add_order(customer_id, revenue_cents=5_000_000, margin_cents=4_000_000)
    return customer_id


async def test_the_call_is_offered_while_the_lookup_runs_and_the_pop_follows(
    db: AsyncEngine,
) -> None:
    store = GatedDirectory(db)
    await add_vip(store)
    world = World(store)
    world.ready()
    world.arrive("c-1", VIP)
    # Queueing did not wait for the CRM: the agent rings before the lookup has even run.
    assert [o.call_id for o in world.offers] == ["c-1"]
    await asyncio.wait_for(store.started.wait(), 10)
    assert world.pop.current("c-1") is None and world.delivered == []
    store.gate.set()
    await asyncio.wait_for(world.arrived.wait(), 10)
    [(agent_id, pop)] = world.delivered
    assert (agent_id, pop["call_id"], pop["tier"]) == ("ada", "c-1", "platinum")
    assert pop["customer"]["name"] == "Grace Hopper"


async def test_a_ready_pop_goes_out_with_the_offer(db: AsyncEngine) -> None:
    store = SqlDirectory(db, default_region="GB")
    await add_vip(store)
    world = World(store)
    world.arrive("c-2", VIP)
    await world.pop.wait("c-2", 10)
    assert world.delivered == []  # nobody is offered the call yet
    world.ready()
    assert [(a, p["call_id"]) for a, p in world.delivered] == [("ada", "c-2")]


async def test_the_tier_moves_a_waiting_vip_ahead(db: AsyncEngine) -> None:
    store = SqlDirectory(db, default_region="GB")
    await add_vip(store)
    world = World(store)
    world.arrive("standard", NOBODY)
    world.arrive("vip", VIP)
    await world.pop.wait("standard", 10)
    await world.pop.wait("vip", 10)
    world.ready()
    # The VIP called second but is offered first: routing heard the tier from the lookup.
    assert [o.call_id for o in world.offers] == ["vip"]


async def test_a_failing_directory_still_pops_an_unknown_caller(tmp_path: Path) -> None:
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    try:
        world = World(SqlDirectory(broken, default_region="GB"))
        world.ready()
        world.arrive("c-3", VIP)
        pop = await world.pop.wait("c-3", 10)
        assert (pop["status"], pop["tier"], pop["customer"]) == ("unknown", "standard", None)
        assert pop["degraded"] == "the customer directory failed"
        await asyncio.wait_for(world.arrived.wait(), 10)
        assert world.engine.call_agent("c-3") == "ada"
    finally:
        await broken.dispose()


async def test_an_abandoned_caller_is_forgotten(db: AsyncEngine) -> None:
    world = World(SqlDirectory(db, default_region="GB"))
    world.arrive("c-4", NOBODY)
    await world.pop.wait("c-4", 10)
    world.runtime.act(lambda now: world.engine.caller_abandoned("c-4", now))
    assert world.pop.current("c-4") is None


async def test_only_the_newest_calls_are_kept(db: AsyncEngine) -> None:
    directory = SqlDirectory(db, default_region="GB")
    pop = ScreenPop(lambda: directory, lambda *_: None, kept=2)
    for n in range(3):
        pop.call_arrived(IncomingCall(f"k-{n}", NOBODY, "+441130000000"), "sales")
    await pop.wait("k-2", 10)
    await pop.wait("k-1", 10)
    assert pop.current("k-0") is None
    await pop.close()

"""A foundation app with routing on the running loop, the real SQLite customer store, the
screen pop and the console: what the composition root builds, with small test queues."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

import agents.console
import crm_bridge.app
from agents import AUTH, Role
from agents.console import ConsoleOptions, ConsoleRouting, DispositionChoice
from config.database import upgrade
from crm_bridge.config import CrmConfig
from crm_bridge.interface import CustomerDirectory
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Call, Engine, QueueSpec
from router.intake import IncomingCall
from router.runtime import RoutingRuntime
from screenpop import ScreenPop
from tests.web.support import PASSWORD, build_app

QUEUES = [
    QueueSpec("sales", name="Sales", offer_timeout_s=60, wrap_up_s=300),
    QueueSpec("support", name="Support", offer_timeout_s=60, wrap_up_s=300),
]
AGENTS = [
    AgentSpec("ada", name="Ada Lovelace", queues={"sales": 1, "support": 1}),
    AgentSpec("bob", name="Bob Builder", queues={"support": 1}),
]
REASONS = {"break": "Break", "training": "Training"}
DISPOSITIONS = [
    DispositionChoice("sale", "Sale made"),
    DispositionChoice("info", "Information given"),
    DispositionChoice("fixed", "Problem fixed", frozenset({"support"})),
]
CRM_LINK = "https://crm.example/customers/{customer_id}"


@dataclass
class ConsoleWorld:
    """The app and, once started, its routing runtime and the customer directory."""

    app: web.Application
    pop: ScreenPop
    console: agents.console.Console
    runtimes: list[RoutingRuntime] = field(default_factory=list)

    @property
    def runtime(self) -> RoutingRuntime:
        """Return the running runtime."""
        return self.runtimes[0]

    @property
    def directory(self) -> CustomerDirectory:
        """Return the customer directory (after startup)."""
        return self.app[crm_bridge.app.CUSTOMER_DIRECTORY]

    def arrive(self, call_id: str, ani: str, queue_id: str = "sales") -> None:
        """Let a call arrive as the routing service admits one: queued, then the lookup starts."""
        engine = self.runtime.engine
        self.runtime.act(
            lambda now: engine.call_arrived(Call(call_id, queue_id, now, ani=ani), now)
        )
        self.pop.call_arrived(IncomingCall(call_id, ani, "+441130000000"), queue_id)


def build_console_app(db_path: Path, options: ConsoleOptions | None = None) -> ConsoleWorld:
    """Build the web foundation, the SQLite customer store, routing, the pop and the console."""
    world = build_app(db_path)
    app, engine = world.app, world.engine
    runtimes: list[RoutingRuntime] = []

    @contextlib.asynccontextmanager
    async def crm_tables(_: web.Application) -> AsyncIterator[None]:
        await upgrade(engine, crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE)
        yield

    @contextlib.asynccontextmanager
    async def routing(_: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        runtime = RoutingRuntime(
            Engine(QUEUES, AGENTS, DEFAULT_TIER_BOOSTS), loop.time, loop.call_at
        )
        runtimes.append(runtime)
        yield
        runtime.close()

    app.cleanup_ctx.append(crm_tables)
    # A shared test machine can be slow: the budgets are the CRM tests' business, not these.
    crm_bridge.app.setup(
        app, engine, CrmConfig(default_region="GB", lookup_budget_s=10.0, view_budget_s=10.0)
    )
    app.cleanup_ctx.append(routing)
    pop = ScreenPop(
        lambda: app[crm_bridge.app.CUSTOMER_DIRECTORY],
        agents.console.identify_in_engine(lambda: runtimes[0]),
        crm_link=CRM_LINK,
    )
    console = agents.console.setup(
        app,
        routing=lambda: ConsoleRouting(runtimes[0], lambda: QUEUES, lambda: AGENTS),
        directory=lambda: app[crm_bridge.app.CUSTOMER_DIRECTORY],
        pops=pop,
        reason_codes=lambda: REASONS,
        dispositions=lambda: DISPOSITIONS,
        options=options,
    )
    return ConsoleWorld(app, pop, console, runtimes)


async def add_users(app: web.Application) -> None:
    """Create agents ada and bob, a supervisor without an agent id (sam) and an admin."""
    users = app[AUTH].users
    await users.create("ada", PASSWORD, Role.AGENT, display_name="Ada", agent_id="ada")
    await users.create("bob", PASSWORD, Role.AGENT, display_name="Bob", agent_id="bob")
    await users.create("sam", PASSWORD, Role.SUPERVISOR, display_name="Sam Supervisor")

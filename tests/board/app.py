"""A foundation app with a real routing runtime on the running loop and the board set up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

import board
from agents import AUTH, Role
from config.database import upgrade
from router import DEFAULT_TIER_BOOSTS, AgentSpec, Engine, QueueSpec
from router.runtime import RoutingRuntime
from tests.web.support import PASSWORD, build_app

QUEUES = [
    QueueSpec("sales", name="Sales", sl_threshold_s=20, sl_target=0.8, wrap_up_s=5),
    QueueSpec("support", name="Support", sl_threshold_s=20, sl_target=0.8, wrap_up_s=5),
]
AGENTS = [
    AgentSpec("ada", name="Ada Lovelace", queues={"sales": 1}),
    AgentSpec("bob", name="Bob", queues={"sales": 1}),
]


@dataclass
class BoardWorld:
    """The app and, once started, its routing runtime."""

    app: web.Application
    runtimes: list[RoutingRuntime]

    @property
    def runtime(self) -> RoutingRuntime:
        """Return the running runtime."""
        return self.runtimes[0]


def build_board_app(db_path: Path, options: board.BoardOptions | None = None) -> BoardWorld:
    """Build the web foundation plus routing and the board on one SQLite file."""
    world = build_app(db_path)
    app, engine = world.app, world.engine
    runtimes: list[RoutingRuntime] = []

    @contextlib.asynccontextmanager
    async def board_tables(_: web.Application) -> AsyncIterator[None]:
        await upgrade(engine, board.MIGRATIONS_DIR, board.VERSION_TABLE)
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

    app.cleanup_ctx.append(board_tables)
    app.cleanup_ctx.append(routing)
    board.setup(
        app,
        engine,
        lambda: board.Routing(runtimes[0], lambda: QUEUES, lambda: AGENTS),
        options,
        customer_of=lambda call_id: "Grace Hopper" if call_id == "vip-1" else None,
    )
    return BoardWorld(app, runtimes)


async def add_users(app: web.Application) -> None:
    """Create a supervisor (sam) and an agent (ada)."""
    users = app[AUTH].users
    await users.create("sam", PASSWORD, Role.SUPERVISOR, display_name="Sam Supervisor")
    await users.create("ada", PASSWORD, Role.AGENT, display_name="Ada", agent_id="ada")

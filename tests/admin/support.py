"""An app with the web foundation and the admin, driving a real routing engine."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

import admin
from admin.api import ReadEvents
from config.compile import to_router
from config.database import upgrade
from config.loader import load_config
from config.schema import ContactCentreConfig
from router.engine import Engine
from tests.web.support import World, build_app

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


@dataclass
class LiveRouter:
    """The running router the admin hot-reloads: a real engine and its own clock."""

    engine: Engine
    now: float = 0.0
    applied: list[ContactCentreConfig] = field(default_factory=list)

    def apply(self, config: ContactCentreConfig) -> None:
        """Hot-reload the engine, as the composition root's apply does."""
        self.engine.apply_config(*to_router(config), self.now)
        self.applied.append(config)


@dataclass
class AdminWorld:
    """The web world plus the admin's service and the router it applies to."""

    web: World
    router: LiveRouter
    service: admin.ConfigService

    @property
    def app(self) -> web.Application:
        return self.web.app


def build_admin_app(
    db_path: Path,
    initial: ContactCentreConfig | None = None,
    read_events: ReadEvents | None = None,
) -> AdminWorld:
    """Build the foundation and the admin on a SQLite file, starting from the example config."""
    config = initial if initial is not None else load_config(EXAMPLE)
    router = LiveRouter(Engine(*to_router(config)))
    world = build_app(db_path)

    @contextlib.asynccontextmanager
    async def migrate(_: web.Application) -> AsyncIterator[None]:
        await upgrade(world.engine, admin.MIGRATIONS_DIR, admin.VERSION_TABLE)
        yield

    # After the foundation's own database context, before the admin loads its versions.
    world.app.cleanup_ctx.append(migrate)
    options = admin.AdminOptions(
        initial=config, source="example.yaml", apply=router.apply, read_events=read_events
    )
    service = admin.setup(world.app, world.engine, options, clock=world.clock)
    return AdminWorld(web=world, router=router, service=service)

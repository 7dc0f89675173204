"""Wire the admin pages and API into the app: `setup(app, engine, AdminOptions(...))`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from admin import pages
from admin.api import SERVICE, TRIAL_SOURCES, ReadEvents, TrialSources, api
from admin.service import Apply, ConfigService
from admin.versions import VersionStore
from agents import NavLink, Role, add_nav_link, add_static, add_templates
from config.schema import ContactCentreConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "admin_alembic_version"


@dataclass(frozen=True)
class AdminOptions:
    """What the admin needs from the composition root.

    `initial` is the config the router started with and `source` where it came from (the
    first start saves it as version 1). `apply` hot-reloads the running router with a new
    config (through `runtime.act`, so the reload's events reach every listener) and raises
    ValueError if the router refuses it. `read_events(start, end)` reads
    the event log (wall-clock seconds), so a change can be tried on the last day's callers.
    """

    initial: ContactCentreConfig
    source: str
    apply: Apply
    read_events: ReadEvents | None = None


def setup(
    app: web.Application,
    engine: AsyncEngine,
    options: AdminOptions,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ConfigService:
    """Add the admin pages and API; the admin tables must be migrated before startup."""
    service = ConfigService(
        VersionStore(engine, clock), options.apply, options.initial, options.source
    )
    app[SERVICE] = service
    app[TRIAL_SOURCES] = TrialSources(options.read_events, lambda: clock().timestamp())

    @contextlib.asynccontextmanager
    async def load_versions(_: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield

    app.cleanup_ctx.append(load_versions)
    add_templates(app, jinja2.PackageLoader("admin", "templates"))
    add_static(app, "admin", Path(__file__).parent / "static")
    app.router.add_routes(pages.routes)
    api.install(app)
    add_nav_link(
        app,
        NavLink(
            "Routing config",
            "/admin/config",
            Role.ADMIN,
            "Change routes, queues, skills, hours and agents; try a change before applying it",
        ),
    )
    add_nav_link(
        app,
        NavLink(
            "Config versions",
            "/admin/versions",
            Role.ADMIN,
            "Who changed what and when; restore an earlier version",
        ),
    )
    return service

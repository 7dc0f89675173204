"""The composition root: `create_app(settings)` builds the whole service from its packages.

Each package exposes `setup(app, ...)` and receives typed values, never the environment. Each
resource has ONE cleanup context, started in the order added and torn down in reverse: the
database engine first (so it is there for every later resource and closed last), then the
customer directory, then each package's background tasks.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import aiohttp_remotes
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

import agents
import crm_bridge.app
from agents.ratelimit import Limit, SignInLimits
from config.database import create_engine, upgrade
from config.settings import Settings
from crm_bridge.config import CrmConfig

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("config.settings", Settings)
ENGINE = web.AppKey("config.engine", AsyncEngine)

# Every package that owns tables: its Alembic environment and its own version table.
MIGRATIONS: Sequence[tuple[Path, str]] = (
    (agents.MIGRATIONS_DIR, agents.VERSION_TABLE),
    (crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE),
)

CleanupContext = Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]


def database_context(engine: AsyncEngine) -> CleanupContext:
    """Return the cleanup context that migrates every package's tables, then disposes."""

    @contextlib.asynccontextmanager
    async def database(app: web.Application) -> AsyncIterator[None]:
        for script_location, version_table in MIGRATIONS:
            await upgrade(engine, script_location, version_table)
        log.info("database ready (%s)", engine.url.get_backend_name())
        try:
            yield
        finally:
            await engine.dispose()

    return database


def web_options(settings: Settings) -> agents.WebOptions:
    """Translate the process settings into the web foundation's options."""
    # Without a configured key, one per process: only the sign-in form's token depends on it,
    # and sessions live in the database, so a restart signs nobody out.
    secret = settings.secret_key.encode() if settings.secret_key else secrets.token_bytes(32)
    return agents.WebOptions(
        secret_key=secret,
        session_policy=agents.SessionPolicy(
            idle_timeout=timedelta(seconds=settings.session_idle_timeout_s),
            absolute_timeout=timedelta(seconds=settings.session_absolute_timeout_s),
        ),
        sign_in_limits=SignInLimits(
            per_username=Limit(settings.sign_in_failures_per_username, settings.sign_in_window_s),
            per_address=Limit(settings.sign_in_failures_per_address, settings.sign_in_window_s),
        ),
        force_secure_cookies=settings.force_secure_cookies,
    )


def crm_config(settings: Settings) -> CrmConfig:
    """Translate the process settings into crm_bridge's configuration."""
    return CrmConfig(
        default_region=settings.crm_region,
        lookup_budget_s=settings.crm_lookup_budget_ms / 1000,
    )


def create_app(settings: Settings) -> web.Application:
    """Build the Switchboard web application from the settings."""
    app = web.Application()
    app[SETTINGS] = settings
    proxies = [part.strip() for part in settings.trusted_proxies.split(",") if part.strip()]
    if proxies:
        # First, so every later middleware sees the client's address and scheme, not the
        # proxy's: rate limits per client, Secure cookies when the client used HTTPS.
        # (aiohttp_remotes.setup() is a coroutine that does just this append.)
        app.middlewares.append(aiohttp_remotes.XForwardedStrict([proxies]).middleware)
    engine = create_engine(settings.effective_database_url())
    app[ENGINE] = engine
    app.cleanup_ctx.append(database_context(engine))
    crm_bridge.app.setup(app, engine, crm_config(settings))
    agents.setup(app, engine, web_options(settings))
    return app

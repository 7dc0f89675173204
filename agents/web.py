"""`setup(app, ...)`: the web foundation (auth, sessions, CSRF, headers, pages, API plumbing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from agents import api_session, pages
from agents.access import PUBLIC_RESOURCES, access_middleware, allow_public_resource, public
from agents.api import ENDPOINTS, Api, Endpoint
from agents.auth import AUTH, Auth
from agents.csrf import csrf_middleware
from agents.errors import error_middleware
from agents.headers import add_security_headers
from agents.nav import NAV_LINKS, NavLink
from agents.openapi import build_openapi
from agents.passwords import HashParameters, Passwords
from agents.ratelimit import SignInLimits, SignInThrottle
from agents.roles import Role
from agents.sessions import SessionPolicy, SessionStore
from agents.users import UserDirectory

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
VERSION_TABLE = "agents_alembic_version"


@dataclass(frozen=True)
class WebOptions:
    """How the web foundation behaves; the composition root fills it from the settings."""

    secret_key: bytes
    session_policy: SessionPolicy = field(default_factory=SessionPolicy)
    sign_in_limits: SignInLimits = field(default_factory=SignInLimits)
    hash_parameters: HashParameters = field(default_factory=HashParameters)
    force_secure_cookies: bool = False
    # How often expired sessions and idle rate-limit keys are swept away.
    sweep_interval_s: float = 300.0


def setup(
    app: web.Application,
    engine: AsyncEngine,
    options: WebOptions,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    monotonic: Callable[[], float] = time.monotonic,
) -> Auth:
    """Add sign-in, sessions, roles, CSRF, security headers, pages and the API to `app`."""
    passwords = Passwords(options.hash_parameters)
    auth = Auth(
        users=UserDirectory(engine, passwords, clock),
        sessions=SessionStore(engine, options.session_policy, clock),
        throttle=SignInThrottle(options.sign_in_limits, monotonic),
        secret_key=options.secret_key,
        force_secure_cookies=options.force_secure_cookies,
    )
    app[AUTH] = auth
    app[PUBLIC_RESOURCES] = set()
    app[NAV_LINKS] = [
        NavLink("Agent home", pages.LANDING_PATHS[Role.AGENT], Role.AGENT),
        NavLink("Supervisor home", pages.LANDING_PATHS[Role.SUPERVISOR], Role.SUPERVISOR),
        NavLink("Admin home", pages.LANDING_PATHS[Role.ADMIN], Role.ADMIN),
    ]
    if ENDPOINTS not in app:
        app[ENDPOINTS] = []

    # Outermost first: errors wrap everything, then who may reach the route, then CSRF.
    app.middlewares.extend([error_middleware, access_middleware, csrf_middleware])
    app.on_response_prepare.append(add_security_headers)
    aiohttp_jinja2.setup(
        app,
        # A ChoiceLoader, so add_templates() can put other packages' loaders in front.
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("agents", "templates")]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    allow_public_resource(app, app.router.add_static("/static/", STATIC_DIR, name="static"))
    app.router.add_routes(pages.routes)
    api_session.api.install(app)
    openapi_api.install(app)
    app.cleanup_ctx.append(_sweeper(auth, options.sweep_interval_s))
    return auth


def add_static(app: web.Application, name: str, directory: Path) -> None:
    """Serve a package's static files at /static/<name>/ to anyone (they hold no user data)."""
    # The longest matching prefix wins in aiohttp's router, so this works after setup too.
    allow_public_resource(app, app.router.add_static(f"/static/{name}/", directory))


def add_templates(app: web.Application, loader: jinja2.BaseLoader) -> None:
    """Let pages render a package's templates (tried before the foundation's own)."""
    env_loader = aiohttp_jinja2.get_env(app).loader
    assert isinstance(env_loader, jinja2.ChoiceLoader)  # as setup() made it
    env_loader.loaders = [loader, *env_loader.loaders]


openapi_api = Api(tag="meta")


@openapi_api.route("GET", "/api/openapi.json", role=None)
@public
async def get_openapi(request: web.Request) -> web.StreamResponse:
    """Return the OpenAPI 3.1 document of every installed API route."""
    endpoints: list[Endpoint] = request.app[ENDPOINTS]
    return web.json_response(build_openapi(endpoints))


def _sweeper(
    auth: Auth, interval_s: float
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """Return the cleanup context that runs the periodic sweep as one background task."""

    async def sweep_forever() -> None:
        while True:
            try:
                purged = await auth.sessions.purge_expired()
                auth.throttle.forget()
                if purged:
                    log.info("swept %d expired sessions", purged)
            except Exception:
                # A failed sweep (database briefly away) must not end the task for good.
                log.exception("session sweep failed; will retry")
            await asyncio.sleep(interval_s)

    @contextlib.asynccontextmanager
    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_forever(), name="agents-session-sweeper")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Before the engine goes: the last sessions' uses are written, not lost.
            await auth.sessions.flush()

    return context

"""The composition root: `create_app(settings)` builds the whole service from its packages.

Each package exposes `setup(app, ...)` and receives typed values, never the environment. Each
resource has ONE cleanup context, started in the order added and torn down in reverse: the
database engine first (so it is there for every later resource and closed last), then the
customer directory, the web foundation, routing, the board (its event log), the admin,
recordings, the agent console with the screen pop, and telephony last, so that on shutdown
the calls end first and their events still reach the event log before it flushes.
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

import admin
import agents
import agents.console
import board
import board.recordings
import board.web
import crm_bridge.app
import recording
import telephony.calls
from agents.ratelimit import Limit, SignInLimits
from board.eventlog import read_records
from board.live import Routing
from config.adapters import PhoneOffers, StartedCallControl, customer_name, pop_context
from config.database import create_engine, upgrade
from config.drain import add_drain_hook
from config.loader import load_config
from config.routing import ROUTING, RoutingService, loop_call_at, loop_time, routing_context
from config.schema import ContactCentreConfig
from config.settings import Settings
from config.sip_credentials import load_sip_credentials
from crm_bridge.app import CUSTOMER_DIRECTORY
from crm_bridge.config import CrmConfig
from screenpop import ScreenPop
from telephony.calls.pbx_ingress import setup_pbx_ingress
from telephony.pyvoip import SipAccount
from telephony.sip.registrar import Registrar

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("config.settings", Settings)
ENGINE = web.AppKey("config.engine", AsyncEngine)
SCREEN_POP = web.AppKey("config.screen_pop", ScreenPop)

# Every package that owns tables: its Alembic environment and its own version table.
MIGRATIONS: Sequence[tuple[Path, str]] = (
    (agents.MIGRATIONS_DIR, agents.VERSION_TABLE),
    (crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE),
    (board.MIGRATIONS_DIR, board.VERSION_TABLE),
    (admin.MIGRATIONS_DIR, admin.VERSION_TABLE),
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
    # A bad routing config stops the start here, with every issue (ConfigInvalid).
    config = load_config(settings.config_file)
    routing = RoutingService(config, loop_time, loop_call_at)
    app[ROUTING] = routing
    app.cleanup_ctx.append(routing_context(routing))
    pop = ScreenPop(
        lambda: app[CUSTOMER_DIRECTORY],
        agents.console.identify_in_engine(lambda: routing.runtime),
    )
    app[SCREEN_POP] = pop
    metrics = board.web.setup(
        app,
        engine,
        lambda: board_routing(routing),
        # Without a token, /metrics needs a signed-in supervisor: nothing public by default.
        board.BoardOptions(metrics_token=settings.metrics_token or None),
        customer_of=customer_name(pop),
    )
    admin.setup(
        app,
        engine,
        admin.AdminOptions(
            initial=config,
            source=str(settings.config_file),
            apply=routing.apply,
            read_events=lambda start, end: read_records(engine, start, end),
        ),
    )
    store = recording.RecordingStore(
        settings.data_dir / "recordings", retention_days=settings.recording_retention_days
    )
    recording.setup(app, store)
    board.recordings.setup_recordings(app, recording_file(store))
    # The lookup starts as the call enters its queue and runs beside it (never delays it).
    routing.on_arrival(pop.call_arrived)
    app.cleanup_ctx.append(pop_context(pop))
    credentials_file = settings.sip_credentials_file
    pbx = pbx_account(settings, config)
    console = agents.console.setup(
        app,
        routing=lambda: agents.console.ConsoleRouting(
            routing.runtime, routing.queues, routing.agents
        ),
        directory=lambda: app[CUSTOMER_DIRECTORY],
        pops=pop,
        reason_codes=lambda: {k: v.name for k, v in routing.config.reason_codes.items()},
        dispositions=lambda: [
            agents.console.DispositionChoice(k, v.name, frozenset(v.queues))
            for k, v in routing.config.dispositions.items()
        ],
        # Without telephony, the console drives the engine alone (agents on external phones).
        call_control=None if credentials_file is None else StartedCallControl(app, routing),
        offers=None if credentials_file is None else PhoneOffers(routing),
        recording_of=recording_reference(store),
    )
    # Read at scrape time, beside the board's own websockets.
    metrics.websocket_connections.labels("console").set_function(lambda: console.hub.connections)
    if credentials_file is None:
        log.warning("no sip_credentials_file: agents' phones cannot register, SIP stays off")
        return app
    registrar = Registrar(
        load_sip_credentials(credentials_file),
        realm=settings.sip_realm,
        nonce_secret=settings.secret_key.encode() or None,
    )
    telephony.calls.setup(
        app,
        intake=routing,
        runtime=routing.runtime,
        registrar=registrar,
        recordings=store,
        host=settings.sip_host,
        port=settings.sip_port,
        rtp_ports=(settings.rtp_port_first, settings.rtp_port_last),
        count_message=metrics.sip_message,
        audio_worker=True,
    )
    if pbx is not None:
        setup_pbx_ingress(
            app,
            account=pbx,
            route_number=settings.pbx_route_number,
            media_host=settings.pbx_local_host,
            ring_timeout=settings.pbx_ring_timeout_s,
        )
    add_drain_hook(
        app,
        lambda deadline: app[telephony.calls.B2BUA].drain(deadline),
        stop=lambda: app[telephony.calls.B2BUA].stop_accepting(),
    )
    return app


def pbx_account(settings: Settings, config: ContactCentreConfig) -> SipAccount | None:
    """Return the PBX extension to register as, None when off; refuse settings it cannot use."""
    if not settings.pbx_host:
        return None
    # Its calls go through the B2BUA to registered phones: no telephony, nowhere to go.
    if settings.sip_credentials_file is None:
        raise ValueError("pbx_host is set but sip_credentials_file is not: telephony is off")
    if settings.pbx_route_number not in {route.dnis for route in config.routes.values()}:
        raise ValueError(
            f"pbx_route_number {settings.pbx_route_number!r} is not the dnis of a route in "
            f"{settings.config_file}"
        )
    return SipAccount(
        server=settings.pbx_host,
        port=settings.pbx_port,
        username=settings.pbx_extension,
        password=settings.pbx_password,
        local_host=settings.pbx_local_host,
        sip_port=settings.pbx_sip_port,
        rtp_ports=(settings.pbx_rtp_first, settings.pbx_rtp_last),
    )


def recording_reference(store: recording.RecordingStore) -> agents.console.RecordingLookup:
    """Return the console's lookup of the reference to write for a call's recording."""

    async def reference(call_id: str) -> str | None:
        # Still being written (a wrap-up at once after the BYE) counts: it finishes at the end.
        if store.active(call_id) is None and await store.get(call_id) is None:
            return None
        return board.recordings.recording_ref(call_id)

    return reference


def recording_file(store: recording.RecordingStore) -> board.recordings.FindRecording:
    """Return the board's lookup of a call's finished WAV in the recording store."""

    async def find(call_id: str) -> Path | None:
        found = await store.get(call_id)
        return None if found is None else found.path

    return find


def board_routing(routing: RoutingService) -> Routing:
    """Return what the board reads from routing (the queues and agents in force)."""
    return Routing(routing.runtime, routing.queues, routing.agents)

"""`switchboard demo`: serve the example contact centre with customers, users, phones and callers.

It prepares the embedded store (demo customers when it has none; the three demo users with
fresh passwords, printed), writes the softphones' SIP credentials file, then serves like
`switchboard serve`. Once the app is up, a pyVoIP softphone registers for every agent of the
config, the simulated agents log in and go Ready, and a traffic generator places SIP calls
(VIP, standard and unknown callers, some hanging up while they wait). The `agent` login is an
agent the demo does not make Ready: sign in and take calls alongside the simulated ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import secrets
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

import phonenumbers
import sqlalchemy as sa
import yaml
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

import agents
import crm_bridge.app
from agents.passwords import Passwords
from config.app import create_app
from config.command_io import read_config
from config.commands.serve import serve
from config.database import create_engine, upgrade
from config.drain import add_drain_hook
from config.routing import ROUTING
from config.schema import ContactCentreConfig
from config.settings import Settings, load_settings
from crm_bridge.seed import seed_demo
from crm_bridge.tables import customer_values, customers, phone_numbers
from demo.phones import PhoneFleet, PhoneLogin
from demo.traffic import Caller, TrafficGenerator, TrafficPlan, TrafficStats
from router.runtime import RoutingRuntime
from telephony import eventloop
from telephony.sip import Headers, SipEndpoint, make_request, new_call_id, new_tag, parse_address
from telephony.sip.transport import Peer

log = logging.getLogger("switchboard.demo")

# Callers drawn from the store per kind: enough variety, small enough to read quickly.
CALLERS_PER_KIND = 200
# A third of VIP callers come through an IVR that already knows their customer id.
HINTED_SHARE = 1 / 3
# How long the demo waits for the SIP listener to answer OPTIONS before serving without calls.
SIP_PROBE_S = 3.0


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo user: sign-in name, role, password (printed once) and agent id for agents."""

    username: str
    role: agents.Role
    password: str
    agent_id: str | None = None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run the example contact centre with demo customers, phones and callers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, default=Path("config/example.yaml"))
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    parser.add_argument("--host", default="127.0.0.1", help="address the web app listens on")
    parser.add_argument("--port", type=int, default=8080, help="web port (default 8080)")
    parser.add_argument("--sip-port", type=int, default=5060, help="SIP port (default 5060)")
    parser.add_argument("--customers", type=int, default=1000, help="demo customers to seed")
    parser.add_argument("--calls-per-minute", type=float, default=6.0)
    parser.add_argument("--talk-seconds", type=float, default=45.0, help="mean talk time")
    parser.add_argument("--seed", type=int, default=1, help="random seed of data and traffic")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the demo store, then serve with phones and callers until interrupted."""
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.calls_per_minute <= 0 or args.talk_seconds <= 0 or args.customers < 1:
        print("demo: --calls-per-minute, --talk-seconds and --customers must be positive")
        return 2
    data_dir: Path = args.data_dir
    try:
        settings = load_settings(
            os.environ,
            config_file=args.config,
            data_dir=data_dir,
            web_host=args.host,
            web_port=args.port,
            sip_port=args.sip_port,
            sip_credentials_file=data_dir / "demo-phones.yaml",
        )
    except ValidationError as exc:
        print(f"demo: bad settings:\n{exc}", file=sys.stderr)
        return 2
    routing = read_config(str(settings.config_file))
    if isinstance(routing, int):
        return routing
    if not routing.agents or not routing.routes:
        print("demo: the config needs agents and routes", file=sys.stderr)
        return 2
    data_dir.mkdir(parents=True, exist_ok=True)
    phone_logins = write_phone_credentials(settings, routing)
    human = sorted(routing.agents)[-1]
    logins, callers = asyncio.run(prepare_store(settings, args, human))
    try:
        app = create_app(settings)
    except ValueError as exc:
        print(f"demo: bad settings: {exc}", file=sys.stderr)
        return 2
    traffic = TrafficPlan(
        target=Peer("UDP", settings.sip_host, settings.sip_port),
        dialled=sorted(str(route.dnis) for route in routing.routes.values()),
        callers=callers,
        calls_per_second=args.calls_per_minute / 60,
        talk_s=args.talk_seconds,
        seed=args.seed,
    )
    simulated = [login.agent_id for login in phone_logins if login.agent_id != human]
    DemoRun(settings, phone_logins, simulated, traffic).attach(app)
    print_logins(logins)
    eventloop.run(serve(app))  # uvloop when installed, GC tuned for calls
    return 0


def print_logins(logins: Sequence[DemoLogin]) -> None:
    """Print how to sign in (the URL follows once the web app listens)."""
    print("Switchboard demo: sign in at the URL below with", flush=True)
    for login in logins:
        agent = f" (agent {login.agent_id})" if login.agent_id else ""
        print(f"  {login.role.value:<10} {login.username} / {login.password}{agent}", flush=True)


def write_phone_credentials(settings: Settings, routing: ContactCentreConfig) -> list[PhoneLogin]:
    """Give every agent's softphone a fresh SIP password, in the file the registrar reads."""
    logins = [
        PhoneLogin(str(agent_id), str(agent.sip_username), secrets.token_urlsafe(12))
        for agent_id, agent in sorted(routing.agents.items())
    ]
    path = settings.sip_credentials_file
    assert path is not None
    document = {login.sip_username: {"password": login.password} for login in logins}
    # Only the owner may read the secrets.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        yaml.safe_dump(document, stream)
    return logins


async def prepare_store(
    settings: Settings, args: argparse.Namespace, human_agent: str
) -> tuple[list[DemoLogin], dict[str, list[Caller]]]:
    """Migrate, seed customers if there are none, (re)set the demo users, pick the callers."""
    engine = create_engine(settings.effective_database_url())
    try:
        await upgrade(engine, crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE)
        await upgrade(engine, agents.MIGRATIONS_DIR, agents.VERSION_TABLE)
        async with engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(customers))).scalar()
        if not count:
            as_of = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
            report = await seed_demo(
                engine, args.customers, args.seed, as_of, region=settings.crm_region
            )
            print(f"seeded {report.customers} demo customers", flush=True)
        logins = await demo_users(engine, human_agent)
        callers = await demo_callers(engine, settings.crm_region, random.Random(args.seed))
    finally:
        await engine.dispose()
    return logins, callers


async def demo_users(engine: AsyncEngine, human_agent: str) -> list[DemoLogin]:
    """Create the agent, supervisor and admin users, or give them fresh passwords."""
    directory = agents.UserDirectory(engine, Passwords())
    logins = [
        DemoLogin("agent", agents.Role.AGENT, secrets.token_urlsafe(9), human_agent),
        DemoLogin("supervisor", agents.Role.SUPERVISOR, secrets.token_urlsafe(9)),
        DemoLogin("admin", agents.Role.ADMIN, secrets.token_urlsafe(9)),
    ]
    for login in logins:
        user = await directory.by_username(login.username)
        if user is None:
            await directory.create(
                login.username,
                login.password,
                login.role,
                display_name=f"Demo {login.role.value}",
                agent_id=login.agent_id,
            )
        else:
            await directory.set_password(user.id, login.password)
    return logins


async def demo_callers(
    engine: AsyncEngine, region: str, rng: random.Random
) -> dict[str, list[Caller]]:
    """Pick VIP (gold, platinum) and standard callers from the store, and unknown numbers."""
    query = (
        sa.select(phone_numbers.c.e164, phone_numbers.c.customer_id, customer_values.c.tier)
        .join(customer_values, customer_values.c.customer_id == phone_numbers.c.customer_id)
        .order_by(phone_numbers.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    known = {row.e164 for row in rows}
    vip = [row for row in rows if row.tier in ("gold", "platinum")]
    standard = [row for row in rows if row.tier == "standard"]
    callers: dict[str, list[Caller]] = {
        "vip": [
            Caller("vip", row.e164, str(row.customer_id) if rng.random() < HINTED_SHARE else None)
            for row in rng.sample(vip, min(len(vip), CALLERS_PER_KIND))
        ],
        "standard": [
            Caller("standard", row.e164)
            for row in rng.sample(standard, min(len(standard), CALLERS_PER_KIND))
        ],
        "unknown": [Caller("unknown", number) for number in unknown_numbers(region, known, rng)],
    }
    return callers


def unknown_numbers(region: str, known: set[str], rng: random.Random) -> list[str]:
    """Return valid-looking mobile numbers of the region that no customer has."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return []
    base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    numbers: set[str] = set()
    for _ in range(CALLERS_PER_KIND * 4):
        candidate = f"{base[:-4]}{rng.randrange(10_000):04d}"
        if candidate not in known:
            numbers.add(candidate)
        if len(numbers) >= CALLERS_PER_KIND:
            break
    return sorted(numbers)


async def sip_answers(host: str, port: int) -> bool:
    """Tell whether a SIP listener answers OPTIONS at host:port (is telephony wired in?)."""
    async with SipEndpoint(host=host, port=0, tcp=False) as probe:
        options = make_request(
            "OPTIONS",
            f"sip:{host}:{port}",
            from_address=parse_address(f"<sip:demo@{host}>;tag={new_tag()}"),
            to_address=parse_address(f"<sip:{host}:{port}>"),
            call_id=new_call_id(host),
            cseq=1,
            headers=Headers([("Accept", "application/sdp")]),
        )
        tx = probe.send_request(options, Peer("UDP", host, port))
        try:
            response = await asyncio.wait_for(tx.wait_final(), SIP_PROBE_S)
        except TimeoutError:
            return False
    return response.status == 200


def staff(runtime: RoutingRuntime, agent_id: str) -> None:
    """Log a simulated agent in and make them Ready (their wrap-ups end on the queue's timer)."""
    engine = runtime.engine
    runtime.act(lambda now: engine.agent_login(agent_id, now))
    runtime.act(lambda now: engine.agent_ready(agent_id, now))


class DemoRun:
    """Phones, staffing and traffic around the served app: a cleanup context and a drain hook."""

    def __init__(
        self,
        settings: Settings,
        phone_logins: Sequence[PhoneLogin],
        simulated_agents: Sequence[str],
        plan: TrafficPlan,
    ) -> None:
        self._settings = settings
        self._phone_logins = phone_logins
        self._simulated = simulated_agents
        self._plan = plan
        self.generator: TrafficGenerator | None = None
        self._traffic: asyncio.Future[TrafficStats] | None = None

    def attach(self, app: web.Application) -> None:
        """Run with `app`: started after every other resource, stopped before them."""
        app.cleanup_ctx.append(self._context)
        add_drain_hook(app, self._drain)

    async def _drain(self, deadline: float) -> None:
        # No new callers once serve is stopping; calls in progress go on until the deadline.
        if self.generator is None or self._traffic is None:
            return
        self.generator.stop_placing()
        loop = asyncio.get_running_loop()
        await asyncio.wait({self._traffic}, timeout=max(deadline - loop.time(), 0.0))

    @contextlib.asynccontextmanager
    async def _context(self, app: web.Application) -> AsyncIterator[None]:
        host, port = self._settings.sip_host, self._settings.sip_port
        if not await sip_answers(host, port):
            print(
                f"demo: no SIP listener answers at {host}:{port}; "
                "serving the web side only (no phones, no callers)",
                flush=True,
            )
            yield
            return
        fleet = PhoneFleet(self._phone_logins, server_host=host, server_port=port)
        stats = await fleet.start()
        print(f"demo: {len(stats.registered)} softphones registered", flush=True)
        runtime = app[ROUTING].runtime
        staffed = [agent for agent in self._simulated if agent in stats.registered]
        for agent_id in staffed:
            staff(runtime, agent_id)
        print(f"demo: {len(staffed)} simulated agents Ready", flush=True)
        self.generator = generator = TrafficGenerator(self._plan, host=host)
        self._traffic = traffic = asyncio.ensure_future(generator.run())
        try:
            yield
        finally:
            traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await traffic
            await fleet.stop()
            placed = generator.stats
            print(
                f"demo: {placed.total} calls placed, {placed.answered} answered, "
                f"{placed.abandoned} abandoned, {placed.redirected} redirected, "
                f"{sum(placed.refused.values())} refused; "
                f"phones took {fleet.stats.calls_taken}",
                flush=True,
            )

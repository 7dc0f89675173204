"""The routing service: the engine, its runtime and the route table in force, as one object.

Telephony asks it where a new call goes (`router.intake.CallIntake`); the admin hot-reloads
it (`apply`); screenpop reports who the caller is (`customer_identified`); the board reads
its runtime. It holds no I/O itself: the composition root passes the event loop's clock and
`call_at`, so tests can drive it with a manual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from config.compile import RouterModel, to_router
from config.routes import RouteTable
from config.schema import ContactCentreConfig, Route, RouteMode
from router.engine import Engine
from router.events import Event, Overflowed, RoutingError
from router.intake import Admission, Enqueued, IncomingCall, Redirected, Refused
from router.model import AgentSpec, Call, DestinationKind, QueueSpec
from router.runtime import RoutingRuntime, Scheduler, TimerHandle

log = logging.getLogger(__name__)

# Neither voicemail nor callback requests exist yet; 480 tells the caller's side to try later.
UNAVAILABLE = 480
NO_ROUTE = 404
# A queue limit refused the caller without naming a status (the queue is full, say).
BUSY = 486
# A call telephony offered twice, or to a queue the engine refused: a server-side failure.
REFUSED_BY_ROUTER = 500

ArrivalHook = Callable[[IncomingCall, str], None]


def _log_listener_error(error: Exception) -> None:
    log.error("a routing event listener failed", exc_info=error)


class RoutingService:
    """Own the routing runtime and route table in force; admit calls; hot-reload the config."""

    def __init__(
        self,
        config: ContactCentreConfig,
        clock: Callable[[], float],
        schedule: Scheduler,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        seed: int = 0,
        on_listener_error: Callable[[Exception], None] = _log_listener_error,
    ) -> None:
        model = to_router(config)
        engine = Engine(model.queues, model.agents, model.tier_boosts, seed=seed)
        self.runtime = RoutingRuntime(engine, clock, schedule, on_listener_error)
        self._wall_clock = wall_clock
        self._config = config
        self._model = model
        self._routes = RouteTable(config)
        self._arrival_hooks: list[ArrivalHook] = []

    @property
    def engine(self) -> Engine:
        """Return the routing engine (read it; change it only through `runtime.act`)."""
        return self.runtime.engine

    @property
    def config(self) -> ContactCentreConfig:
        """Return the config in force."""
        return self._config

    def queues(self) -> Sequence[QueueSpec]:
        """Return the router's queues in force, in file order."""
        return self._model.queues

    def agents(self) -> Sequence[AgentSpec]:
        """Return the router's agents in force, in file order."""
        return self._model.agents

    def on_arrival(self, hook: ArrivalHook) -> None:
        """Call `hook(call, queue_id)` after each call enters a queue (screenpop's CRM lookup)."""
        self._arrival_hooks.append(hook)

    # ----------------------------------------------------------------- CallIntake

    def admit(self, call: IncomingCall) -> Admission:
        """Decide where a new call goes: its route's queue when open, else out-of-hours."""
        found = self._routes.resolve(call.dnis, self._wall_clock())
        if found is None:
            log.info("call %s refused: no route for the dialled number", call.call_id)
            return Refused(NO_ROUTE, "no route for the dialled number")
        route, destination = found.route, found.destination
        if found.open:
            return self._enqueue(call, route, route.queue, "open")
        reason = f"route {found.route_id} {found.reason}"
        if destination.queue is not None:
            return self._enqueue(call, route, destination.queue, f"{reason}: to queue")
        if destination.refuse is not None:
            log.info("call %s refused: %s", call.call_id, reason)
            return Refused(int(destination.refuse), f"{reason}: refused")
        if destination.redirect is not None:
            log.info("call %s redirected: %s", call.call_id, reason)
            return Redirected(destination.redirect, f"{reason}: redirected")
        # Voicemail and callback requests are configured but not built yet: say so plainly.
        why = f"{reason}: {destination.kind} is not available yet"
        log.info("call %s refused: %s", call.call_id, why)
        return Refused(UNAVAILABLE, why)

    def agent_sip_username(self, agent_id: str) -> str | None:
        """Return the SIP username an agent's phone registers with, or None if unknown."""
        agent = self._config.agents.get(agent_id)
        return None if agent is None else agent.sip_username

    def _enqueue(self, incoming: IncomingCall, route: Route, queue_id: str, why: str) -> Admission:
        def arrive(now: float) -> list[Event]:
            call = Call(
                call_id=incoming.call_id,
                queue_id=queue_id,
                arrival=now,
                ani=incoming.ani,
                dnis=incoming.dnis,
                preferred_agent_id=route.preferred_agent,
            )
            return self.engine.call_arrived(call, now)

        try:
            events = self.runtime.act(arrive)
        except RoutingError as error:
            log.warning("call %s refused by the router: %s", incoming.call_id, error)
            return Refused(REFUSED_BY_ROUTER, str(error))
        # A queue limit may send the caller on at once (full, nobody logged in): answer with
        # where it ended up, so Enqueued always means the router holds the call.
        for event in events:
            if isinstance(event, Overflowed) and event.call_id == incoming.call_id:
                if event.destination.kind is DestinationKind.QUEUE:
                    queue_id = event.destination.target
                    why = f"{why}; {event.reason}"
                elif not self.engine.has_call(incoming.call_id):
                    return self._sent_away(incoming, event)
        for hook in tuple(self._arrival_hooks):
            try:
                hook(incoming, queue_id)
            except Exception:  # a failed lookup must not undo the admission
                log.exception("an arrival hook failed for call %s", incoming.call_id)
        return Enqueued(queue_id, redirect=route.mode is RouteMode.REDIRECT, reason=why)

    @staticmethod
    def _sent_away(incoming: IncomingCall, event: Overflowed) -> Refused:
        destination = event.destination
        if destination.kind is DestinationKind.REFUSE:
            status = destination.sip_status or BUSY
            why = f"{event.reason}"
        else:
            status = UNAVAILABLE
            why = f"{event.reason}; {destination} is not available yet"
        log.info("call %s refused on arrival: %s", incoming.call_id, why)
        return Refused(status, why)

    # ----------------------------------------------------------------- changes

    def apply(self, config: ContactCentreConfig) -> None:
        """Hot-reload a new config: waiting callers keep their place; ValueError if refused."""
        model: RouterModel = to_router(config)
        try:
            self.runtime.act(
                lambda now: self.engine.apply_config(
                    model.queues, model.agents, model.tier_boosts, now
                )
            )
        except RoutingError as error:
            raise ValueError(f"the router refused the config: {error}") from error
        self._config = config
        self._model = model
        self._routes = RouteTable(config)
        log.info(
            "routing config applied: %d queues, %d agents", len(model.queues), len(model.agents)
        )

    def customer_identified(
        self, call_id: str, tier: str, customer_id: str | None, preferred_agent_id: str | None
    ) -> None:
        """Tell the router who a caller is, once the CRM lookup has answered."""
        self.runtime.act(
            lambda now: self.engine.customer_identified(
                call_id, tier, customer_id, preferred_agent_id, now
            )
        )


ROUTING = web.AppKey("config.routing", RoutingService)


def loop_time() -> float:
    """Return the running event loop's time (monotonic before the loop runs, as asyncio's)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def loop_call_at(when: float, callback: Callable[[], None]) -> TimerHandle:
    """Schedule `callback` on the running event loop at loop time `when`."""
    return asyncio.get_running_loop().call_at(when, callback)


def routing_context(
    service: RoutingService,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """Return the cleanup context that stops the routing timer when the app shuts down."""

    @contextlib.asynccontextmanager
    async def routing(_: web.Application) -> AsyncIterator[None]:
        log.info(
            "routing ready: %d queues, %d agents, %d routes",
            len(service.config.queues),
            len(service.config.agents),
            len(service.config.routes),
        )
        try:
            yield
        finally:
            service.runtime.close()

    return routing

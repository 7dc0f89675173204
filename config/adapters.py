"""Small adapters the composition root puts between packages that start at different times.

Setups run before the app starts, but some objects exist only once their cleanup context has
run (telephony's call control, the board's recorder). These adapters resolve them on first
use, so each package still receives a plain interface.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from board import BOARD, LoggedCallControl
from config.routing import RoutingService
from router.events import InvalidTransition
from router.intake import CallControl
from screenpop import ScreenPop
from telephony.calls import CALL_CONTROL


class StartedCallControl:
    """The call layer's CallControl, once telephony has started, with holds logged."""

    def __init__(self, app: web.Application, routing: RoutingService) -> None:
        self._app = app
        self._routing = routing
        self._control: CallControl | None = None

    def hold(self, call_id: str) -> None:
        """Put the caller on hold (logged for the board)."""
        self._started().hold(call_id)

    def resume(self, call_id: str) -> None:
        """Take the caller off hold (logged for the board)."""
        self._started().resume(call_id)

    def hang_up(self, call_id: str) -> None:
        """End both legs of the call."""
        self._started().hang_up(call_id)

    def transfer(
        self, call_id: str, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Blind-transfer the caller to a queue or an agent."""
        self._started().transfer(call_id, queue_id=queue_id, agent_id=agent_id)

    def _agent_of(self, call_id: str) -> str | None:
        engine = self._routing.engine
        return engine.call_agent(call_id) if engine.has_call(call_id) else None

    def _started(self) -> CallControl:
        if self._control is None:
            if CALL_CONTROL not in self._app:
                raise RuntimeError("telephony has not started: no call control yet")
            board = self._app[BOARD]
            _, recorder, _ = board.started()
            self._control = LoggedCallControl(
                self._app[CALL_CONTROL], recorder.publish, board.clock, self._agent_of
            )
        return self._control


class PhoneOffers:
    """The console's accept and reject when the platform rings the agent's SIP phone.

    The phone answers the call (telephony then tells routing); the console cannot, or the
    router would connect a call whose agent leg is still ringing. Declining works: the offer
    ends in routing and telephony cancels the ringing leg.
    """

    def __init__(self, routing: RoutingService) -> None:
        self._routing = routing

    def accept(self, call_id: str) -> None:
        """Refuse: the agent answers on the phone."""
        raise InvalidTransition(f"call {call_id}: answer it on your phone")

    def reject(self, call_id: str) -> None:
        """Decline the ringing call; it goes back to the head of its line."""
        runtime = self._routing.runtime
        runtime.act(lambda now: runtime.engine.offer_rejected(call_id, now))


def customer_name(pop: ScreenPop) -> Callable[[str], str | None]:
    """Return the board's `customer_of`: the name on a call's screen pop, once looked up."""

    def customer_of(call_id: str) -> str | None:
        found = pop.current(call_id)
        customer = None if found is None else found.get("customer")
        if not isinstance(customer, dict):
            return None
        name = customer.get("name")
        return name if isinstance(name, str) else None

    return customer_of


def pop_context(
    pop: ScreenPop,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """Return the cleanup context that cancels customer lookups still running at shutdown."""

    @contextlib.asynccontextmanager
    async def screen_pops(_: web.Application) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await pop.close()

    return screen_pops

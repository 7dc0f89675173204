"""Look the caller up when the call arrives, and pop the result on the offered agent's console.

The lookup runs as its own task from the arrival hook, so queueing never waits for the CRM;
routing hears the tier through `identified` as soon as it is known. The pop is kept per call
(bounded, oldest first out) for the offer, a console that reconnects and the wrap-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence

from crm_bridge.interface import Customer360, CustomerDirectory, LookupResult, LookupStatus
from router.events import CallDequeued, Event, Offer, Outcome
from router.intake import IncomingCall
from screenpop.compose import Pop, compose

log = logging.getLogger(__name__)

# call_id, value tier, customer id (one match only), the customer's own agent if any.
Identified = Callable[[str, str, str | None, str | None], None]
# agent_id, pop: hand the pop to that agent's consoles without waiting.
Deliver = Callable[[str, Pop], None]


class PopNotFound(LookupError):
    """No pop is kept for that call (unknown call, or forgotten long ago)."""


class ScreenPop:
    """The CRM lookups of calls in progress and their pops, delivered on offer."""

    def __init__(
        self,
        directory: Callable[[], CustomerDirectory],
        identified: Identified,
        *,
        crm_link: str | None = None,
        kept: int = 20_000,
    ) -> None:
        self._directory = directory
        self._identified = identified
        self._crm_link = crm_link
        self._kept = kept
        self._deliver: Deliver = lambda _agent_id, _pop: None
        self._pops: OrderedDict[str, asyncio.Future[Pop]] = OrderedDict()
        self._offered: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver_to(self, deliver: Deliver) -> None:
        """Send pops through `deliver` (the console's fan-out) from now on."""
        self._deliver = deliver

    def call_arrived(self, call: IncomingCall, queue_id: str) -> None:
        """Start the lookup for a new call at once; return without waiting for it."""
        del queue_id  # every queue pops the same way; the hook's signature carries it
        future = self._future(call.call_id)
        if future.done():
            return
        task = asyncio.create_task(self._look_up(call, future), name=f"pop-{call.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_events(self, batch: Sequence[Event]) -> None:
        """Follow routing: deliver a ready pop with each offer, forget abandoned callers."""
        for event in batch:
            if isinstance(event, Offer):
                self._offered[event.call_id] = event.agent_id
                future = self._pops.get(event.call_id)
                if future is not None and future.done() and not future.cancelled():
                    self._deliver(event.agent_id, future.result())
            elif isinstance(event, CallDequeued) and event.outcome is Outcome.ABANDONED:
                self.release(event.call_id)

    def current(self, call_id: str) -> Pop | None:
        """Return the call's pop if its lookup has finished."""
        future = self._pops.get(call_id)
        if future is None or not future.done() or future.cancelled():
            return None
        return future.result()

    async def wait(self, call_id: str, timeout_s: float) -> Pop:
        """Return the call's pop, waiting up to `timeout_s` for its lookup."""
        future = self._pops.get(call_id)
        if future is None:
            raise PopNotFound(f"no pop for call {call_id}")
        async with asyncio.timeout(timeout_s):
            return await asyncio.shield(future)

    async def choose(self, call_id: str, customer_id: str) -> Pop:
        """Make `customer_id` the call's customer (picked or just created) and pop it again."""
        before = self.current(call_id)
        view = await self._directory().customer_360(customer_id)
        result = LookupResult(
            LookupStatus.MATCHED,
            number=None if before is None else before.get("number"),
            customer=view.customer,
            matched_by="agent",
        )
        pop = compose(call_id, result, view, self._crm_link)
        future = self._future(call_id)
        if future.done():
            future = self._pops[call_id] = asyncio.get_running_loop().create_future()
        future.set_result(pop)
        self._tell_routing(call_id, result, view)
        agent_id = self._offered.get(call_id)
        if agent_id is not None:
            self._deliver(agent_id, pop)
        return pop

    def release(self, call_id: str) -> None:
        """Forget a call's pop (its wrap-up is written, or the caller hung up waiting)."""
        future = self._pops.pop(call_id, None)
        if future is not None and not future.done():
            future.cancel()
        self._offered.pop(call_id, None)

    async def close(self) -> None:
        """Cancel lookups still running."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _future(self, call_id: str) -> asyncio.Future[Pop]:
        future = self._pops.get(call_id)
        if future is None:
            future = self._pops[call_id] = asyncio.get_running_loop().create_future()
            while len(self._pops) > self._kept:
                old_id, old = self._pops.popitem(last=False)
                self._offered.pop(old_id, None)
                if not old.done():
                    old.cancel()
        return future

    async def _look_up(self, call: IncomingCall, future: asyncio.Future[Pop]) -> None:
        directory = self._directory()
        view: Customer360 | None = None
        try:
            result = await directory.lookup(call.ani, call.customer_hint)
            if result.customer is not None:
                view = await directory.customer_360(result.customer.customer_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The caller is still routed (as standard) and the agent sees who we could not find.
            log.warning("customer lookup failed for call %s: %s", call.call_id, type(exc).__name__)
            result = LookupResult.unknown(None, degraded="the customer directory failed")
        pop = compose(call.call_id, result, view, self._crm_link)
        if future.done():  # released (caller gone) or chosen by the agent meanwhile
            return
        future.set_result(pop)
        self._tell_routing(call.call_id, result, view)
        agent_id = self._offered.get(call.call_id)
        if agent_id is not None:
            self._deliver(agent_id, pop)

    def _tell_routing(self, call_id: str, result: LookupResult, view: Customer360 | None) -> None:
        customer = view.customer if view is not None else result.customer
        try:
            self._identified(
                call_id,
                result.tier.value if customer is None else customer.tier.value,
                None if customer is None else customer.customer_id,
                None if customer is None else customer.owner_agent,
            )
        except Exception:
            # Routing refusing the hint must not lose the pop: the agent still needs it.
            log.exception("routing refused the customer of call %s", call_id)

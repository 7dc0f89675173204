"""Call control that drives only the routing engine: the console with an external phone.

Without telephony (or while agents use a desk phone the platform does not bridge), the
console still runs the agent's day: accepting connects the call in the engine, hanging up
ends it, a transfer re-queues the caller. Telephony's own `CallControl` replaces
`EngineCallControl` when it bridges the audio.
"""

from __future__ import annotations

from collections.abc import Callable

from router.runtime import RoutingRuntime

RuntimeProvider = Callable[[], RoutingRuntime]


class EngineCallControl:
    """router.intake.CallControl over the engine alone (hold has no audio to pause)."""

    def __init__(self, runtime: RuntimeProvider) -> None:
        self._runtime = runtime

    def hold(self, call_id: str) -> None:
        """Check the call is connected; the console times the hold."""
        self._connected(call_id)

    def resume(self, call_id: str) -> None:
        """Check the call is connected; the console times the hold."""
        self._connected(call_id)

    def hang_up(self, call_id: str) -> None:
        """End the call; its agent goes to wrap-up."""
        runtime = self._runtime()
        runtime.act(lambda now: runtime.engine.call_ended(call_id, now))

    def transfer(
        self, call_id: str, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Re-queue the caller to a queue, or for an agent."""
        runtime = self._runtime()
        runtime.act(
            lambda now: runtime.engine.transfer(call_id, now, queue_id=queue_id, agent_id=agent_id)
        )

    def _connected(self, call_id: str) -> None:
        # Raises UnknownCall for a call the engine does not hold, as CallControl promises.
        self._runtime().engine.call_agent(call_id)


class EngineOffers:
    """Accept and reject offers in the engine (the agent answers in the console)."""

    def __init__(self, runtime: RuntimeProvider) -> None:
        self._runtime = runtime

    def accept(self, call_id: str) -> None:
        """Connect the ringing call to its agent."""
        runtime = self._runtime()
        runtime.act(lambda now: runtime.engine.offer_answered(call_id, now))

    def reject(self, call_id: str) -> None:
        """Decline the ringing call; it goes back to the head of its line."""
        runtime = self._runtime()
        runtime.act(lambda now: runtime.engine.offer_rejected(call_id, now))


def identify_in_engine(
    runtime: RuntimeProvider,
) -> Callable[[str, str, str | None, str | None], None]:
    """Return screenpop's `identified` callback: tell the engine who the caller is.

    The customer's own agent becomes the preferred agent only when routing knows that agent.
    """

    def identified(
        call_id: str, tier: str, customer_id: str | None, owner_agent: str | None
    ) -> None:
        running = runtime()
        engine = running.engine
        preferred = owner_agent if owner_agent and engine.has_agent(owner_agent) else None
        running.act(
            lambda now: engine.customer_identified(call_id, tier, customer_id, preferred, now)
        )

    return identified

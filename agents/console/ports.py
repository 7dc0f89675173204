"""What the console is given by the composition root: routing, the pops, offers, choices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from router.events import Event
from router.model import AgentSpec, QueueSpec
from router.runtime import RoutingRuntime


@dataclass(frozen=True)
class ConsoleRouting:
    """The running router and the queues and agents in force (callables: hot reload).

    Return the same sequence object until the config changes: the console indexes it once
    per object, so a fresh list on every call would re-index thousands of agents per frame.
    """

    runtime: RoutingRuntime
    queues: Callable[[], Sequence[QueueSpec]]
    agents: Callable[[], Sequence[AgentSpec]]


@dataclass(frozen=True)
class DispositionChoice:
    """A wrap-up disposition; `queues` limits it to those queues (empty: every queue)."""

    id: str
    name: str
    queues: frozenset[str] = frozenset()


class PopSource(Protocol):
    """The screen pops of calls in progress (screenpop.ScreenPop fits)."""

    def deliver_to(self, deliver: Callable[[str, dict[str, Any]], None]) -> None:
        """Send each ready pop to an agent through `deliver(agent_id, pop)`."""
        ...

    def on_events(self, batch: Sequence[Event]) -> None:
        """Follow routing's events (offers, abandoned callers)."""
        ...

    def current(self, call_id: str) -> dict[str, Any] | None:
        """Return the call's pop if it is ready."""
        ...

    async def choose(self, call_id: str, customer_id: str) -> dict[str, Any]:
        """Make `customer_id` the call's customer and pop it again."""
        ...

    def release(self, call_id: str) -> None:
        """Forget the call's pop."""
        ...


# The reference of a call's recording for the customer's history, or None if it has none.
RecordingLookup = Callable[[str], Awaitable[str | None]]


class OfferControl(Protocol):
    """Answer or decline an offer from the console."""

    def accept(self, call_id: str) -> None:
        """Take the ringing call."""
        ...

    def reject(self, call_id: str) -> None:
        """Decline the ringing call (it goes to someone else)."""
        ...


@dataclass(frozen=True)
class ConsoleOptions:
    """How the console behaves; the composition root fills it from the config and settings."""

    # `{customer_id}` is replaced by the customer's id, e.g. "https://crm.example/c/{customer_id}".
    crm_link: str | None = None
    # Queues whose offers are answered without the agent clicking Accept.
    auto_answer_queues: frozenset[str] = frozenset()
    # Queue counts go to every console at most this often (the issue: one a second).
    board_interval_s: float = 1.0
    # Pause between rounds re-checking every open console's session (batched reads).
    session_check_s: float = 60.0
    # Every console is pinged this often; one that has not answered the last ping is closed.
    heartbeat_s: float = 30.0

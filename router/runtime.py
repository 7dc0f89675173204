"""Drive the pure engine from a clock and a timer scheduler, and fan its events out.

The engine itself never looks at a clock. Something has to: feed inputs with `now`, call
`advance` at `next_deadline()`, and hand each batch of events to whoever acts on them
(telephony rings the agent, the console shows the offer, the event log records it). This
class does that without importing asyncio: the composition root passes `loop.time` as the
clock and `loop.call_at` as the scheduler, and tests pass a manual clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from router.engine import Engine
from router.events import Event


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled (asyncio.TimerHandle fits)."""

    def cancel(self) -> None:
        """Cancel the callback if it has not run yet."""


class Scheduler(Protocol):
    """Run a callback at an absolute clock time (asyncio's `loop.call_at` fits)."""

    def __call__(self, when: float, callback: Callable[[], None], /) -> TimerHandle:
        """Schedule `callback` at `when`."""


Listener = Callable[[Sequence[Event]], None]
Action = Callable[[float], list[Event]]


def _reraise(error: Exception) -> None:
    raise error


class RoutingRuntime:
    """Apply inputs to one engine at the current time and publish every resulting event."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float],
        schedule: Scheduler,
        on_listener_error: Callable[[Exception], None] = _reraise,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._schedule = schedule
        self._on_listener_error = on_listener_error
        self._listeners: list[Listener] = []
        self._timer: TimerHandle | None = None
        self._timer_at: float | None = None
        self._pending: deque[list[Event]] = deque()
        self._publishing = False

    def now(self) -> float:
        """Return the runtime's current time (the engine's time base)."""
        return self._clock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every batch of events; return a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def act(self, action: Action) -> list[Event]:
        """Run one engine input at the current time, publish its events and return them.

        For example `runtime.act(lambda now: runtime.engine.agent_ready("a1", now))`. A
        listener may itself call `act`; its events are published after the current batch, so
        every listener sees all events in the order the engine produced them.
        """
        events = action(self._clock())
        self._publish(events)
        self._reschedule()
        return events

    def close(self) -> None:
        """Stop the deadline timer; the engine keeps its state."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_deadline(self) -> None:
        self._timer = None
        self._timer_at = None
        self.act(self.engine.advance)

    def _reschedule(self) -> None:
        deadline = self.engine.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._schedule(deadline, self._on_deadline)

    def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        self._pending.append(events)
        if self._publishing:
            return
        self._publishing = True
        try:
            while self._pending:
                batch = self._pending.popleft()
                for listener in tuple(self._listeners):
                    try:
                        listener(batch)
                    except Exception as error:  # one broken listener must not stop routing
                        self._on_listener_error(error)
        finally:
            self._publishing = False

"""The runtime feeds the engine the clock's time, fires its deadlines and fans events out."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from router import AgentSpec, Call, Engine, Event, Offer, OfferTimedOut, QueueSpec
from router.runtime import RoutingRuntime


@dataclass
class ManualTimer:
    """A scheduled callback in the manual loop."""

    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ManualLoop:
    """A clock that moves only when told, and the timers scheduled on it."""

    time: float = 0.0
    timers: list[ManualTimer] = field(default_factory=list)

    def clock(self) -> float:
        return self.time

    def call_at(self, when: float, callback: Callable[[], None]) -> ManualTimer:
        timer = ManualTimer(when, callback)
        self.timers.append(timer)
        return timer

    def live(self) -> list[ManualTimer]:
        return [t for t in self.timers if not t.cancelled]

    def run_until(self, time: float) -> None:
        """Advance the clock, firing due timers in order (as an event loop would)."""
        while True:
            due = sorted((t for t in self.live() if t.when <= time), key=lambda t: t.when)
            if not due:
                break
            timer = due[0]
            timer.cancelled = True
            self.time = timer.when
            timer.callback()
        self.time = time


def make_runtime(loop: ManualLoop, **kwargs: object) -> RoutingRuntime:
    queue = QueueSpec(id="sales", offer_timeout_s=10.0, wrap_up_s=5.0)
    agents = [AgentSpec(id=a, queues={"sales": 1}) for a in ("a1", "a2")]
    engine = Engine([queue], agents, {"standard": 0.0})
    return RoutingRuntime(engine, loop.clock, loop.call_at, **kwargs)


def ready(runtime: RoutingRuntime, agent_id: str) -> None:
    runtime.act(lambda now: runtime.engine.agent_login(agent_id, now))
    runtime.act(lambda now: runtime.engine.agent_ready(agent_id, now))


def arrive(runtime: RoutingRuntime, call_id: str) -> list[Event]:
    return runtime.act(
        lambda now: runtime.engine.call_arrived(Call(call_id, "sales", arrival=now), now)
    )


def test_inputs_get_the_clock_time_and_events_reach_every_listener() -> None:
    loop = ManualLoop(time=100.0)
    runtime = make_runtime(loop)
    seen: list[list[Event]] = [[], []]
    runtime.subscribe(seen[0].extend)
    runtime.subscribe(seen[1].extend)
    ready(runtime, "a1")
    events = arrive(runtime, "c1")
    offers = [e for e in events if isinstance(e, Offer)]
    assert [(o.call_id, o.agent_id) for o in offers] == [("c1", "a1")]
    assert seen[0] == seen[1]
    assert offers[0] in seen[0]


def test_an_unanswered_offer_times_out_when_the_loop_reaches_the_deadline() -> None:
    loop = ManualLoop()
    runtime = make_runtime(loop)
    timed_out: list[OfferTimedOut] = []
    runtime.subscribe(
        lambda batch: timed_out.extend(e for e in batch if isinstance(e, OfferTimedOut))
    )
    ready(runtime, "a1")
    arrive(runtime, "c1")
    assert [t.when for t in loop.live()] == [10.0]
    loop.run_until(9.9)
    assert timed_out == []
    loop.run_until(10.0)
    assert [(e.call_id, e.agent_id) for e in timed_out] == [("c1", "a1")]


def test_answering_cancels_the_offer_timer_and_keeps_one_live_timer() -> None:
    loop = ManualLoop()
    runtime = make_runtime(loop)
    ready(runtime, "a1")
    arrive(runtime, "c1")
    loop.run_until(2.0)
    runtime.act(lambda now: runtime.engine.offer_answered("c1", now))
    assert all(t.when != 10.0 for t in loop.live())
    runtime.act(lambda now: runtime.engine.call_ended("c1", now))
    # Wrap-up is the only deadline left: 5 s after the call ended.
    assert [t.when for t in loop.live()] == [7.0]


def test_a_listener_acting_reentrantly_sees_events_in_engine_order() -> None:
    loop = ManualLoop()
    runtime = make_runtime(loop)
    order: list[str] = []

    def reject_first_offer(batch: Sequence[Event]) -> None:
        for event in batch:
            order.append(f"{type(event).__name__}:{getattr(event, 'agent_id', '')}")
            if isinstance(event, Offer) and event.agent_id == "a1":
                runtime.act(functools.partial(runtime.engine.offer_rejected, event.call_id))

    runtime.subscribe(reject_first_offer)
    ready(runtime, "a1")
    ready(runtime, "a2")
    order.clear()
    arrive(runtime, "c1")
    offers = [o for o in order if o.startswith("Offer:")]
    assert offers == ["Offer:a1", "Offer:a2"]
    assert order.index("Offer:a1") < order.index("OfferTimedOut:a1") < order.index("Offer:a2")


def test_a_failing_listener_does_not_stop_the_others() -> None:
    loop = ManualLoop()
    errors: list[Exception] = []
    runtime = make_runtime(loop, on_listener_error=errors.append)
    got: list[Event] = []

    def broken(batch: Sequence[Event]) -> None:
        raise RuntimeError("console went away")

    runtime.subscribe(broken)
    runtime.subscribe(got.extend)
    ready(runtime, "a1")
    assert got
    assert errors and all(isinstance(e, RuntimeError) for e in errors)


def test_unsubscribe_and_close() -> None:
    loop = ManualLoop()
    runtime = make_runtime(loop)
    got: list[Event] = []
    unsubscribe = runtime.subscribe(got.extend)
    unsubscribe()
    ready(runtime, "a1")
    arrive(runtime, "c1")
    assert got == []
    runtime.close()
    assert loop.live() == []


def test_listener_errors_propagate_by_default() -> None:
    loop = ManualLoop()
    runtime = make_runtime(loop)

    def broken(batch: Sequence[Event]) -> None:
        raise RuntimeError("boom")

    runtime.subscribe(broken)
    with pytest.raises(RuntimeError, match="boom"):
        ready(runtime, "a1")

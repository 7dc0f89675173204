"""Estimated wait and position for waiting callers, and the queue snapshot."""

from __future__ import annotations

import pytest

from router import AgentState, QueueSpec
from tests.router.helpers import agent, call, engine, ready


def busy(agents: int, handle: float = 120.0):  # type: ignore[no-untyped-def]
    e = engine(
        [QueueSpec("q", expected_handle_s=handle)], [agent(f"a{i}", ["q"]) for i in range(agents)]
    )
    for i in range(agents):
        ready(e, f"a{i}")
        e.call_arrived(call(f"busy{i}", "q", 0), 0)
        e.offer_answered(f"busy{i}", 0)
    return e


@pytest.mark.parametrize(("agents", "waiting"), [(1, 3), (2, 4), (4, 2)])
def test_ewt_is_position_times_handle_time_over_staffed_agents(agents: int, waiting: int) -> None:
    e = busy(agents)
    for i in range(waiting):
        e.call_arrived(call(f"c{i}", "q", 1 + i), 1 + i)
    for i in range(waiting):
        assert e.position(f"c{i}") == i + 1
        assert e.estimated_wait(f"c{i}") == pytest.approx((i + 1) * 120.0 / agents)


def test_ewt_is_unknown_with_nobody_staffed_and_for_callers_not_waiting() -> None:
    e = engine([QueueSpec("q")], [agent("a1", ["q"])])
    e.call_arrived(call("c", "q", 0), 0)
    assert e.position("c") == 1
    assert e.estimated_wait("c") is None
    e.agent_login("a1", 1)
    e.agent_ready("a1", 1)  # now offered, no longer waiting
    assert e.position("c") is None
    assert e.estimated_wait("c") is None


def test_handle_time_estimate_learns_from_finished_calls() -> None:
    e = busy(1, handle=100.0)
    e.call_ended("busy0", 300)  # talk 300 + wrap 10 = 310 s handled
    e.advance(310)
    assert e.queue_snapshot("q", 310).handle_time_s == pytest.approx(100 + 0.1 * (310 - 100))


def test_queue_snapshot_counts_waiting_ringing_and_longest_wait() -> None:
    e = busy(1)
    e.call_arrived(call("c1", "q", 5), 5)
    e.call_arrived(call("c2", "q", 8), 8)
    snap = e.queue_snapshot("q", 20)
    assert (snap.waiting, snap.ringing, snap.longest_wait_s) == (2, 0, 15)
    assert snap.agents[AgentState.ON_CALL] == 1
    e.caller_abandoned("c1", 21)
    assert e.queue_snapshot("q", 22).longest_wait_s == 14


def test_longest_wait_survives_many_callers_passing_a_long_waiting_one() -> None:
    # c0 waits for a skill nobody has at step 0; 500 others pass through meanwhile.
    e = engine([QueueSpec("q", wrap_up_s=0)], [agent("a1", ["q"])])
    e.call_arrived(call("c0", "q", 0), 0)
    ready(e, "a1", now=1)
    e.offer_answered("c0", 1)
    for i in range(1, 500):
        e.call_arrived(call(f"c{i}", "q", i), i)
    e.call_ended("c0", 600)
    for i in range(1, 499):
        e.offer_answered(f"c{i}", 600 + i)
        e.call_ended(f"c{i}", 600 + i)
    snap = e.queue_snapshot("q", 2000)
    assert (snap.waiting, snap.ringing) == (0, 1)
    assert snap.longest_wait_s == 2000 - 499
    assert len(e._fifo["q"]) < 200  # stale entries were dropped along the way

"""Agent states around a call: wrap-up expiry, early end, and state changes during a call."""

from __future__ import annotations

import pytest

from router import (
    AgentState,
    InvalidTransition,
    QueueSpec,
    RoutingError,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from tests.router.helpers import agent, call, engine, offers, ready, states


def on_call(wrap: float = 20.0):  # type: ignore[no-untyped-def]
    q = QueueSpec("q", wrap_up_s=wrap)
    e = engine([q], [agent("a1", ["q"])])
    ready(e, "a1")
    e.call_arrived(call("c1", "q", 1), 1)
    e.offer_answered("c1", 2)
    return e


@pytest.mark.parametrize("wrap", [5.0, 20.0, 45.5])
def test_wrap_up_expires_after_the_queues_wrap_up_time(wrap: float) -> None:
    e = on_call(wrap)
    assert states(e.call_ended("c1", 10), "a1") == [AgentState.WRAP_UP]
    assert e.next_deadline() == 10 + wrap
    assert e.advance(10 + wrap - 0.5) == []
    assert states(e.advance(10 + wrap), "a1") == [AgentState.READY]


def test_zero_wrap_up_goes_straight_to_ready() -> None:
    e = on_call(0)
    assert states(e.call_ended("c1", 10), "a1") == [AgentState.READY]


def test_wrap_up_done_ends_it_early_and_takes_a_waiting_caller() -> None:
    e = on_call()
    e.call_arrived(call("c2", "q", 3), 3)
    e.call_ended("c1", 10)
    events = e.wrap_up_done("a1", 12)
    assert offers(events) == [("c2", "a1")]
    e.offer_answered("c2", 13)
    assert e.advance(30) == []  # the old wrap-up deadline (10 + 20) is dead
    assert e.next_deadline() is None


def test_not_ready_during_a_call_applies_after_wrap_up() -> None:
    e = on_call()
    assert e.agent_not_ready("a1", "lunch", 5) == []
    e.call_ended("c1", 10)
    events = e.advance(30)
    assert states(events, "a1") == [AgentState.NOT_READY]
    assert e.agent_snapshot("a1").reason_code == "lunch"


def test_logout_during_a_call_applies_when_it_ends() -> None:
    e = on_call()
    e.agent_logout("a1", 5)
    assert e.agent_snapshot("a1").state is AgentState.ON_CALL
    assert states(e.call_ended("c1", 10), "a1") == [AgentState.LOGGED_OUT]


def test_snapshot_tracks_state_since_and_call() -> None:
    e = on_call()
    snap = e.agent_snapshot("a1")
    assert (snap.state, snap.since, snap.call_id) == (AgentState.ON_CALL, 2, "c1")
    q = e.queue_snapshot("q", 3)
    assert q.agents[AgentState.ON_CALL] == 1
    assert q.agents[AgentState.READY] == 0


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda e: e.agent_ready("ghost", 1), UnknownAgent),
        (lambda e: e.call_ended("ghost", 1), UnknownCall),
        (lambda e: e.agent_login("a1", 1), InvalidTransition),
        (lambda e: e.offer_answered("c1", 3), InvalidTransition),
        (lambda e: e.wrap_up_done("a1", 3), InvalidTransition),
        (lambda e: e.call_arrived(call("c1", "q", 1), 3), InvalidTransition),
        (lambda e: e.call_arrived(call("c9", "nope", 1), 3), UnknownQueue),
        (lambda e: e.call_arrived(call("c9", "q", 10), 3), RoutingError),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_error(action, error) -> None:  # type: ignore[no-untyped-def]
    e = on_call()
    before = (e.agent_snapshot("a1"), e.call_ids())
    with pytest.raises(error) as info:
        action(e)
    assert str(info.value)
    assert (e.agent_snapshot("a1"), e.call_ids()) == before, "a refusal changes nothing"


def test_a_refusal_is_logged_without_the_callers_number(caplog: pytest.LogCaptureFixture) -> None:
    e = on_call()
    with caplog.at_level("WARNING", logger="router.engine"), pytest.raises(InvalidTransition):
        e.call_arrived(call("c1", "q", 1, ani="+441234567890"), 3)
    (record,) = caplog.records
    assert "call c1 is already known" in record.getMessage()
    assert "+44" not in record.getMessage()

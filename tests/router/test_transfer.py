"""Blind transfer of a connected caller, and the customer lookup that finishes after arrival."""

from __future__ import annotations

import pytest

from router import (
    AgentState,
    CallDequeued,
    CallFinished,
    CallQueued,
    CallTransferred,
    Engine,
    InvalidTransition,
    Outcome,
    QueueSpec,
    RoutingError,
    UnknownAgent,
    UnknownQueue,
)
from router.engine import TRANSFER_AGENT_WAIT_S
from tests.router.helpers import agent, call, engine, of, offers, ready, states

SALES = QueueSpec("sales", wrap_up_s=30, max_wait_s=100)
SUPPORT = QueueSpec("support", wrap_up_s=5, max_wait_s=100, aging_per_s=1.0)


def connected_to_a1(arrival: float = 0.0) -> Engine:
    e = engine(
        [SALES, SUPPORT],
        [agent("a1", ["sales"]), agent("a2", ["support"]), agent("a3", ["sales", "support"])],
    )
    ready(e, "a1", now=arrival)
    assert offers(e.call_arrived(call("c", "sales", arrival), arrival)) == [("c", "a1")]
    e.offer_answered("c", arrival + 1)
    return e


@pytest.mark.parametrize(
    ("queue_id", "agent_id", "offered_to", "queue"),
    [
        ("support", None, "a2", "support"),  # to a queue: its best idle agent
        (None, "a3", "a3", "sales"),  # to a ready agent: offered at once, in the call's queue
        ("support", "a3", "a3", "support"),  # to an agent, in a named queue
    ],
)
def test_a_transfer_offers_the_caller_in_its_new_place(
    queue_id: str | None, agent_id: str | None, offered_to: str, queue: str
) -> None:
    e = connected_to_a1()
    ready(e, "a2", "a3", now=10)
    events = e.transfer("c", 60, queue_id=queue_id, agent_id=agent_id)
    assert of(CallFinished, events) == [CallFinished("c", "a1")]
    moved = of(CallTransferred, events)
    assert [(m.agent_id, m.queue_id, m.to_queue, m.to_agent) for m in moved] == [
        ("a1", queue, queue_id, agent_id)
    ]
    assert "a1 transferred the caller to" in moved[0].reason.why
    assert offers(events) == [("c", offered_to)]
    assert states(events, "a1") == [AgentState.WRAP_UP]
    assert e.call_agent("c") == offered_to


def test_the_transferring_agent_wraps_up_for_its_own_queue() -> None:
    e = connected_to_a1()
    e.transfer("c", 60, queue_id="support")
    assert e.agent_snapshot("a1").state is AgentState.WRAP_UP
    assert e.next_deadline() == 90  # sales' 30 s wrap-up, not support's 5 s
    assert states(e.advance(90), "a1") == [AgentState.READY]


def test_a_transfer_to_a_busy_agent_waits_for_that_agent_then_anyone() -> None:
    e = connected_to_a1()
    e.agent_login("a3", 10)  # logged in, not ready
    ready(e, "a2", now=10)
    events = e.transfer("c", 60, agent_id="a3")
    assert offers(events) == []
    assert "waiting up to" in of(CallQueued, events)[-1].reason.why
    assert e.position("c") == 1
    # a3 becomes ready within the window: it gets the caller, not a2 (who serves support only).
    assert offers(e.agent_ready("a3", 70)) == [("c", "a3")]


def test_a_transferred_caller_waiting_for_an_agent_goes_to_the_queue_after_the_window() -> None:
    e = connected_to_a1()
    e.agent_login("a3", 10)
    e.transfer("c", 60, agent_id="a3")
    e.wrap_up_done("a1", 61)  # a1 is ready but the caller waits for a3 first
    assert e.call_agent("c") is None
    assert e.next_deadline() == 60 + TRANSFER_AGENT_WAIT_S
    assert offers(e.advance(60 + TRANSFER_AGENT_WAIT_S)) == [("c", "a1")]


def test_a_transferred_caller_keeps_its_arrival_but_waits_afresh() -> None:
    e = connected_to_a1(arrival=0)
    events = e.transfer("c", 60, queue_id="support")  # nobody in support is ready
    assert of(CallQueued, events)
    # The max wait (100 s) counts from the transfer, not from the arrival at 0.
    assert e.next_deadline() == 90  # a1's wrap-up
    e.advance(90)
    assert e.has_call("c")
    dequeued = of(CallDequeued, e.advance(160))
    assert [(d.queue_id, d.outcome, d.waited_s) for d in dequeued] == [
        ("support", Outcome.OVERFLOWED, 100)
    ]


def test_a_transferred_caller_leaves_its_new_queue_once_when_answered() -> None:
    e = connected_to_a1()
    ready(e, "a2", now=10)
    e.transfer("c", 60, queue_id="support")
    answered = of(CallDequeued, e.offer_answered("c", 65))
    assert [(d.queue_id, d.outcome, d.waited_s) for d in answered] == [
        ("support", Outcome.ANSWERED, 5)
    ]
    assert of(CallFinished, e.call_ended("c", 90)) == [CallFinished("c", "a2")]
    assert not e.has_call("c")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, RoutingError),
        ({"queue_id": "nowhere"}, UnknownQueue),
        ({"agent_id": "nobody"}, UnknownAgent),
        ({"agent_id": "a1"}, InvalidTransition),  # already with a1
        ({"agent_id": "a2"}, InvalidTransition),  # logged out
    ],
)
def test_a_transfer_that_cannot_be_done_is_refused_and_changes_nothing(
    kwargs: dict[str, str], error: type[RoutingError]
) -> None:
    e = connected_to_a1()
    with pytest.raises(error):
        e.transfer("c", 60, **kwargs)
    assert e.call_agent("c") == "a1"
    assert e.agent_snapshot("a1").state is AgentState.ON_CALL


@pytest.mark.parametrize("state", ["waiting", "ringing"])
def test_only_a_connected_call_can_be_transferred(state: str) -> None:
    e = engine([SALES], [agent("a1", ["sales"])])
    if state == "ringing":
        ready(e, "a1")
    e.call_arrived(call("c", "sales", 0), 0)
    with pytest.raises(InvalidTransition):
        e.transfer("c", 1, queue_id="sales")


# ------------------------------------------------------------------ customer identified

TIERED = QueueSpec("q", aging_per_s=0.0, preferred_agent_s=20)


def two_waiting() -> Engine:
    e = engine([TIERED], [agent("a1", ["q"]), agent("owner", ["q"])])
    e.agent_login("a1", 0)
    e.agent_login("owner", 0)
    e.call_arrived(call("first", "q", 0), 0)
    e.call_arrived(call("late", "q", 1), 1)
    return e


@pytest.mark.parametrize(("tier", "position"), [("standard", 2), ("gold", 1), ("platinum", 1)])
def test_a_tier_found_after_arrival_moves_a_waiting_caller(tier: str, position: int) -> None:
    e = two_waiting()
    events = e.customer_identified("late", tier, "cust-9", None, 2)
    assert "customer identified" in [q.reason.step for q in of(CallQueued, events)]
    assert e.position("late") == position
    expected = "late" if position == 1 else "first"
    assert offers(e.agent_ready("a1", 3)) == [(expected, "a1")]


def test_a_preferred_agent_found_after_arrival_is_waited_for_within_the_window() -> None:
    e = two_waiting()
    e.customer_identified("late", "standard", "cust-9", "owner", 2)
    # a1 takes the first caller; "late" waits for its owner even though a1 frees up.
    assert offers(e.agent_ready("a1", 3)) == [("first", "a1")]
    e.offer_answered("first", 3)
    e.call_ended("first", 4)
    e.wrap_up_done("a1", 5)
    assert e.agent_snapshot("a1").state is AgentState.READY
    assert offers(e.agent_ready("owner", 6)) == [("late", "owner")]


def test_a_free_preferred_agent_found_after_arrival_gets_the_caller_at_once() -> None:
    # The account owner works another queue, so it sat idle while the caller waited in q.
    e = engine([TIERED, QueueSpec("other")], [agent("a1", ["q"]), agent("owner", ["other"])])
    e.agent_login("a1", 0)
    ready(e, "owner")
    e.call_arrived(call("c", "q", 0), 0)
    assert e.position("c") == 1
    assert offers(e.customer_identified("c", "gold", "cust-9", "owner", 2)) == [("c", "owner")]


@pytest.mark.parametrize("when", ["unknown", "ringing", "connected"])
def test_a_late_lookup_leaves_a_call_that_is_not_waiting_alone(when: str) -> None:
    e = engine([TIERED], [agent("a1", ["q"]), agent("owner", ["q"])])
    ready(e, "a1")
    e.agent_login("owner", 0)
    e.call_arrived(call("c", "q", 0), 0)
    if when == "connected":
        e.offer_answered("c", 1)
    call_id = "gone" if when == "unknown" else "c"
    assert e.customer_identified(call_id, "gold", "cust-1", "owner", 2) == []
    assert e.call_agent("c") == "a1"

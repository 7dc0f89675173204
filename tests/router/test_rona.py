"""Ring-no-answer: the caller returns to the head of its priority; misses make agents not ready."""

from __future__ import annotations

import pytest

from router import AgentState, InvalidTransition, OfferTimedOut, QueueSpec
from tests.router.helpers import agent, call, engine, of, offers, ready, states


def setup(max_misses: int = 2):  # type: ignore[no-untyped-def]
    q = QueueSpec("q", offer_timeout_s=10, rona_max_misses=max_misses)
    e = engine([q], [agent("a1", ["q"]), agent("a2", ["q"])])
    ready(e, "a1", now=0)
    return e


def test_unanswered_offer_times_out_at_the_deadline() -> None:
    e = setup()
    e.call_arrived(call("c1", "q", 1), 1)
    assert e.next_deadline() == 11
    assert e.advance(10.5) == []
    events = e.advance(11)
    (timeout,) = of(OfferTimedOut, events)
    assert (timeout.call_id, timeout.agent_id, timeout.misses) == ("c1", "a1", 1)
    assert "no answer within 10 s" in str(timeout.reason)


def test_caller_returns_ahead_of_callers_with_the_same_priority() -> None:
    e = setup()
    e.call_arrived(call("c1", "q", 1), 1)
    e.call_arrived(call("c0", "q", 0.5), 2)  # arrived earlier but never offered
    e.advance(11)  # a1 missed c1 once; still ready: takes the head again
    e.agent_not_ready("a1", "break", 11)
    assert e.position("c1") == 1
    assert e.position("c0") == 2


def test_a_higher_priority_caller_still_goes_first_after_a_miss() -> None:
    e = setup()
    e.call_arrived(call("c1", "q", 1), 1)
    e.call_arrived(call("vip", "q", 2, tier="gold"), 2)
    events = e.advance(11)
    assert offers(events) == [("vip", "a1")]


def test_another_idle_agent_gets_the_requeued_caller_first() -> None:
    e = setup()
    e.call_arrived(call("c1", "q", 1), 1)
    ready(e, "a2", now=2)
    events = e.advance(11)
    assert offers(events) == [("c1", "a2")]
    assert states(events, "a1") == [AgentState.READY]


@pytest.mark.parametrize("max_misses", [1, 2, 3])
def test_m_misses_in_a_row_make_the_agent_not_ready_missed(max_misses: int) -> None:
    e = setup(max_misses)
    e.call_arrived(call("c1", "q", 0), 0)
    now = 0.0
    for miss in range(1, max_misses + 1):
        now += 10
        events = e.advance(now)
        assert of(OfferTimedOut, events)[0].misses == miss
    assert e.agent_snapshot("a1").state is AgentState.NOT_READY
    assert e.agent_snapshot("a1").reason_code == "missed"
    assert e.position("c1") == 1


def test_an_answer_resets_the_miss_count() -> None:
    e = setup(2)
    e.call_arrived(call("c1", "q", 0), 0)
    e.advance(10)  # miss 1, re-offered
    e.offer_answered("c1", 12)
    e.call_ended("c1", 20)
    e.wrap_up_done("a1", 21)
    e.call_arrived(call("c2", "q", 22), 22)
    (timeout,) = of(OfferTimedOut, e.advance(32))
    assert timeout.misses == 1
    assert e.agent_snapshot("a1").state is AgentState.RESERVED


def test_rejection_counts_as_a_miss_without_waiting() -> None:
    e = setup(1)
    e.call_arrived(call("c1", "q", 0), 0)
    events = e.offer_rejected("c1", 2)
    assert of(OfferTimedOut, events)[0].reason.why.startswith("offer rejected")
    assert states(events, "a1") == [AgentState.NOT_READY]


def test_an_answer_after_the_timeout_is_refused_and_the_timeout_is_still_delivered() -> None:
    e = setup(1)
    e.call_arrived(call("c1", "q", 0), 0)
    with pytest.raises(InvalidTransition):
        e.offer_answered("c1", 12)  # the offer timed out at 10
    assert e.next_deadline() == 12  # events are held: call advance now
    events = e.advance(12)
    assert [t.call_id for t in of(OfferTimedOut, events)] == ["c1"]
    assert states(events, "a1") == [AgentState.NOT_READY]
    assert e.position("c1") == 1

"""Hot reload: a new configuration is applied without dropping callers, calls or logins."""

from __future__ import annotations

from router import (
    DEFAULT_TIER_BOOSTS,
    AgentState,
    BullseyeStep,
    CallDequeued,
    Destination,
    DestinationKind,
    OfferCancelled,
    Outcome,
    Overflowed,
    QueueSpec,
    SkillRequirement,
)
from tests.router.helpers import agent, call, engine, of, offers, ready, states

VOICEMAIL = Destination(DestinationKind.VOICEMAIL, "box")


def running():  # type: ignore[no-untyped-def]
    sales = QueueSpec("sales", on_max_wait=VOICEMAIL)
    support = QueueSpec("support")
    agents = [agent("a1", ["sales", "support"]), agent("a2", ["sales"]), agent("a3", ["support"])]
    e = engine([sales, support], agents)
    ready(e, "a1", "a2")
    e.agent_login("a3", 0)
    e.call_arrived(call("talking", "sales", 1), 1)
    e.offer_answered("talking", 2)
    e.call_arrived(call("ringing", "sales", 3), 3)
    for i in range(3):
        e.call_arrived(call(f"w{i}", "sales", 4 + i), 4 + i)
    e.call_arrived(call("s0", "support", 4), 4)
    return e, agents


def test_reload_keeps_callers_in_place_and_calls_with_their_agents() -> None:
    e, agents = running()
    before = [e.position(f"w{i}") for i in range(3)]
    events = e.apply_config(
        [QueueSpec("sales", base_priority=3), QueueSpec("support")], agents, DEFAULT_TIER_BOOSTS, 10
    )
    assert not of(Overflowed, events)
    assert [e.position(f"w{i}") for i in range(3)] == before
    assert e.call_agent("talking") == "a1"
    assert e.call_agent("ringing") == "a2"
    assert e.agent_snapshot("a3").state is AgentState.NOT_READY
    # The ringing offer still times out on its original deadline (3 + 15).
    assert e.next_deadline() == 18


def test_removed_queue_sends_its_callers_to_its_overflow_destination() -> None:
    e, _ = running()
    kept = [agent("a1", ["support"]), agent("a2", []), agent("a3", ["support"])]
    events = e.apply_config([QueueSpec("support")], kept, DEFAULT_TIER_BOOSTS, 10)
    over = of(Overflowed, events)
    assert [o.call_id for o in over] == ["w0", "w1", "w2"]
    assert {o.destination for o in over} == {VOICEMAIL}
    assert all(d.outcome is Outcome.OVERFLOWED for d in of(CallDequeued, events))
    # The ringing caller of the removed queue overflows when its offer ends.
    assert [o.call_id for o in of(Overflowed, e.advance(18))] == ["ringing"]
    assert e.call_agent("talking") == "a1"


def test_removed_agent_is_logged_out_and_its_offer_goes_back_to_the_queue() -> None:
    e, agents = running()
    kept = [a for a in agents if a.id != "a2"]
    events = e.apply_config(
        [QueueSpec("sales"), QueueSpec("support")], kept, DEFAULT_TIER_BOOSTS, 10
    )
    assert [c.call_id for c in of(OfferCancelled, events)] == ["ringing"]
    assert states(events, "a2") == [AgentState.LOGGED_OUT]
    assert "a2" not in e.agent_ids()
    assert not e.has_agent("a2") and e.has_agent("a1")
    assert e.position("ringing") == 1  # back at the head of its priority


def test_a_new_agent_and_a_new_skill_rule_take_effect() -> None:
    e, agents = running()
    queues = [QueueSpec("sales", skills=(SkillRequirement("en", 5),)), QueueSpec("support")]
    new_agents = [*agents, agent("a4", ["sales"], en=7)]
    e.apply_config(queues, new_agents, DEFAULT_TIER_BOOSTS, 10)
    assert offers(ready(e, "a4", now=11)) == [("w0", "a4")]
    # a1 has no "en" skill, so after its call it serves support, not sales.
    e.call_ended("talking", 12)
    assert offers(e.advance(22)) == [("s0", "a1")]


def test_reload_that_adds_agents_matches_idle_ones_with_waiting_callers() -> None:
    e = engine([QueueSpec("q")], [agent("a1", [])])
    ready(e, "a1")
    e.call_arrived(call("c", "q", 1), 1)
    events = e.apply_config([QueueSpec("q")], [agent("a1", ["q"])], DEFAULT_TIER_BOOSTS, 2)
    assert offers(events) == [("c", "a1")]


def test_a_ringing_caller_requeued_after_a_reload_that_removed_bullseye_steps() -> None:
    widened = QueueSpec(
        "q",
        skills=(SkillRequirement("en", 5),),
        bullseye=(BullseyeStep(after_s=5, min_proficiency=1),),
    )
    agents = [agent("novice", ["q"], en=2), agent("expert", ["q"], en=9)]
    e = engine([widened], agents)
    e.agent_login("novice", 0)
    e.agent_login("expert", 0)
    e.call_arrived(call("c", "q", 0), 0)
    assert offers(e.agent_ready("novice", 6)) == [("c", "novice")]  # widened at 5 s: step 1
    plain = QueueSpec("q", skills=(SkillRequirement("en", 1),))  # no steps any more
    e.apply_config([plain], agents, DEFAULT_TIER_BOOSTS, 7)
    e.agent_ready("expert", 7)
    events = e.agent_not_ready("novice", "break", 8)  # withdrawn: the expert takes it
    assert of(OfferCancelled, events)
    assert offers(events) == [("c", "expert")]

"""Each agent-selection strategy picks idle agents in its documented order."""

from __future__ import annotations

from collections import Counter

import pytest

from router import Engine, QueueSpec, SkillRequirement, Strategy
from tests.router.helpers import agent, call, engine, offers, ready, serve

SKILLED = (SkillRequirement("en", 1),)


def first_offer(e: Engine, call_id: str, now: float) -> str:
    (pair,) = offers(e.call_arrived(call(call_id, "q", now), now))
    return pair[1]


def test_longest_idle_picks_the_agent_ready_earliest() -> None:
    e = engine([QueueSpec("q")], [agent(a, ["q"]) for a in ("a1", "a2", "a3")])
    ready(e, "a2", now=1)
    ready(e, "a3", now=2)
    ready(e, "a1", now=3)
    assert [first_offer(e, f"c{i}", 10 + i) for i in range(3)] == ["a2", "a3", "a1"]


def test_longest_idle_counts_from_the_end_of_wrap_up() -> None:
    e = engine([QueueSpec("q", wrap_up_s=5)], [agent("a1", ["q"]), agent("a2", ["q"])])
    ready(e, "a1", "a2", now=0)
    assert first_offer(e, "c1", 1) == "a1"
    serve(e, "c1", 2)
    e.advance(7)  # a1 back to ready at 7; a2 has been idle since 0
    assert first_offer(e, "c2", 8) == "a2"
    assert first_offer(e, "c3", 9) == "a1"


def test_most_skilled_picks_highest_proficiency_then_longest_idle() -> None:
    agents = [agent("low", ["q"], en=3), agent("high", ["q"], en=9), agent("high2", ["q"], en=9)]
    e = engine([QueueSpec("q", strategy=Strategy.MOST_SKILLED, skills=SKILLED)], agents)
    ready(e, "low", now=0)
    ready(e, "high2", now=1)
    ready(e, "high", now=2)
    assert [first_offer(e, f"c{i}", 10 + i) for i in range(3)] == ["high2", "high", "low"]


def test_round_robin_walks_agents_in_configuration_order_and_wraps() -> None:
    agents = [agent(a, ["q"]) for a in ("a1", "a2", "a3")]
    e = engine([QueueSpec("q", strategy=Strategy.ROUND_ROBIN, wrap_up_s=0)], agents)
    ready(e, "a3", "a2", "a1", now=0)  # ready order must not matter
    picked = []
    for i in range(6):
        who = first_offer(e, f"c{i}", 1 + i)
        serve(e, f"c{i}", 1 + i)
        picked.append(who)
    assert picked == ["a1", "a2", "a3", "a1", "a2", "a3"]


def test_fewest_calls_picks_the_agent_with_fewest_answered_calls() -> None:
    agents = [agent(a, ["q"]) for a in ("a1", "a2")]
    e = engine([QueueSpec("q", strategy=Strategy.FEWEST_CALLS, wrap_up_s=0)], agents)
    ready(e, "a1", now=0)
    for i in range(2):  # a1 takes two calls alone
        first_offer(e, f"x{i}", 1 + i)
        serve(e, f"x{i}", 1 + i)
    ready(e, "a2", now=5)  # a2 idle for less time but with fewer calls
    assert first_offer(e, "c1", 6) == "a2"


def test_least_talk_time_picks_the_agent_who_talked_least() -> None:
    agents = [agent(a, ["q"]) for a in ("a1", "a2")]
    e = engine([QueueSpec("q", strategy=Strategy.LEAST_TALK_TIME, wrap_up_s=0)], agents)
    ready(e, "a1", "a2", now=0)
    assert first_offer(e, "long", 1) == "a1"
    assert first_offer(e, "short", 1) == "a2"
    e.offer_answered("long", 1)
    e.offer_answered("short", 1)
    e.call_ended("short", 5)  # a2 talked 4 s, ready at 5
    e.call_ended("long", 100)  # a1 talked 99 s, ready at 100 (a2 idle longer too)
    e.agent_not_ready("a2", "break", 101)
    e.agent_ready("a2", 102)  # a2 now idle for less time than a1, but talked less
    assert first_offer(e, "c", 103) == "a2"


def test_random_weighted_follows_proficiency_and_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> Counter[str]:
        agents = [agent("w1", ["q"], en=1), agent("w3", ["q"], en=3)]
        e = engine(
            [QueueSpec("q", strategy=Strategy.RANDOM_WEIGHTED, skills=SKILLED, wrap_up_s=0)],
            agents,
            seed,
        )
        ready(e, "w1", "w3", now=0)
        picks: Counter[str] = Counter()
        for i in range(2000):
            who = first_offer(e, f"c{i}", i)
            serve(e, f"c{i}", i)
            picks[who] += 1
        return picks

    picks = run(7)
    assert picks == run(7)
    share = picks["w3"] / 2000
    assert 0.70 < share < 0.80  # expected 3/4; 2000 draws give a standard error near 0.01


@pytest.mark.parametrize("strategy", list(Strategy))
def test_reason_names_the_strategy(strategy: Strategy) -> None:
    e = engine([QueueSpec("q", strategy=strategy, skills=SKILLED)], [agent("a1", ["q"], en=5)])
    ready(e, "a1")
    (offer,) = [ev for ev in e.call_arrived(call("c", "q", 1), 1) if type(ev).__name__ == "Offer"]
    label = strategy.value.replace("_", " ")
    assert str(offer.reason).startswith("initial pool: ")
    assert label.split()[0] in offer.reason.why
    assert [c.id for c in offer.reason.candidates] == ["a1"]

"""Agent-selection strategies as heap keys: the smallest key is the agent a queue picks.

Every key is fixed while the agent sits idle (it only changes while the agent is busy), so
an idle agent is pushed once per pool and never re-keyed. Random weighted selection uses the
exponential-clock trick (Efraimidis and Spirakis): each idle agent draws clock + Exp(weight)
and the smallest draw wins, which picks agent i with probability w_i / sum(w). Because the
exponential is memoryless and a new draw starts from the queue's clock (the last winning
draw), agents who have waited through earlier picks are neither favoured nor penalised.
"""

from __future__ import annotations

import random

from router.model import Strategy

AgentKey = tuple[float, float]


def agent_key(
    strategy: Strategy,
    *,
    idle_since: float,
    score: int,
    calls: int,
    talk_s: float,
    rr_last: int,
    order: int,
    clock: float,
    rng: random.Random,
) -> AgentKey:
    """Return the heap key of an idle agent for a queue using `strategy`."""
    if strategy is Strategy.LONGEST_IDLE:
        return (idle_since, 0.0)
    if strategy is Strategy.MOST_SKILLED:
        return (float(-score), idle_since)
    if strategy is Strategy.ROUND_ROBIN:
        return (float(rr_last), float(order))
    if strategy is Strategy.FEWEST_CALLS:
        return (float(calls), idle_since)
    if strategy is Strategy.LEAST_TALK_TIME:
        return (talk_s, idle_since)
    return (clock + rng.expovariate(max(score, 1)), 0.0)


def describe(strategy: Strategy, key: AgentKey, now: float) -> str:
    """Explain, for a person, what an agent's key means."""
    if strategy is Strategy.LONGEST_IDLE:
        return f"idle {now - key[0]:g} s"
    if strategy is Strategy.MOST_SKILLED:
        return f"skill score {-key[0]:g}, idle {now - key[1]:g} s"
    if strategy is Strategy.ROUND_ROBIN:
        return "never offered yet" if key[0] < 0 else f"last offered turn {key[0]:g}"
    if strategy is Strategy.FEWEST_CALLS:
        return f"{key[0]:g} calls since login"
    if strategy is Strategy.LEAST_TALK_TIME:
        return f"talked {key[0]:g} s since login"
    return f"weighted draw {key[0]:.3f}"


LABELS = {
    Strategy.LONGEST_IDLE: "longest idle",
    Strategy.MOST_SKILLED: "most skilled",
    Strategy.ROUND_ROBIN: "round robin",
    Strategy.FEWEST_CALLS: "fewest calls",
    Strategy.LEAST_TALK_TIME: "least talk time",
    Strategy.RANDOM_WEIGHTED: "random weighted by proficiency",
}

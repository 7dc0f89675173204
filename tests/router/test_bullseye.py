"""Bullseye steps widen the eligible pool as a caller waits."""

from __future__ import annotations

import pytest

from router import BullseyeStep, BullseyeWidened, QueueSpec, SkillRequirement
from tests.router.helpers import agent, call, engine, of, offers

STEPS = (
    BullseyeStep(after_s=30, min_proficiency=5),
    BullseyeStep(after_s=60, drop_skills=frozenset({"fr"})),
    BullseyeStep(after_s=90, extra_queues=("overflow",)),
)
SALES = QueueSpec(
    "sales",
    skills=(SkillRequirement("en", 8), SkillRequirement("fr", 5)),
    bullseye=STEPS,
    max_wait_s=1000,
)
OVERFLOW = QueueSpec("overflow")
AGENTS = [
    agent("expert", ["sales"], en=9, fr=6),
    agent("mid", ["sales"], en=6, fr=6),
    agent("no_fr", ["sales"], en=9),
    agent("helper", ["overflow"], en=5),  # extra-queue agents still need the widened skills
]


@pytest.mark.parametrize(
    ("who", "offered_at"),
    [("expert", 0.0), ("mid", 30.0), ("no_fr", 60.0), ("helper", 90.0)],
)
def test_each_step_adds_its_agents_exactly_when_due(who: str, offered_at: float) -> None:
    e = engine([SALES, OVERFLOW], AGENTS)
    for a in ("expert", "mid", "no_fr", "helper"):
        e.agent_login(a, 0)
    e.agent_ready(who, 0)
    events = e.call_arrived(call("c", "sales", 0), 0)
    now = 0.0
    while not offers(events):
        deadline = e.next_deadline()
        assert deadline is not None
        assert deadline <= 90
        now = deadline
        events = e.advance(now)
    assert offers(events) == [("c", who)]
    assert now == offered_at


def test_widening_is_reported_with_its_step() -> None:
    e = engine([SALES, OVERFLOW], AGENTS)
    for a in ("expert", "mid", "no_fr", "helper"):
        e.agent_login(a, 0)
    e.call_arrived(call("c", "sales", 0), 0)
    assert e.next_deadline() == 30
    widened = of(BullseyeWidened, e.advance(30) + e.advance(60) + e.advance(90))
    assert [w.step for w in widened] == [1, 2, 3]
    assert widened[0].reason.step == "bullseye step 1 at 30 s"


def test_an_agent_who_becomes_ready_serves_only_callers_at_its_step() -> None:
    e = engine([SALES, OVERFLOW], AGENTS)
    for a in ("expert", "mid", "no_fr", "helper"):
        e.agent_login(a, 0)
    e.call_arrived(call("c", "sales", 0), 0)
    assert offers(e.agent_ready("mid", 10)) == []  # step 0 still: mid not skilled enough
    assert offers(e.advance(30)) == [("c", "mid")]


def test_a_step_with_nobody_logged_in_is_skipped() -> None:
    e = engine([SALES, OVERFLOW], AGENTS)
    e.agent_login("no_fr", 0)  # only the step-2 agent is logged in (and busy not ready)
    events = e.call_arrived(call("c", "sales", 0), 0)
    assert [w.step for w in of(BullseyeWidened, events)] == [2]
    assert offers(e.agent_ready("no_fr", 1)) == [("c", "no_fr")]


def test_pools_never_shrink_when_a_later_step_raises_the_bar() -> None:
    q = QueueSpec(
        "q",
        skills=(SkillRequirement("en", 3),),
        bullseye=(BullseyeStep(after_s=10, min_proficiency=9),),
    )
    e = engine([q], [agent("a", ["q"], en=4)])
    e.agent_login("a", 0)
    e.call_arrived(call("c", "q", 0), 0)
    e.advance(20)
    assert offers(e.agent_ready("a", 21)) == [("c", "a")]

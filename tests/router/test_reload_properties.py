"""Hot reload under random traffic: whatever the old and new configuration, nobody is lost."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import (
    DEFAULT_TIER_BOOSTS,
    AgentSpec,
    AgentState,
    Call,
    Engine,
    Event,
    QueueSpec,
    RoutingError,
    Strategy,
)
from tests.router.test_properties import OPS, Checker, configs

Config = tuple[list[QueueSpec], list[AgentSpec]]
steps = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(0, 50),
        st.integers(0, 50),
        st.sampled_from([0.0, 0.5, 2.0, 7.0]),
    ),
    max_size=30,
)


def apply(
    engine: Engine, name: str, i: int, j: int, now: float, n: int, checker: Checker
) -> list[Event]:
    """Apply one input chosen from the engine's public view; refusals are allowed."""
    agents = sorted(engine.agent_ids())
    calls = sorted(engine.call_ids())
    agent_id = agents[i % len(agents)] if agents else "nobody"
    call_id = calls[i % len(calls)] if calls else "none"
    try:
        if name == "arrive":
            queues = sorted(engine.queue_ids())
            call = Call(f"c{n}", queues[i % len(queues)], now, tier=["standard", "gold"][j % 2])
            checker.arrived(call.call_id)
            return engine.call_arrived(call, now)
        actions = {
            "login": lambda: engine.agent_login(agent_id, now),
            "ready": lambda: engine.agent_ready(agent_id, now),
            "not_ready": lambda: engine.agent_not_ready(agent_id, "break", now),
            "logout": lambda: engine.agent_logout(agent_id, now),
            "answer": lambda: engine.offer_answered(call_id, now),
            "reject": lambda: engine.offer_rejected(call_id, now),
            "end": lambda: engine.call_ended(call_id, now),
            "wrap_done": lambda: engine.wrap_up_done(agent_id, now),
            "abandon": lambda: engine.caller_abandoned(call_id, now),
            "priority": lambda: engine.set_priority(call_id, float(j), now),
            "identify": lambda: engine.customer_identified(
                call_id, ["standard", "gold"][j % 2], None, agents[j % len(agents)], now
            ),
            "transfer": lambda: engine.transfer(
                call_id,
                now,
                queue_id=sorted(engine.queue_ids())[j % len(engine.queue_ids())],
                agent_id=agent_id if j % 2 else None,
            ),
        }
        return actions[name]()
    except RoutingError:
        return []


def check(engine: Engine, checker: Checker, now: float) -> None:
    holders: dict[str, str] = {}
    for agent_id in engine.agent_ids():
        snap = engine.agent_snapshot(agent_id)
        if snap.state in (AgentState.RESERVED, AgentState.WRAP_UP):
            # Offer timeouts are at most 10 s and wrap-ups 8 s in these configs: no lost timer.
            upcoming = engine.next_deadline()
            assert upcoming is not None and upcoming <= now + 10
        if snap.call_id is not None:
            assert snap.call_id not in holders, "a caller is held by two agents"
            holders[snap.call_id] = agent_id
            assert engine.call_agent(snap.call_id) == agent_id
            assert snap.state in (AgentState.RESERVED, AgentState.ON_CALL)
    waiting = 0
    for call_id in engine.call_ids():
        agent_id = engine.call_agent(call_id)
        if agent_id is None:
            assert engine.position(call_id) is not None
            waiting += 1
            assert checker.in_queue[call_id]
        else:
            assert holders.get(call_id) == agent_id
            connected = engine.agent_snapshot(agent_id).state is AgentState.ON_CALL
            assert checker.in_queue[call_id] == (not connected)
    assert waiting == sum(engine.queue_snapshot(q, 0).waiting for q in engine.queue_ids())
    for call_id, inside in checker.in_queue.items():
        if not engine.has_call(call_id):
            assert not inside, f"{call_id} vanished without leaving its queue"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=configs(list(Strategy)),
    after=configs(list(Strategy)),
    first=steps,
    then=steps,
)
def test_reload_keeps_every_caller_accounted_for(
    before: Config,
    after: Config,
    first: list[tuple[str, int, int, float]],
    then: list[tuple[str, int, int, float]],
) -> None:
    engine = Engine(before[0], before[1], DEFAULT_TIER_BOOSTS)
    checker = Checker()
    now = 0.0
    for agent in before[1]:
        engine.agent_login(agent.id, now)
        engine.agent_ready(agent.id, now)
    for n, (name, i, j, dt) in enumerate(first):
        now += dt
        checker.events(engine.advance(now))
        checker.events(apply(engine, name, i, j, now, n, checker))
        check(engine, checker, now)
    now += 1.0
    checker.events(engine.apply_config(after[0], after[1], DEFAULT_TIER_BOOSTS, now))
    check(engine, checker, now)
    assert sorted(engine.queue_ids()) == sorted(q.id for q in after[0])
    for n, (name, i, j, dt) in enumerate(then, start=len(first)):
        now += dt
        checker.events(engine.advance(now))
        checker.events(apply(engine, name, i, j, now, n, checker))
        check(engine, checker, now)
    for call_id in sorted(engine.call_ids()):
        checker.events(engine.caller_abandoned(call_id, now))
    assert engine.call_ids() == ()
    assert not any(checker.in_queue.values())

"""Property tests: random configurations and event sequences, checked against the reference."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from router import (
    DEFAULT_TIER_BOOSTS,
    AgentSpec,
    AgentState,
    BullseyeStep,
    Call,
    CallDequeued,
    CallTransferred,
    Destination,
    DestinationKind,
    Engine,
    Event,
    Offer,
    Overflowed,
    QueueSpec,
    RoutingError,
    SkillRequirement,
    Strategy,
)
from router.simulation import TrafficSpec, simulate
from tests.router.reference import Outcomes, Reference, RefError

MODELLED = [s for s in Strategy if s is not Strategy.RANDOM_WEIGHTED]
QUEUE_IDS = ["q0", "q1", "q2"]
VOICEMAIL = Destination(DestinationKind.VOICEMAIL, "box")


@st.composite
def destinations(draw: st.DrawFn, n_queues: int) -> Destination:
    if draw(st.booleans()):
        return VOICEMAIL
    return Destination(DestinationKind.QUEUE, QUEUE_IDS[draw(st.integers(0, n_queues - 1))])


@st.composite
def queue_specs(
    draw: st.DrawFn, index: int, n_queues: int, strategies: list[Strategy] = MODELLED
) -> QueueSpec:
    skills = []
    if draw(st.booleans()):
        skills.append(SkillRequirement("en", draw(st.integers(1, 9))))
    if draw(st.booleans()):
        skills.append(SkillRequirement("fr", draw(st.integers(1, 9))))
    times = sorted(draw(st.sets(st.sampled_from([5.0, 12.0, 30.0]), max_size=2)))
    steps = tuple(
        BullseyeStep(
            after_s=t,
            min_proficiency=draw(st.none() | st.integers(1, 5)),
            drop_skills=draw(st.sampled_from([frozenset(), frozenset({"fr"})])),
            extra_queues=tuple(draw(st.sets(st.sampled_from(QUEUE_IDS[:n_queues]), max_size=1))),
        )
        for t in times
    )
    return QueueSpec(
        QUEUE_IDS[index],
        strategy=draw(st.sampled_from(strategies)),
        base_priority=draw(st.sampled_from([0.0, 5.0])),
        aging_per_s=draw(st.sampled_from([0.0, 0.5, 1.0])),
        skills=tuple(skills),
        bullseye=steps,
        offer_timeout_s=draw(st.sampled_from([4.0, 10.0])),
        rona_max_misses=draw(st.integers(1, 3)),
        wrap_up_s=draw(st.sampled_from([0.0, 3.0, 8.0])),
        max_queue_length=draw(st.none() | st.integers(0, 3)),
        max_wait_s=draw(st.none() | st.sampled_from([20.0, 45.0])),
        on_max_wait=draw(destinations(n_queues)),
        max_wait_no_agents_s=draw(st.none() | st.sampled_from([0.0, 6.0])),
        on_no_agents=draw(destinations(n_queues)),
        preferred_agent_s=draw(st.sampled_from([0.0, 7.0])),
    )


@st.composite
def configs(
    draw: st.DrawFn, strategies: list[Strategy] = MODELLED
) -> tuple[list[QueueSpec], list[AgentSpec]]:
    n_queues = draw(st.integers(1, 3))
    queues = [draw(queue_specs(i, n_queues, strategies)) for i in range(n_queues)]
    agents = []
    for i in range(draw(st.integers(1, 4))):
        skills = {"en": draw(st.integers(1, 10))}
        if draw(st.booleans()):
            skills["fr"] = draw(st.integers(1, 10))
        member = draw(st.sets(st.sampled_from(QUEUE_IDS[:n_queues]), min_size=1))
        queues_of = {q: draw(st.integers(0, 2)) for q in sorted(member)}
        agents.append(AgentSpec(f"a{i}", skills=skills, queues=queues_of))
    return queues, agents


OPS = [
    "arrive",
    "arrive",
    "arrive",
    "login",
    "ready",
    "ready",
    "not_ready",
    "logout",
    "answer",
    "answer",
    "reject",
    "end",
    "end",
    "wrap_done",
    "abandon",
    "priority",
    "identify",
    "transfer",
]
ops = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(0, 50),
        st.integers(0, 50),
        st.sampled_from([0.0, 0.25, 1.0, 2.5, 4.0, 9.0]),
    ),
    min_size=5,
    max_size=80,
)


def outcomes(events: list[Event]) -> Outcomes:
    out = Outcomes()
    for e in events:
        if isinstance(e, Offer):
            out.offers.append((e.call_id, e.agent_id))
        elif isinstance(e, CallDequeued):
            out.dequeued.append((e.call_id, e.queue_id, e.outcome.value))
        elif isinstance(e, Overflowed):
            out.overflowed.append((e.call_id, str(e.destination)))
    return out


def same(ref: Outcomes, got: Outcomes) -> None:
    assert sorted(got.offers) == sorted(ref.offers)
    assert sorted(got.dequeued) == sorted(ref.dequeued)
    assert sorted(got.overflowed) == sorted(ref.overflowed)


class Checker:
    """Track every caller's stay in a queue from the events alone."""

    def __init__(self) -> None:
        self.in_queue: dict[str, bool] = {}

    def arrived(self, call_id: str) -> None:
        assert not self.in_queue.get(call_id), f"{call_id} entered twice"
        self.in_queue[call_id] = True

    def events(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, CallDequeued):
                assert self.in_queue.get(e.call_id), f"{e.call_id} left a queue it was not in"
                self.in_queue[e.call_id] = False
            elif isinstance(e, Overflowed) and e.destination.kind is DestinationKind.QUEUE:
                assert not self.in_queue[e.call_id]
                self.in_queue[e.call_id] = True
            elif isinstance(e, CallTransferred):
                assert not self.in_queue[e.call_id], f"{e.call_id} transferred while queued"
                self.in_queue[e.call_id] = True


def compare_states(engine: Engine, ref: Reference, checker: Checker, now: float) -> None:
    assert sorted(engine.call_ids()) == sorted(ref.callers)
    holders: dict[str, str] = {}
    for agent_id, ra in ref.agents.items():
        snap = engine.agent_snapshot(agent_id)
        assert (snap.state, snap.reason_code, snap.call_id) == (ra.state, ra.reason, ra.call), (
            agent_id
        )
        if snap.call_id is not None:
            assert snap.call_id not in holders, "a caller is held by two agents"
            holders[snap.call_id] = agent_id
    for call_id, rc in ref.callers.items():
        assert engine.call_agent(call_id) == rc.agent
        waiting = rc.state in ("waiting", "preferred")
        assert (engine.position(call_id) is not None) == waiting
        if rc.agent is not None:
            assert holders.get(call_id) == rc.agent
        assert checker.in_queue[call_id] == (rc.state != "connected")
    for call_id, inside in checker.in_queue.items():
        if call_id not in ref.callers:
            assert not inside, f"{call_id} vanished without leaving its queue"
    for queue_id in ref.queues:
        snap = engine.queue_snapshot(queue_id, now)
        assert snap.waiting == len(ref.in_line(queue_id))
        for state in AgentState:
            expected = sum(
                1
                for a in ref.agents.values()
                if a.state is state and ref.level(a.spec.id, queue_id) is not None
            )
            assert snap.agents[state] == expected
    pending = ref.deadlines()
    if pending:
        soonest = min(pending)[0]
        upcoming = engine.next_deadline()
        assert upcoming is not None and upcoming <= soonest


def run_op(
    name: str, i: int, j: int, now: float, engine: Engine, ref: Reference, checker: Checker, n: int
) -> list[Event]:
    agent_ids = sorted(ref.agents)
    # Aim call inputs mostly at calls in the fitting state, so sequences get somewhere;
    # every fifth one goes to any call (or none), which exercises the refusals too.
    wanted = {
        "answer": "offered",
        "reject": "offered",
        "end": "connected",
        "transfer": "connected",
        "identify": "waiting",
    }.get(name)
    call_ids = sorted(
        c for c, rc in ref.callers.items() if wanted is None or j % 5 == 0 or rc.state == wanted
    )
    agent_id = agent_ids[i % len(agent_ids)]
    call_id = call_ids[i % len(call_ids)] if call_ids else "none"
    # Identify: a tier, and sometimes a preferred agent. Transfer: to a queue, an agent, or both.
    tier = ["standard", "gold", "platinum"][j % 3]
    pref = agent_ids[j % len(agent_ids)] if j % 2 else None
    to_queue = sorted(ref.queues)[j % len(ref.queues)] if j % 3 != 1 else None
    to_agent = agent_id if j % 3 != 0 else None
    actions: dict[str, tuple[Callable[[], list[Event]], Callable[[], None]]] = {
        "login": (
            lambda: engine.agent_login(agent_id, now),
            lambda: ref.agent_login(agent_id, now),
        ),
        "ready": (
            lambda: engine.agent_ready(agent_id, now),
            lambda: ref.agent_ready(agent_id, now),
        ),
        "not_ready": (
            lambda: engine.agent_not_ready(agent_id, "break", now),
            lambda: ref.agent_not_ready(agent_id, "break", now),
        ),
        "logout": (
            lambda: engine.agent_logout(agent_id, now),
            lambda: ref.agent_logout(agent_id, now),
        ),
        "answer": (
            lambda: engine.offer_answered(call_id, now),
            lambda: ref.offer_answered(call_id, now),
        ),
        "reject": (
            lambda: engine.offer_rejected(call_id, now),
            lambda: ref.offer_rejected(call_id, now),
        ),
        "end": (lambda: engine.call_ended(call_id, now), lambda: ref.call_ended(call_id, now)),
        "wrap_done": (
            lambda: engine.wrap_up_done(agent_id, now),
            lambda: ref.wrap_up_done(agent_id, now),
        ),
        "abandon": (
            lambda: engine.caller_abandoned(call_id, now),
            lambda: ref.caller_abandoned(call_id, now),
        ),
        "priority": (
            lambda: engine.set_priority(call_id, float(j % 40), now),
            lambda: ref.set_priority(call_id, float(j % 40), now),
        ),
        "identify": (
            lambda: engine.customer_identified(call_id, tier, f"cust-{j}", pref, now),
            lambda: ref.customer_identified(call_id, tier, f"cust-{j}", pref, now),
        ),
        "transfer": (
            lambda: engine.transfer(call_id, now, queue_id=to_queue, agent_id=to_agent),
            lambda: ref.transfer(call_id, now, to_queue, to_agent),
        ),
    }
    if name == "arrive":
        queue_ids = sorted(ref.queues)
        call = Call(
            call_id=f"c{n}",
            queue_id=queue_ids[i % len(queue_ids)],
            arrival=now,
            tier=["standard", "gold", "platinum"][j % 3],
            preferred_agent_id=agent_ids[j % len(agent_ids)] if j % 2 else None,
        )
        checker.arrived(call.call_id)
        ref.call_arrived(call, now)
        return engine.call_arrived(call, now)
    on_engine, on_ref = actions[name]
    try:
        on_ref()
    except RefError:
        try:
            on_engine()
        except RoutingError:
            return []
        raise AssertionError(f"engine accepted {name} that the reference refused") from None
    return on_engine()


def run_against_reference(
    config: tuple[list[QueueSpec], list[AgentSpec]],
    staffed: list[bool],
    sequence: list[tuple[str, int, int, float]],
) -> None:
    """Drive the engine and the reference with the same inputs, comparing after each."""
    queues, agents = config
    engine = Engine(queues, agents, DEFAULT_TIER_BOOSTS)
    ref = Reference(queues, agents, dict(DEFAULT_TIER_BOOSTS))
    checker = Checker()
    now = 0.0
    for agent, ready in zip(agents, staffed, strict=False):
        if ready:
            engine.agent_login(agent.id, now)
            engine.agent_ready(agent.id, now)
            ref.agent_login(agent.id, now)
            ref.agent_ready(agent.id, now)
    for n, (name, i, j, dt) in enumerate(sequence):
        now += dt
        ref.out = Outcomes()
        ref.advance(now)
        events = engine.advance(now)
        checker.events(events)
        same(ref.out, outcomes(events))
        compare_states(engine, ref, checker, now)
        ref.out = Outcomes()
        events = run_op(name, i, j, now, engine, ref, checker, n)
        for e in events:
            event(type(e).__name__)
        checker.events(events)
        same(ref.out, outcomes(events))
        compare_states(engine, ref, checker, now)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config=configs(), staffed=st.lists(st.booleans(), min_size=4, max_size=4), sequence=ops)
def test_engine_matches_the_reference_and_keeps_its_invariants(
    config: tuple[list[QueueSpec], list[AgentSpec]],
    staffed: list[bool],
    sequence: list[tuple[str, int, int, float]],
) -> None:
    run_against_reference(config, staffed, sequence)


# Mostly staffed, mostly answered calls: enough connected callers for transfers to happen.
TRANSFER_OPS = [
    *["arrive"] * 2,
    *["answer"] * 3,
    *["transfer"] * 3,
    *["identify"] * 2,
    *["end"] * 2,
    *["wrap_done", "ready", "abandon", "reject", "not_ready", "logout", "login"],
]
transfer_ops = st.lists(
    st.tuples(
        st.sampled_from(TRANSFER_OPS),
        st.integers(0, 50),
        st.integers(0, 50),
        st.sampled_from([0.0, 0.25, 1.0, 2.5]),
    ),
    min_size=20,
    max_size=80,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config=configs(), sequence=transfer_ops)
def test_transfers_and_late_customer_lookups_match_the_reference(
    config: tuple[list[QueueSpec], list[AgentSpec]],
    sequence: list[tuple[str, int, int, float]],
) -> None:
    # Every agent may serve its queues, so callers get offered, answered and transferred.
    queues = [
        dataclasses.replace(q, skills=(), max_queue_length=None, max_wait_no_agents_s=None)
        for q in config[0]
    ]
    run_against_reference((queues, config[1]), [True] * 4, sequence)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=configs(list(Strategy)),
    seed=st.integers(0, 1000),
    calls_per_minute=st.sampled_from([2.0, 10.0, 30.0]),
    no_answer_share=st.sampled_from([0.0, 0.3]),
)
def test_simulated_traffic_accounts_for_every_caller_with_every_strategy(
    config: tuple[list[QueueSpec], list[AgentSpec]],
    seed: int,
    calls_per_minute: float,
    no_answer_share: float,
) -> None:
    queues, agents = config
    traffic = TrafficSpec(mean_handle_s=60, mean_patience_s=60, no_answer_share=no_answer_share)
    report = simulate(queues, agents, DEFAULT_TIER_BOOSTS, traffic, 5, calls_per_minute, seed)
    assert report == simulate(
        queues, agents, DEFAULT_TIER_BOOSTS, traffic, 5, calls_per_minute, seed
    )
    for q in report.queues:
        assert q.entered == q.answered + q.abandoned + q.overflowed
        assert q.occupancy is None or 0.0 <= q.occupancy <= 1.0

"""A slow, obviously-correct reference router: it scans everything on every decision.

It follows the same rules as `router.engine` (see that module's docstring) but keeps no
indexes: eligibility is recomputed from the specs, the best agent or caller is a `min` over
everybody, and deadlines are recomputed from the state. The property tests drive both with
the same inputs and compare their states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from router import AgentSpec, AgentState, Call, Destination, DestinationKind, QueueSpec, Strategy
from router.engine import MAX_QUEUE_HOPS, TRANSFER_AGENT_WAIT_S

WAITING, PREFERRED, OFFERED, CONNECTED, NEW = "waiting", "preferred", "offered", "connected", "new"
OFFER, WRAP, STEP, MAXWAIT, PREFER, EMPTY = range(6)


class RefError(Exception):
    """The reference refuses the input (the engine must refuse it too)."""


@dataclass
class RAgent:
    spec: AgentSpec
    order: int
    state: AgentState = AgentState.LOGGED_OUT
    reason: str | None = None
    call: str | None = None
    misses: int = 0
    idle_since: float = 0.0
    listed: int | None = None
    calls: int = 0
    talk: float = 0.0
    after_call: tuple[AgentState, str | None] | None = None
    answered_at: float = 0.0
    wrap_deadline: float = 0.0


@dataclass
class RCaller:
    call: Call
    seq: int
    queue: str
    entered: float
    extra: float
    state: str = NEW
    head: int = 0
    agent: str | None = None
    step: int = 0
    offer_deadline: float = 0.0
    hops: int = 0
    prefer_s: float | None = None  # a transfer's wait for its agent, else the queue's window
    off_fifo: bool = False  # passed over by the no-agents limit while ringing (this stay)


@dataclass
class Outcomes:
    """What one input did, in a form both implementations can be compared on."""

    offers: list[tuple[str, str]] = field(default_factory=list)
    dequeued: list[tuple[str, str, str]] = field(default_factory=list)
    overflowed: list[tuple[str, str]] = field(default_factory=list)


class Reference:
    """Scan-everything model of the routing rules."""

    def __init__(
        self, queues: Sequence[QueueSpec], agents: Sequence[AgentSpec], tiers: dict[str, float]
    ) -> None:
        self.queues = {q.id: q for q in queues}
        self.queue_order = {q.id: i for i, q in enumerate(queues)}
        self.agents = {a.id: RAgent(a, i) for i, a in enumerate(agents)}
        self.tiers = tiers
        self.callers: dict[str, RCaller] = {}
        self.empty_since = dict.fromkeys(self.queues, float("-inf"))
        self.rr_turn = dict.fromkeys(self.queues, 0)
        self.rr_last: dict[tuple[str, str], int] = {}
        self.seq = 0
        self.out = Outcomes()

    # ------------------------------------------------------------------ eligibility

    def level(self, agent_id: str, queue_id: str) -> int | None:
        """Return the first step at which an agent may serve a queue (None: never)."""
        spec = self.queues[queue_id]
        agent = self.agents[agent_id].spec
        dropped: set[str] = set()
        override: int | None = None
        pool = {queue_id}
        steps = [(None, frozenset[str](), ())] + [
            (s.min_proficiency, s.drop_skills, s.extra_queues) for s in spec.bullseye
        ]
        for k, (min_prof, drop, extra) in enumerate(steps):
            dropped |= drop
            override = min_prof if min_prof is not None else override
            pool |= set(extra)
            member = any(q in pool for q in agent.queues)
            skilled = all(
                agent.skills.get(r.skill, 0)
                >= (override if override is not None else r.min_proficiency)
                for r in spec.skills
                if r.skill not in dropped
            )
            if member and skilled:
                return k
        return None

    def step_times(self, queue_id: str) -> list[float]:
        return [0.0] + [s.after_s for s in self.queues[queue_id].bullseye]

    def logged(self, queue_id: str, max_level: int | None = None) -> int:
        count = 0
        for agent_id, agent in self.agents.items():
            lvl = self.level(agent_id, queue_id)
            if lvl is None or agent.state is AgentState.LOGGED_OUT:
                continue
            if max_level is None or lvl <= max_level:
                count += 1
        return count

    def pkey(self, c: RCaller) -> float:
        spec = self.queues[c.queue]
        return (
            spec.base_priority
            + self.tiers.get(c.call.tier, 0.0)
            + c.extra
            - spec.aging_per_s * c.entered
        )

    def in_line(self, queue_id: str) -> list[RCaller]:
        return [
            c
            for c in self.callers.values()
            if c.queue == queue_id and c.state in (WAITING, PREFERRED)
        ]

    # ------------------------------------------------------------------ deadlines

    def deadlines(self) -> list[tuple[float, int, int, str]]:
        found: list[tuple[float, int, int, str]] = []
        for c in self.callers.values():
            spec = self.queues.get(c.queue)
            if spec is None:
                continue
            if c.state == OFFERED:
                found.append((c.offer_deadline, OFFER, c.seq, c.call.call_id))
            if c.state == WAITING and c.step < len(spec.bullseye):
                at = c.entered + self.step_times(c.queue)[c.step + 1]
                found.append((at, STEP, c.seq, c.call.call_id))
            if c.state in (WAITING, PREFERRED) and spec.max_wait_s is not None:
                found.append((c.entered + spec.max_wait_s, MAXWAIT, c.seq, c.call.call_id))
            if c.state == PREFERRED:
                found.append((c.entered + self.window(c), PREFER, c.seq, c.call.call_id))
        for a in self.agents.values():
            if a.state is AgentState.WRAP_UP:
                found.append((a.wrap_deadline, WRAP, a.order, a.spec.id))
        for queue_id, spec in self.queues.items():
            front = self.front(queue_id)
            if spec.max_wait_no_agents_s is not None and self.logged(queue_id) == 0 and front:
                at = max(front.entered, self.empty_since[queue_id]) + spec.max_wait_no_agents_s
                found.append((at, EMPTY, self.queue_order[queue_id], queue_id))
        return found

    def front(self, queue_id: str) -> RCaller | None:
        here = [
            c
            for c in self.callers.values()
            if c.queue == queue_id and c.state in (WAITING, PREFERRED, OFFERED) and not c.off_fifo
        ]
        return min(here, key=lambda c: (c.entered, c.seq), default=None)

    def advance(self, now: float) -> None:
        while True:
            due = [d for d in self.deadlines() if d[0] <= now]
            if not due:
                return
            _, kind, _, ident = min(due)
            self.fire(kind, ident, now)

    def fire(self, kind: int, ident: str, now: float) -> None:
        if kind == WRAP:
            self.finish_wrap(self.agents[ident], now)
            return
        if kind == EMPTY:
            spec = self.queues[ident]
            assert spec.max_wait_no_agents_s is not None
            while (front := self.front(ident)) is not None:
                at = max(front.entered, self.empty_since[ident]) + spec.max_wait_no_agents_s
                if at > now:
                    return
                if front.state == OFFERED:
                    # Ringing (an agent from outside the queue): the engine drops it from the
                    # queue's arrival order for this stay and goes on with the next caller.
                    front.off_fifo = True
                    continue
                self.overflow(front, spec.on_no_agents, now)
            return
        c = self.callers[ident]
        spec = self.queues[c.queue]
        if kind == OFFER:
            self.missed(c, now)
        elif kind == STEP:
            step = self.reach_step(c, now)
            c.step = step
            agent = self.best_agent(c)
            if agent is not None:
                self.offer(c, agent, now)
        elif kind == MAXWAIT:
            self.overflow(c, spec.on_max_wait, now)
        else:
            c.state = NEW
            self.place(c, now, arriving=False)

    # ------------------------------------------------------------------ rules

    def no_agents_expired(self, c: RCaller, now: float) -> bool:
        limit = self.queues[c.queue].max_wait_no_agents_s
        if limit is None or self.logged(c.queue) > 0:
            return False
        return now >= max(c.entered, self.empty_since[c.queue]) + limit

    def full(self, queue_id: str) -> bool:
        limit = self.queues[queue_id].max_queue_length
        return limit is not None and len(self.in_line(queue_id)) >= limit

    def reach_step(self, c: RCaller, now: float) -> int:
        times = self.step_times(c.queue)
        by_time = max(k for k, t in enumerate(times) if t <= now - c.entered)
        step = max(c.step, by_time)
        while step < len(times) - 1 and self.logged(c.queue, step) == 0:
            step += 1
        return step

    def enter(self, c: RCaller, now: float) -> None:
        spec = self.queues[c.queue]
        c.state, c.step, c.off_fifo = NEW, 0, False
        if self.no_agents_expired(c, now):
            self.overflow(c, spec.on_no_agents, now)
            return
        if spec.max_wait_s is not None and now >= c.entered + spec.max_wait_s:
            self.overflow(c, spec.on_max_wait, now)
            return
        self.seat(c, now, arriving=True)

    def window(self, c: RCaller) -> float:
        return self.queues[c.queue].preferred_agent_s if c.prefer_s is None else c.prefer_s

    def seat(self, c: RCaller, now: float, arriving: bool) -> None:
        spec = self.queues[c.queue]
        pref = self.agents.get(c.call.preferred_agent_id or "")
        window = self.window(c)
        if (
            pref is not None
            and window > 0
            and now < c.entered + window
            and pref.state is not AgentState.LOGGED_OUT
        ):
            if pref.state is AgentState.READY:
                self.offer(c, pref, now)
            elif arriving and self.full(c.queue):
                self.overflow(c, spec.on_queue_full, now)
            else:
                c.state = PREFERRED
            return
        self.place(c, now, arriving=arriving)

    def place(self, c: RCaller, now: float, arriving: bool) -> None:
        c.step = self.reach_step(c, now)
        agent = self.best_agent(c)
        if agent is not None:
            self.offer(c, agent, now)
        elif arriving and self.full(c.queue):
            self.overflow(c, self.queues[c.queue].on_queue_full, now)
        else:
            c.state = WAITING

    def agent_key(self, a: RAgent, queue_id: str) -> tuple[float, float, int]:
        spec = self.queues[queue_id]
        assert a.listed is not None
        score = sum(a.spec.skills.get(r.skill, 0) for r in spec.skills)
        strategy = spec.strategy
        if strategy is Strategy.LONGEST_IDLE:
            return (a.idle_since, 0.0, a.listed)
        if strategy is Strategy.MOST_SKILLED:
            return (-score, a.idle_since, a.listed)
        if strategy is Strategy.ROUND_ROBIN:
            eligible = [x for x in self.agents if self.level(x, queue_id) is not None]
            order = sorted(eligible, key=lambda x: self.agents[x].order).index(a.spec.id)
            return (self.rr_last.get((queue_id, a.spec.id), -1), order, a.listed)
        if strategy is Strategy.FEWEST_CALLS:
            return (a.calls, a.idle_since, a.listed)
        if strategy is Strategy.LEAST_TALK_TIME:
            return (a.talk, a.idle_since, a.listed)
        raise AssertionError("random weighted is not modelled")

    def best_agent(self, c: RCaller) -> RAgent | None:
        idle = [
            a
            for a in self.agents.values()
            if a.state is AgentState.READY
            and a.listed is not None
            and (lvl := self.level(a.spec.id, c.queue)) is not None
            and lvl <= c.step
        ]
        return min(idle, key=lambda a: self.agent_key(a, c.queue), default=None)

    def rank(
        self, c: RCaller, now: float, queue_priority: int
    ) -> tuple[float, int, float, int, int]:
        effective = self.pkey(c) + self.queues[c.queue].aging_per_s * now
        return (-effective, -c.head, c.entered, -queue_priority, c.seq)

    def take_best_caller(self, a: RAgent, now: float) -> None:
        options = []
        for c in self.callers.values():
            if c.state == PREFERRED and c.call.preferred_agent_id == a.spec.id:
                options.append((self.rank(c, now, 0), c))
            elif c.state == WAITING:
                lvl = self.level(a.spec.id, c.queue)
                if lvl is not None and lvl <= c.step:
                    options.append((self.rank(c, now, a.spec.queues.get(c.queue, 0)), c))
        if not options:
            self.seq += 1
            a.listed = self.seq
            return
        self.offer(min(options, key=lambda o: o[0])[1], a, now)

    def set_state(self, a: RAgent, new: AgentState, code: str | None, now: float) -> None:
        a.state = new
        a.reason = code if new is AgentState.NOT_READY else None
        a.listed = None
        if new is AgentState.READY:
            a.idle_since = now
        if new is AgentState.LOGGED_OUT:
            for queue_id in self.queues:
                if self.level(a.spec.id, queue_id) is not None and self.logged(queue_id) == 0:
                    self.empty_since[queue_id] = now

    def offer(self, c: RCaller, a: RAgent, now: float) -> None:
        c.state, c.agent = OFFERED, a.spec.id
        self.rr_turn[c.queue] += 1
        self.rr_last[(c.queue, a.spec.id)] = self.rr_turn[c.queue]
        c.offer_deadline = now + self.queues[c.queue].offer_timeout_s
        a.call = c.call.call_id
        self.out.offers.append((c.call.call_id, a.spec.id))
        self.set_state(a, AgentState.RESERVED, None, now)

    def overflow(self, c: RCaller, dest: Destination, now: float) -> None:
        self.out.dequeued.append((c.call.call_id, c.queue, "overflowed"))
        c.state = NEW
        if dest.kind is DestinationKind.QUEUE:
            if dest.target in self.queues and c.hops < MAX_QUEUE_HOPS:
                self.out.overflowed.append((c.call.call_id, str(dest)))
                c.hops += 1
                c.queue, c.entered, c.head, c.prefer_s = dest.target, now, 0, None
                self.enter(c, now)
                return
            dest = Destination(DestinationKind.REFUSE)
        self.out.overflowed.append((c.call.call_id, str(dest)))
        del self.callers[c.call.call_id]

    def requeue(self, c: RCaller, now: float) -> None:
        spec = self.queues[c.queue]
        c.state, c.agent, c.head = NEW, None, 1
        if spec.max_wait_s is not None and now >= c.entered + spec.max_wait_s:
            self.overflow(c, spec.on_max_wait, now)
        elif self.no_agents_expired(c, now):
            self.overflow(c, spec.on_no_agents, now)
        else:
            self.place(c, now, arriving=False)

    def missed(self, c: RCaller, now: float) -> None:
        a = self.agents[c.agent or ""]
        a.misses += 1
        a.call = None
        limit = self.queues[c.queue].rona_max_misses  # the queue that rang, before any overflow
        self.requeue(c, now)
        if a.misses >= limit:
            a.misses = 0
            self.set_state(a, AgentState.NOT_READY, "missed", now)
        else:
            self.set_state(a, AgentState.READY, None, now)
            self.take_best_caller(a, now)

    def end_call(self, c: RCaller, now: float, forget: bool = True) -> None:
        a = self.agents[c.agent or ""]
        if forget:
            del self.callers[c.call.call_id]
        a.talk += now - a.answered_at
        a.call = None
        wrap = self.queues[c.queue].wrap_up_s
        if a.after_call is not None and a.after_call[0] is AgentState.LOGGED_OUT:
            self.finish_wrap(a, now)
        elif wrap > 0:
            a.wrap_deadline = now + wrap
            self.set_state(a, AgentState.WRAP_UP, None, now)
        else:
            self.finish_wrap(a, now)

    def finish_wrap(self, a: RAgent, now: float) -> None:
        target, code = a.after_call or (AgentState.READY, None)
        a.after_call = None
        self.set_state(a, target, code, now)
        if target is AgentState.READY:
            self.take_best_caller(a, now)
        elif target is AgentState.LOGGED_OUT:
            self.release_preferred(a, now)

    def release_preferred(self, a: RAgent, now: float) -> None:
        waiting = [
            c
            for c in self.callers.values()
            if c.state == PREFERRED and c.call.preferred_agent_id == a.spec.id
        ]
        for c in sorted(waiting, key=lambda c: (c.entered, c.seq)):
            c.state = NEW
            self.place(c, now, arriving=False)

    def withdraw(self, a: RAgent, now: float) -> None:
        c = self.callers[a.call or ""]
        a.call = None
        self.requeue(c, now)

    # ------------------------------------------------------------------ inputs

    def call_arrived(self, call: Call, now: float) -> None:
        if call.call_id in self.callers or call.queue_id not in self.queues:
            raise RefError(call.call_id)
        self.seq += 1
        c = RCaller(call, self.seq, call.queue_id, call.arrival, call.extra_priority)
        self.callers[call.call_id] = c
        self.enter(c, now)

    def agent_login(self, agent_id: str, now: float) -> None:
        a = self.agents[agent_id]
        if a.state is not AgentState.LOGGED_OUT:
            raise RefError(agent_id)
        a.calls, a.talk, a.misses, a.after_call = 0, 0.0, 0, None
        self.set_state(a, AgentState.NOT_READY, "login", now)

    def agent_ready(self, agent_id: str, now: float) -> None:
        a = self.agents[agent_id]
        if a.state in (AgentState.LOGGED_OUT, AgentState.RESERVED):
            raise RefError(agent_id)
        if a.state is AgentState.NOT_READY:
            self.set_state(a, AgentState.READY, None, now)
            self.take_best_caller(a, now)
        elif a.state is AgentState.WRAP_UP:
            a.after_call = None
            self.finish_wrap(a, now)
        elif a.state is AgentState.ON_CALL:
            a.after_call = None

    def agent_not_ready(self, agent_id: str, code: str, now: float) -> None:
        a = self.agents[agent_id]
        if a.state is AgentState.LOGGED_OUT:
            raise RefError(agent_id)
        if a.state is AgentState.ON_CALL:
            a.after_call = (AgentState.NOT_READY, code)
        elif a.state is AgentState.WRAP_UP:
            a.after_call = (AgentState.NOT_READY, code)
            self.finish_wrap(a, now)
        else:
            if a.state is AgentState.RESERVED:
                self.withdraw(a, now)
            self.set_state(a, AgentState.NOT_READY, code, now)

    def agent_logout(self, agent_id: str, now: float) -> None:
        a = self.agents[agent_id]
        if a.state is AgentState.LOGGED_OUT:
            raise RefError(agent_id)
        if a.state is AgentState.ON_CALL:
            a.after_call = (AgentState.LOGGED_OUT, None)
            return
        if a.state is AgentState.RESERVED:
            self.withdraw(a, now)
        self.set_state(a, AgentState.LOGGED_OUT, None, now)
        self.release_preferred(a, now)

    def offer_answered(self, call_id: str, now: float) -> None:
        c = self.callers.get(call_id)
        if c is None or c.state != OFFERED:
            raise RefError(call_id)
        a = self.agents[c.agent or ""]
        a.misses, a.answered_at = 0, now
        a.calls += 1
        c.state = CONNECTED
        self.out.dequeued.append((call_id, c.queue, "answered"))
        self.set_state(a, AgentState.ON_CALL, None, now)

    def offer_rejected(self, call_id: str, now: float) -> None:
        c = self.callers.get(call_id)
        if c is None or c.state != OFFERED:
            raise RefError(call_id)
        self.missed(c, now)

    def call_ended(self, call_id: str, now: float) -> None:
        c = self.callers.get(call_id)
        if c is None or c.state != CONNECTED:
            raise RefError(call_id)
        self.end_call(c, now)

    def wrap_up_done(self, agent_id: str, now: float) -> None:
        a = self.agents[agent_id]
        if a.state is not AgentState.WRAP_UP:
            raise RefError(agent_id)
        self.finish_wrap(a, now)

    def caller_abandoned(self, call_id: str, now: float) -> None:
        c = self.callers.get(call_id)
        if c is None:
            raise RefError(call_id)
        if c.state == CONNECTED:
            self.end_call(c, now)
            return
        self.out.dequeued.append((call_id, c.queue, "abandoned"))
        del self.callers[call_id]
        if c.state == OFFERED:
            a = self.agents[c.agent or ""]
            a.call = None
            self.set_state(a, AgentState.READY, None, now)
            self.take_best_caller(a, now)

    def set_priority(self, call_id: str, extra: float, now: float) -> None:
        c = self.callers.get(call_id)
        if c is None:
            raise RefError(call_id)
        c.extra = extra

    def customer_identified(
        self, call_id: str, tier: str, customer_id: str | None, pref: str | None, now: float
    ) -> None:
        c = self.callers.get(call_id)
        if c is None:
            return  # the lookup finished after the call left: nothing to do
        new_pref = pref or c.call.preferred_agent_id
        moved = c.state in (WAITING, PREFERRED) and new_pref != c.call.preferred_agent_id
        c.call = replace(c.call, tier=tier, customer_id=customer_id, preferred_agent_id=new_pref)
        if moved:
            c.state = NEW
            self.seat(c, now, arriving=False)

    def transfer(
        self, call_id: str, now: float, queue_id: str | None, agent_id: str | None
    ) -> None:
        c = self.callers.get(call_id)
        if c is None or c.state != CONNECTED or (queue_id is None and agent_id is None):
            raise RefError(call_id)
        target = c.queue if queue_id is None else queue_id
        if target not in self.queues:
            raise RefError(call_id)
        if agent_id is not None and (
            agent_id not in self.agents
            or agent_id == c.agent
            or self.agents[agent_id].state is AgentState.LOGGED_OUT
        ):
            raise RefError(agent_id)
        self.end_call(c, now, forget=False)
        c.agent = None
        c.queue, c.entered, c.head, c.prefer_s = target, now, 0, None
        if agent_id is not None:
            c.call = replace(c.call, preferred_agent_id=agent_id)
            c.prefer_s = max(self.queues[target].preferred_agent_s, TRANSFER_AGENT_WAIT_S)
        self.enter(c, now)

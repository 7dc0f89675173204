"""The routing engine: a synchronous, deterministic state machine over callers and agents.

Inputs are method calls carrying `now` (seconds); each returns the events it caused. Timers
are deadlines: `next_deadline()` says when to call `advance(now)` next. Every input first fires
deadlines already due, so a driver that is a little late still sees a consistent engine. An
input refused with a `RoutingError` changes nothing itself; if deadlines fired before the
refusal, their events are held and returned by the next call (`next_deadline()` then says
"now"). Deadlines due at the same instant fire in a fixed order (offer timeouts, wrap-ups,
bullseye steps, max waits, preferred-agent windows, empty queues; callers by arrival).

Rules worth knowing: a bullseye step whose pool has nobody logged in is skipped when the
caller reaches it (pools are nested, so skipping only widens sooner). A ringing caller's
limits wait for the offer: if the offer fails after the max wait, the caller overflows then.
A hot reload keeps callers' places but restarts any preferred-agent wait as a normal wait.
A blind transfer ends the agent's part (wrap-up) and re-enters the caller with a fresh wait
(its `Call.arrival` stays the original). A customer identified after arrival re-keys a waiting
caller's tier and may give it a preferred agent, as if both had been known at arrival.

How a decision stays O(log n) (no scan of agents or callers):

* Pools. `router.pools` gives each eligible agent a *level* per queue (the bullseye step at
  which it joins). Idle agents sit in one heap per (queue, level), keyed by the queue's
  strategy (`router.strategies`); waiting callers sit in one heap per (queue, current step).
  A caller at step k looks at the tops of the idle heaps for levels 0..k; an agent at level
  L in queue q looks at the tops of the caller heaps for steps L..last of q. Both counts come
  from the configuration, not from the number of agents or callers.
* Lazy deletion. An entry carries the version of its caller or agent; any change bumps the
  version, and stale entries are dropped when they reach the top (or when a heap holds many
  more stale entries than live ones, it is compacted, so memory stays bounded).
* Aging without rescans. Effective priority is
  base + tier + extra + aging * (now - entered). Within one queue the aging rate is the same
  for everybody, so the order is that of the time-invariant key
  base + tier + extra - aging * entered, which is what the heaps store. Across queues (an
  agent serving several) only the heap tops are compared, each turned into its effective
  priority at `now`.
* Invariant. No idle agent is ever eligible for a waiting caller: every input that frees an
  agent or places a caller immediately matches them. So a caller arriving to an idle pool
  simply takes the best idle agent, and an agent becoming ready takes the best caller.

Ties: effective priority, then a caller whose offer went unanswered (back at the head of its
priority), then longest wait, then the agent's priority for the queue (higher first).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import random
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import NoReturn

from router.events import (
    AgentStateChanged,
    BullseyeWidened,
    CallDequeued,
    CallFinished,
    CallQueued,
    CallTransferred,
    Candidate,
    Event,
    InvalidTransition,
    Offer,
    OfferCancelled,
    OfferTimedOut,
    Outcome,
    Overflowed,
    Reason,
    RoutingError,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from router.model import (
    REFUSE,
    AgentSpec,
    AgentState,
    Call,
    Destination,
    DestinationKind,
    QueueSpec,
    Strategy,
)
from router.pools import AgentLink, QueuePlan, build_plans
from router.snapshots import AgentSnapshot, QueueSnapshot
from router.strategies import LABELS, agent_key, describe

log = logging.getLogger(__name__)

# A caller moving between queues more often than this is in an overflow loop.
MAX_QUEUE_HOPS = 8
# Weight of the newest handle time in the per-queue moving average used for EWT.
AHT_WEIGHT = 0.1
CANDIDATES_SHOWN = 5
# A caller transferred to a busy agent waits for that agent at least this long (or the
# queue's preferred-agent window, if longer), then goes to anyone eligible in the queue.
TRANSFER_AGENT_WAIT_S = 60.0

_NEW, _WAITING, _PREFERRED, _OFFERED, _CONNECTED = range(5)
_OFFER, _WRAP, _STEP, _MAXWAIT, _PREFER, _EMPTY = range(6)
_STAFFED = (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP)
# Per-queue state counts are lists indexed by state: hashing an enum member is a Python call.
_STATE_INDEX = {state: index for index, state in enumerate(AgentState)}
_STATES = tuple(AgentState)

CallerEntry = tuple[float, int, float, int, int, str]
AgentEntry = tuple[float, float, int, int, str]
Deadline = tuple[float, int, int, str, int]  # (at, kind, entity order, id, token)


def _reject(error: RoutingError) -> NoReturn:
    """Log a refused input and raise it (messages carry ids only, never numbers or names)."""
    log.warning("routing input refused: %s", error)
    raise error


class _Caller:
    __slots__ = (
        "agent_id",
        "answered_at",
        "call",
        "entered",
        "extra",
        "head",
        "hops",
        "offer_deadline",
        "pkey",
        "prefer_s",
        "queue_id",
        "seq",
        "spec",
        "state",
        "stay",
        "step",
        "version",
    )

    def __init__(self, call: Call, spec: QueueSpec, seq: int) -> None:
        self.call = call
        self.queue_id = call.queue_id
        self.spec = spec
        self.entered = call.arrival
        self.extra = call.extra_priority
        self.seq = seq
        self.state = _NEW
        self.step = 0
        self.version = 0
        self.stay = 0
        self.head = 0
        self.hops = 0
        self.pkey = 0.0
        self.agent_id: str | None = None
        self.answered_at = 0.0
        self.offer_deadline = 0.0
        # The preferred-agent window of this stay when it is not the queue's (a transfer).
        self.prefer_s: float | None = None


class _Agent:
    __slots__ = (
        "after_call",
        "answered_at",
        "call_id",
        "calls",
        "idle_listed",
        "idle_since",
        "links",
        "misses",
        "order",
        "pools",
        "reason_code",
        "since",
        "spec",
        "state",
        "talk_s",
        "version",
        "wrap_deadline",
        "wrap_queue",
    )

    def __init__(self, spec: AgentSpec, links: tuple[AgentLink, ...], order: int) -> None:
        self.spec = spec
        self.order = order
        self.links = links
        self.pools = tuple((link.queue_id, link.level) for link in links)
        self.state = AgentState.LOGGED_OUT
        self.since = 0.0
        self.reason_code: str | None = None
        self.call_id: str | None = None
        self.misses = 0
        self.idle_since = 0.0
        self.idle_listed = False
        self.calls = 0
        self.talk_s = 0.0
        self.version = 0
        self.after_call: tuple[AgentState, str | None] | None = None
        self.answered_at = 0.0
        self.wrap_deadline = 0.0
        self.wrap_queue = ""


class Engine:
    """Route callers to agents; feed it inputs with `now` and act on the events it returns."""

    def __init__(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec],
        tier_boosts: Mapping[str, float],
        seed: int = 0,
    ) -> None:
        self._rng = random.Random(seed)
        self._seq = itertools.count()
        self._calls: dict[str, _Caller] = {}
        self._agents: dict[str, _Agent] = {}
        self._aht: dict[str, float] = {}
        self._empty_since: dict[str, float] = {}
        self._rr_last: dict[tuple[str, str], int] = {}
        self._rr_turn: dict[str, int] = {}
        self._clock: dict[str, float] = {}
        self._state_reasons: dict[str, Reason] = {}
        # Events of deadlines fired by an input that was then refused; the next call returns them.
        self._held: list[Event] = []
        self._held_at = 0.0
        self._last_now = 0.0
        self._configure(queues, agents, tier_boosts)
        self._reset_indexes()
        for plan in self._plans.values():
            self._empty_since[plan.spec.id] = float("-inf")
        for agent in self._agents.values():
            self._count(agent, agent.state, +1)

    # ----------------------------------------------------------------- configuration

    def _configure(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec],
        tier_boosts: Mapping[str, float],
    ) -> None:
        queue_list = list(queues)
        agent_list = list(agents)
        self._check_config(queue_list, agent_list)
        self._plans, self._links = build_plans(queue_list, agent_list)
        self._tiers = dict(tier_boosts)
        self._queue_order = {queue_id: index for index, queue_id in enumerate(self._plans)}
        for spec in agent_list:
            runtime = self._agents.get(spec.id)
            if runtime is None:
                self._agents[spec.id] = _Agent(spec, self._links[spec.id], next(self._seq))
            else:
                runtime.spec = spec
                runtime.links = self._links[spec.id]
                runtime.pools = tuple((link.queue_id, link.level) for link in runtime.links)
        for plan in self._plans.values():
            self._aht.setdefault(plan.spec.id, plan.spec.expected_handle_s)

    @staticmethod
    def _check_config(queues: list[QueueSpec], agents: list[AgentSpec]) -> None:
        ids = [q.id for q in queues]
        agent_ids = [a.id for a in agents]
        problems = [f"duplicate queue id {i!r}" for i, n in sorted(Counter(ids).items()) if n > 1]
        problems += [
            f"duplicate agent id {i!r}" for i, n in sorted(Counter(agent_ids).items()) if n > 1
        ]
        known = set(ids)
        for queue in queues:
            for step in queue.bullseye:
                problems += [
                    f"queue {queue.id!r}: bullseye extra queue {q!r} is not defined"
                    for q in step.extra_queues
                    if q not in known
                ]
        for agent in agents:
            problems += [
                f"agent {agent.id!r}: queue {q!r} is not defined"
                for q in agent.queues
                if q not in known
            ]
        if problems:
            _reject(RoutingError("; ".join(problems)))

    def _reset_indexes(self) -> None:
        self._caller_heaps: dict[tuple[str, int], list[CallerEntry]] = {}
        self._caller_live: dict[tuple[str, int], int] = {}
        self._idle_heaps: dict[tuple[str, int], list[AgentEntry]] = {}
        self._idle_live: dict[tuple[str, int], int] = {}
        self._waiting: dict[str, dict[str, _Caller]] = {q: {} for q in self._plans}
        self._fifo: dict[str, deque[tuple[_Caller, int]]] = {q: deque() for q in self._plans}
        self._preferred: dict[str, dict[str, _Caller]] = {}
        self._counts: dict[str, list[int]] = {q: [0] * len(_STATES) for q in self._plans}
        self._logged: dict[str, int] = dict.fromkeys(self._plans, 0)
        self._logged_level: dict[tuple[str, int], int] = {}
        self._empty_token: dict[str, int] = dict.fromkeys(self._plans, 0)
        self._deadlines: list[Deadline] = []

    def apply_config(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec],
        tier_boosts: Mapping[str, float],
        now: float,
    ) -> list[Event]:
        """Swap in a new configuration without dropping anyone (hot reload).

        Waiting callers keep their place (their wait still counts from when they entered),
        ringing and connected calls keep their agent, logged-in agents stay logged in. The
        callers of a removed queue go to that queue's max-wait destination; a removed agent is
        logged out (after its current call, if it has one).
        """
        events = self._fire_due(now)
        queue_list = list(queues)
        agent_list = list(agents)
        self._check_config(queue_list, agent_list)
        kept_agents = {a.id for a in agent_list}
        was_empty = {q: self._logged[q] == 0 for q in self._plans}
        old_empty_since = dict(self._empty_since)
        replace = sorted(
            (c for c in self._calls.values() if c.state in (_WAITING, _PREFERRED)),
            key=lambda c: (c.entered, c.seq),
        )
        for caller in replace:
            caller.state = _NEW
            caller.version += 1
        self._configure(queue_list, agent_list, tier_boosts)
        self._reset_indexes()
        for agent in list(self._agents.values()):
            if agent.spec.id in kept_agents:
                continue
            agent.links = ()
            agent.pools = ()
            if agent.state is AgentState.RESERVED and agent.call_id is not None:
                caller = self._calls[agent.call_id]
                events.append(
                    OfferCancelled(
                        caller.call.call_id, agent.spec.id, Reason("reload", "agent removed")
                    )
                )
                caller.state = _NEW
                caller.agent_id = None
                caller.head = 1
                caller.version += 1
                self._set_state(agent, AgentState.LOGGED_OUT, None, "agent removed", now, events)
            elif agent.state is AgentState.ON_CALL:
                agent.after_call = (AgentState.LOGGED_OUT, None)
            elif agent.state is not AgentState.LOGGED_OUT:
                self._set_state(agent, AgentState.LOGGED_OUT, None, "agent removed", now, events)
            if agent.state is AgentState.LOGGED_OUT:
                del self._agents[agent.spec.id]
        # Rebuild the counts and idle pools from the agents' kept states.
        for agent in self._agents.values():
            self._count(agent, agent.state, +1)
            if agent.state is AgentState.READY:
                self._push_idle(agent)
            elif agent.state is AgentState.WRAP_UP:
                self._push_deadline(agent.wrap_deadline, _WRAP, agent.spec.id, agent.version)
        for queue_id in self._plans:
            if self._logged[queue_id] == 0:
                keep = was_empty.get(queue_id, True)
                self._empty_since[queue_id] = (
                    old_empty_since.get(queue_id, float("-inf")) if keep else now
                )
        # Re-index the callers in arrival order so each queue's FIFO stays ordered.
        live = sorted(
            (c for c in self._calls.values() if c.state in (_NEW, _OFFERED)),
            key=lambda c: (c.entered, c.seq),
        )
        for caller in live:
            plan = self._plans.get(caller.queue_id)
            if caller.state == _OFFERED:
                self._push_deadline(
                    caller.offer_deadline, _OFFER, caller.call.call_id, caller.version
                )
                if plan is not None:
                    caller.spec = plan.spec
                    # The new queue may have fewer bullseye steps; a requeue starts from here.
                    caller.step = min(caller.step, plan.last_step)
                    self._compute_pkey(caller)
                    self._fifo[caller.queue_id].append((caller, caller.stay))
                continue
            if plan is None:
                why = f"queue {caller.queue_id} was removed"
                self._overflow(caller, caller.spec.on_max_wait, Reason("reload", why), now, events)
                continue
            caller.spec = plan.spec
            caller.step = min(caller.step, plan.last_step)
            self._compute_pkey(caller)
            self._fifo[caller.queue_id].append((caller, caller.stay))
            self._schedule_limits(caller)
            self._place(caller, now, events, arriving=False, match=False)
        for caller in self._calls.values():
            if caller.state == _CONNECTED and caller.queue_id in self._plans:
                caller.spec = self._plans[caller.queue_id].spec
        ready = sorted(
            (a for a in self._agents.values() if a.state is AgentState.READY),
            key=lambda a: (a.idle_since, a.spec.id),
        )
        for agent in ready:
            self._take_best_caller(agent, now, events)
        for queue_id in self._plans:
            if self._logged[queue_id] == 0:
                self._schedule_empty(queue_id)
        events += self._fire_due(now)
        return events

    # ----------------------------------------------------------------- inputs

    def call_arrived(self, call: Call, now: float) -> list[Event]:
        """Put a new caller in its queue, or straight through to the best idle agent."""
        if call.call_id in self._calls:
            _reject(InvalidTransition(f"call {call.call_id} is already known"))
        plan = self._plans.get(call.queue_id)
        if plan is None:
            _reject(UnknownQueue(f"call {call.call_id}: queue {call.queue_id!r} is not configured"))
        if call.arrival > now:
            _reject(RoutingError(f"call {call.call_id}: arrival {call.arrival} is after now {now}"))
        events = self._fire_due(now)
        caller = _Caller(call, plan.spec, next(self._seq))
        self._calls[call.call_id] = caller
        self._enter(caller, now, events)
        return events

    def agent_login(self, agent_id: str, now: float) -> list[Event]:
        """Log an agent in; it starts not ready (reason "login")."""
        agent = self._agent(agent_id)
        if agent.state is not AgentState.LOGGED_OUT:
            _reject(InvalidTransition(f"agent {agent_id} is already logged in ({agent.state})"))
        events = self._fire_due(now)
        agent.calls = 0
        agent.talk_s = 0.0
        agent.misses = 0
        agent.after_call = None
        self._set_state(agent, AgentState.NOT_READY, "login", "logged in", now, events)
        return events

    def agent_ready(self, agent_id: str, now: float) -> list[Event]:
        """Make an agent ready; it takes the best waiting caller at once if there is one."""
        agent = self._agent(agent_id)
        events = self._fire_due(now)
        state = agent.state
        if state in (AgentState.LOGGED_OUT, AgentState.RESERVED):
            self._refuse(
                events, InvalidTransition(f"agent {agent_id} cannot go ready while {state}")
            )
        if state is AgentState.NOT_READY:
            self._set_state(agent, AgentState.READY, None, "agent ready", now, events)
            self._take_best_caller(agent, now, events)
        elif state is AgentState.WRAP_UP:
            agent.after_call = None
            self._finish_wrap(agent, now, events)
        elif state is AgentState.ON_CALL:
            agent.after_call = None
        return events

    def agent_not_ready(self, agent_id: str, reason_code: str, now: float) -> list[Event]:
        """Make an agent not ready with a reason code (after its current call, if on one)."""
        agent = self._agent(agent_id)
        events = self._fire_due(now)
        state = agent.state
        if state is AgentState.LOGGED_OUT:
            self._refuse(events, InvalidTransition(f"agent {agent_id} is logged out"))
        if state is AgentState.ON_CALL:
            agent.after_call = (AgentState.NOT_READY, reason_code)
        elif state is AgentState.WRAP_UP:
            agent.after_call = (AgentState.NOT_READY, reason_code)
            self._finish_wrap(agent, now, events)
        else:
            if state is AgentState.RESERVED:
                self._withdraw_offer(agent, "agent went not ready", now, events)
            self._set_state(
                agent, AgentState.NOT_READY, reason_code, "agent not ready", now, events
            )
        return events

    def agent_logout(self, agent_id: str, now: float) -> list[Event]:
        """Log an agent out (after its current call, if on one)."""
        agent = self._agent(agent_id)
        events = self._fire_due(now)
        state = agent.state
        if state is AgentState.LOGGED_OUT:
            self._refuse(events, InvalidTransition(f"agent {agent_id} is already logged out"))
        if state is AgentState.ON_CALL:
            agent.after_call = (AgentState.LOGGED_OUT, None)
            return events
        if state is AgentState.RESERVED:
            self._withdraw_offer(agent, "agent logged out", now, events)
        self._set_state(agent, AgentState.LOGGED_OUT, None, "logged out", now, events)
        self._release_preferred(agent, now, events)
        return events

    def offer_answered(self, call_id: str, now: float) -> list[Event]:
        """Connect an offered caller to its agent."""
        caller = self._caller(call_id)
        if caller.state != _OFFERED or caller.agent_id is None:
            _reject(InvalidTransition(f"call {call_id} has no offer ringing"))
        events = self._fire_due(now)
        if caller.state != _OFFERED or caller.agent_id is None:
            error = InvalidTransition(f"call {call_id}: the offer timed out before the answer")
            self._refuse(events, error)
        agent = self._agents[caller.agent_id]
        agent.misses = 0
        agent.calls += 1
        agent.answered_at = now
        caller.answered_at = now
        caller.state = _CONNECTED
        caller.version += 1
        caller.stay += 1
        events.append(
            CallDequeued(call_id, caller.queue_id, Outcome.ANSWERED, now - caller.entered)
        )
        self._set_state(agent, AgentState.ON_CALL, None, "offer answered", now, events)
        return events

    def offer_rejected(self, call_id: str, now: float) -> list[Event]:
        """Treat a declined offer like a ring-no-answer: requeue the caller, count a miss."""
        caller = self._caller(call_id)
        if caller.state != _OFFERED:
            _reject(InvalidTransition(f"call {call_id} has no offer ringing"))
        events = self._fire_due(now)
        if caller.state == _OFFERED:
            self._missed(caller, "offer rejected", now, events)
        return events

    def call_ended(self, call_id: str, now: float) -> list[Event]:
        """End a connected call; its agent goes to wrap-up (timed by the call's queue)."""
        caller = self._caller(call_id)
        if caller.state != _CONNECTED or caller.agent_id is None:
            _reject(InvalidTransition(f"call {call_id} is not connected"))
        events = self._fire_due(now)
        self._end_call(caller, now, events)
        return events

    def wrap_up_done(self, agent_id: str, now: float) -> list[Event]:
        """End an agent's wrap-up early."""
        agent = self._agent(agent_id)
        if agent.state is not AgentState.WRAP_UP:
            _reject(InvalidTransition(f"agent {agent_id} is not in wrap-up ({agent.state})"))
        events = self._fire_due(now)
        if agent.state is AgentState.WRAP_UP:
            self._finish_wrap(agent, now, events)
        return events

    def caller_abandoned(self, call_id: str, now: float) -> list[Event]:
        """Remove a caller who hung up (a hang-up after the answer ends the call)."""
        caller = self._caller(call_id)
        events = self._fire_due(now)
        if call_id not in self._calls:
            return events
        if caller.state == _CONNECTED:
            self._end_call(caller, now, events)
            return events
        agent = (
            self._agents.get(caller.agent_id)
            if caller.state == _OFFERED and caller.agent_id
            else None
        )
        self._leave_line(caller)
        events.append(
            CallDequeued(call_id, caller.queue_id, Outcome.ABANDONED, now - caller.entered)
        )
        del self._calls[call_id]
        caller.stay += 1
        caller.version += 1
        if agent is not None:
            events.append(
                OfferCancelled(
                    call_id, agent.spec.id, Reason("caller hung up", "abandoned while ringing")
                )
            )
            agent.call_id = None
            self._set_state(agent, AgentState.READY, None, "caller hung up", now, events)
            self._take_best_caller(agent, now, events)
        return events

    def set_priority(self, call_id: str, extra: float, now: float) -> list[Event]:
        """Change a caller's extra priority points while it waits."""
        caller = self._caller(call_id)
        events = self._fire_due(now)
        caller.extra = extra
        self._compute_pkey(caller)
        if caller.state == _WAITING:
            self._unlist(caller)
            self._list(caller)
        return events

    def customer_identified(
        self,
        call_id: str,
        tier: str,
        customer_id: str | None,
        preferred_agent_id: str | None,
        now: float,
    ) -> list[Event]:
        """Record who a caller is, learnt after its arrival (the CRM lookup runs meanwhile).

        A waiting caller's new tier moves it in line (O(log n)); a new preferred agent (None
        keeps the current one) is waited for as if it had been known at arrival, within the
        queue's preferred-agent window counted from when the caller entered. A ringing or
        connected caller keeps its agent and carries the tier if it is requeued or
        transferred. A call the engine no longer holds is ignored: the lookup came too late.
        """
        events = self._fire_due(now)
        caller = self._calls.get(call_id)
        if caller is None:
            return events
        old = caller.call
        preferred = preferred_agent_id or old.preferred_agent_id
        in_line = caller.state in (_WAITING, _PREFERRED)
        moved = in_line and preferred != old.preferred_agent_id
        if moved:
            self._leave_line(caller)  # before the swap: it looks the old preferred agent up
        elif caller.state == _WAITING:
            self._unlist(caller)
        caller.call = dataclasses.replace(
            old, tier=tier, customer_id=customer_id, preferred_agent_id=preferred
        )
        self._compute_pkey(caller)
        if not in_line:
            return events
        effective = caller.pkey + caller.spec.aging_per_s * now
        why = f"tier {tier}, priority now {effective:g}"
        if moved:
            why += f", preferred agent {preferred}"
        events.append(CallQueued(call_id, caller.queue_id, Reason("customer identified", why)))
        if moved:
            caller.state = _NEW
            self._seat(caller, now, events, arriving=False)
        elif caller.state == _WAITING:
            self._list(caller)
        return events

    def transfer(
        self,
        call_id: str,
        now: float,
        *,
        queue_id: str | None = None,
        agent_id: str | None = None,
    ) -> list[Event]:
        """Blind-transfer a connected caller to a queue, or to an agent in the call's queue.

        The current agent goes to wrap-up as after a call end. The caller re-enters routing
        with a fresh wait (limits, aging and bullseye steps count from now; its arrival stays
        the original for reports): offered to the named agent at once if that agent is
        ready, else waiting for them (at least TRANSFER_AGENT_WAIT_S) before anyone else in
        the queue may take it. `queue_id` with `agent_id` waits for the agent in that queue.
        """
        caller = self._caller(call_id)
        if caller.state != _CONNECTED or caller.agent_id is None:
            _reject(InvalidTransition(f"call {call_id} is not connected"))
        if queue_id is None and agent_id is None:
            _reject(RoutingError(f"call {call_id}: a transfer needs a queue or an agent"))
        target_queue = caller.queue_id if queue_id is None else queue_id
        plan = self._plans.get(target_queue)
        if plan is None:
            _reject(UnknownQueue(f"call {call_id}: queue {target_queue!r} is not configured"))
        if agent_id is not None:
            self._agent(agent_id)
            if agent_id == caller.agent_id:
                _reject(InvalidTransition(f"call {call_id} is already with agent {agent_id}"))
        events = self._fire_due(now)
        if agent_id is not None and self._agents[agent_id].state is AgentState.LOGGED_OUT:
            self._refuse(events, InvalidTransition(f"agent {agent_id} is logged out"))
        from_agent = caller.agent_id
        self._end_call(caller, now, events, forget=False)
        caller.agent_id = None
        caller.queue_id = plan.spec.id
        caller.spec = plan.spec
        caller.entered = now
        caller.head = 0
        caller.prefer_s = None
        if agent_id is not None:
            caller.call = dataclasses.replace(caller.call, preferred_agent_id=agent_id)
            caller.prefer_s = max(plan.spec.preferred_agent_s, TRANSFER_AGENT_WAIT_S)
            why = f"agent {from_agent} transferred the caller to agent {agent_id}"
        else:
            why = f"agent {from_agent} transferred the caller to queue {target_queue}"
        events.append(
            CallTransferred(
                call_id, from_agent, target_queue, queue_id, agent_id, Reason("transfer", why)
            )
        )
        self._enter(caller, now, events)
        return events

    def advance(self, now: float) -> list[Event]:
        """Fire every deadline due at or before `now`."""
        return self._fire_due(now)

    def next_deadline(self) -> float | None:
        """Return when `advance` must next be called, or None when nothing is timed."""
        if self._held:
            return self._held_at
        heap = self._deadlines
        while heap and not self._deadline_live(heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    # ----------------------------------------------------------------- queries

    def position(self, call_id: str) -> int | None:
        """Return a waiting caller's 1-based place in its queue, or None if not waiting.

        This is a display query, not a decision: it counts the callers ahead in the same
        queue, so it costs O(callers in that queue).
        """
        caller = self._calls.get(call_id)
        if caller is None or caller.state not in (_WAITING, _PREFERRED):
            return None
        mine = (-caller.pkey, -caller.head, caller.entered, caller.seq)
        return 1 + sum(
            1
            for other in self._waiting[caller.queue_id].values()
            if (-other.pkey, -other.head, other.entered, other.seq) < mine
        )

    def estimated_wait(self, call_id: str) -> float | None:
        """Estimate how much longer a waiting caller waits, in seconds (None if unknown).

        Position p among N staffed agents (ready, ringing, talking or wrapping up) with
        average handle time H: the caller is answered when about p agents have finished a
        call, which takes p * H / N. H is a moving average of the queue's handle times.
        """
        place = self.position(call_id)
        if place is None:
            return None
        queue_id = self._calls[call_id].queue_id
        counts = self._counts[queue_id]
        staffed = sum(counts[_STATE_INDEX[s]] for s in _STAFFED)
        if staffed == 0:
            return None
        return place * self._aht[queue_id] / staffed

    def queue_snapshot(self, queue_id: str, now: float) -> QueueSnapshot:
        """Return a queue's waiting count, longest wait and agents by state."""
        if queue_id not in self._plans:
            _reject(UnknownQueue(f"queue {queue_id!r} is not configured"))
        front = self._fifo_front(queue_id)
        waiting = len(self._waiting[queue_id])
        return QueueSnapshot(
            queue_id=queue_id,
            waiting=waiting,
            ringing=self._ringing(queue_id),
            longest_wait_s=0.0 if front is None else max(0.0, now - front.entered),
            agents=dict(zip(_STATES, self._counts[queue_id], strict=True)),
            handle_time_s=self._aht[queue_id],
        )

    def agent_snapshot(self, agent_id: str) -> AgentSnapshot:
        """Return an agent's state, since when, reason code and current call."""
        agent = self._agent(agent_id)
        return AgentSnapshot(agent_id, agent.state, agent.since, agent.reason_code, agent.call_id)

    def queue_ids(self) -> tuple[str, ...]:
        """Return the configured queue ids."""
        return tuple(self._plans)

    def agent_ids(self) -> tuple[str, ...]:
        """Return the configured agent ids (and removed agents still finishing a call)."""
        return tuple(self._agents)

    def has_agent(self, agent_id: str) -> bool:
        """Tell whether routing knows an agent (configured, or removed but finishing a call)."""
        return agent_id in self._agents

    def call_ids(self) -> tuple[str, ...]:
        """Return the ids of every call the engine holds (waiting, ringing or connected)."""
        return tuple(self._calls)

    def has_call(self, call_id: str) -> bool:
        """Tell whether the engine holds a call (waiting, ringing or connected)."""
        return call_id in self._calls

    def call_agent(self, call_id: str) -> str | None:
        """Return the agent a call is offered to or connected with, if any."""
        return self._caller(call_id).agent_id

    # ----------------------------------------------------------------- helpers: lookup

    def _refuse(self, events: list[Event], error: RoutingError) -> NoReturn:
        """Raise `error`, keeping the events already fired for the next call to return."""
        self._held = events + self._held
        self._held_at = self._last_now
        _reject(error)

    def _agent(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            _reject(UnknownAgent(f"agent {agent_id!r} is not configured"))
        return agent

    def _caller(self, call_id: str) -> _Caller:
        caller = self._calls.get(call_id)
        if caller is None:
            _reject(UnknownCall(f"call {call_id!r} is not known"))
        return caller

    def _ringing(self, queue_id: str) -> int:
        return self._counts[queue_id][_STATE_INDEX[AgentState.RESERVED]]

    def _fifo_front(self, queue_id: str) -> _Caller | None:
        fifo = self._fifo[queue_id]
        while fifo:
            caller, stay = fifo[0]
            if caller.stay == stay and self._calls.get(caller.call.call_id) is caller:
                return caller
            fifo.popleft()
        return None

    # ----------------------------------------------------------------- helpers: callers

    def _compute_pkey(self, caller: _Caller) -> None:
        spec = caller.spec
        caller.pkey = (
            spec.base_priority
            + self._tiers.get(caller.call.tier, 0.0)
            + caller.extra
            - spec.aging_per_s * caller.entered
        )

    def _enter(self, caller: _Caller, now: float, events: list[Event]) -> None:
        """Put a caller (new, or overflowed from another queue) into its queue."""
        spec = caller.spec
        queue_id = spec.id
        caller.stay += 1
        caller.state = _NEW
        caller.step = 0
        self._compute_pkey(caller)
        limit = spec.max_wait_no_agents_s
        if self._no_agents_expired(caller, now):
            why = f"no agent logged in for {limit:g} s"
            self._overflow(caller, spec.on_no_agents, Reason("no agents", why), now, events)
            return
        if spec.max_wait_s is not None and now >= caller.entered + spec.max_wait_s:
            why = f"waited over {spec.max_wait_s:g} s"
            self._overflow(caller, spec.on_max_wait, Reason("max wait", why), now, events)
            return
        fifo = self._fifo[queue_id]
        fifo.append((caller, caller.stay))
        if len(fifo) > 2 * (len(self._waiting[queue_id]) + self._ringing(queue_id)) + 64:
            # Callers who left behind a long-waiting front caller are only dropped lazily;
            # rebuild now and then so the FIFO stays proportional to the queue.
            calls = self._calls
            self._fifo[queue_id] = deque(
                (c, stay) for c, stay in fifo if c.stay == stay and calls.get(c.call.call_id) is c
            )
        self._schedule_limits(caller)
        self._seat(caller, now, events, arriving=True)

    def _seat(self, caller: _Caller, now: float, events: list[Event], *, arriving: bool) -> None:
        """Offer a caller to its free preferred agent, wait for a busy one, or place it."""
        spec = caller.spec
        window = spec.preferred_agent_s if caller.prefer_s is None else caller.prefer_s
        preferred = self._agents.get(caller.call.preferred_agent_id or "")
        window_end = caller.entered + window
        if (
            preferred is not None
            and window > 0
            and now < window_end
            and preferred.state is not AgentState.LOGGED_OUT
        ):
            if preferred.state is AgentState.READY:
                why = f"preferred agent {preferred.spec.id} is free"
                self._offer(caller, preferred, Reason("preferred agent", why), now, events)
                return
            if arriving and self._full(spec):
                self._queue_full(caller, now, events)
                return
            caller.state = _PREFERRED
            self._waiting[spec.id][caller.call.call_id] = caller
            self._preferred.setdefault(preferred.spec.id, {})[caller.call.call_id] = caller
            self._push_deadline(window_end, _PREFER, caller.call.call_id, caller.stay)
            why = f"waiting up to {window:g} s for agent {preferred.spec.id}"
            events.append(CallQueued(caller.call.call_id, spec.id, Reason("preferred agent", why)))
            return
        self._place(caller, now, events, arriving=arriving, match=True)

    def _no_agents_expired(self, caller: _Caller, now: float) -> bool:
        """Tell whether a caller has waited out the queue's no-agent-logged-in limit."""
        queue_id = caller.spec.id
        limit = caller.spec.max_wait_no_agents_s
        if limit is None or self._logged[queue_id] > 0:
            return False
        return now >= max(caller.entered, self._empty_since[queue_id]) + limit

    def _schedule_limits(self, caller: _Caller) -> None:
        spec = caller.spec
        if spec.max_wait_s is not None:
            self._push_deadline(
                caller.entered + spec.max_wait_s, _MAXWAIT, caller.call.call_id, caller.stay
            )
        if self._logged[spec.id] == 0 and spec.max_wait_no_agents_s is not None:
            self._schedule_empty(spec.id)

    def _full(self, spec: QueueSpec) -> bool:
        limit = spec.max_queue_length
        return limit is not None and len(self._waiting[spec.id]) >= limit

    def _queue_full(self, caller: _Caller, now: float, events: list[Event]) -> None:
        spec = caller.spec
        why = f"{len(self._waiting[spec.id])} callers waiting, limit {spec.max_queue_length}"
        self._overflow(caller, spec.on_queue_full, Reason("queue full", why), now, events)

    def _reach_step(self, caller: _Caller, now: float) -> int:
        """Return the step a caller is at: by time, and past steps with nobody logged in."""
        plan = self._plans[caller.queue_id]
        last = len(plan.step_times) - 1
        if caller.step == last:
            return last
        step = max(caller.step, plan.step_for(now - caller.entered))
        while step < last and not self._pool_logged(caller.queue_id, step):
            step += 1
        return step

    def _pool_logged(self, queue_id: str, step: int) -> bool:
        level = self._logged_level
        for k in range(step + 1):  # noqa: SIM110 - a plain loop skips a generator on the hot path
            if level.get((queue_id, k), 0):
                return True
        return False

    def _place(
        self, caller: _Caller, now: float, events: list[Event], *, arriving: bool, match: bool
    ) -> None:
        """Offer a caller to the best idle eligible agent, or make it wait in line."""
        plan = self._plans[caller.queue_id]
        old_step = caller.step
        caller.step = self._reach_step(caller, now)
        if caller.step > old_step:
            self._widened(caller, plan, now, events)
        if match:
            found = self._best_agent(caller, plan, now)
            if found is not None:
                self._offer(caller, found[0], found[1], now, events)
                return
        if arriving and self._full(plan.spec):
            self._queue_full(caller, now, events)
            return
        caller.state = _WAITING
        self._waiting[caller.queue_id][caller.call.call_id] = caller
        self._list(caller)
        self._schedule_step(caller, plan)
        if arriving:
            why = f"no idle agent in the {plan.step_label(caller.step)}"
            events.append(CallQueued(caller.call.call_id, caller.queue_id, Reason("queued", why)))

    def _widened(self, caller: _Caller, plan: QueuePlan, now: float, events: list[Event]) -> None:
        label = plan.step_label(caller.step)
        why = f"waited {now - caller.entered:g} s; pool widened to the {label}"
        events.append(
            BullseyeWidened(caller.call.call_id, caller.queue_id, caller.step, Reason(label, why))
        )

    def _schedule_step(self, caller: _Caller, plan: QueuePlan) -> None:
        if caller.step < plan.last_step:
            at = caller.entered + plan.step_times[caller.step + 1]
            self._push_deadline(at, _STEP, caller.call.call_id, caller.stay)

    def _list(self, caller: _Caller) -> None:
        """Push a waiting caller into the heap of its queue and step."""
        caller.version += 1
        where = (caller.queue_id, caller.step)
        heap = self._caller_heaps.setdefault(where, [])
        live = self._caller_live.get(where, 0) + 1
        self._caller_live[where] = live
        entry = (
            -caller.pkey,
            -caller.head,
            caller.entered,
            caller.seq,
            caller.version,
            caller.call.call_id,
        )
        heapq.heappush(heap, entry)
        if len(heap) > 2 * live + 32:
            heap[:] = [e for e in heap if self._caller_entry_live(e)]
            heapq.heapify(heap)

    def _unlist(self, caller: _Caller) -> None:
        """Mark a waiting caller's heap entry stale."""
        caller.version += 1
        where = (caller.queue_id, caller.step)
        self._caller_live[where] -= 1

    def _leave_line(self, caller: _Caller) -> None:
        """Take a waiting or preferred-waiting caller out of every line it is in."""
        call_id = caller.call.call_id
        if caller.state == _WAITING:
            self._unlist(caller)
        if caller.state in (_WAITING, _PREFERRED):
            self._waiting[caller.queue_id].pop(call_id, None)
        if caller.state == _PREFERRED:
            preferred = self._preferred.get(caller.call.preferred_agent_id or "")
            if preferred is not None:
                preferred.pop(call_id, None)

    def _caller_entry_live(self, entry: CallerEntry) -> bool:
        caller = self._calls.get(entry[5])
        return caller is not None and caller.version == entry[4] and caller.state == _WAITING

    def _overflow(
        self, caller: _Caller, dest: Destination, reason: Reason, now: float, events: list[Event]
    ) -> None:
        """Send a caller to a limit's destination; a queue destination re-enters the engine."""
        call_id = caller.call.call_id
        if caller.state in (_WAITING, _PREFERRED):
            self._leave_line(caller)
        events.append(
            CallDequeued(call_id, caller.queue_id, Outcome.OVERFLOWED, now - caller.entered)
        )
        caller.stay += 1
        caller.version += 1
        caller.state = _NEW
        if dest.kind is DestinationKind.QUEUE:
            target = self._plans.get(dest.target)
            if target is not None and caller.hops < MAX_QUEUE_HOPS:
                events.append(Overflowed(call_id, caller.queue_id, dest, reason))
                caller.hops += 1
                caller.queue_id = target.spec.id
                caller.spec = target.spec
                caller.entered = now
                caller.head = 0
                caller.prefer_s = None
                self._enter(caller, now, events)
                return
            problem = "is not configured" if target is None else f"exceeds {MAX_QUEUE_HOPS} hops"
            reason = Reason(reason.step, f"{reason.why}; queue {dest.target} {problem}, refusing")
            dest = REFUSE
        events.append(Overflowed(call_id, caller.queue_id, dest, reason))
        del self._calls[call_id]

    def _offer(
        self, caller: _Caller, agent: _Agent, reason: Reason, now: float, events: list[Event]
    ) -> None:
        self._leave_line(caller)
        caller.state = _OFFERED
        caller.version += 1
        caller.agent_id = agent.spec.id
        queue_id = caller.queue_id
        if caller.spec.strategy is Strategy.ROUND_ROBIN:
            turn = self._rr_turn.get(queue_id, 0) + 1
            self._rr_turn[queue_id] = turn
            self._rr_last[(queue_id, agent.spec.id)] = turn
        agent.call_id = caller.call.call_id
        caller.offer_deadline = now + caller.spec.offer_timeout_s
        self._push_deadline(caller.offer_deadline, _OFFER, caller.call.call_id, caller.version)
        events.append(Offer(caller.call.call_id, agent.spec.id, queue_id, reason))
        self._set_state(agent, AgentState.RESERVED, None, "offered a call", now, events)

    def _requeue(self, caller: _Caller, now: float, events: list[Event]) -> None:
        """Put a caller whose offer ended back in line, at the head of its priority."""
        caller.state = _NEW
        caller.agent_id = None
        caller.head = 1
        caller.version += 1
        spec = caller.spec
        if caller.queue_id not in self._plans:
            why = f"queue {caller.queue_id} was removed"
            self._overflow(caller, spec.on_max_wait, Reason("reload", why), now, events)
            return
        if spec.max_wait_s is not None and now >= caller.entered + spec.max_wait_s:
            why = f"waited over {spec.max_wait_s:g} s"
            self._overflow(caller, spec.on_max_wait, Reason("max wait", why), now, events)
            return
        if self._no_agents_expired(caller, now):
            why = f"no agent logged in for {spec.max_wait_no_agents_s:g} s"
            self._overflow(caller, spec.on_no_agents, Reason("no agents", why), now, events)
            return
        self._place(caller, now, events, arriving=False, match=True)

    def _missed(self, caller: _Caller, why: str, now: float, events: list[Event]) -> None:
        agent = self._agents[caller.agent_id or ""]
        agent.misses += 1
        agent.call_id = None
        limit = caller.spec.rona_max_misses
        events.append(
            OfferTimedOut(
                caller.call.call_id,
                agent.spec.id,
                agent.misses,
                Reason("ring no answer", f"{why}; miss {agent.misses} of {limit} in a row"),
            )
        )
        self._requeue(caller, now, events)
        if agent.misses >= limit:
            why = f"{agent.misses} missed offers in a row"
            agent.misses = 0
            self._set_state(agent, AgentState.NOT_READY, "missed", why, now, events)
        else:
            self._set_state(agent, AgentState.READY, None, why, now, events)
            self._take_best_caller(agent, now, events)

    def _withdraw_offer(self, agent: _Agent, why: str, now: float, events: list[Event]) -> None:
        caller = self._calls[agent.call_id or ""]
        agent.call_id = None
        events.append(
            OfferCancelled(caller.call.call_id, agent.spec.id, Reason("offer withdrawn", why))
        )
        self._requeue(caller, now, events)

    def _end_call(
        self, caller: _Caller, now: float, events: list[Event], *, forget: bool = True
    ) -> None:
        """End a connected call for its agent (wrap-up); `forget=False` keeps the caller."""
        agent = self._agents[caller.agent_id or ""]
        call_id = caller.call.call_id
        if forget:
            del self._calls[call_id]
        caller.version += 1
        agent.talk_s += now - agent.answered_at
        agent.call_id = None
        agent.wrap_queue = caller.queue_id
        events.append(CallFinished(call_id, agent.spec.id))
        wrap = caller.spec.wrap_up_s
        if agent.after_call is not None and agent.after_call[0] is AgentState.LOGGED_OUT:
            self._finish_wrap(agent, now, events)
        elif wrap > 0:
            agent.wrap_deadline = now + wrap
            self._set_state(agent, AgentState.WRAP_UP, None, f"wrap-up {wrap:g} s", now, events)
            self._push_deadline(agent.wrap_deadline, _WRAP, agent.spec.id, agent.version)
        else:
            self._finish_wrap(agent, now, events)

    def _finish_wrap(self, agent: _Agent, now: float, events: list[Event]) -> None:
        queue_id = agent.wrap_queue
        if queue_id in self._aht:
            handled = now - agent.answered_at
            self._aht[queue_id] += AHT_WEIGHT * (handled - self._aht[queue_id])
        target, code = agent.after_call or (AgentState.READY, None)
        agent.after_call = None
        self._set_state(agent, target, code, "after call", now, events)
        if target is AgentState.READY:
            self._take_best_caller(agent, now, events)
        elif target is AgentState.LOGGED_OUT:
            self._release_preferred(agent, now, events)
            if not agent.links and agent.spec.id not in self._links:
                del self._agents[agent.spec.id]

    def _release_preferred(self, agent: _Agent, now: float, events: list[Event]) -> None:
        """Send callers waiting for a logged-out agent to the general pool."""
        waiting = self._preferred.pop(agent.spec.id, {})
        for caller in sorted(waiting.values(), key=lambda c: (c.entered, c.seq)):
            self._waiting[caller.queue_id].pop(caller.call.call_id, None)
            caller.state = _NEW
            self._place(caller, now, events, arriving=False, match=True)

    # ----------------------------------------------------------------- helpers: agents

    def _set_state(
        self,
        agent: _Agent,
        new: AgentState,
        code: str | None,
        why: str,
        now: float,
        events: list[Event],
    ) -> None:
        old = agent.state
        agent.version += 1
        if agent.idle_listed:
            agent.idle_listed = False
            idle_live = self._idle_live
            for pool in agent.pools:
                idle_live[pool] -= 1
        crossing = old is AgentState.LOGGED_OUT or new is AgentState.LOGGED_OUT
        if crossing:
            self._count(agent, old, -1)
            self._count(agent, new, +1)
        else:
            old_index, new_index = _STATE_INDEX[old], _STATE_INDEX[new]
            counts = self._counts
            for link in agent.links:
                row = counts[link.queue_id]
                row[old_index] -= 1
                row[new_index] += 1
        agent.state = new
        agent.since = now
        agent.reason_code = code if new is AgentState.NOT_READY else None
        if crossing:
            self._logged_changed(agent, now)
        if new is AgentState.READY:
            agent.idle_since = now
        reason = self._state_reasons.get(why)
        if reason is None:
            # The texts come from a small fixed set (no ids), so caching them stays bounded.
            reason = self._state_reasons[why] = Reason("agent state", why)
        events.append(AgentStateChanged(agent.spec.id, old, new, agent.reason_code, reason))

    def _count(self, agent: _Agent, state: AgentState, delta: int) -> None:
        index = _STATE_INDEX[state]
        for link in agent.links:
            self._counts[link.queue_id][index] += delta
            if state is not AgentState.LOGGED_OUT:
                self._logged[link.queue_id] += delta
                key = (link.queue_id, link.level)
                self._logged_level[key] = self._logged_level.get(key, 0) + delta

    def _logged_changed(self, agent: _Agent, now: float) -> None:
        for link in agent.links:
            queue_id = link.queue_id
            logged = self._logged[queue_id]
            if agent.state is AgentState.LOGGED_OUT and logged == 0:
                self._empty_since[queue_id] = now
                self._empty_token[queue_id] += 1
                self._schedule_empty(queue_id)
            elif agent.state is not AgentState.LOGGED_OUT and logged == 1:
                self._empty_token[queue_id] += 1

    def _push_idle(self, agent: _Agent) -> None:
        """Push a ready agent into the idle heap of every pool it belongs to."""
        seq = next(self._seq)
        agent.idle_listed = True
        agent_id = agent.spec.id
        heaps = self._idle_heaps
        idle_live = self._idle_live
        for link, where in zip(agent.links, agent.pools, strict=True):
            plan = self._plans[link.queue_id]
            strategy = plan.spec.strategy
            if strategy is Strategy.LONGEST_IDLE:  # the default, kept off the generic path
                key = (agent.idle_since, 0.0)
            else:
                key = agent_key(
                    strategy,
                    idle_since=agent.idle_since,
                    score=plan.scores[agent_id],
                    calls=agent.calls,
                    talk_s=agent.talk_s,
                    rr_last=self._rr_last.get((link.queue_id, agent_id), -1),
                    order=plan.order[agent_id],
                    clock=self._clock.get(link.queue_id, 0.0),
                    rng=self._rng,
                )
            heap = heaps.get(where)
            if heap is None:
                heap = heaps[where] = []
            live = idle_live.get(where, 0) + 1
            idle_live[where] = live
            heapq.heappush(heap, (key[0], key[1], seq, agent.version, agent_id))
            if len(heap) > 2 * live + 32:
                heap[:] = [e for e in heap if self._agent_entry_live(e)]
                heapq.heapify(heap)

    def _agent_entry_live(self, entry: AgentEntry) -> bool:
        agent = self._agents.get(entry[4])
        return agent is not None and agent.version == entry[3] and agent.state is AgentState.READY

    def _best_agent(
        self, caller: _Caller, plan: QueuePlan, now: float
    ) -> tuple[_Agent, Reason] | None:
        """Return the best idle agent for a caller (levels 0..its step), with the reason."""
        best: AgentEntry | None = None
        tops: list[AgentEntry] = []
        heaps = self._idle_heaps
        queue_id = caller.queue_id
        live = self._agent_entry_live
        for level in range(caller.step + 1):
            heap = heaps.get((queue_id, level))
            if not heap:
                continue
            while heap and not live(heap[0]):
                heapq.heappop(heap)
            if heap:
                top = heap[0]
                tops.append(top)
                if best is None or top < best:
                    best = top
        if best is None:
            return None
        strategy = plan.spec.strategy
        if strategy is Strategy.RANDOM_WEIGHTED:
            self._clock[queue_id] = best[0]
        agent = self._agents[best[4]]
        # The candidates are what the decision really compared: the best idle agent of each
        # pool level the caller may use (a full ranking would cost a scan).
        winner = describe(strategy, (best[0], best[1]), now)
        if len(tops) > 1:
            tops.sort()
        candidates = tuple(
            Candidate(e[4], winner if e is best else describe(strategy, (e[0], e[1]), now))
            for e in tops[:CANDIDATES_SHOWN]
        )
        why = f"{LABELS[strategy]}: {winner}"
        return agent, Reason(plan.step_label(caller.step), why, candidates)

    def _take_best_caller(self, agent: _Agent, now: float, events: list[Event]) -> None:
        """Offer a newly ready agent the best caller it may serve, or make it idle."""
        best: tuple[float, int, float, int, int] | None = None
        best_caller: _Caller | None = None
        candidates: list[tuple[tuple[float, int, float, int, int], _Caller]] = []
        for caller in self._preferred.get(agent.spec.id, {}).values():
            rank = self._rank(caller, now, 0)
            candidates.append((rank, caller))
            if best is None or rank < best:
                best, best_caller = rank, caller
        heaps = self._caller_heaps
        calls = self._calls
        live = self._caller_entry_live
        for link in agent.links:
            queue_id = link.queue_id
            last = len(self._plans[queue_id].step_times)
            for step in range(link.level, last):
                heap = heaps.get((queue_id, step))
                if not heap:
                    continue
                while heap and not live(heap[0]):
                    heapq.heappop(heap)
                if not heap:
                    continue
                caller = calls[heap[0][5]]
                rank = self._rank(caller, now, link.queue_priority)
                candidates.append((rank, caller))
                if best is None or rank < best:
                    best, best_caller = rank, caller
        if best_caller is None:
            self._push_idle(agent)
            return
        candidates.sort(key=lambda pair: pair[0])
        winner = self._describe_caller(best_caller, now)
        shown = tuple(
            Candidate(c.call.call_id, winner if c is best_caller else self._describe_caller(c, now))
            for _, c in candidates[:CANDIDATES_SHOWN]
        )
        why = f"best caller across {len(candidates)} lines: {winner}"
        self._offer(best_caller, agent, Reason("agent ready", why, shown), now, events)

    def _rank(
        self, caller: _Caller, now: float, queue_priority: int
    ) -> tuple[float, int, float, int, int]:
        effective = caller.pkey + caller.spec.aging_per_s * now
        return (-effective, -caller.head, caller.entered, -queue_priority, caller.seq)

    def _describe_caller(self, caller: _Caller, now: float) -> str:
        effective = caller.pkey + caller.spec.aging_per_s * now
        text = f"priority {effective:g} in {caller.queue_id}, waited {now - caller.entered:g} s"
        return text + (", back after an unanswered offer" if caller.head else "")

    # ----------------------------------------------------------------- deadlines

    def _push_deadline(self, at: float, kind: int, ident: str, token: int) -> None:
        # Deadlines due at the same instant fire in a defined order (kind, then callers by
        # arrival, agents and queues by configuration order), never in push order.
        if kind == _WRAP:
            order = self._agents[ident].order
        elif kind == _EMPTY:
            order = self._queue_order[ident]
        else:
            order = self._calls[ident].seq
        heapq.heappush(self._deadlines, (at, kind, order, ident, token))

    def _schedule_empty(self, queue_id: str) -> None:
        limit = self._plans[queue_id].spec.max_wait_no_agents_s
        if limit is None:
            return
        front = self._fifo_front(queue_id)
        if front is None:
            return
        at = max(front.entered, self._empty_since[queue_id]) + limit
        self._push_deadline(at, _EMPTY, queue_id, self._empty_token[queue_id])

    def _deadline_live(self, entry: Deadline) -> bool:
        _, kind, _, ident, token = entry
        if kind == _WRAP:
            agent = self._agents.get(ident)
            return (
                agent is not None and agent.state is AgentState.WRAP_UP and agent.version == token
            )
        if kind == _EMPTY:
            return (
                ident in self._plans
                and self._empty_token[ident] == token
                and self._logged[ident] == 0
                and self._fifo_front(ident) is not None
            )
        caller = self._calls.get(ident)
        if caller is None:
            return False
        if kind == _OFFER:
            return caller.state == _OFFERED and caller.version == token
        # A ringing caller's step and max-wait timers stay live: if the offer fails, the caller
        # is back in line and still needs them (dropping them here would lose them for good).
        if kind == _STEP:
            return caller.state in (_WAITING, _OFFERED) and caller.stay == token
        if kind == _MAXWAIT:
            return caller.state in (_WAITING, _PREFERRED, _OFFERED) and caller.stay == token
        return caller.state == _PREFERRED and caller.stay == token

    def _fire_due(self, now: float) -> list[Event]:
        events = self._held
        self._held = []
        self._last_now = now
        heap = self._deadlines
        if not heap or heap[0][0] > now:
            return events
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if self._deadline_live(entry):
                self._fire(entry, now, events)
        return events

    def _fire(self, entry: Deadline, now: float, events: list[Event]) -> None:
        at, kind, _, ident, _ = entry
        if kind == _WRAP:
            self._finish_wrap(self._agents[ident], now, events)
            return
        if kind == _EMPTY:
            self._fire_empty(ident, now, events)
            return
        caller = self._calls[ident]
        spec = caller.spec
        if caller.state == _OFFERED and kind != _OFFER:
            return  # the ringing offer decides; a requeue re-checks the limits and steps
        if kind == _OFFER:
            self._missed(caller, f"no answer within {spec.offer_timeout_s:g} s", now, events)
        elif kind == _STEP:
            plan = self._plans[caller.queue_id]
            step = self._reach_step(caller, now)
            if step > caller.step:
                self._unlist(caller)
                caller.step = step
                self._widened(caller, plan, now, events)
                found = self._best_agent(caller, plan, now)
                if found is not None:
                    caller.state = _NEW
                    self._waiting[caller.queue_id].pop(ident, None)
                    self._offer(caller, found[0], found[1], now, events)
                    return
                self._list(caller)
                self._schedule_step(caller, plan)
        elif kind == _MAXWAIT:
            why = f"waited {at - caller.entered:g} s, limit {spec.max_wait_s:g} s"
            self._overflow(caller, spec.on_max_wait, Reason("max wait", why), now, events)
        else:
            caller.state = _NEW
            self._waiting[caller.queue_id].pop(ident, None)
            self._preferred.get(caller.call.preferred_agent_id or "", {}).pop(ident, None)
            self._place(caller, now, events, arriving=False, match=True)

    def _fire_empty(self, queue_id: str, now: float, events: list[Event]) -> None:
        spec = self._plans[queue_id].spec
        limit = spec.max_wait_no_agents_s
        if limit is None:
            return
        while (front := self._fifo_front(queue_id)) is not None:
            at = max(front.entered, self._empty_since[queue_id]) + limit
            if at > now:
                self._push_deadline(at, _EMPTY, queue_id, self._empty_token[queue_id])
                return
            self._fifo[queue_id].popleft()
            if front.state in (_WAITING, _PREFERRED):
                why = f"no agent logged in for {limit:g} s"
                self._overflow(front, spec.on_no_agents, Reason("no agents", why), now, events)

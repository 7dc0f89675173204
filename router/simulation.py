"""Try a configuration before it goes live: run the real engine on synthetic traffic.

`simulate(queues, agents, tier_boosts, traffic, minutes, calls_per_minute, seed)` logs every
agent in and makes it ready at time 0, then feeds the engine a discrete-event stream:

* arrivals are a Poisson process of `calls_per_minute` split across queues by
  `traffic.queue_shares` (equal shares when empty), a `vip_share` of them in `vip_tier`;
* an offered agent answers after `answer_delay_s` (or lets a `no_answer_share` of offers
  ring out, so RONA shows up), talks for an exponential handle time, then wraps up as the
  queue says;
* each caller has an exponential patience and hangs up if not answered by then.

Events come from one heap; the engine's own timers come from `next_deadline()`, so nothing
polls. Arrivals stop after `minutes`; the run continues until every caller has left. The
same seed gives the same report.

Per queue: service level = answered within the queue's threshold / (answered + abandoned);
ASA = mean wait of answered callers; abandon rate = abandoned / callers who entered;
occupancy = mean share of logged-in time the queue's member agents spent ringing, talking or
wrapping up during the window.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from router.engine import Engine
from router.events import (
    AgentStateChanged,
    CallDequeued,
    Event,
    Offer,
    OfferCancelled,
    OfferTimedOut,
    Outcome,
    Overflowed,
)
from router.model import AgentSpec, AgentState, Call, DestinationKind, QueueSpec

_BUSY = (AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP)
_ARRIVE, _ANSWER, _HANGUP, _ABANDON = range(4)


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """Describe the synthetic traffic: queue shares, handle and patience times, VIP share."""

    queue_shares: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    mean_handle_s: float = 240.0
    mean_patience_s: float = 180.0
    vip_share: float = 0.1
    vip_tier: str = "gold"
    answer_delay_s: float = 3.0
    no_answer_share: float = 0.0

    def __post_init__(self) -> None:
        if self.mean_handle_s <= 0 or self.mean_patience_s <= 0:
            raise ValueError("mean handle and patience times must be > 0")
        if not 0 <= self.vip_share <= 1 or not 0 <= self.no_answer_share < 1:
            raise ValueError("vip_share must be within 0..1 and no_answer_share within 0..<1")
        if self.answer_delay_s < 0:
            raise ValueError("answer_delay_s must be >= 0")
        if any(share < 0 for share in self.queue_shares.values()):
            raise ValueError("queue shares must be >= 0")


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Figures for one queue over the run."""

    queue_id: str
    entered: int
    answered: int
    abandoned: int
    overflowed: int
    service_level: float | None
    sl_threshold_s: float
    asa_s: float | None
    abandon_rate: float | None
    occupancy: float | None


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """The outcome of a simulation run, per queue and overall."""

    minutes: float
    calls_per_minute: float
    seed: int
    calls: int
    queues: tuple[QueueStats, ...]
    occupancy: float | None

    def render(self) -> str:
        """Format the report as a plain-text table."""
        head = (
            f"{'queue':<14}{'calls':>7}{'answered':>10}{'abandoned':>11}{'overflow':>10}"
            f"{'SL':>12}{'ASA':>8}{'abandon':>9}{'occupancy':>11}"
        )
        title = f"simulated {self.minutes:g} min at {self.calls_per_minute:g} calls/min"
        lines = [f"{title}, seed {self.seed}: {self.calls} calls", head]
        for q in self.queues:
            sl = "-" if q.service_level is None else f"{q.service_level:.0%}/{q.sl_threshold_s:g}s"
            asa = "-" if q.asa_s is None else f"{q.asa_s:.1f}s"
            abandon = "-" if q.abandon_rate is None else f"{q.abandon_rate:.1%}"
            occupancy = "-" if q.occupancy is None else f"{q.occupancy:.0%}"
            lines.append(
                f"{q.queue_id:<14}{q.entered:>7}{q.answered:>10}{q.abandoned:>11}{q.overflowed:>10}"
                f"{sl:>12}{asa:>8}{abandon:>9}{occupancy:>11}"
            )
        overall = "-" if self.occupancy is None else f"{self.occupancy:.0%}"
        lines.append(f"overall agent occupancy {overall}")
        return "\n".join(lines)


@dataclass
class _Tally:
    entered: int = 0
    answered: int = 0
    within_sl: int = 0
    abandoned: int = 0
    overflowed: int = 0
    wait_total: float = 0.0


class _Run:
    """One simulation run: the event heap, the engine and the tallies."""

    def __init__(
        self,
        queues: list[QueueSpec],
        agents: list[AgentSpec],
        tier_boosts: Mapping[str, float],
        traffic: TrafficSpec,
        end: float,
        calls_per_minute: float,
        seed: int,
    ) -> None:
        self.queues = {q.id: q for q in queues}
        self.agents = agents
        self.traffic = traffic
        self.end = end
        self.rate = calls_per_minute / 60.0
        self.rng = random.Random(seed)
        self.engine = Engine(queues, agents, tier_boosts, seed=seed)
        self.heap: list[tuple[float, int, int, str]] = []
        self.seq = itertools.count()
        self.calls = 0
        self.ringing: dict[str, int] = {}  # call -> the heap seq of its pending answer
        self.connected: set[str] = set()
        self.tallies = {q.id: _Tally() for q in queues}
        self.busy_since: dict[str, float] = {}
        self.busy_total = dict.fromkeys((a.id for a in agents), 0.0)
        shares = dict(traffic.queue_shares) or dict.fromkeys(self.queues, 1.0)
        unknown = sorted(set(shares) - set(self.queues))
        if unknown:
            raise ValueError(f"traffic shares name unknown queues: {', '.join(unknown)}")
        self.share_ids = [q for q in shares if shares[q] > 0]
        self.share_weights = [shares[q] for q in self.share_ids]
        if not self.share_ids:
            raise ValueError("traffic shares give no queue a positive share")

    def push(self, at: float, kind: int, ident: str) -> int:
        seq = next(self.seq)
        heapq.heappush(self.heap, (at, seq, kind, ident))
        return seq

    def run(self) -> None:
        for agent in self.agents:
            self.handle(self.engine.agent_login(agent.id, 0.0), 0.0)
            self.handle(self.engine.agent_ready(agent.id, 0.0), 0.0)
        if self.rate > 0:
            self.push(self.rng.expovariate(self.rate), _ARRIVE, "")
        while True:
            deadline = self.engine.next_deadline()
            external = self.heap[0][0] if self.heap else None
            if deadline is None and external is None:
                break
            if external is None or (deadline is not None and deadline <= external):
                assert deadline is not None
                self.handle(self.engine.advance(deadline), deadline)
                continue
            at, seq, kind, ident = heapq.heappop(self.heap)
            self.external(at, kind, ident, seq)
        for agent_id, since in self.busy_since.items():
            self.busy_total[agent_id] += max(0.0, self.end - since)

    def external(self, now: float, kind: int, ident: str, seq: int) -> None:
        engine = self.engine
        if kind == _ARRIVE:
            self.arrive(now)
        elif kind == _ANSWER:
            # Only the answer to the offer still ringing counts (not one that already timed out).
            if self.ringing.get(ident) == seq:
                del self.ringing[ident]
                self.connected.add(ident)
                self.handle(engine.offer_answered(ident, now), now)
                handle = self.rng.expovariate(1.0 / self.traffic.mean_handle_s)
                self.push(now + handle, _HANGUP, ident)
        elif kind == _HANGUP:
            self.connected.discard(ident)
            self.handle(engine.call_ended(ident, now), now)
        elif engine.has_call(ident) and ident not in self.connected:
            self.ringing.pop(ident, None)
            self.handle(engine.caller_abandoned(ident, now), now)

    def arrive(self, now: float) -> None:
        rng = self.rng
        queue_id = rng.choices(self.share_ids, self.share_weights)[0]
        self.calls += 1
        call_id = f"sim-{self.calls}"
        tier = self.traffic.vip_tier if rng.random() < self.traffic.vip_share else "standard"
        call = Call(call_id=call_id, queue_id=queue_id, arrival=now, tier=tier)
        self.tallies[queue_id].entered += 1
        self.push(now + rng.expovariate(1.0 / self.traffic.mean_patience_s), _ABANDON, call_id)
        self.handle(self.engine.call_arrived(call, now), now)
        following = now + rng.expovariate(self.rate)
        if following < self.end:
            self.push(following, _ARRIVE, "")

    def handle(self, events: Iterable[Event], now: float) -> None:
        for event in events:
            if isinstance(event, Offer):
                if self.rng.random() >= self.traffic.no_answer_share:
                    answer_at = now + self.traffic.answer_delay_s
                    self.ringing[event.call_id] = self.push(answer_at, _ANSWER, event.call_id)
            elif isinstance(event, OfferTimedOut | OfferCancelled):
                self.ringing.pop(event.call_id, None)
            elif isinstance(event, CallDequeued):
                self.dequeued(event)
            elif isinstance(event, Overflowed) and event.destination.kind is DestinationKind.QUEUE:
                target = self.tallies.get(event.destination.target)
                if target is not None:
                    target.entered += 1
            elif isinstance(event, AgentStateChanged):
                self.agent_changed(event, now)

    def dequeued(self, event: CallDequeued) -> None:
        tally = self.tallies.get(event.queue_id)
        if tally is None:
            return
        if event.outcome is Outcome.ANSWERED:
            tally.answered += 1
            tally.wait_total += event.waited_s
            if event.waited_s <= self.queues[event.queue_id].sl_threshold_s:
                tally.within_sl += 1
        elif event.outcome is Outcome.ABANDONED:
            tally.abandoned += 1
        else:
            tally.overflowed += 1

    def agent_changed(self, event: AgentStateChanged, now: float) -> None:
        was_busy = event.old in _BUSY
        is_busy = event.new in _BUSY
        if is_busy and not was_busy:
            self.busy_since[event.agent_id] = now
        elif was_busy and not is_busy:
            since = self.busy_since.pop(event.agent_id)
            self.busy_total[event.agent_id] += max(0.0, min(now, self.end) - min(since, self.end))

    def report(self, minutes: float, calls_per_minute: float, seed: int) -> SimulationReport:
        window = self.end
        occupancy = {
            a.id: (self.busy_total[a.id] / window if window > 0 else None) for a in self.agents
        }
        stats = []
        for queue_id, spec in self.queues.items():
            t = self.tallies[queue_id]
            finished = t.answered + t.abandoned
            members = [occupancy[a.id] for a in self.agents if queue_id in a.queues]
            known = [m for m in members if m is not None]
            stats.append(
                QueueStats(
                    queue_id=queue_id,
                    entered=t.entered,
                    answered=t.answered,
                    abandoned=t.abandoned,
                    overflowed=t.overflowed,
                    service_level=t.within_sl / finished if finished else None,
                    sl_threshold_s=spec.sl_threshold_s,
                    asa_s=t.wait_total / t.answered if t.answered else None,
                    abandon_rate=t.abandoned / t.entered if t.entered else None,
                    occupancy=sum(known) / len(known) if known else None,
                )
            )
        overall = [o for o in occupancy.values() if o is not None]
        return SimulationReport(
            minutes=minutes,
            calls_per_minute=calls_per_minute,
            seed=seed,
            calls=self.calls,
            queues=tuple(stats),
            occupancy=sum(overall) / len(overall) if overall else None,
        )


def simulate(
    queues: Iterable[QueueSpec],
    agents: Iterable[AgentSpec],
    tier_boosts: Mapping[str, float],
    traffic: TrafficSpec,
    minutes: float,
    calls_per_minute: float,
    seed: int,
) -> SimulationReport:
    """Run the engine on synthetic traffic and report SL, ASA, abandon rate and occupancy."""
    if minutes <= 0 or calls_per_minute < 0:
        raise ValueError("minutes must be > 0 and calls_per_minute >= 0")
    run = _Run(
        list(queues), list(agents), tier_boosts, traffic, minutes * 60.0, calls_per_minute, seed
    )
    run.run()
    return run.report(minutes, calls_per_minute, seed)

"""Try a change first: run the live and the proposed config on the very same callers.

`router.simulation` draws handle and patience times as the run goes, from one random stream,
so two configs that route differently soon see different callers. A comparison needs the
same callers on both sides: here every caller (arrival, queue, tier, patience, handle time)
is drawn up front, and both runs replay that list through the real engine. Any difference
between the two columns is the change, not the dice. The replay is a small loop of its own
for that reason; the engine's timers still come from `next_deadline()`, so nothing polls.

Figures follow `router.simulation`: service level = answered within the queue's threshold /
(answered + abandoned); ASA = mean wait of answered callers; abandon rate = abandoned /
callers who entered (overflowed-in callers enter the queue they overflow to).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from config.compile import to_router
from config.schema import ContactCentreConfig
from router.engine import Engine
from router.events import (
    CallDequeued,
    Event,
    Offer,
    OfferCancelled,
    OfferTimedOut,
    Outcome,
    Overflowed,
)
from router.model import Call, DestinationKind

_ARRIVE, _ANSWER, _HANGUP, _ABANDON = range(4)


@dataclass(frozen=True, slots=True)
class TrialTraffic:
    """The synthetic traffic both configs are tried on."""

    minutes: float = 60.0
    calls_per_minute: float = 2.0
    seed: int = 1
    mean_handle_s: float = 240.0
    mean_patience_s: float = 180.0
    vip_share: float = 0.1
    answer_delay_s: float = 3.0


@dataclass(frozen=True, slots=True)
class TrialCall:
    """One caller of the trial, the same in both runs."""

    call_id: str
    queue_id: str
    arrival_s: float
    tier: str
    patience_s: float
    handle_s: float


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue's figures in one run."""

    offered: int
    answered: int
    abandoned: int
    overflowed: int
    service_level: float | None
    sl_threshold_s: float
    asa_s: float | None
    abandon_rate: float | None


@dataclass(frozen=True, slots=True)
class QueueComparison:
    """One queue under the live config and under the proposed one (None: not in it)."""

    queue_id: str
    current: QueueFigures | None
    proposed: QueueFigures | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both runs on the same callers, queue by queue."""

    traffic: TrialTraffic
    calls: int
    queues: tuple[QueueComparison, ...]


def synthetic_calls(
    queue_ids: Sequence[str], traffic: TrialTraffic, vip_tier: str
) -> list[TrialCall]:
    """Draw the callers: Poisson arrivals spread evenly over the queues, exponential times."""
    rng = random.Random(traffic.seed)
    rate = traffic.calls_per_minute / 60.0
    end = traffic.minutes * 60.0
    calls: list[TrialCall] = []
    if rate <= 0 or not queue_ids:
        return calls
    now = rng.expovariate(rate)
    while now < end:
        calls.append(
            TrialCall(
                call_id=f"trial-{len(calls) + 1}",
                queue_id=rng.choice(queue_ids),
                arrival_s=now,
                tier=vip_tier if rng.random() < traffic.vip_share else "standard",
                patience_s=rng.expovariate(1.0 / traffic.mean_patience_s),
                handle_s=rng.expovariate(1.0 / traffic.mean_handle_s),
            )
        )
        now += rng.expovariate(rate)
    return calls


@dataclass
class _Tally:
    entered: int = 0
    answered: int = 0
    within_sl: int = 0
    abandoned: int = 0
    overflowed: int = 0
    wait_total: float = 0.0


class _Replay:
    """One run of the engine over a fixed list of callers."""

    def __init__(self, config: ContactCentreConfig, calls: Iterable[TrialCall], seed: int) -> None:
        queues, agents, tiers = to_router(config)
        self.thresholds = {queue.id: queue.sl_threshold_s for queue in queues}
        self.engine = Engine(queues, agents, tiers, seed=seed)
        self.agent_ids = [agent.id for agent in agents]
        self.calls = {call.call_id: call for call in calls}
        self.tallies = {queue.id: _Tally() for queue in queues}
        self.heap: list[tuple[float, int, int, str]] = []
        self.seq = itertools.count()
        self.ringing: dict[str, int] = {}  # call -> the heap seq of its pending answer
        self.connected: set[str] = set()

    def push(self, at: float, kind: int, call_id: str) -> int:
        seq = next(self.seq)
        heapq.heappush(self.heap, (at, seq, kind, call_id))
        return seq

    def run(self, answer_delay_s: float) -> dict[str, QueueFigures]:
        for agent_id in self.agent_ids:
            self.handle(self.engine.agent_login(agent_id, 0.0), 0.0, answer_delay_s)
            self.handle(self.engine.agent_ready(agent_id, 0.0), 0.0, answer_delay_s)
        for call in self.calls.values():
            self.push(call.arrival_s, _ARRIVE, call.call_id)
        while True:
            deadline = self.engine.next_deadline()
            external = self.heap[0][0] if self.heap else None
            if deadline is None and external is None:
                break
            if external is None or (deadline is not None and deadline <= external):
                assert deadline is not None
                self.handle(self.engine.advance(deadline), deadline, answer_delay_s)
                continue
            at, seq, kind, call_id = heapq.heappop(self.heap)
            self.handle(self.external(at, seq, kind, call_id), at, answer_delay_s)
        return {queue_id: self.figures(queue_id, t) for queue_id, t in self.tallies.items()}

    def external(self, now: float, seq: int, kind: int, call_id: str) -> list[Event]:
        engine = self.engine
        call = self.calls[call_id]
        if kind == _ARRIVE:
            if call.queue_id not in self.tallies:
                return []
            self.tallies[call.queue_id].entered += 1
            # A caller known to wait as long as needed (math.inf) never hangs up.
            if math.isfinite(call.patience_s):
                self.push(now + call.patience_s, _ABANDON, call_id)
            return engine.call_arrived(
                Call(call_id=call_id, queue_id=call.queue_id, arrival=now, tier=call.tier), now
            )
        if kind == _ANSWER:
            # Only the answer to the offer still ringing counts (not one that timed out).
            if self.ringing.get(call_id) != seq:
                return []
            del self.ringing[call_id]
            self.connected.add(call_id)
            self.push(now + call.handle_s, _HANGUP, call_id)
            return engine.offer_answered(call_id, now)
        if kind == _HANGUP:
            self.connected.discard(call_id)
            return engine.call_ended(call_id, now)
        if engine.has_call(call_id) and call_id not in self.connected:
            self.ringing.pop(call_id, None)
            return engine.caller_abandoned(call_id, now)
        return []

    def handle(self, events: Iterable[Event], now: float, answer_delay_s: float) -> None:
        for event in events:
            if isinstance(event, Offer):
                self.ringing[event.call_id] = self.push(
                    now + answer_delay_s, _ANSWER, event.call_id
                )
            elif isinstance(event, OfferTimedOut | OfferCancelled):
                self.ringing.pop(event.call_id, None)
            elif isinstance(event, CallDequeued):
                self.dequeued(event)
            elif isinstance(event, Overflowed) and event.destination.kind is DestinationKind.QUEUE:
                target = self.tallies.get(event.destination.target)
                if target is not None:
                    target.entered += 1

    def dequeued(self, event: CallDequeued) -> None:
        tally = self.tallies.get(event.queue_id)
        if tally is None:
            return
        if event.outcome is Outcome.ANSWERED:
            tally.answered += 1
            tally.wait_total += event.waited_s
            if event.waited_s <= self.thresholds[event.queue_id]:
                tally.within_sl += 1
        elif event.outcome is Outcome.ABANDONED:
            tally.abandoned += 1
        else:
            tally.overflowed += 1

    def figures(self, queue_id: str, t: _Tally) -> QueueFigures:
        finished = t.answered + t.abandoned
        return QueueFigures(
            offered=t.entered,
            answered=t.answered,
            abandoned=t.abandoned,
            overflowed=t.overflowed,
            service_level=t.within_sl / finished if finished else None,
            sl_threshold_s=self.thresholds[queue_id],
            asa_s=t.wait_total / t.answered if t.answered else None,
            abandon_rate=t.abandoned / t.entered if t.entered else None,
        )


def _vip_tier(current: ContactCentreConfig, proposed: ContactCentreConfig) -> str:
    # The VIP callers must mean the same customers in both runs: a tier both configs know.
    shared = {name: boost for name, boost in current.tiers.items() if name in proposed.tiers}
    return max(shared, key=lambda name: shared[name]) if shared else "standard"


def replay(
    config: ContactCentreConfig, calls: Sequence[TrialCall], traffic: TrialTraffic
) -> dict[str, QueueFigures]:
    """Run the real engine with `config` over `calls`; return each queue's figures."""
    return _Replay(config, calls, traffic.seed).run(traffic.answer_delay_s)


def compare(
    current: ContactCentreConfig,
    proposed: ContactCentreConfig,
    traffic: TrialTraffic,
    calls: Sequence[TrialCall] | None = None,
) -> Comparison:
    """Replay the same callers through both configs: `calls`, or synthetic ones by `traffic`.

    Raise ValueError when there is nothing to compare on.
    """
    # Synthetic callers go to queues both configs have, so neither run loses one.
    shared = [queue_id for queue_id in current.queues if queue_id in proposed.queues]
    if calls is None:
        if not shared:
            raise ValueError("the two configs have no queue in common to send the same calls to")
        calls = synthetic_calls(shared, traffic, _vip_tier(current, proposed))
    elif not calls:
        raise ValueError("there are no callers to replay")
    before = replay(current, calls, traffic)
    after = replay(proposed, calls, traffic)
    order = list(before) + [queue_id for queue_id in after if queue_id not in before]
    return Comparison(
        traffic=traffic,
        calls=len(calls),
        queues=tuple(
            QueueComparison(queue_id, before.get(queue_id), after.get(queue_id))
            for queue_id in order
        ),
    )

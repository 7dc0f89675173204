"""The ONE definition of every call-centre metric, used by the live board and the reports.

Both fold the same event records (board.records) with `Fold`, so they cannot disagree.

Definitions (per queue, over the calls that LEFT the queue in the interval):

* offered = every call that entered the queue and left it: answered + abandoned + overflowed
  + removed. A call is counted in the interval in which it leaves the queue.
* service level = answered within the queue's threshold / (answered + abandoned after the
  threshold). Calls abandoned WITHIN the threshold ("short abandons") count in neither the
  numerator nor the denominator: the caller gave up before the queue could fairly be blamed.
  Overflowed and removed calls are left out too (the queue they went to counts them). No
  calls: no service level (None), which never counts as a breach.
* abandon rate = abandoned (short abandons included) / (answered + abandoned).
* ASA (average speed of answer) = total wait of answered calls / answered.
* AHT (average handle time) = (talk + hold + wrap-up) / handled calls, where talk + hold is
  the time from answer to hang-up (hold is split out when the call layer logs holds) and
  wrap-up runs from hang-up until the agent leaves wrap-up. A call is handled in the
  interval in which its wrap-up ends (its handling is complete).
* longest wait = the longest wait of any call that left the queue in the interval (the live
  board shows the longest wait of callers waiting NOW from the router instead).

Per agent: calls handled with talk/hold/wrap time, offers and missed offers (RONA), time in
each state (split exactly at interval boundaries) and occupancy = (on call + wrap-up) /
(ready + reserved + on call + wrap-up): the share of available time spent on calls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from board.records import CALL_HELD, CALL_RESUMED, EventRecord
from router.events import Outcome
from router.model import AgentState
from router.snapshots import QueueSnapshot

_BUSY = (AgentState.ON_CALL.value, AgentState.WRAP_UP.value)
_AVAILABLE = (AgentState.READY.value, AgentState.RESERVED.value, *_BUSY)
_STAFFED = (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class QueueTotals:
    """Additive counts and sums for one queue over one interval."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    overflowed: int = 0
    removed: int = 0
    answer_wait_s: float = 0.0
    longest_wait_s: float = 0.0
    handled: int = 0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_s: float = 0.0

    def add(self, other: QueueTotals) -> None:
        """Add another interval's totals into these (the longest wait is a maximum)."""
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            merged = max(mine, theirs) if f.name == "longest_wait_s" else mine + theirs
            setattr(self, f.name, merged)

    @property
    def service_level(self) -> float | None:
        """Return answered within threshold / (answered + abandoned after threshold)."""
        late_abandons = self.abandoned - self.abandoned_within
        return _ratio(self.answered_within, self.answered + late_abandons)

    @property
    def abandon_rate(self) -> float | None:
        """Return abandoned / (answered + abandoned)."""
        return _ratio(self.abandoned, self.answered + self.abandoned)

    @property
    def asa_s(self) -> float | None:
        """Return the average speed of answer in seconds."""
        return _ratio(self.answer_wait_s, self.answered)

    @property
    def handle_s(self) -> float:
        """Return the total handle time (talk + hold + wrap-up) in seconds."""
        return self.talk_s + self.hold_s + self.wrap_s

    @property
    def aht_s(self) -> float | None:
        """Return the average handle time in seconds."""
        return _ratio(self.handle_s, self.handled)


@dataclass
class AgentTotals:
    """Additive counts and sums for one agent over one interval."""

    handled: int = 0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_s: float = 0.0
    offers: int = 0
    missed: int = 0
    state_s: dict[str, float] = field(default_factory=dict)

    def add(self, other: AgentTotals) -> None:
        """Add another interval's totals into these."""
        for name in ("handled", "talk_s", "hold_s", "wrap_s", "offers", "missed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for state, seconds in other.state_s.items():
            self.state_s[state] = self.state_s.get(state, 0.0) + seconds

    @property
    def handle_s(self) -> float:
        """Return the total handle time (talk + hold + wrap-up) in seconds."""
        return self.talk_s + self.hold_s + self.wrap_s

    @property
    def aht_s(self) -> float | None:
        """Return the average handle time in seconds."""
        return _ratio(self.handle_s, self.handled)

    @property
    def occupancy(self) -> float | None:
        """Return (on call + wrap-up) / (ready + reserved + on call + wrap-up)."""
        busy = sum(self.state_s.get(s, 0.0) for s in _BUSY)
        return _ratio(busy, sum(self.state_s.get(s, 0.0) for s in _AVAILABLE))


@dataclass
class _CallTrack:
    queue_id: str
    agent_id: str | None
    answered_at: float
    ended_at: float | None = None
    hold_s: float = 0.0
    held_since: float | None = None


class Fold:
    """Fold event records, in time order, into per-interval queue and agent totals.

    Intervals are `bucket_s` long, aligned on `origin` (UTC epoch 0 by default, so hours and
    days fall on UTC boundaries). Only intervals within [start, end) are kept; records before
    `start` still set up calls and agent states (a call answered before the range whose
    wrap-up ends inside it is counted, with its whole handle time).
    """

    def __init__(
        self,
        bucket_s: float,
        *,
        origin: float = 0.0,
        start: float = -math.inf,
        end: float = math.inf,
    ) -> None:
        if bucket_s <= 0:
            raise ValueError("bucket_s must be > 0")
        self.bucket_s = bucket_s
        self.origin = origin
        self.start = start
        self.end = end
        self.queues: dict[tuple[str, float], QueueTotals] = {}
        self.agents: dict[tuple[str, float], AgentTotals] = {}
        self._calls: dict[str, _CallTrack] = {}
        self._offered_to: dict[str, str] = {}
        self._wrapping: dict[str, _CallTrack] = {}
        self._states: dict[str, tuple[str, float]] = {}

    def bucket(self, at: float) -> float:
        """Return the start of the interval holding `at`."""
        return self.origin + math.floor((at - self.origin) / self.bucket_s) * self.bucket_s

    def _counted(self, at: float) -> bool:
        return self.start <= at < self.end

    def queue(self, queue_id: str, at: float) -> QueueTotals:
        """Return the (created on demand) totals of a queue's interval holding `at`."""
        key = (queue_id, self.bucket(at))
        totals = self.queues.get(key)
        if totals is None:
            totals = self.queues[key] = QueueTotals()
        return totals

    def agent(self, agent_id: str, at: float) -> AgentTotals:
        """Return the (created on demand) totals of an agent's interval holding `at`."""
        key = (agent_id, self.bucket(at))
        totals = self.agents.get(key)
        if totals is None:
            totals = self.agents[key] = AgentTotals()
        return totals

    def apply_all(self, records: Iterable[EventRecord]) -> None:
        """Apply records in order."""
        for record in records:
            self.apply(record)

    def apply(self, record: EventRecord) -> None:
        """Apply one record (records of unknown kinds are ignored)."""
        kind = record.kind
        if kind == "offer" and record.call_id and record.agent_id:
            self._offered_to[record.call_id] = record.agent_id
            if self._counted(record.at):
                self.agent(record.agent_id, record.at).offers += 1
        elif kind == "offer_timed_out" and record.agent_id and self._counted(record.at):
            self.agent(record.agent_id, record.at).missed += 1
        elif kind == "call_dequeued":
            self._dequeued(record)
        elif kind == "call_finished" and record.call_id:
            self._finished(record)
        elif kind == "agent_state_changed" and record.agent_id:
            self._state_changed(record)
        elif kind in (CALL_HELD, CALL_RESUMED) and record.call_id:
            self._hold(record, held=kind == CALL_HELD)

    def close(self, at: float) -> None:
        """Count every agent's current state up to `at` (the end of a report, or now)."""
        for agent_id, (state, since) in list(self._states.items()):
            self._spread(agent_id, state, since, at)
            self._states[agent_id] = (state, max(since, at))

    def _dequeued(self, record: EventRecord) -> None:
        call_id, queue_id, data = record.call_id or "", record.queue_id or "", record.data
        outcome = data.get("outcome")
        waited = float(data.get("waited_s") or 0.0)
        threshold = data.get("sl_threshold_s")
        agent_id = self._offered_to.pop(call_id, None)
        if outcome == Outcome.ANSWERED.value:
            self._calls[call_id] = _CallTrack(queue_id, agent_id, record.at)
        if not self._counted(record.at):
            return
        totals = self.queue(queue_id, record.at)
        totals.offered += 1
        totals.longest_wait_s = max(totals.longest_wait_s, waited)
        within = threshold is not None and waited <= float(threshold)
        if outcome == Outcome.ANSWERED.value:
            totals.answered += 1
            totals.answered_within += within
            totals.answer_wait_s += waited
        elif outcome == Outcome.ABANDONED.value:
            totals.abandoned += 1
            totals.abandoned_within += within
        elif outcome == Outcome.OVERFLOWED.value:
            totals.overflowed += 1
        else:
            totals.removed += 1

    def _finished(self, record: EventRecord) -> None:
        track = self._calls.pop(record.call_id or "", None)
        if track is None:  # answered before this fold's records began
            return
        track.ended_at = record.at
        if track.held_since is not None:
            track.hold_s += record.at - track.held_since
            track.held_since = None
        self._wrapping[record.agent_id or track.agent_id or ""] = track

    def _hold(self, record: EventRecord, *, held: bool) -> None:
        track = self._calls.get(record.call_id or "")
        if track is None:
            return
        if held and track.held_since is None:
            track.held_since = record.at
        elif not held and track.held_since is not None:
            track.hold_s += record.at - track.held_since
            track.held_since = None

    def _state_changed(self, record: EventRecord) -> None:
        agent_id, at = record.agent_id or "", record.at
        old, new = str(record.data.get("old")), str(record.data.get("new"))
        previous = self._states.get(agent_id)
        if previous is not None:
            self._spread(agent_id, previous[0], previous[1], at)
        self._states[agent_id] = (new, at)
        done = old == AgentState.WRAP_UP.value or (
            old == AgentState.ON_CALL.value and new != AgentState.WRAP_UP.value
        )
        track = self._wrapping.pop(agent_id, None) if done else None
        if track is None or track.ended_at is None or not self._counted(at):
            return
        talk = track.ended_at - track.answered_at - track.hold_s
        wrap = at - track.ended_at
        for totals in (self.queue(track.queue_id, at), self.agent(agent_id, at)):
            totals.handled += 1
            totals.talk_s += talk
            totals.hold_s += track.hold_s
            totals.wrap_s += wrap

    def _spread(self, agent_id: str, state: str, since: float, until: float) -> None:
        """Add time in a state to every interval it overlaps, clipped to [start, end)."""
        t = max(since, self.start)
        stop = min(until, self.end)
        while t < stop:
            edge = min(self.bucket(t) + self.bucket_s, stop)
            seconds = self.agent(agent_id, t).state_s
            seconds[state] = seconds.get(state, 0.0) + (edge - t)
            t = edge


def merge_queues(totals: Iterable[QueueTotals]) -> QueueTotals:
    """Return the sum of several queue totals."""
    merged = QueueTotals()
    for item in totals:
        merged.add(item)
    return merged


def merge_agents(totals: Iterable[AgentTotals]) -> AgentTotals:
    """Return the sum of several agent totals."""
    merged = AgentTotals()
    for item in totals:
        merged.add(item)
    return merged


def queue_ewt_s(snapshot: QueueSnapshot) -> float | None:
    """Estimate a NEW caller's wait: (waiting + 1) * handle time / staffed agents.

    The same rule as the router's per-caller estimate (router Engine.estimated_wait) for the
    place behind everyone waiting now; None when nobody is staffed.
    """
    staffed = sum(snapshot.agents.get(state, 0) for state in _STAFFED)
    if not staffed:
        return None
    return (snapshot.waiting + 1) * snapshot.handle_time_s / staffed


def agents_by_state(states: Mapping[AgentState, int]) -> dict[str, int]:
    """Group agent counts the way the board shows them: ready, on call, wrap-up, not ready."""
    return {
        "ready": states.get(AgentState.READY, 0),
        "on_call": states.get(AgentState.ON_CALL, 0) + states.get(AgentState.RESERVED, 0),
        "wrap_up": states.get(AgentState.WRAP_UP, 0),
        "not_ready": states.get(AgentState.NOT_READY, 0),
    }

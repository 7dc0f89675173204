"""Prometheus metrics for `/metrics`, with prometheus-client, in a registry of this app's own.

Counters and histograms are updated from the same event records as the event log; gauges
(callers waiting, agents by state) are read from the router's snapshots at scrape time, so
they are never stale. Names follow the Prometheus conventions: `switchboard_` prefix, base
units in the name (`_seconds`), `_total` on counters (added by the client library).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from board.eventlog import EventLog
from board.records import EventRecord
from router.model import AgentState
from router.runtime import Action, RoutingRuntime

# Waits that matter for service levels (typical thresholds are 10-60 s) up to callbacks.
WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0)
# One routing input costs microseconds; a slow listener shows up in the upper buckets.
DECISION_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
)

# The methods of RFC 3261 and its common extensions; any other is counted as "other".
SIP_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)


class RoutingView:
    """What the scrape-time collector reads: queue and agent snapshots of one runtime."""

    def __init__(self, runtime: RoutingRuntime, queue_ids: Callable[[], Sequence[str]]) -> None:
        self.runtime = runtime
        self.queue_ids = queue_ids


class _LiveCollector(Collector):
    """Yield gauges from the router's snapshots at scrape time."""

    def __init__(self, source: Callable[[], RoutingView | None]) -> None:
        self._source = source

    def describe(self) -> Iterator[Metric]:
        """Describe the families without reading the router (called at registration)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """Read every queue and agent snapshot once."""
        waiting, longest, per_queue, agents = self._families()
        view = self._source()
        if view is not None:
            engine = view.runtime.engine
            now = view.runtime.now()
            for queue_id in view.queue_ids():
                snap = engine.queue_snapshot(queue_id, now)
                waiting.add_metric([queue_id], snap.waiting)
                longest.add_metric([queue_id], snap.longest_wait_s)
                for state in AgentState:
                    per_queue.add_metric([queue_id, state.value], snap.agents.get(state, 0))
            counts = dict.fromkeys(AgentState, 0)
            for agent_id in engine.agent_ids():
                counts[engine.agent_snapshot(agent_id).state] += 1
            for state, count in counts.items():
                agents.add_metric([state.value], count)
        yield from (waiting, longest, per_queue, agents)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "switchboard_queue_callers_waiting",
                "Callers waiting in the queue.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "switchboard_queue_longest_wait_seconds",
                "How long the longest-waiting caller of the queue has waited.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "switchboard_queue_agents",
                "Agents serving the queue, by state.",
                labels=["queue", "state"],
            ),
            GaugeMetricFamily("switchboard_agents", "Agents by state.", labels=["state"]),
        )


class _EventLogCollector(Collector):
    """Yield the event log's own counts at scrape time."""

    def __init__(self, source: Callable[[], EventLog | None]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        """Read the log's counters."""
        log = self._source()
        written, dropped, buffered = (
            (0, 0, 0) if log is None else (log.written, log.dropped, log.buffered)
        )
        yield CounterMetricFamily(
            "switchboard_event_log_records_written",
            "Event records written to the durable log.",
            value=written,
        )
        yield CounterMetricFamily(
            "switchboard_event_log_records_dropped",
            "Event records dropped because the log buffer was full (database away too long).",
            value=dropped,
        )
        yield GaugeMetricFamily(
            "switchboard_event_log_buffered_records",
            "Event records waiting to be written.",
            value=buffered,
        )


class BoardMetrics:
    """Every Switchboard metric in one registry (one per app, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.view: RoutingView | None = None
        r = self.registry
        self.offered = Counter(
            "switchboard_queue_calls_offered",
            "Calls that entered the queue and left it (answered, abandoned, overflowed, removed).",
            ["queue"],
            registry=r,
        )
        self.answered = Counter(
            "switchboard_queue_calls_answered",
            "Calls answered from the queue.",
            ["queue"],
            registry=r,
        )
        self.abandoned = Counter(
            "switchboard_queue_calls_abandoned",
            "Callers who hung up while waiting in the queue.",
            ["queue"],
            registry=r,
        )
        self.overflowed = Counter(
            "switchboard_queue_calls_overflowed",
            "Calls a queue limit sent elsewhere.",
            ["queue"],
            registry=r,
        )
        self.wait = Histogram(
            "switchboard_queue_wait_seconds",
            "How long callers waited in the queue, by how they left it.",
            ["queue", "outcome"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.decision = Histogram(
            "switchboard_routing_decision_seconds",
            "Time of one routing input (engine decision and its synchronous listeners).",
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.sip_messages = Counter(
            "switchboard_sip_messages",
            "SIP messages by direction, method and response status (empty for requests).",
            ["direction", "method", "status"],
            registry=r,
        )
        self._sip_children: dict[tuple[str, str, str], Any] = {}
        self.websocket_connections = Gauge(
            "switchboard_websocket_connections",
            "Open websocket connections by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.event_log: EventLog | None = None
        r.register(_LiveCollector(lambda: self.view))
        r.register(_EventLogCollector(lambda: self.event_log))

    def start_queues(self, queue_ids: Sequence[str]) -> None:
        """Create each queue's counters at zero, so a quiet queue's series exist from the start."""
        for queue_id in queue_ids:
            for counter in (self.offered, self.answered, self.abandoned, self.overflowed):
                counter.labels(queue_id)

    def observe(self, records: Sequence[EventRecord]) -> None:
        """Count one batch of records (a Recorder sink)."""
        for record in records:
            if record.kind != "call_dequeued" or record.queue_id is None:
                continue
            queue, outcome = record.queue_id, str(record.data.get("outcome"))
            self.offered.labels(queue).inc()
            counter = {
                "answered": self.answered,
                "abandoned": self.abandoned,
                "overflowed": self.overflowed,
            }.get(outcome)
            if counter is not None:
                counter.labels(queue).inc()
            self.wait.labels(queue, outcome).observe(float(record.data.get("waited_s") or 0.0))

    def sip_message(self, direction: str, method: str, status: int | None = None) -> None:
        """Count one SIP message ("in"/"out"; a response carries its status and CSeq method).

        This is telephony's `MessageCounter`: `SipEndpoint(count_message=metrics.sip_message)`.
        Peers choose methods and codes, so anything outside the known sets is counted as
        "other": a peer cannot grow the number of series.
        """
        method = method if method in SIP_METHODS else "other"
        code = "" if status is None else str(status) if 100 <= status <= 699 else "other"
        key = (direction if direction == "in" else "out", method, code)
        # labels() takes a lock and builds its key on every call; this runs for every SIP
        # message, so each (bounded) label set's child is looked up once.
        child = self._sip_children.get(key)
        if child is None:
            child = self._sip_children[key] = self.sip_messages.labels(*key)
        child.inc()

    def time_decisions(
        self, runtime: RoutingRuntime, timer: Callable[[], float] = time.perf_counter
    ) -> Callable[[], None]:
        """Time every `runtime.act` into the decision histogram; return a function that stops.

        The runtime has no timing hook, so its bound `act` is wrapped on the instance (not the
        class); everything else about the runtime is untouched.
        """
        act = runtime.act
        histogram = self.decision

        def timed(action: Action) -> list[Any]:
            started = timer()
            try:
                return act(action)
            finally:
                histogram.observe(timer() - started)

        runtime.act = timed  # type: ignore[method-assign]

        def stop() -> None:
            if runtime.act is timed:
                runtime.act = act  # type: ignore[method-assign]

        return stop

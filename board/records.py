"""The event log's unit: one timestamped record per router event (or board/console event).

Every consumer (the durable log, the live board, Prometheus) gets the SAME records with the
SAME timestamps from one conversion, which is why the board and the reports agree.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from router.events import CallDequeued, Event
from router.model import QueueSpec

log = logging.getLogger(__name__)

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_COLUMNS = ("call_id", "agent_id", "queue_id")

# Kinds recorded by the board and the consoles, beside the router's own events.
CALL_HELD = "call_held"
CALL_RESUMED = "call_resumed"
# The record of the router's CallTransferred (a blind transfer): data has to_queue, to_agent.
CALL_TRANSFERRED = "call_transferred"
SUPERVISOR_ACTION = "supervisor_action"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as logged: wall-clock time (UTC epoch seconds), kind, ids and details."""

    at: float
    kind: str
    call_id: str | None = None
    agent_id: str | None = None
    queue_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def kind_of(event: object) -> str:
    """Return the record kind of an event: its class name in snake_case."""
    cls = type(event)
    kind = _KINDS.get(cls)
    if kind is None:
        kind = _KINDS[cls] = _CAMEL.sub("_", cls.__name__).lower()
    return kind


# Every router event passes through here (several per call): what depends only on the class
# is worked out once per class.
_KINDS: dict[type, str] = {}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_PRIMITIVE = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """Turn an event field into JSON-ready data (enums by value, dataclasses as objects)."""
    if type(value) in _PRIMITIVE:  # the exact types: a str or int Enum is not one
        return value
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, (frozenset, set)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def to_record(
    event: Event,
    at: float,
    queues: Callable[[], Mapping[str, QueueSpec]],
) -> EventRecord:
    """Convert one router event into a record, generically (new event types log too).

    A dequeue carries the queue's service-level threshold in force at that moment, so a
    report read later uses the rule that applied then, even after the queue was changed.
    """
    values = {name: plain(getattr(event, name)) for name in _field_names(type(event))}
    ids = {name: values.pop(name, None) for name in _COLUMNS}
    if isinstance(event, CallDequeued):
        spec = queues().get(event.queue_id)
        values["sl_threshold_s"] = None if spec is None else spec.sl_threshold_s
    return EventRecord(
        at=at,
        kind=kind_of(event),
        call_id=ids["call_id"],
        agent_id=ids["agent_id"],
        queue_id=ids["queue_id"],
        data=values,
    )


RecordSink = Callable[[Sequence[EventRecord]], None]


class Recorder:
    """The one runtime listener: stamp each batch once, then hand it to every sink in order."""

    def __init__(
        self,
        clock: Callable[[], float],
        queues: Callable[[], Mapping[str, QueueSpec]],
        sinks: Sequence[RecordSink] = (),
    ) -> None:
        self._clock = clock
        self._queues = queues
        self.sinks: list[RecordSink] = list(sinks)

    def __call__(self, events: Sequence[Event]) -> None:
        """Convert a batch of router events and pass the records on."""
        at = self._clock()
        # The queues are read only for a dequeue (its service-level threshold), not per event.
        self.publish([to_record(event, at, self._queues) for event in events])

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Pass records that did not come from the router (holds, supervisor actions) on."""
        for sink in self.sinks:
            try:
                sink(records)
            except Exception:
                # One broken consumer must not starve the others (the event log comes first).
                log.exception("an event record consumer failed on %d records", len(records))

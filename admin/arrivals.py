"""Yesterday's real callers, read back from the event log, as callers for a trial.

The event log records what the router did, not who called: each caller's arrival and first
queue come from its first record that names a queue (an offer straight away, or queued), how
long it was willing to wait from its abandon (`call_dequeued` abandoned, in whichever queue
it had overflowed to), and its talk time from the answer (`call_dequeued` answered) to
`call_finished`.
What the log cannot know is filled in plainly: an answered caller's patience is unknown
(taken as waiting as long as needed), a call still connected at the end of the window talks
for the mean of the others, and every caller is in the standard tier (tiers are not logged).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import Any, Protocol

from admin.trial import TrialCall

DEFAULT_HANDLE_S = 240.0


class LoggedEvent(Protocol):
    """One event-log record as the board's event log returns it."""

    @property
    def at(self) -> float:
        """Wall-clock time of the event (seconds)."""

    @property
    def kind(self) -> str:
        """The event's kind, such as "call_queued"."""

    @property
    def call_id(self) -> str | None:
        """The call it is about, if any."""

    @property
    def queue_id(self) -> str | None:
        """The queue it is about, if any."""

    @property
    def data(self) -> Mapping[str, Any]:
        """The event's other fields."""


def calls_from_log(records: Iterable[LoggedEvent]) -> list[TrialCall]:
    """Rebuild the callers of a stretch of the event log, arrivals relative to the first."""
    arrived: dict[str, tuple[float, str]] = {}
    abandoned_at: dict[str, float] = {}
    answered_at: dict[str, float] = {}
    finished_at: dict[str, float] = {}
    for record in records:
        call_id = record.call_id
        if call_id is None:
            continue
        if call_id not in arrived and record.queue_id:
            arrived[call_id] = (record.at, record.queue_id)
        if call_id not in arrived:
            # A stray record before the call's arrival (a damaged log) says nothing about it.
            continue
        if record.kind == "call_dequeued":
            outcome = record.data.get("outcome")
            if outcome == "answered":
                answered_at.setdefault(call_id, record.at)
            elif outcome == "abandoned":
                abandoned_at.setdefault(call_id, record.at)
        elif record.kind == "call_finished":
            finished_at.setdefault(call_id, record.at)
    talks = [
        finished_at[call_id] - answered_at[call_id]
        for call_id in answered_at
        if call_id in finished_at and finished_at[call_id] >= answered_at[call_id]
    ]
    mean_talk = fmean(talks) if talks else DEFAULT_HANDLE_S
    if not arrived:
        return []
    start = min(at for at, _ in arrived.values())
    calls = []
    for number, (call_id, (at, queue_id)) in enumerate(
        sorted(arrived.items(), key=lambda item: item[1][0]), start=1
    ):
        talk = (
            finished_at[call_id] - answered_at[call_id]
            if call_id in answered_at and call_id in finished_at
            else mean_talk
        )
        calls.append(
            TrialCall(
                # Fresh ids: the trial needs no link to the real call (nor its customer).
                call_id=f"logged-{number}",
                queue_id=queue_id,
                arrival_s=at - start,
                tier="standard",
                patience_s=abandoned_at[call_id] - at if call_id in abandoned_at else math.inf,
                handle_s=max(0.0, talk),
            )
        )
    return calls

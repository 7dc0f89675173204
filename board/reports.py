"""Interval reports (15 minutes, hour, day) per queue and per agent, from the event log.

A report folds the logged records with the same `board.metrics.Fold` as the live board. Its
totals are computed by a SECOND fold over the whole range (not by adding the interval rows),
so "totals equal the sum of their intervals" is a real check of the interval arithmetic.
Intervals are aligned on UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine

from board.eventlog import read_records
from board.metrics import AgentTotals, Fold, QueueTotals, merge_queues
from board.records import EventRecord
from router.model import AgentState

DAY_S = 86_400.0
# Records this long before the range are read too, so calls answered and agent states entered
# before the range are known inside it (a shift is shorter than a day).
LOOKBACK_S = DAY_S
MAX_RANGE_S = 31 * DAY_S


class Interval(StrEnum):
    """The length of one report row."""

    QUARTER = "15m"
    HOUR = "hour"
    DAY = "day"

    @property
    def seconds(self) -> float:
        """Return the interval's length in seconds."""
        return {"15m": 900.0, "hour": 3600.0, "day": DAY_S}[self.value]


class ReportError(ValueError):
    """A report range that cannot be built."""


@dataclass
class Report:
    """Queue and agent rows per interval, their totals, and the whole floor per interval."""

    start: float
    end: float
    interval: Interval
    queue_rows: list[tuple[float, str, QueueTotals]]
    queue_totals: dict[str, QueueTotals]
    agent_rows: list[tuple[float, str, AgentTotals]]
    agent_totals: dict[str, AgentTotals]
    floor: list[tuple[float, QueueTotals]]

    @property
    def floor_total(self) -> QueueTotals:
        """Return all queues' totals for the whole range."""
        return merge_queues(self.queue_totals.values())


def check_range(start: float, end: float, interval: Interval) -> None:
    """Refuse a range that is empty, too long or not on interval boundaries."""
    if end <= start:
        raise ReportError("the end must be after the start")
    if end - start > MAX_RANGE_S:
        raise ReportError("a report covers at most 31 days")
    if start % interval.seconds or end % interval.seconds:
        raise ReportError(f"the range must start and end on {interval.value} boundaries (UTC)")


def compute_report(
    records: Iterable[EventRecord], start: float, end: float, interval: Interval, now: float
) -> Report:
    """Fold records (oldest first) into a report for [start, end)."""
    check_range(start, end, interval)
    rows = Fold(interval.seconds, start=start, end=end)
    whole = Fold(end - start, origin=start, start=start, end=end)
    for record in records:
        rows.apply(record)
        whole.apply(record)
    until = min(end, now)
    rows.close(until)
    whole.close(until)
    floor: list[tuple[float, QueueTotals]] = []
    t = start
    while t < end:
        floor.append((t, merge_queues(q for (_, b), q in rows.queues.items() if b == t)))
        t += interval.seconds
    return Report(
        start=start,
        end=end,
        interval=interval,
        queue_rows=sorted(((b, q, t) for (q, b), t in rows.queues.items()), key=_row_key),
        queue_totals={q: t for (q, _), t in sorted(whole.queues.items())},
        agent_rows=sorted(((b, a, t) for (a, b), t in rows.agents.items()), key=_row_key),
        agent_totals={a: t for (a, _), t in sorted(whole.agents.items())},
        floor=floor,
    )


def _row_key(row: tuple[float, str, object]) -> tuple[float, str]:
    return row[0], row[1]


async def build_report(
    engine: AsyncEngine, start: float, end: float, interval: Interval, now: float
) -> Report:
    """Read the event log for [start, end) (plus the look-back) and build the report."""
    check_range(start, end, interval)
    return compute_report(
        await read_records(engine, start - LOOKBACK_S, end), start, end, interval, now
    )


# ------------------------------------------------------------------------------ CSV export


def _cell(value: object) -> str:
    """Format a CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def stamp(at: float) -> str:
    """Return a UTC epoch time as ISO 8601 (the CSV's and the tables' interval start)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%MZ")


QUEUE_COLUMNS = (
    "interval_start",
    "queue",
    "offered",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "abandoned_within_threshold",
    "overflowed",
    "service_level",
    "abandon_rate",
    "asa_s",
    "aht_s",
    "longest_wait_s",
)
AGENT_COLUMNS = (
    "interval_start",
    "agent",
    "handled",
    "talk_s",
    "hold_s",
    "wrap_s",
    "aht_s",
    "offers",
    "missed",
    *(f"{state.value}_s" for state in AgentState if state is not AgentState.LOGGED_OUT),
    "occupancy",
)


def queue_values(totals: QueueTotals) -> list[object]:
    """Return a queue row's figures in QUEUE_COLUMNS order (after start and queue)."""
    return [
        totals.offered,
        totals.answered,
        totals.answered_within,
        totals.abandoned,
        totals.abandoned_within,
        totals.overflowed,
        totals.service_level,
        totals.abandon_rate,
        totals.asa_s,
        totals.aht_s,
        totals.longest_wait_s,
    ]


def agent_values(totals: AgentTotals) -> list[object]:
    """Return an agent row's figures in AGENT_COLUMNS order (after start and agent)."""
    states = [
        totals.state_s.get(state.value, 0.0)
        for state in AgentState
        if state is not AgentState.LOGGED_OUT
    ]
    return [
        totals.handled,
        totals.talk_s,
        totals.hold_s,
        totals.wrap_s,
        totals.aht_s,
        totals.offers,
        totals.missed,
        *states,
        totals.occupancy,
    ]


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def queue_csv(report: Report) -> str:
    """Return the per-queue report as CSV: one row per interval and queue, then totals."""
    rows: list[list[object]] = [[stamp(b), q, *queue_values(t)] for b, q, t in report.queue_rows]
    rows += [["total", q, *queue_values(t)] for q, t in report.queue_totals.items()]
    return _csv(QUEUE_COLUMNS, rows)


def agent_csv(report: Report) -> str:
    """Return the per-agent report as CSV: one row per interval and agent, then totals."""
    rows: list[list[object]] = [[stamp(b), a, *agent_values(t)] for b, a, t in report.agent_rows]
    rows += [["total", a, *agent_values(t)] for a, t in report.agent_totals.items()]
    return _csv(AGENT_COLUMNS, rows)


# ------------------------------------------------------------------------------ SVG chart


@dataclass(frozen=True)
class Bar:
    """One interval's volume bar, in chart coordinates."""

    x: float
    y: float
    width: float
    height: float
    label: str
    offered: int


@dataclass(frozen=True)
class Chart:
    """Volume bars and the service-level line through the range, ready for an inline SVG."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    sl_points: str
    max_offered: int
    ticks: list[tuple[float, str]]


def chart(report: Report, width: int = 960, height: int = 220) -> Chart:
    """Lay out offered calls (bars, left scale) and service level (line, 0-100 %) per interval."""
    top, bottom, left = 12, height - 28, 40
    plot_h = bottom - top
    n = max(1, len(report.floor))
    step = (width - left - 8) / n
    peak = max([t.offered for _, t in report.floor] + [1])
    bars, points = [], []
    for i, (start, totals) in enumerate(report.floor):
        x = left + i * step
        h = plot_h * totals.offered / peak
        bars.append(Bar(x + step * 0.1, bottom - h, step * 0.8, h, stamp(start), totals.offered))
        if totals.service_level is not None:
            points.append(f"{x + step / 2:.1f},{bottom - plot_h * totals.service_level:.1f}")
    every = max(1, n // 8)
    ticks = [(b.x + b.width / 2, b.label[11:] or b.label) for b in bars[::every]]
    if report.interval is Interval.DAY:
        ticks = [(b.x + b.width / 2, b.label[5:10]) for b in bars[::every]]
    return Chart(width, height, top, bottom, bars, " ".join(points), peak, ticks)


# ------------------------------------------------------------------------------ page cells

_QUEUE_PERCENT = {6, 7}  # service level, abandon rate (indexes in queue_values)


def _shown(value: object, percent: bool) -> str:
    if value is None:
        return "–"
    if percent and isinstance(value, float):
        return f"{value * 100:.0f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def queue_cells(totals: QueueTotals) -> list[str]:
    """Return a queue row's figures as the page shows them (ratios as percentages)."""
    return [_shown(v, i in _QUEUE_PERCENT) for i, v in enumerate(queue_values(totals))]


def agent_cells(totals: AgentTotals) -> list[str]:
    """Return an agent row's figures as the page shows them (occupancy as a percentage)."""
    values = agent_values(totals)
    return [_shown(v, i == len(values) - 1) for i, v in enumerate(values)]

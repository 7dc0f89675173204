"""Interval reports: totals equal the sum of their intervals; CSV; the report read from the log."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from board.eventlog import EventLog
from board.metrics import AgentTotals, QueueTotals, merge_agents, merge_queues
from board.reports import (
    Interval,
    ReportError,
    agent_csv,
    build_report,
    chart,
    compute_report,
    queue_csv,
)
from router import AgentSpec, AgentState, QueueSpec
from tests.board.support import T0, Script

QUEUES = [
    QueueSpec("sales", sl_threshold_s=20, wrap_up_s=30, offer_timeout_s=20),
    QueueSpec("support", sl_threshold_s=60, wrap_up_s=0, offer_timeout_s=15),
]
AGENTS = [
    AgentSpec("ada", queues={"sales": 1, "support": 1}),
    AgentSpec("bob", queues={"sales": 1}),
    AgentSpec("cy", queues={"support": 2}),
]

# One step of random traffic: seconds later, what happens, and a number to pick who.
steps = st.lists(
    st.tuples(st.floats(0, 900), st.integers(0, 6), st.integers(0, 10_000)), max_size=70
)


def run(ops: list[tuple[float, int, int]]) -> Script:
    """Drive the real engine with random but valid inputs."""
    s = Script(QUEUES, AGENTS)
    t, serial = 0.0, 0
    for agent in AGENTS:
        s.login_ready(0, agent.id)
    for dt, op, pick in ops:
        t += dt
        s.at(t, lambda e, now: e.advance(now))  # deadlines due by now fire first
        engine = s.engine
        calls = sorted(engine.call_ids())
        states = {a.id: engine.agent_snapshot(a.id) for a in AGENTS}
        ringing = [x.call_id for x in states.values() if x.state is AgentState.RESERVED]
        talking = [x.call_id for x in states.values() if x.state is AgentState.ON_CALL]
        if op <= 1:
            serial += 1
            s.arrive(t, f"c{serial}", QUEUES[pick % 2].id)
        elif op == 2 and ringing:
            s.answer(t, str(ringing[pick % len(ringing)]))
        elif op == 3 and talking:
            s.hang_up(t, str(talking[pick % len(talking)]))
        elif op == 4 and calls:
            s.abandon(t, calls[pick % len(calls)])
        elif op == 5:
            agent = AGENTS[pick % 3].id
            state = states[agent].state
            if state is AgentState.WRAP_UP:
                s.wrap_done(t, agent)
            elif state is AgentState.NOT_READY:
                s.at(t, lambda e, now, a=agent: e.agent_ready(a, now))
        elif op == 6:
            agent = AGENTS[pick % 3].id
            s.at(t, lambda e, now, a=agent: e.agent_not_ready(a, "break", now))
    return s


def same_queue(a: QueueTotals, b: QueueTotals) -> None:
    assert (a.offered, a.answered, a.answered_within) == (b.offered, b.answered, b.answered_within)
    assert (a.abandoned, a.abandoned_within, a.overflowed, a.handled) == (
        b.abandoned,
        b.abandoned_within,
        b.overflowed,
        b.handled,
    )
    for name in ("answer_wait_s", "longest_wait_s", "talk_s", "hold_s", "wrap_s"):
        assert getattr(a, name) == pytest.approx(getattr(b, name)), name


def same_agent(a: AgentTotals, b: AgentTotals) -> None:
    assert (a.handled, a.offers, a.missed) == (b.handled, b.offers, b.missed)
    assert a.handle_s == pytest.approx(b.handle_s)
    assert set(a.state_s) == set(b.state_s)
    for state, seconds in a.state_s.items():
        assert seconds == pytest.approx(b.state_s[state]), state


@settings(max_examples=60)
@given(ops=steps, interval=st.sampled_from([Interval.QUARTER, Interval.HOUR]))
def test_report_totals_equal_the_sum_of_their_intervals(
    ops: list[tuple[float, int, int]], interval: Interval
) -> None:
    s = run(ops)
    # The range starts after the traffic began: calls answered before it still count right.
    start, end = T0 + interval.seconds, T0 + 86_400
    report = compute_report(s.records, start, end, interval, now=end)
    for queue_id, total in report.queue_totals.items():
        same_queue(merge_queues(t for _, q, t in report.queue_rows if q == queue_id), total)
    assert {q for _, q, _ in report.queue_rows} == set(report.queue_totals)
    for agent_id, total in report.agent_totals.items():
        same_agent(merge_agents(t for _, a, t in report.agent_rows if a == agent_id), total)
    same_queue(merge_queues(t for _, t in report.floor), report.floor_total)


def test_a_range_must_be_on_interval_boundaries_and_at_most_31_days() -> None:
    with pytest.raises(ReportError, match="boundaries"):
        compute_report([], T0 + 60, T0 + 3600, Interval.HOUR, now=T0)
    with pytest.raises(ReportError, match="31 days"):
        compute_report([], T0, T0 + 32 * 86_400, Interval.DAY, now=T0)
    with pytest.raises(ReportError, match="after the start"):
        compute_report([], T0, T0, Interval.DAY, now=T0)


def day_of_calls() -> Script:
    s = Script(QUEUES, AGENTS)
    s.login_ready(0, "ada")
    s.arrive(100, "c1", "sales")
    s.answer(110, "c1")  # 10 s: within 20
    s.hang_up(200, "c1")
    s.wrap_done(220, "ada")
    s.arrive(3700, "c2", "sales")
    s.answer(3740, "c2")  # 40 s: late
    s.hang_up(3800, "c2")
    s.wrap_done(3810, "ada")
    s.arrive(3900, "=cmd|' /C calc'!A0", "support")  # a hostile id must not become a formula
    s.abandon(3950, "=cmd|' /C calc'!A0")
    return s


async def test_report_from_the_event_log_with_csv_and_chart(db: AsyncEngine) -> None:
    log = EventLog(db)
    log.append(day_of_calls().records)
    await log.flush()
    report = await build_report(db, T0, T0 + 86_400, Interval.HOUR, now=T0 + 86_400)
    sales = report.queue_totals["sales"]
    assert (sales.offered, sales.answered, sales.answered_within) == (2, 2, 1)
    assert sales.service_level == 0.5
    assert sales.asa_s == pytest.approx(25)
    assert sales.aht_s == pytest.approx(((90 + 20) + (60 + 10)) / 2)
    hours = [(b - T0) / 3600 for b, q, _ in report.queue_rows if q == "sales"]
    assert hours == [0, 1]
    assert [t.offered for _, t in report.floor[:3]] == [1, 2, 0]

    rows = list(csv.DictReader(io.StringIO(queue_csv(report))))
    assert [(r["interval_start"], r["queue"], r["offered"]) for r in rows] == [
        ("2026-11-23T00:00Z", "sales", "1"),
        ("2026-11-23T01:00Z", "sales", "1"),
        ("2026-11-23T01:00Z", "support", "1"),
        ("total", "sales", "2"),
        ("total", "support", "1"),
    ]
    assert rows[3]["service_level"] == "0.5" and rows[4]["abandon_rate"] == "1"
    agents = list(csv.DictReader(io.StringIO(agent_csv(report))))
    ada_total = [r for r in agents if r["interval_start"] == "total" and r["agent"] == "ada"]
    assert ada_total[0]["handled"] == "2"

    drawn = chart(report)
    assert len(drawn.bars) == 24 and drawn.max_offered == 2
    assert drawn.bars[1].height == pytest.approx(drawn.plot_bottom - drawn.plot_top)
    # 100 % in the first hour (top of the plot), 0 % in the second (bottom); none after.
    heights = [float(p.split(",")[1]) for p in drawn.sl_points.split()]
    assert heights == [drawn.plot_top, drawn.plot_bottom]

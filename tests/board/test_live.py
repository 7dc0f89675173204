"""The live board's queue figures: service level today and over the last 30 minutes."""

from __future__ import annotations

import asyncio

import pytest

from board.live import LiveBoard, Routing
from board.records import EventRecord
from router import AgentSpec, QueueSpec
from router.runtime import RoutingRuntime
from tests.board.support import T0, Script

SALES = QueueSpec("sales", sl_threshold_s=20, sl_target=0.8, wrap_up_s=5, offer_timeout_s=60)
ADA = AgentSpec("ada", queues={"sales": 1})


async def test_the_last_30_minutes_and_today_are_folded_from_the_same_records() -> None:
    s = Script([SALES], [ADA])
    s.login_ready(0, "ada")
    s.at(50, lambda e, now: e.agent_not_ready("ada", "lunch", now))
    s.arrive(100, "c1", "sales")
    s.at(150, lambda e, now: e.agent_ready("ada", now))
    s.answer(151, "c1")  # waited 51 s against 20: late
    s.hang_up(160, "c1")
    s.wrap_done(165, "ada")
    s.arrive(7200, "c2", "sales")
    s.answer(7205, "c2")  # waited 5 s: in time
    clock = [T0 + 7300]
    live = LiveBoard(lambda: clock[0])
    live.apply(s.records)
    runtime = RoutingRuntime(s.engine, lambda: s.now, asyncio.get_running_loop().call_at)
    routing = Routing(runtime, lambda: [SALES], lambda: [ADA])

    [queue] = live.frame(routing)["queues"]
    assert queue["sl_today"] == pytest.approx(1 / 2)
    assert queue["sl_30m"] == 1.0
    assert queue["asa_s"] == pytest.approx((51 + 5) / 2)
    assert queue["breach"] is False  # the last 30 minutes are on target

    clock[0] = T0 + 7205 + 1800 + 120  # c2 left the queue over 30 minutes ago
    live.apply([])
    [queue] = live.frame(routing)["queues"]
    assert queue["sl_30m"] is None
    assert queue["sl_today"] == pytest.approx(1 / 2)
    assert queue["breach"] is True  # nothing recent: today's 50 % against 80 %
    runtime.close()


def test_a_call_leaves_the_board_when_it_leaves_its_queue_unless_it_queues_again() -> None:
    live = LiveBoard(lambda: T0)
    queued = [
        EventRecord(T0, "call_queued", call_id=c, queue_id="sales") for c in ("c1", "c2", "c3")
    ]
    live.apply(queued)
    abandoned = {"outcome": "abandoned"}
    live.apply([EventRecord(T0 + 1, "call_dequeued", call_id="c1", data=abandoned)])
    # c2 overflows to support in the same batch: it is still on the board, waiting there.
    live.apply(
        [
            EventRecord(T0 + 2, "call_dequeued", call_id="c2", data={"outcome": "overflowed"}),
            EventRecord(T0 + 2, "call_queued", call_id="c2", queue_id="support"),
        ]
    )
    assert sorted(live.calls) == ["c2", "c3"]
    assert (live.calls["c2"].queue_id, live.calls["c2"].state) == ("support", "waiting")
    live.apply([EventRecord(T0 + 3, "call_dequeued", call_id="c2", data=abandoned)])
    assert sorted(live.calls) == ["c3"]

"""The live board's queue figures: service level today and over the last 30 minutes."""

from __future__ import annotations

import asyncio

import pytest

from board.live import LiveBoard, Routing
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

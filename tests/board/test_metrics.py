"""Metric definitions on crafted event sequences, with hand-computed results."""

from __future__ import annotations

import pytest

from board.metrics import Fold, QueueTotals, merge_queues, queue_ewt_s
from board.records import CALL_HELD, CALL_RESUMED, EventRecord
from router import AgentSpec, AgentState, QueueSnapshot, QueueSpec
from tests.board.support import T0, Script

SALES = QueueSpec("sales", sl_threshold_s=20, sl_target=0.8, wrap_up_s=30, offer_timeout_s=60)
ADA = AgentSpec("ada", queues={"sales": 1})


def day_script() -> Script:
    """Two answered calls (5 s and 62 s waits), a short abandon (10 s) and a late one (35 s)."""
    s = Script([SALES], [ADA])
    s.login_ready(0, "ada")
    s.arrive(100, "c1", "sales")  # straight to ada
    s.answer(105, "c1")  # waited 5 s: within 20 s
    s.arrive(110, "c2", "sales")  # ada is busy: waits
    s.arrive(120, "c3", "sales")
    s.arrive(125, "c4", "sales")
    s.abandon(130, "c3")  # waited 10 s: a short abandon
    s.abandon(160, "c4")  # waited 35 s: a late abandon
    s.hang_up(165, "c1")  # talk 60 s
    s.wrap_done(170, "ada")  # wrap 5 s; ada takes c2 at once
    s.answer(172, "c2")  # waited 62 s
    s.hang_up(232, "c2")  # talk 60 s
    s.wrap_done(242, "ada")  # wrap 10 s
    return s


def fold_day(records: list[EventRecord]) -> QueueTotals:
    fold = Fold(86_400)
    fold.apply_all(records)
    return fold.queues[("sales", T0)]


def test_hand_computed_service_level_asa_aht_and_abandon_rate() -> None:
    totals = fold_day(day_script().records)
    assert (totals.offered, totals.answered, totals.abandoned) == (4, 2, 2)
    assert (totals.answered_within, totals.abandoned_within) == (1, 1)
    # The short abandon counts nowhere: 1 answered in time / (2 answered + 1 late abandon).
    assert totals.service_level == pytest.approx(1 / 3)
    assert totals.abandon_rate == pytest.approx(2 / 4)
    assert totals.asa_s == pytest.approx((5 + 62) / 2)
    assert totals.aht_s == pytest.approx(((60 + 5) + (60 + 10)) / 2)
    assert totals.longest_wait_s == pytest.approx(62)


def test_hold_is_split_out_of_talk_and_still_in_handle_time() -> None:
    records = day_script().records
    held = [
        EventRecord(T0 + 180, CALL_HELD, call_id="c2"),
        EventRecord(T0 + 200, CALL_RESUMED, call_id="c2"),
    ]
    totals = fold_day(sorted(records + held, key=lambda r: r.at))
    assert totals.hold_s == pytest.approx(20)
    assert totals.talk_s == pytest.approx(60 + 40)
    assert totals.aht_s == pytest.approx(67.5)


def test_wrap_up_ended_by_the_timer_counts_the_whole_wrap() -> None:
    s = Script([SALES], [ADA])
    s.login_ready(0, "ada")
    s.arrive(10, "c1", "sales")
    s.answer(12, "c1")
    s.hang_up(42, "c1")
    s.at(42 + 30, lambda e, now: e.advance(now))  # the queue's 30 s wrap-up runs out
    totals = fold_day(s.records)
    assert totals.handled == 1
    assert totals.aht_s == pytest.approx(30 + 30)
    assert totals.service_level == 1.0
    assert totals.abandon_rate == 0.0


def test_no_calls_means_no_service_level_rather_than_zero() -> None:
    totals = QueueTotals()
    assert totals.service_level is None
    assert totals.asa_s is None
    assert totals.aht_s is None
    assert totals.abandon_rate is None


def test_agent_occupancy_and_time_in_state() -> None:
    s = day_script()
    fold = Fold(86_400)
    fold.apply_all(s.records)
    fold.close(T0 + 300)
    ada = fold.agents[("ada", T0)]
    assert ada.handled == 2
    assert ada.offers == 2
    # Hand-computed from the script: ringing, talking and wrapping twice, ready before and after.
    on_call = (165 - 105) + (232 - 172)
    wrap = (170 - 165) + (242 - 232)
    ringing = (105 - 100) + (172 - 170)
    ready = 100 + (300 - 242)
    assert ada.state_s[AgentState.ON_CALL.value] == pytest.approx(on_call)
    assert ada.state_s[AgentState.WRAP_UP.value] == pytest.approx(wrap)
    assert ada.state_s[AgentState.RESERVED.value] == pytest.approx(ringing)
    assert ada.state_s[AgentState.READY.value] == pytest.approx(ready)
    assert ada.occupancy == pytest.approx((on_call + wrap) / 300)


def test_state_time_is_split_at_interval_boundaries() -> None:
    s = Script([SALES], [ADA])
    s.login_ready(0, "ada")
    fold = Fold(900)
    fold.apply_all(s.records)
    fold.close(T0 + 2000)
    ready = [fold.agents[("ada", T0 + k * 900)].state_s["ready"] for k in range(3)]
    assert ready == pytest.approx([900, 900, 200])


def test_merge_adds_counts_and_keeps_the_longest_wait() -> None:
    a = QueueTotals(offered=2, answered=2, answered_within=1, answer_wait_s=30, longest_wait_s=25)
    b = QueueTotals(offered=1, abandoned=1, longest_wait_s=40)
    merged = merge_queues([a, b])
    assert (merged.offered, merged.answered, merged.abandoned) == (3, 2, 1)
    assert merged.longest_wait_s == 40
    assert merged.service_level == pytest.approx(1 / 3)


def test_estimated_wait_for_a_new_caller() -> None:
    snapshot = QueueSnapshot(
        "sales",
        waiting=3,
        ringing=0,
        longest_wait_s=50,
        agents={AgentState.ON_CALL: 2, AgentState.NOT_READY: 5},
        handle_time_s=120,
    )
    assert queue_ewt_s(snapshot) == pytest.approx(4 * 120 / 2)
    nobody = QueueSnapshot("sales", 3, 0, 50, {AgentState.NOT_READY: 5}, 120)
    assert queue_ewt_s(nobody) is None


def test_a_transfer_counts_one_leg_in_each_queue_and_for_each_agent() -> None:
    support = QueueSpec("support", sl_threshold_s=20, wrap_up_s=10)
    bob = AgentSpec("bob", queues={"support": 1})
    s = Script([SALES, support], [ADA, bob])
    s.login_ready(0, "ada")
    s.login_ready(0, "bob")
    s.arrive(10, "c1", "sales")
    s.answer(12, "c1")
    s.at(40, lambda e, now: e.transfer("c1", now, queue_id="support"))  # to bob at once
    s.answer(45, "c1")
    s.hang_up(100, "c1")
    s.wrap_done(105, "bob")
    transferred = [r for r in s.records if r.kind == "call_transferred"]
    assert [(r.call_id, r.agent_id, r.queue_id) for r in transferred] == [("c1", "ada", "support")]
    assert transferred[0].data["to_queue"] == "support"
    fold = Fold(86_400)
    fold.apply_all(s.records)
    sales, support_totals = fold.queues[("sales", T0)], fold.queues[("support", T0)]
    assert (sales.offered, sales.answered, sales.talk_s) == (1, 1, pytest.approx(40 - 12))
    assert (support_totals.offered, support_totals.answered) == (1, 1)
    assert support_totals.asa_s == pytest.approx(5)
    assert support_totals.talk_s == pytest.approx(100 - 45)
    assert fold.agents[("bob", T0)].handled == 1

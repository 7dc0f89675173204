"""The simulation runs the real engine on synthetic traffic, deterministically for a seed."""

from __future__ import annotations

import math

import pytest

from router import (
    DEFAULT_TIER_BOOSTS,
    AgentSpec,
    BullseyeStep,
    Destination,
    DestinationKind,
    QueueSpec,
    SkillRequirement,
)
from router.simulation import SimulationReport, TrafficSpec, simulate

SALES = QueueSpec(
    "sales",
    skills=(SkillRequirement("en", 5),),
    bullseye=(BullseyeStep(after_s=30, min_proficiency=1),),
    max_wait_s=240,
    on_max_wait=Destination(DestinationKind.QUEUE, "support"),
)
SUPPORT = QueueSpec("support", aging_per_s=0.5, wrap_up_s=15)
QUEUES = [SALES, SUPPORT]


def staff(n: int) -> list[AgentSpec]:
    return [
        AgentSpec(f"a{i}", skills={"en": 1 + i % 10}, queues={"sales": 0, "support": i % 2})
        for i in range(n)
    ]


def run(agents: int, cpm: float = 20.0, seed: int = 1, **traffic: object) -> SimulationReport:
    spec = TrafficSpec(mean_handle_s=120, mean_patience_s=120, **traffic)  # type: ignore[arg-type]
    return simulate(QUEUES, staff(agents), DEFAULT_TIER_BOOSTS, spec, 30, cpm, seed)


def test_same_seed_same_report_and_another_seed_differs() -> None:
    assert run(20, seed=3) == run(20, seed=3)
    assert run(20, seed=3) != run(20, seed=4)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_caller_who_entered_a_queue_left_it_exactly_once(seed: int) -> None:
    report = run(25, seed=seed, no_answer_share=0.1)
    for q in report.queues:
        assert q.entered == q.answered + q.abandoned + q.overflowed


def test_arrivals_follow_the_requested_rate() -> None:
    report = run(40, cpm=20.0, seed=5)
    expected = 30 * 20
    assert abs(report.calls - expected) < 5 * math.sqrt(expected)


def test_queue_shares_split_the_traffic() -> None:
    report = run(40, seed=2, queue_shares={"sales": 3.0, "support": 1.0})
    by_id = {q.queue_id: q for q in report.queues}
    assert by_id["sales"].entered > 2 * by_id["support"].entered


def test_more_agents_give_better_service() -> None:
    short, well = run(10), run(60)
    for a, b in zip(short.queues, well.queues, strict=True):
        assert a.service_level is not None and b.service_level is not None
        assert b.service_level > a.service_level
        assert (b.abandon_rate or 0) < (a.abandon_rate or 0)
    assert short.occupancy is not None and well.occupancy is not None
    assert short.occupancy > well.occupancy


def test_nobody_staffed_means_everybody_abandons_or_overflows() -> None:
    report = run(0)
    assert all(q.answered == 0 for q in report.queues)
    assert report.occupancy is None
    assert "overall agent occupancy -" in report.render()


def test_render_lists_each_queue() -> None:
    text = run(20).render()
    assert text.splitlines()[0].startswith("simulated 30 min at 20 calls/min, seed 1:")
    assert any(line.startswith("sales") for line in text.splitlines())
    assert any(line.startswith("support") for line in text.splitlines())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mean_handle_s": 0.0},
        {"vip_share": 1.5},
        {"queue_shares": {"nope": 1.0}},
    ],
)
def test_bad_traffic_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        simulate(QUEUES, staff(2), DEFAULT_TIER_BOOSTS, TrafficSpec(**kwargs), 1, 1, 1)  # type: ignore[arg-type]


def test_agents_slower_than_the_offer_timeout_never_connect_a_call() -> None:
    # Offers time out after 15 s but agents would pick up after 20 s: every offer rings out.
    report = run(10, answer_delay_s=20.0)
    assert all(q.answered == 0 for q in report.queues)
    for q in report.queues:
        assert q.entered == q.abandoned + q.overflowed


def test_a_share_of_unanswered_offers_lowers_the_service_level() -> None:
    clean, missed = run(30, seed=4), run(30, seed=4, no_answer_share=0.5)
    assert clean.queues[0].service_level is not None
    assert missed.queues[0].service_level is not None
    assert missed.queues[0].service_level < clean.queues[0].service_level

"""Priority: tier boosts, aging, extra priority and the choice across several queues."""

from __future__ import annotations

import pytest

from router import QueueSpec
from tests.router.helpers import agent, call, engine, offers, ready, serve


def busy_engine(queue: QueueSpec):  # type: ignore[no-untyped-def]
    """One agent, busy on a first call, so later callers wait."""
    e = engine([queue], [agent("a1", [queue.id])])
    ready(e, "a1")
    e.call_arrived(call("first", queue.id, 0), 0)
    e.offer_answered("first", 0)
    return e


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        (("standard", "platinum"), "c2"),
        (("gold", "platinum"), "c2"),
        (("platinum", "gold"), "c1"),
        (("standard", "standard"), "c1"),
    ],
)
def test_higher_tier_is_offered_first(tiers: tuple[str, str], expected: str) -> None:
    q = QueueSpec("q", wrap_up_s=0)
    e = busy_engine(q)
    e.call_arrived(call("c1", "q", 1, tier=tiers[0]), 1)
    e.call_arrived(call("c2", "q", 2, tier=tiers[1]), 2)
    events = e.call_ended("first", 3)
    assert offers(events) == [(expected, "a1")]


@pytest.mark.parametrize(
    ("aging", "standard_waited", "expected"),
    [
        (0.0, 1000.0, "vip"),  # no aging: a VIP always overtakes
        (1.0, 10.0, "vip"),  # aging 1 pt/s: 10 s is not worth 30 points
        (1.0, 40.0, "std"),  # ... but 40 s is
        (0.5, 40.0, "vip"),  # half the rate needs 60 s
        (0.5, 70.0, "std"),
    ],
)
def test_aging_stops_a_stream_of_vips_starving_a_standard_caller(
    aging: float, standard_waited: float, expected: str
) -> None:
    q = QueueSpec("q", aging_per_s=aging, wrap_up_s=0)
    e = busy_engine(q)
    now = standard_waited
    e.call_arrived(call("std", "q", 0.0), 0.0)
    e.call_arrived(call("vip", "q", now, tier="platinum"), now)
    assert offers(e.call_ended("first", now)) == [(expected, "a1")]


def test_extra_priority_can_be_changed_while_waiting() -> None:
    e = busy_engine(QueueSpec("q", wrap_up_s=0))
    e.call_arrived(call("c1", "q", 1), 1)
    e.call_arrived(call("c2", "q", 2), 2)
    assert e.position("c2") == 2
    e.set_priority("c2", 5.0, 3)
    assert e.position("c2") == 1
    assert offers(e.call_ended("first", 4)) == [("c2", "a1")]


def test_base_priority_and_extra_priority_add_up() -> None:
    e = busy_engine(QueueSpec("q", base_priority=10, wrap_up_s=0))
    e.call_arrived(call("gold", "q", 1, tier="gold"), 1)
    e.call_arrived(call("std", "q", 2, extra_priority=21.0), 2)
    assert offers(e.call_ended("first", 3)) == [("std", "a1")]


def two_queue_engine(
    sales: QueueSpec, support: QueueSpec, priorities: dict[str, int] | None = None
):  # type: ignore[no-untyped-def]
    e = engine([sales, support], [agent("a1", priorities or {"sales": 0, "support": 0})])
    e.agent_login("a1", 0)
    return e


@pytest.mark.parametrize(
    ("sales_base", "support_base", "expected"),
    [(5.0, 0.0, "s1"), (0.0, 5.0, "p1"), (0.0, 0.0, "s1")],
)
def test_agent_in_two_queues_takes_the_best_caller_across_them(
    sales_base: float, support_base: float, expected: str
) -> None:
    e = two_queue_engine(
        QueueSpec("sales", base_priority=sales_base),
        QueueSpec("support", base_priority=support_base),
    )
    e.call_arrived(call("s1", "sales", 1), 1)  # waited longer
    e.call_arrived(call("p1", "support", 2), 2)
    assert offers(e.agent_ready("a1", 3)) == [(expected, "a1")]


def test_aging_is_compared_at_now_across_queues_with_different_rates() -> None:
    # sales ages 1 pt/s, support none but starts 10 points ahead: by t=30 sales leads.
    e = two_queue_engine(
        QueueSpec("sales", aging_per_s=1.0), QueueSpec("support", base_priority=10)
    )
    e.call_arrived(call("s1", "sales", 0), 0)
    e.call_arrived(call("p1", "support", 0), 0)
    assert offers(e.agent_ready("a1", 5)) == [("p1", "a1")]
    e2 = two_queue_engine(
        QueueSpec("sales", aging_per_s=1.0), QueueSpec("support", base_priority=10)
    )
    e2.call_arrived(call("s1", "sales", 0), 0)
    e2.call_arrived(call("p1", "support", 0), 0)
    assert offers(e2.agent_ready("a1", 30)) == [("s1", "a1")]


@pytest.mark.parametrize(
    ("priorities", "expected"),
    [({"sales": 1, "support": 2}, "p1"), ({"sales": 2, "support": 1}, "s1")],
)
def test_equal_priority_and_wait_falls_back_to_the_agents_queue_priority(
    priorities: dict[str, int], expected: str
) -> None:
    e = two_queue_engine(QueueSpec("sales"), QueueSpec("support"), priorities)
    e.call_arrived(call("s1", "sales", 1), 1)
    e.call_arrived(call("p1", "support", 1), 1)
    assert offers(e.agent_ready("a1", 2)) == [(expected, "a1")]


def test_offer_reason_names_the_winner_and_the_candidates() -> None:
    e = two_queue_engine(QueueSpec("sales", base_priority=5), QueueSpec("support"))
    e.call_arrived(call("s1", "sales", 1), 1)
    e.call_arrived(call("p1", "support", 2), 2)
    (offer,) = [
        ev for ev in e.agent_ready("a1", 3) if hasattr(ev, "agent_id") and hasattr(ev, "queue_id")
    ]
    text = str(offer.reason)
    assert "priority 5 in sales" in text
    assert [c.id for c in offer.reason.candidates] == ["s1", "p1"]


def test_callers_are_served_in_order_one_after_another() -> None:
    e = busy_engine(QueueSpec("q", wrap_up_s=0))
    for i in range(5):
        e.call_arrived(call(f"c{i}", "q", 1 + i), 1 + i)
    served = []
    current = "first"
    for step in range(5):
        (pair,) = offers(
            serve(e, current, 10 + step) if current != "first" else e.call_ended(current, 10)
        )
        current = pair[0]
        served.append(current)
    assert served == ["c0", "c1", "c2", "c3", "c4"]

"""Value scores, tiers and the 80/20 list on crafted data, with the answers worked out by hand.

Default weights: recency 1, frequency 1, monetary 1, lifetime 2 (sum 5); caps: 365 days,
12 orders, 10,000.00 revenue a year, 20,000.00 lifetime margin; platinum >= 70, gold >= 40.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.errors import InvalidInput
from crm_bridge.interface import CallOutcome, NewCustomer, ValueTier
from crm_bridge.sql_store import SqlDirectory
from crm_bridge.value import OrderFigures, ValueWeights, score_orders
from tests.crm.conftest import NOW


async def crafted(store: SqlDirectory) -> dict[str, str]:
    """A: 6 orders of 2,000.00 (margin 1,000.00) 73 days ago; B: one 50,000.00 order today
    (margin 40,000.00); C: one 1,000.00 order two years ago (margin 500.00); D: no orders;
    E: one 4,000.00 order today (margin 3,500.00); F: a 1,000.00 order sold at a 1,000.00 loss."""
    ids = {k: await store.create_customer(NewCustomer(name=f"Customer {k}")) for k in "ABCDEF"}
    for _ in range(6):
        await store.add_order(ids["A"], 200_000, 100_000, NOW - timedelta(days=73))
    await store.add_order(ids["B"], 5_000_000, 4_000_000, NOW)
    await store.add_order(ids["C"], 100_000, 50_000, NOW - timedelta(days=730))
    await store.add_order(ids["E"], 400_000, 350_000, NOW)
    await store.add_order(ids["F"], 100_000, -100_000, NOW)
    return ids


async def test_scores_and_tiers_match_the_hand_computation(store: SqlDirectory) -> None:
    ids = await crafted(store)
    expected = {
        # (0.8 recency + 0.5 frequency + 1.0 monetary (capped) + 2 * 0.3 lifetime) / 5
        "A": (58.0, ValueTier.GOLD),
        # (1 + 1/12 + 1 + 2 * 1) / 5
        "B": (81.666667, ValueTier.PLATINUM),
        # only lifetime margin counts after a year: 2 * 0.025 / 5
        "C": (1.0, ValueTier.STANDARD),
        "D": (0.0, ValueTier.STANDARD),
        # (1 + 1/12 + 0.4 + 2 * 0.175) / 5
        "E": (36.666667, ValueTier.STANDARD),
        # (1 + 1/12 + 0.1 + 0 (a loss counts as no margin)) / 5
        "F": (23.666667, ValueTier.STANDARD),
    }
    for key, (score, tier) in expected.items():
        view = await store.customer_360(ids[key])
        assert view.value.score == pytest.approx(score, abs=1e-5), key
        assert view.value.tier is tier, key
        assert view.customer.tier is tier, key
    a = (await store.customer_360(ids["A"])).value
    assert a.lifetime_revenue_cents == 1_200_000
    assert a.lifetime_margin_cents == 600_000
    assert a.orders_last_year == 6
    assert a.last_order_at == NOW - timedelta(days=73)


async def test_key_customers_are_the_few_with_most_margin(store: SqlDirectory) -> None:
    ids = await crafted(store)
    # Positive margin: B 40,000 + A 6,000 + E 3,500 + C 500 = 50,000 (F's loss is left out).
    top = await store.key_customers()
    assert [k.customer_id for k in top] == [ids["B"]]
    assert top[0].cumulative_share == pytest.approx(0.8)
    ninety = await store.key_customers(0.9)
    assert [k.customer_id for k in ninety] == [ids["B"], ids["A"]]
    assert ninety[-1].cumulative_share == pytest.approx(0.92)
    everyone = await store.key_customers(1.0)
    assert [k.customer_id for k in everyone] == [ids[k] for k in "BAEC"]
    assert [k.margin_cents for k in everyone] == [4_000_000, 600_000, 350_000, 50_000]
    with pytest.raises(InvalidInput):
        await store.key_customers(0)


async def test_no_margin_means_no_key_customers(store: SqlDirectory) -> None:
    await store.create_customer(NewCustomer(name="Browser"))
    assert await store.key_customers() == []


async def test_weights_are_configurable(make_store: Callable[..., SqlDirectory]) -> None:
    only_lifetime = ValueWeights(
        recency=0, frequency=0, monetary=0, lifetime=1, platinum_min=50, gold_min=10
    )
    store = make_store(weights=only_lifetime)
    ids = await crafted(store)
    # Score = 100 * lifetime margin / 20,000.00 (capped at 100).
    for key, score, tier in (
        ("A", 30.0, ValueTier.GOLD),
        ("B", 100.0, ValueTier.PLATINUM),
        ("C", 2.5, ValueTier.STANDARD),
    ):
        view = await store.customer_360(ids[key])
        assert view.value.score == pytest.approx(score), key
        assert view.value.tier is tier, key


async def test_interaction_rescores_the_customer_without_a_rescan(
    make_store: Callable[..., SqlDirectory],
) -> None:
    now = [NOW]
    store = make_store(clock=lambda: now[0])
    cid = await store.create_customer(NewCustomer(name="Decaying"))
    await store.add_order(cid, 1_000_000, 400_000, NOW)
    # The same order for a bystander nobody calls: its stored score must not move.
    bystander = await store.create_customer(NewCustomer(name="Quiet"))
    await store.add_order(bystander, 1_000_000, 400_000, NOW)
    # (1 + 1/12 + 1 + 2 * 0.2) / 5
    assert (await store.customer_360(cid)).value.score == pytest.approx(49.666667, abs=1e-5)

    async def call_at(when: datetime) -> None:
        now[0] = when
        await store.record_outcome(CallOutcome(customer_id=cid, started_at=when, agent="alice"))

    await call_at(NOW + timedelta(days=73))
    # (0.8 + 1/12 + 1 + 0.4) / 5
    view = await store.customer_360(cid)
    assert view.value.score == pytest.approx(45.666667, abs=1e-5)
    assert view.value.tier is ValueTier.GOLD

    await call_at(NOW + timedelta(days=400))
    # Only lifetime margin is left: 0.4 / 5
    view = await store.customer_360(cid)
    assert view.value.score == pytest.approx(8.0)
    assert view.value.tier is ValueTier.STANDARD
    assert (await store.lookup(None, customer_id=cid)).tier is ValueTier.STANDARD
    # Only the customer written to was rescored: a rescan of everyone at day 400 would have
    # decayed the bystander to 8.0 too.
    quiet = (await store.customer_360(bystander)).value
    assert quiet.score == pytest.approx(49.666667, abs=1e-5)
    assert quiet.tier is ValueTier.GOLD


def test_pure_scoring_agrees_with_the_store_formula() -> None:
    orders = [OrderFigures(NOW - timedelta(days=73), 200_000, 100_000) for _ in range(6)]
    value = score_orders(orders, NOW, ValueWeights())
    assert value.score == pytest.approx(58.0)
    assert value.tier is ValueTier.GOLD


@pytest.mark.parametrize(
    "bad",
    [
        {"recency": -1},
        {"recency": 0, "frequency": 0, "monetary": 0, "lifetime": 0},
        {"frequency_cap": 0},
        {"gold_min": 80, "platinum_min": 70},
    ],
)
def test_bad_weights_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        ValueWeights(**bad)  # type: ignore[arg-type]


async def test_bad_orders_are_refused(store: SqlDirectory) -> None:
    cid = await store.create_customer(NewCustomer(name="X"))
    with pytest.raises(InvalidInput, match="revenue"):
        await store.add_order(cid, -1, 0)
    with pytest.raises(InvalidInput, match="margin"):
        await store.add_order(cid, 100, 200)


ORDERS = st.lists(
    st.builds(
        OrderFigures,
        st.integers(min_value=0, max_value=2_000).map(lambda d: NOW - timedelta(days=d)),
        st.integers(min_value=0, max_value=10_000_000),
        st.integers(min_value=-1_000_000, max_value=0),
    ).map(
        # Margin as a share of revenue: between a full loss and all of it.
        lambda o: OrderFigures(o.ordered_at, o.revenue_cents, o.revenue_cents + o.margin_cents)
    ),
    max_size=30,
)


@given(ORDERS)
def test_score_is_bounded_and_tier_follows_it(orders: list[OrderFigures]) -> None:
    weights = ValueWeights()
    value = score_orders(orders, NOW, weights)
    assert 0 <= value.score <= 100
    assert value.tier is weights.tier(value.score)
    assert value.lifetime_margin_cents == sum(o.margin_cents for o in orders)


@given(ORDERS, st.integers(min_value=0, max_value=10_000_000))
def test_another_order_today_never_lowers_the_score(
    orders: list[OrderFigures], revenue: int
) -> None:
    weights = ValueWeights()
    before = score_orders(orders, NOW, weights)
    after = score_orders([*orders, OrderFigures(NOW, revenue, revenue // 3)], NOW, weights)
    assert after.score >= before.score - 1e-9

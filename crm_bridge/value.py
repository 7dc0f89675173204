"""Customer value: RFM plus lifetime margin into a 0-100 score, and the score into a tier.

Each part is scaled against a fixed cap, not against the other customers, so that one
customer can be rescored alone when an order or interaction is written (no nightly rescan):

    recency   = max(0, 1 - days since last order / recency_horizon_days)   (0 with no orders)
    frequency = min(1, orders in the last 365 days / frequency_cap)
    monetary  = min(1, revenue in the last 365 days / monetary_cap_cents)
    lifetime  = min(1, max(0, lifetime margin) / lifetime_margin_cap_cents)
    score     = 100 * weighted mean of the four, with the configured weights
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_bridge.errors import InvalidInput
from crm_bridge.interface import CustomerValue, ValueTier

YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class ValueWeights:
    """Weights, caps and tier thresholds of the value score."""

    recency: float = 1.0
    frequency: float = 1.0
    monetary: float = 1.0
    lifetime: float = 2.0
    recency_horizon_days: float = 365.0
    frequency_cap: float = 12.0
    monetary_cap_cents: int = 1_000_000
    lifetime_margin_cap_cents: int = 2_000_000
    platinum_min: float = 70.0
    gold_min: float = 40.0

    def __post_init__(self) -> None:
        weights = (self.recency, self.frequency, self.monetary, self.lifetime)
        if min(weights) < 0 or sum(weights) <= 0:
            raise InvalidInput("value weights: must be >= 0 and not all zero")
        caps = (
            self.recency_horizon_days,
            self.frequency_cap,
            self.monetary_cap_cents,
            self.lifetime_margin_cap_cents,
        )
        if min(caps) <= 0:
            raise InvalidInput("value caps: must be > 0")
        if not 0 <= self.gold_min <= self.platinum_min <= 100:
            raise InvalidInput("tier thresholds: need 0 <= gold_min <= platinum_min <= 100")

    def tier(self, score: float) -> ValueTier:
        """Return the tier of a score."""
        if score >= self.platinum_min:
            return ValueTier.PLATINUM
        if score >= self.gold_min:
            return ValueTier.GOLD
        return ValueTier.STANDARD


@dataclass(frozen=True, slots=True)
class OrderFigures:
    """One order as the score sees it."""

    ordered_at: datetime
    revenue_cents: int
    margin_cents: int


def score_orders(
    orders: Iterable[OrderFigures], now: datetime, weights: ValueWeights
) -> CustomerValue:
    """Score one customer from all their orders, as of `now`."""
    lifetime_revenue = lifetime_margin = revenue_year = orders_year = 0
    last: datetime | None = None
    for order in orders:
        lifetime_revenue += order.revenue_cents
        lifetime_margin += order.margin_cents
        if now - order.ordered_at <= YEAR:
            orders_year += 1
            revenue_year += order.revenue_cents
        if last is None or order.ordered_at > last:
            last = order.ordered_at
    return score_figures(
        lifetime_revenue, lifetime_margin, orders_year, revenue_year, last, now, weights
    )


def score_figures(
    lifetime_revenue_cents: int,
    lifetime_margin_cents: int,
    orders_last_year: int,
    revenue_last_year_cents: int,
    last_order_at: datetime | None,
    now: datetime,
    weights: ValueWeights,
) -> CustomerValue:
    """Score one customer from their aggregated order figures, as of `now`."""
    if last_order_at is None:
        recency = 0.0
    else:
        days = max(0.0, (now - last_order_at).total_seconds() / 86400)
        recency = max(0.0, 1.0 - days / weights.recency_horizon_days)
    frequency = min(1.0, orders_last_year / weights.frequency_cap)
    monetary = min(1.0, max(0, revenue_last_year_cents) / weights.monetary_cap_cents)
    lifetime = min(1.0, max(0, lifetime_margin_cents) / weights.lifetime_margin_cap_cents)
    total = weights.recency + weights.frequency + weights.monetary + weights.lifetime
    score = 100.0 * (
        weights.recency * recency
        + weights.frequency * frequency
        + weights.monetary * monetary
        + weights.lifetime * lifetime
    )
    score = round(score / total, 6)
    return CustomerValue(
        score=score,
        tier=weights.tier(score),
        lifetime_revenue_cents=lifetime_revenue_cents,
        lifetime_margin_cents=lifetime_margin_cents,
        orders_last_year=orders_last_year,
        revenue_last_year_cents=revenue_last_year_cents,
        last_order_at=last_order_at,
    )


@dataclass(frozen=True, slots=True)
class KeyCustomer:
    """A customer on the 80/20 list, with their margin and their share of the total."""

    customer_id: str
    name: str
    margin_cents: int
    cumulative_share: float

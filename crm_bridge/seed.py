"""Deterministic demo data: customers, companies, households, orders, history, cases.

The same seed, count and `as_of` give the same rows. Value is skewed the way real books are
(many small customers, a few who bring most of the margin): order counts are Pareto and
order sizes log-normal. Rows go in with executemany batches, a transaction per chunk, so a
million customers is a few minutes, not hours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_bridge.errors import InvalidInput
from crm_bridge.sql_write import value_row
from crm_bridge.tables import (
    cases,
    companies,
    company_contacts,
    customer_values,
    customers,
    emails,
    follow_ups,
    interactions,
    orders,
    phone_numbers,
    relationships,
)
from crm_bridge.value import OrderFigures, ValueWeights, score_orders

CHUNK = 5_000


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Ada Alan Amara Anna Ben Carlos Chen Chloe Daniel David Elena Emma Fatima Felix Grace "
    "Hana Hugo Ines Isaac Ivan Jana Jon Kai Karin Leila Liam Lucia Maya Mei Mohammed Nia "
    "Noah Olga Omar Priya Rafael Rosa Ruth Sam Sara Sofia Tariq Tom Uma Victor Wei Yara "
    "Yusuf Zoe"
)
LAST = _words(
    "Adams Ahmed Baker Becker Brown Campbell Chen Costa Davies Diaz Evans Fischer Garcia "
    "Green Hall Hughes Ito Jones Kaur Khan Kim Kowalski Lee Lopez Martin Meyer Moreau "
    "Murphy Nguyen Novak Okafor Patel Rossi Schmidt Silva Singh Smith Taylor Thomas Walker "
    "Wang Weber White Williams Wilson Wright Yilmaz Young"
)
COMPANY_WORDS = _words(
    "Acme Apex Atlas Beacon Cedar Crown Delta Ember Fern Granite Harbor Iris Juniper "
    "Kestrel Lumen Maple Meridian Nimbus Oak Orbit Pioneer Quartz Summit Tidal Vertex "
    "Willow Zenith"
)
COMPANY_KINDS = ("Ltd", "Logistics", "Foods", "Systems", "Health", "Retail", "Partners", "Labs")
LANGUAGES = (("en", 70), ("es", 10), ("fr", 7), ("de", 6), ("pt", 4), ("it", 3))
CHANNELS = (("phone", 50), ("email", 25), ("chat", 12), ("web", 9), ("visit", 3), ("fax", 1))
QUEUES = ("sales", "support", "billing", "retention")
DISPOSITIONS = (
    "resolved",
    "billing-question",
    "order-status",
    "complaint",
    "upsell",
    "callback-requested",
    "wrong-number",
)
NOTES = (
    "Asked about delivery times.",
    "Updated the billing address.",
    "Interested in the premium plan.",
    "Reported a damaged item; replacement sent.",
    "Wanted a copy of the last invoice.",
    "Renewal discussed, will decide next month.",
)
CASE_SUBJECTS = (
    ("complaint", "Late delivery"),
    ("complaint", "Charged twice"),
    ("service", "Device not charging"),
    ("service", "Installation visit"),
    ("question", "Contract terms"),
)
ROLES = ("decision_maker", "buyer", "user")
AGENTS = tuple(f"agent-{n:02d}" for n in range(1, 21))


@dataclass
class SeedReport:
    """How many rows of each kind the seed wrote."""

    customers: int = 0
    companies: int = 0
    numbers: int = 0
    orders: int = 0
    interactions: int = 0
    cases: int = 0
    relationships: int = 0


@dataclass
class _Chunk:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.rows.setdefault(table.name, []).append(row)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class _Numbers:
    """Unique, well-formed numbers of the region: its example numbers with other last digits."""

    def __init__(self, region: str, seed: int) -> None:
        self._mobile = self._prefix(region, phonenumbers.PhoneNumberType.MOBILE)
        self._fixed = self._prefix(region, phonenumbers.PhoneNumberType.FIXED_LINE)
        self._offset = seed * 104_729

    @staticmethod
    def _prefix(region: str, kind: int) -> str:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            raise InvalidInput("region: libphonenumber has no example numbers for it")
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        if len(e164) < 11:
            raise InvalidInput("region: numbers too short to generate a million distinct ones")
        return e164[:-7]

    def _tail(self, key: int, multiplier: int) -> str:
        # Multiplying by a number prime to 10**7 permutes 0..10**7-1: distinct keys, distinct tails.
        return f"{(key * multiplier + self._offset) % 10_000_000:07d}"

    def mobile(self, key: int) -> str:
        return self._mobile + self._tail(key, 7_919)

    def fixed(self, key: int) -> str:
        return self._fixed + self._tail(key, 6_007)


async def _next_ids(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        customer = await conn.scalar(select(func.coalesce(func.max(customers.c.id), 0)))
        company = await conn.scalar(select(func.coalesce(func.max(companies.c.id), 0)))
    return int(customer or 0) + 1, int(company or 0) + 1


async def seed_demo(
    engine: AsyncEngine,
    count: int,
    seed: int,
    as_of: datetime,
    *,
    region: str = "US",
    weights: ValueWeights | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Add `count` demo customers (with everything around them) to a migrated store."""
    if count < 0:
        raise InvalidInput("customers: must not be negative")
    if as_of.tzinfo is None:
        raise InvalidInput("as_of: needs a time zone")
    weights = weights or ValueWeights()
    rng = random.Random(seed)
    numbers = _Numbers(region, seed)
    next_customer, next_company = await _next_ids(engine)
    report = SeedReport()
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        chunk, next_company = _generate(
            rng, numbers, next_customer + done, size, next_company, as_of, weights, report
        )
        async with engine.begin() as conn:
            # Parents before children, so foreign keys hold at every statement.
            for table in (
                companies,
                customers,
                phone_numbers,
                emails,
                company_contacts,
                relationships,
                orders,
                customer_values,
                interactions,
                cases,
                follow_ups,
            ):
                rows = chunk.rows.get(table.name)
                if rows:
                    await conn.execute(insert(table), rows)
        done += size
        if progress is not None:
            progress(done)
    if engine.dialect.name == "postgresql":
        # Ids were given explicitly; move the sequences past them for later inserts.
        async with engine.begin() as conn:
            for table in (customers, companies):
                next_id = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
                sequence = func.pg_get_serial_sequence(table.name, "id")
                await conn.execute(select(func.setval(sequence, next_id, False)))
    return report


def _generate(
    rng: random.Random,
    numbers: _Numbers,
    first_id: int,
    size: int,
    next_company: int,
    as_of: datetime,
    weights: ValueWeights,
    report: SeedReport,
) -> tuple[_Chunk, int]:
    chunk = _Chunk()
    company_id: int | None = None
    company_left = 0
    company_number = ""
    previous_home: tuple[int, str] | None = None
    for cid in range(first_id, first_id + size):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = as_of - timedelta(days=rng.randint(30, 3 * 365))
        # About one customer in five is a contact at a company of two to eight people.
        if company_left == 0 and rng.random() < 0.06:
            company_id, company_left = next_company, rng.randint(2, 8)
            next_company += 1
            company_number = numbers.fixed(5_000_000 + company_id)
            chunk.add(
                companies,
                {
                    "id": company_id,
                    "name": f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}",
                    "account_number": f"CO{company_id:08d}",
                    "created_at": created,
                },
            )
            report.companies += 1
        at_company = company_left > 0
        chunk.add(
            customers,
            {
                "id": cid,
                "name": f"{first} {last}",
                "account_number": f"AC{cid:09d}",
                "company_id": company_id if at_company else None,
                "language": _weighted(rng, LANGUAGES),
                "owner_agent": rng.choice(AGENTS) if rng.random() < 0.3 else None,
                "notes": "",
                "created_at": created,
            },
        )
        chunk.add(
            phone_numbers, {"customer_id": cid, "e164": numbers.mobile(cid), "kind": "mobile"}
        )
        report.numbers += 1
        if at_company:
            assert company_id is not None
            chunk.add(phone_numbers, {"customer_id": cid, "e164": company_number, "kind": "work"})
            chunk.add(
                company_contacts,
                {"company_id": company_id, "customer_id": cid, "role": rng.choice(ROLES)},
            )
            report.numbers += 1
            company_left -= 1
        elif previous_home is not None and rng.random() < 0.15:
            # A household: same landline as the previous customer, linked as family.
            chunk.add(phone_numbers, {"customer_id": cid, "e164": previous_home[1], "kind": "home"})
            chunk.add(
                relationships,
                {"from_customer_id": cid, "to_customer_id": previous_home[0], "kind": "family"},
            )
            report.numbers += 1
            report.relationships += 1
            previous_home = None
        elif rng.random() < 0.3:
            previous_home = (cid, numbers.fixed(cid))
            chunk.add(phone_numbers, {"customer_id": cid, "e164": previous_home[1], "kind": "home"})
            report.numbers += 1
        if rng.random() < 0.6:
            address = f"{first}.{last}{cid}@example.{rng.choice(('com', 'org', 'net'))}"
            chunk.add(emails, {"customer_id": cid, "address": address.lower()})
        if cid > first_id and rng.random() < 0.04:
            chunk.add(
                relationships,
                {
                    "from_customer_id": cid,
                    "to_customer_id": rng.randint(first_id, cid - 1),
                    "kind": "referred_by",
                },
            )
            report.relationships += 1
        _history(rng, chunk, cid, created, as_of, weights, report, business=at_company)
        report.customers += 1
    return chunk, next_company


def _history(
    rng: random.Random,
    chunk: _Chunk,
    cid: int,
    created: datetime,
    as_of: datetime,
    weights: ValueWeights,
    report: SeedReport,
    *,
    business: bool,
) -> None:
    span = max(1, int((as_of - created).total_seconds()))
    placed: list[OrderFigures] = []
    # Pareto order counts: most customers buy once or never, a few buy all the time.
    for _ in range(min(60, int(rng.paretovariate(1.3)) - 1)):
        # Log-normal order sizes (median 150.00, or 600.00 for business accounts).
        revenue = int(rng.lognormvariate(11.0 if business else 9.6, 1.2))
        margin = int(revenue * rng.uniform(0.08, 0.45))
        when = created + timedelta(seconds=rng.randrange(span))
        placed.append(OrderFigures(when, revenue, margin))
        chunk.add(
            orders,
            {
                "customer_id": cid,
                "ordered_at": when,
                "revenue_cents": revenue,
                "margin_cents": margin,
            },
        )
    report.orders += len(placed)
    chunk.add(customer_values, value_row(cid, score_orders(placed, as_of, weights), as_of))
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4, 6))):
        channel = _weighted(rng, CHANNELS)
        talk = rng.randint(30, 900) if channel == "phone" else 0
        when = created + timedelta(seconds=rng.randrange(span))
        chunk.add(
            interactions,
            {
                "customer_id": cid,
                "channel": channel,
                "direction": "inbound" if rng.random() < 0.7 else "outbound",
                "started_at": when,
                "agent": rng.choice(AGENTS),
                "queue": rng.choice(QUEUES),
                "outcome": "completed",
                "disposition": rng.choice(DISPOSITIONS),
                "notes": rng.choice(NOTES),
                "talk_seconds": talk,
                "hold_seconds": rng.randint(0, 120) if talk else 0,
                "wrap_seconds": rng.randint(10, 180),
                "recording_ref": f"demo/{cid}/{when:%Y%m%d%H%M%S}.wav" if talk else None,
                "call_id": None,
            },
        )
        report.interactions += 1
    if rng.random() < 0.1:
        kind, subject = rng.choice(CASE_SUBJECTS)
        opened = created + timedelta(seconds=rng.randrange(span))
        is_open = rng.random() < 0.4
        owner = rng.choice(AGENTS)
        chunk.add(
            cases,
            {
                "customer_id": cid,
                "subject": subject,
                "kind": kind,
                "status": "open" if is_open else "closed",
                "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
                "opened_at": opened,
                "closed_at": None if is_open else min(as_of, opened + timedelta(days=3)),
                "owner_agent": owner,
            },
        )
        report.cases += 1
        if is_open:
            chunk.add(
                follow_ups,
                {
                    "customer_id": cid,
                    "agent": owner,
                    "due_at": as_of + timedelta(days=rng.randint(1, 7)),
                    "note": f"Follow up: {subject.lower()}",
                    "interaction_id": None,
                    "case_id": None,
                    "done": False,
                },
            )

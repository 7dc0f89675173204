"""Writes of the SQL store: customers, orders, call outcomes, cases, follow-ups, rescoring.

Every function runs inside the caller's transaction, so a write and the rescore it causes
commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_bridge.errors import CaseNotFound, CustomerNotFound, InvalidInput
from crm_bridge.interface import CallOutcome, CaseUpdate, CustomerValue, NewCustomer
from crm_bridge.phone import normalise
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
from crm_bridge.value import ValueWeights, score_figures

CHANNELS = frozenset({"phone", "email", "web", "chat", "fax", "visit"})
DIRECTIONS = frozenset({"inbound", "outbound"})
CASE_KINDS = frozenset({"complaint", "service", "question"})
CASE_STATUSES = frozenset({"open", "pending", "closed"})
CASE_PRIORITIES = frozenset({"low", "normal", "high", "urgent"})
ROLES = frozenset({"decision_maker", "buyer", "user"})
RELATIONSHIP_KINDS = frozenset({"referred_by", "parent_account", "family"})
MAX_NOTES = 20_000


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidInput(message)


def _one_of(value: str, allowed: frozenset[str], what: str) -> None:
    _require(value in allowed, f"{what}: must be one of {', '.join(sorted(allowed))}")


def _text(value: str, what: str, limit: int) -> str:
    _require(len(value) <= limit, f"{what}: longer than {limit} characters")
    return value


async def require_customer(conn: AsyncConnection, cid: int | None) -> int:
    """Return `cid` if that customer exists, else raise CustomerNotFound; lock the customer.

    The row lock (PostgreSQL; SQLite has one writer anyway) makes concurrent writes for one
    customer take turns, so each rescore sees the orders of the writes before it.
    """
    if cid is not None:
        found = await conn.scalar(
            select(customers.c.id).where(customers.c.id == cid).with_for_update()
        )
        if found is not None:
            return cid
    raise CustomerNotFound("no customer with that id")


async def create_customer(
    conn: AsyncConnection, new: NewCustomer, region: str, now: datetime, weights: ValueWeights
) -> int:
    """Insert a customer with numbers, emails and a zero score; return its id."""
    name = new.name.strip()
    _require(bool(name), "name: must not be empty")
    _text(name, "name", 200)
    numbers = list(dict.fromkeys(normalise(n, region) for n in new.numbers))
    addresses = list(dict.fromkeys(e.strip().lower() for e in new.emails))
    for address in addresses:
        local, _, domain = address.partition("@")
        _require(bool(local) and "." in domain and len(address) <= 254, "email: not an address")
    account = new.account_number.strip() if new.account_number else None
    if account is not None:
        taken = await conn.scalar(
            select(customers.c.id).where(customers.c.account_number == account)
        )
        _require(taken is None, "account number: already in use")
    company_id = await _company_id(conn, new.company, now) if new.company else None
    cid = await conn.scalar(
        insert(customers)
        .values(
            name=name,
            account_number=account,
            company_id=company_id,
            language=new.language,
            owner_agent=new.owner_agent,
            notes=_text(new.notes, "notes", MAX_NOTES),
            created_at=now,
        )
        .returning(customers.c.id)
    )
    assert cid is not None
    if numbers:
        await conn.execute(
            insert(phone_numbers),
            [{"customer_id": cid, "e164": n, "kind": "mobile"} for n in numbers],
        )
    if addresses:
        await conn.execute(insert(emails), [{"customer_id": cid, "address": a} for a in addresses])
    if numbers:
        # Calls from these numbers before the customer existed become their history.
        await conn.execute(
            update(interactions)
            .where(interactions.c.customer_id.is_(None), interactions.c.caller_number.in_(numbers))
            .values(customer_id=cid)
        )
    await rescore(conn, cid, now, weights)
    return int(cid)


async def create_company(
    conn: AsyncConnection, name: str, account_number: str | None, now: datetime
) -> int:
    """Insert a company; return its id."""
    name = _text(name.strip(), "company", 200)
    _require(bool(name), "company: must not be empty")
    account = account_number.strip() if account_number else None
    if account is not None:
        taken = await conn.scalar(
            select(companies.c.id).where(companies.c.account_number == account)
        )
        _require(taken is None, "company account number: already in use")
    created = await conn.scalar(
        insert(companies)
        .values(name=name, account_number=account, created_at=now)
        .returning(companies.c.id)
    )
    assert created is not None
    return int(created)


async def _company_id(conn: AsyncConnection, name: str, now: datetime) -> int:
    """Return the (first) company of that name, creating it if there is none."""
    found = await conn.scalar(
        select(companies.c.id)
        .where(companies.c.name == name.strip())
        .order_by(companies.c.id)
        .limit(1)
    )
    if found is not None:
        return int(found)
    return await create_company(conn, name, None, now)


async def add_company_role(
    conn: AsyncConnection, cid: int | None, company: str, role: str, now: datetime
) -> None:
    """Record that the customer holds `role` at `company` (created if new)."""
    _one_of(role, ROLES, "role")
    cid = await require_customer(conn, cid)
    company_id = await _company_id(conn, company, now)
    exists = await conn.scalar(
        select(func.count())
        .select_from(company_contacts)
        .where(
            company_contacts.c.company_id == company_id,
            company_contacts.c.customer_id == cid,
            company_contacts.c.role == role,
        )
    )
    if not exists:
        await conn.execute(
            insert(company_contacts).values(company_id=company_id, customer_id=cid, role=role)
        )


async def add_relationship(
    conn: AsyncConnection, from_id: int | None, to_id: int | None, kind: str
) -> None:
    """Link two customers: `from_id` <kind> `to_id` (e.g. A referred_by B)."""
    _one_of(kind, RELATIONSHIP_KINDS, "relationship")
    _require(from_id != to_id, "relationship: a customer cannot be linked to itself")
    if from_id is None or to_id is None:
        raise CustomerNotFound("no customer with that id")
    # Lock in id order so that two links written in opposite directions cannot deadlock.
    for cid in sorted((from_id, to_id)):
        await require_customer(conn, cid)
    await conn.execute(
        insert(relationships).values(from_customer_id=from_id, to_customer_id=to_id, kind=kind)
    )


async def add_order(
    conn: AsyncConnection,
    cid: int | None,
    revenue_cents: int,
    margin_cents: int,
    ordered_at: datetime,
    now: datetime,
    weights: ValueWeights,
) -> int:
    """Insert an order and rescore its customer; return the order id."""
    cid = await require_customer(conn, cid)
    _require(revenue_cents >= 0, "revenue: must not be negative")
    _require(margin_cents <= revenue_cents, "margin: cannot exceed revenue")
    order_id = await conn.scalar(
        insert(orders)
        .values(
            customer_id=cid,
            ordered_at=ordered_at,
            revenue_cents=revenue_cents,
            margin_cents=margin_cents,
        )
        .returning(orders.c.id)
    )
    assert order_id is not None
    await rescore(conn, cid, now, weights)
    return int(order_id)


def validate_outcome(outcome: CallOutcome) -> None:
    """Raise InvalidInput naming the first field of `outcome` that cannot be stored."""
    _one_of(outcome.channel, CHANNELS, "channel")
    _one_of(outcome.direction, DIRECTIONS, "direction")
    for what, seconds in (
        ("talk_seconds", outcome.talk_seconds),
        ("hold_seconds", outcome.hold_seconds),
        ("wrap_seconds", outcome.wrap_seconds),
    ):
        _require(0 <= seconds <= 7 * 86400, f"{what}: must be between 0 and a week")
    _require(bool(outcome.agent.strip()), "agent: must not be empty")
    _require(outcome.started_at.tzinfo is not None, "started_at: needs a time zone")
    _text(outcome.notes, "notes", MAX_NOTES)
    _text(outcome.agent, "agent", 64)
    _text(outcome.queue or "", "queue", 64)
    _text(outcome.outcome, "outcome", 32)
    _text(outcome.disposition or "", "disposition", 64)
    _text(outcome.recording_ref or "", "recording_ref", 256)
    _text(outcome.call_id or "", "call_id", 128)
    if outcome.customer_id is None:
        _require(bool(outcome.caller_number), "caller_number: needed when there is no customer")
        _require(outcome.case is None, "case: needs a customer")
        _require(outcome.follow_up is None, "follow-up: needs a customer")
    if outcome.case is not None:
        _one_of(outcome.case.kind, CASE_KINDS, "case kind")
        _one_of(outcome.case.status, CASE_STATUSES, "case status")
        _one_of(outcome.case.priority, CASE_PRIORITIES, "case priority")
        _text(outcome.case.subject, "case subject", 200)
        if outcome.case.case_id is None:
            _require(bool(outcome.case.subject.strip()), "case subject: needed to open a case")
    if outcome.follow_up is not None:
        _require(outcome.follow_up.due_at.tzinfo is not None, "follow-up due_at: needs a time zone")
        _text(outcome.follow_up.note, "follow-up note", MAX_NOTES)


async def record_outcome(
    conn: AsyncConnection,
    cid: int | None,
    outcome: CallOutcome,
    caller_number: str | None,
    case_id: int | None,
    now: datetime,
    weights: ValueWeights,
) -> int:
    """Write the interaction, open or update its case, schedule the follow-up; rescore.

    `caller_number` is the outcome's number already in E.164; with no customer id, the
    interaction is kept under that number alone.
    """
    validate_outcome(outcome)
    # No customer id: an unknown caller, kept by number (validate_outcome refused a case or
    # follow-up for them). A customer id that matches nobody is an error, not an unknown.
    customer = None if outcome.customer_id is None else await require_customer(conn, cid)
    interaction_id = await conn.scalar(
        insert(interactions)
        .values(
            customer_id=customer,
            caller_number=caller_number,
            channel=outcome.channel,
            direction=outcome.direction,
            started_at=outcome.started_at,
            agent=outcome.agent,
            queue=outcome.queue,
            outcome=outcome.outcome,
            disposition=outcome.disposition,
            notes=outcome.notes,
            talk_seconds=outcome.talk_seconds,
            hold_seconds=outcome.hold_seconds,
            wrap_seconds=outcome.wrap_seconds,
            recording_ref=outcome.recording_ref,
            call_id=outcome.call_id,
        )
        .returning(interactions.c.id)
    )
    assert interaction_id is not None
    if customer is None:
        return int(interaction_id)
    if outcome.case is not None:
        case_id = await _write_case(conn, customer, outcome.case, case_id, outcome.agent, now)
    if outcome.follow_up is not None:
        await conn.execute(
            insert(follow_ups).values(
                customer_id=customer,
                agent=outcome.follow_up.agent or outcome.agent,
                due_at=outcome.follow_up.due_at,
                note=outcome.follow_up.note,
                interaction_id=interaction_id,
                case_id=case_id if outcome.case is not None else None,
                done=False,
            )
        )
    await rescore(conn, customer, now, weights)
    return int(interaction_id)


async def _write_case(
    conn: AsyncConnection,
    cid: int,
    change: CaseUpdate,
    case_id: int | None,
    agent: str,
    now: datetime,
) -> int:
    closed_at = now if change.status == "closed" else None
    if change.case_id is None:
        opened = await conn.scalar(
            insert(cases)
            .values(
                customer_id=cid,
                subject=change.subject.strip(),
                kind=change.kind,
                status=change.status,
                priority=change.priority,
                opened_at=now,
                closed_at=closed_at,
                owner_agent=agent,
            )
            .returning(cases.c.id)
        )
        assert opened is not None
        return int(opened)
    values: dict[str, Any] = {
        "status": change.status,
        "priority": change.priority,
        "kind": change.kind,
        "closed_at": closed_at,
    }
    if change.subject.strip():
        values["subject"] = change.subject.strip()
    result = await conn.execute(
        update(cases).where(cases.c.id == case_id, cases.c.customer_id == cid).values(**values)
    )
    if case_id is None or result.rowcount != 1:
        raise CaseNotFound("no such case for this customer")
    return case_id


async def rescore(
    conn: AsyncConnection, cid: int, now: datetime, weights: ValueWeights
) -> CustomerValue:
    """Recompute one customer's value from their orders and store it."""
    year_ago = now - timedelta(days=365)
    in_year = orders.c.ordered_at >= year_ago
    row = (
        await conn.execute(
            select(
                func.coalesce(func.sum(orders.c.revenue_cents), 0).label("revenue"),
                func.coalesce(func.sum(orders.c.margin_cents), 0).label("margin"),
                func.coalesce(func.sum(case((in_year, 1), else_=0)), 0).label("count_year"),
                func.coalesce(func.sum(case((in_year, orders.c.revenue_cents), else_=0)), 0).label(
                    "revenue_year"
                ),
                func.max(orders.c.ordered_at).label("last"),
            ).where(orders.c.customer_id == cid)
        )
    ).one()
    value = score_figures(
        int(row.revenue),
        int(row.margin),
        int(row.count_year),
        int(row.revenue_year),
        row.last,
        now,
        weights,
    )
    await upsert_values(conn, [value_row(cid, value, now)])
    return value


def value_row(cid: int, value: CustomerValue, now: datetime) -> dict[str, Any]:
    """Return the crm_customer_values row for a computed value."""
    return {
        "customer_id": cid,
        "score": value.score,
        "tier": value.tier.value,
        "lifetime_revenue_cents": value.lifetime_revenue_cents,
        "lifetime_margin_cents": value.lifetime_margin_cents,
        "orders_last_year": value.orders_last_year,
        "revenue_last_year_cents": value.revenue_last_year_cents,
        "last_order_at": value.last_order_at,
        "scored_at": now,
    }


async def upsert_values(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace value rows (both dialects have ON CONFLICT ... DO UPDATE)."""
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(customer_values)
    elif dialect == "sqlite":
        stmt = sqlite.insert(customer_values)
    else:
        raise InvalidInput(f"database: {dialect} is not supported (use SQLite or PostgreSQL)")
    columns = [c.name for c in customer_values.columns if c.name != "customer_id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=[customer_values.c.customer_id],
        set_={name: stmt.excluded[name] for name in columns},
    )
    await conn.execute(stmt, rows)

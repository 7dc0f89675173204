"""The lookup and the 360 as crm_bridge read them through SQLAlchemy's `Connection.execute`.

A frozen copy of crm_bridge/sql_read.py before its hot reads moved to cursor_read: the oracle
that the cursor path must match value for value (types, time zones, order, limits). Change it
only together with a deliberate change of what the reads return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    bindparam,
    desc,
    false,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection

from crm_bridge.interface import (
    CaseView,
    CompanyRole,
    Customer360,
    CustomerSummary,
    CustomerValue,
    FollowUpView,
    InteractionView,
    LookupResult,
    LookupStatus,
    RelationshipView,
    ValueTier,
)
from crm_bridge.tables import (
    cases,
    companies,
    company_contacts,
    customer_values,
    customers,
    emails,
    follow_ups,
    interactions,
    phone_numbers,
    relationships,
)

# More than this many customers on one number is a switchboard, not a caller to pick from.
MAX_CANDIDATES = 20
# A parent account may have thousands of children; the pop shows the first links made.
MAX_RELATIONSHIPS = 20

# How a link reads from its other end.
INVERSE_KIND = {"referred_by": "referred", "parent_account": "child_account"}


def parse_id(customer_id: str | None) -> int | None:
    """Return the store's integer id for a customer id string, or None if it cannot be one."""
    if customer_id is None:
        return None
    text = customer_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    number = int(text)
    return number if number <= 2**31 - 1 else None


def _summary_select() -> Select[Any]:
    return (
        select(
            customers.c.id,
            customers.c.name,
            customers.c.account_number,
            customers.c.language,
            customers.c.owner_agent,
            companies.c.name.label("company"),
            customer_values.c.tier,
        )
        .select_from(customers)
        .outerjoin(companies, companies.c.id == customers.c.company_id)
        .outerjoin(customer_values, customer_values.c.customer_id == customers.c.id)
    )


def _summary(row: Row[Any]) -> CustomerSummary:
    return CustomerSummary(
        customer_id=str(row.id),
        name=row.name,
        tier=ValueTier(row.tier) if row.tier else ValueTier.STANDARD,
        account_number=row.account_number,
        company=row.company,
        language=row.language,
        owner_agent=row.owner_agent,
    )


def _result(rows: Sequence[Row[Any]], number: str | None, matched_by: str) -> LookupResult | None:
    if not rows:
        return None
    if len(rows) == 1:
        return LookupResult(
            LookupStatus.MATCHED, number=number, customer=_summary(rows[0]), matched_by=matched_by
        )
    return LookupResult(
        LookupStatus.CANDIDATES,
        number=number,
        candidates=tuple(_summary(r) for r in rows),
        matched_by=matched_by,
    )


# Statements are built once and bound per call: building a select() with its joins costs
# more Python time than SQLite takes to answer it.
_CID = bindparam("cid", type_=Integer)
_BY_ID = _summary_select().where(customers.c.id == _CID)
_BY_ACCOUNT = _summary_select().where(customers.c.account_number == bindparam("account"))
_account_company = companies.alias("account_company")
_BY_COMPANY_ACCOUNT = (
    _summary_select()
    .join(company_contacts, company_contacts.c.customer_id == customers.c.id)
    .join(_account_company, company_contacts.c.company_id == _account_company.c.id)
    .where(_account_company.c.account_number == bindparam("account"))
    .distinct()
    .order_by(customers.c.id)
    .limit(MAX_CANDIDATES)
)
_BY_NUMBER = (
    _summary_select()
    .join(phone_numbers, phone_numbers.c.customer_id == customers.c.id)
    .where(phone_numbers.c.e164 == bindparam("number"))
    .order_by(desc(customer_values.c.score), customers.c.id)
    .limit(MAX_CANDIDATES)
)
_HEAD = (
    _summary_select()
    .add_columns(
        customers.c.notes,
        customer_values.c.score,
        customer_values.c.lifetime_revenue_cents,
        customer_values.c.lifetime_margin_cents,
        customer_values.c.orders_last_year,
        customer_values.c.revenue_last_year_cents,
        customer_values.c.last_order_at,
    )
    .where(customers.c.id == _CID)
)
# Numbers and emails in one round trip, each in the order they were given (the first is the
# customer's main one); without the ORDER BY each database returns them in its index order.
_CONTACT_POINTS = union_all(
    select(
        literal_column("'phone'").label("kind"),
        phone_numbers.c.e164.label("value"),
        phone_numbers.c.id,
    ).where(phone_numbers.c.customer_id == _CID),
    select(
        literal_column("'email'").label("kind"), emails.c.address.label("value"), emails.c.id
    ).where(emails.c.customer_id == _CID),
).order_by(literal_column("kind"), literal_column("id"))
_OPEN_CASES = (
    select(cases)
    .where(cases.c.customer_id == _CID, cases.c.status != "closed")
    .order_by(desc(cases.c.opened_at), desc(cases.c.id))
)
_RECENT = (
    select(interactions)
    .where(interactions.c.customer_id == _CID)
    .order_by(desc(interactions.c.started_at), desc(interactions.c.id))
    .limit(bindparam("limit", type_=Integer))
)
_links = union_all(
    select(
        relationships.c.id,
        relationships.c.kind,
        relationships.c.to_customer_id.label("other_id"),
        true().label("outgoing"),
    ).where(relationships.c.from_customer_id == _CID),
    select(
        relationships.c.id,
        relationships.c.kind,
        relationships.c.from_customer_id.label("other_id"),
        false().label("outgoing"),
    ).where(relationships.c.to_customer_id == _CID),
).subquery()
_RELATIONSHIPS = (
    select(_links.c.kind, _links.c.other_id, _links.c.outgoing, customers.c.name)
    .join(customers, customers.c.id == _links.c.other_id)
    .order_by(_links.c.id, _links.c.outgoing)
    .limit(MAX_RELATIONSHIPS)
)
_ROLES = (
    select(companies.c.name, company_contacts.c.role)
    .join(companies, companies.c.id == company_contacts.c.company_id)
    .where(company_contacts.c.customer_id == _CID)
    .order_by(companies.c.name, company_contacts.c.role)
)
_FOLLOW_UPS = (
    select(follow_ups)
    .where(follow_ups.c.customer_id == _CID, follow_ups.c.done.is_(False))
    .order_by(follow_ups.c.due_at, follow_ups.c.id)
)


def lookup(
    conn: Connection,
    number: str | None,
    customer_id: str | None,
    account: str | None,
) -> LookupResult:
    """Find by customer id, then account (customer's, then company's), then E.164 number."""
    cid = parse_id(customer_id)
    if cid is not None:
        rows = conn.execute(_BY_ID, {"cid": cid}).all()
        if found := _result(rows, number, "customer_id"):
            return found
    if account and account.strip():
        key = {"account": account.strip()}
        # A company's account number: its contacts are the candidates.
        rows = conn.execute(_BY_ACCOUNT, key).all() or conn.execute(_BY_COMPANY_ACCOUNT, key).all()
        if found := _result(rows, number, "account"):
            return found
    if number is not None:
        rows = conn.execute(_BY_NUMBER, {"number": number}).all()
        if found := _result(rows, number, "ani"):
            return found
    return LookupResult.unknown(number)


def customer_360(conn: Connection, cid: int, interaction_limit: int) -> Customer360 | None:
    """Assemble the whole customer, or None if there is no such customer."""
    key = {"cid": cid}
    head = conn.execute(_HEAD, key).first()
    if head is None:
        return None
    summary = _summary(head)
    value = CustomerValue(
        score=head.score or 0.0,
        tier=summary.tier,
        lifetime_revenue_cents=head.lifetime_revenue_cents or 0,
        lifetime_margin_cents=head.lifetime_margin_cents or 0,
        orders_last_year=head.orders_last_year or 0,
        revenue_last_year_cents=head.revenue_last_year_cents or 0,
        last_order_at=head.last_order_at,
    )
    points = conn.execute(_CONTACT_POINTS, key).all()
    return Customer360(
        customer=summary,
        value=value,
        numbers=tuple(p.value for p in points if p.kind == "phone"),
        emails=tuple(p.value for p in points if p.kind == "email"),
        notes=head.notes,
        open_cases=_open_cases(conn, cid),
        recent_interactions=_recent_interactions(conn, cid, interaction_limit),
        relationships=_relationships(conn, cid),
        roles=_roles(conn, cid),
        follow_ups=_follow_ups(conn, cid),
    )


def _open_cases(conn: Connection, cid: int) -> tuple[CaseView, ...]:
    rows = conn.execute(_OPEN_CASES, {"cid": cid})
    return tuple(
        CaseView(
            case_id=str(r.id),
            subject=r.subject,
            kind=r.kind,
            status=r.status,
            priority=r.priority,
            opened_at=r.opened_at,
            closed_at=r.closed_at,
            owner_agent=r.owner_agent,
        )
        for r in rows
    )


def _recent_interactions(conn: Connection, cid: int, limit: int) -> tuple[InteractionView, ...]:
    rows = conn.execute(_RECENT, {"cid": cid, "limit": limit})
    return tuple(
        InteractionView(
            interaction_id=str(r.id),
            channel=r.channel,
            direction=r.direction,
            started_at=r.started_at,
            agent=r.agent,
            queue=r.queue,
            outcome=r.outcome,
            disposition=r.disposition,
            notes=r.notes,
            talk_seconds=r.talk_seconds,
            hold_seconds=r.hold_seconds,
            wrap_seconds=r.wrap_seconds,
            recording_ref=r.recording_ref,
        )
        for r in rows
    )


def _relationships(conn: Connection, cid: int) -> tuple[RelationshipView, ...]:
    views = []
    for r in conn.execute(_RELATIONSHIPS, {"cid": cid}):
        kind = r.kind if r.outgoing else INVERSE_KIND.get(r.kind, r.kind)
        views.append(RelationshipView(kind=kind, customer_id=str(r.other_id), name=r.name))
    return tuple(views)


def _roles(conn: Connection, cid: int) -> tuple[CompanyRole, ...]:
    rows = conn.execute(_ROLES, {"cid": cid})
    return tuple(CompanyRole(company=r.name, role=r.role) for r in rows)


def _follow_ups(conn: Connection, cid: int) -> tuple[FollowUpView, ...]:
    return _follow_up_views(conn.execute(_FOLLOW_UPS, {"cid": cid}))


def _follow_up_views(rows: Iterable[Row[Any]]) -> tuple[FollowUpView, ...]:
    return tuple(
        FollowUpView(
            reminder_id=str(r.id),
            agent=r.agent,
            due_at=r.due_at,
            note=r.note,
            customer_id=str(r.customer_id),
        )
        for r in rows
    )

"""Read queries of the SQL store: lookups by id, account and number, and the customer 360.

Plain synchronous functions on a Connection: SqlDirectory runs each whole read in one call,
either in a worker thread (SQLite) or through `AsyncConnection.run_sync` (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    desc,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection

from crm_bridge.cursor_read import Query, Reads
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
    UtcDateTime,
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
from crm_bridge.value import KeyCustomer

# More than this many customers on one number is a switchboard, not a caller to pick from.
MAX_CANDIDATES = 20
# A parent account may have thousands of children; the pop shows the first links made.
MAX_RELATIONSHIPS = 20

# The id columns are INTEGER: 32 bits on PostgreSQL, which refuses a larger parameter outright
# (an error, not "no such customer"); ids are given from 1 upwards on both databases.
MAX_ID = 2**31 - 1

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
    return number if number <= MAX_ID else None


def _summary_select(*more: Any) -> Select[Any]:
    # The first seven columns are read by _summary; `more` follow them.
    return (
        select(
            customers.c.id,
            customers.c.name,
            customers.c.account_number,
            customers.c.language,
            customers.c.owner_agent,
            companies.c.name.label("company"),
            customer_values.c.tier,
            *more,
        )
        .select_from(customers)
        .outerjoin(companies, companies.c.id == customers.c.company_id)
        .outerjoin(customer_values, customer_values.c.customer_id == customers.c.id)
    )


# Tier strings to members without the Enum call (~0.8 us); an unknown one still raises.
_TIERS = {tier.value: tier for tier in ValueTier}


def _summary(row: Sequence[Any]) -> CustomerSummary:
    tier = row[6]
    return CustomerSummary(
        str(row[0]),
        row[1],
        _TIERS.get(tier) or (ValueTier(tier) if tier else ValueTier.STANDARD),
        row[2],
        row[5],
        row[3],
        row[4],
    )


def _result(
    rows: Sequence[Sequence[Any]], number: str | None, matched_by: str
) -> LookupResult | None:
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
# more Python time than SQLite takes to answer it. The lookup and the 360 run through
# cursor_read (see there why: SQLAlchemy's execute cost four times SQLite's own work), so
# rows are read by position: each select lists its columns in the order the view takes them.
_CID = bindparam("cid", type_=Integer)
_BY_ID = Query(_summary_select().where(customers.c.id == _CID))
_BY_ACCOUNT = Query(_summary_select().where(customers.c.account_number == bindparam("account")))
_account_company = companies.alias("account_company")
_BY_COMPANY_ACCOUNT = Query(
    _summary_select()
    .join(company_contacts, company_contacts.c.customer_id == customers.c.id)
    .join(_account_company, company_contacts.c.company_id == _account_company.c.id)
    .where(_account_company.c.account_number == bindparam("account"))
    .distinct()
    .order_by(customers.c.id)
    .limit(MAX_CANDIDATES)
)
_BY_NUMBER = Query(
    _summary_select()
    .join(phone_numbers, phone_numbers.c.customer_id == customers.c.id)
    .where(phone_numbers.c.e164 == bindparam("number"))
    .order_by(desc(customer_values.c.score), customers.c.id)
    .limit(MAX_CANDIDATES)
)
# Which rows each list of the 360 shows; its statement and the head's EXISTS share them.
_OPEN_CASE = (cases.c.customer_id == _CID, cases.c.status != "closed")
_CALL = (interactions.c.customer_id == _CID,)
_LINK_FROM = (relationships.c.from_customer_id == _CID,)
_LINK_TO = (relationships.c.to_customer_id == _CID,)
_ROLE = (company_contacts.c.customer_id == _CID,)
_PENDING = (follow_ups.c.customer_id == _CID, follow_ups.c.done.is_(False))
# Most customers have no open case, follow-up, link or company role: the head says which
# lists have rows (an index probe each, inside one statement) and the 360 skips the others,
# each of which was a statement (~10 us of CPU on SQLite, a round trip on PostgreSQL).
_HEAD = Query(
    _summary_select(
        customers.c.notes,
        customer_values.c.score,
        customer_values.c.lifetime_revenue_cents,
        customer_values.c.lifetime_margin_cents,
        customer_values.c.orders_last_year,
        customer_values.c.revenue_last_year_cents,
        customer_values.c.last_order_at,
        exists().where(*_OPEN_CASE).label("has_cases"),
        exists().where(*_CALL).label("has_calls"),
        or_(exists().where(*_LINK_FROM), exists().where(*_LINK_TO)).label("has_links"),
        exists().where(*_ROLE).label("has_roles"),
        exists().where(*_PENDING).label("has_follow_ups"),
    ).where(customers.c.id == _CID)
)
# Numbers and emails in one round trip, each in the order they were given (the first is the
# customer's main one); without the ORDER BY each database returns them in its index order.
_CONTACT_POINTS = Query(
    union_all(
        select(
            literal_column("'phone'").label("kind"),
            phone_numbers.c.e164.label("value"),
            phone_numbers.c.id,
        ).where(phone_numbers.c.customer_id == _CID),
        select(
            literal_column("'email'").label("kind"), emails.c.address.label("value"), emails.c.id
        ).where(emails.c.customer_id == _CID),
    ).order_by(literal_column("kind"), literal_column("id"))
)
_OPEN_CASES = Query(
    select(
        cases.c.id,
        cases.c.subject,
        cases.c.kind,
        cases.c.status,
        cases.c.priority,
        cases.c.opened_at,
        cases.c.closed_at,
        cases.c.owner_agent,
    )
    .where(*_OPEN_CASE)
    .order_by(desc(cases.c.opened_at), desc(cases.c.id))
)
_RECENT = Query(
    select(
        interactions.c.id,
        interactions.c.channel,
        interactions.c.direction,
        interactions.c.started_at,
        interactions.c.agent,
        interactions.c.queue,
        interactions.c.outcome,
        interactions.c.disposition,
        interactions.c.notes,
        interactions.c.talk_seconds,
        interactions.c.hold_seconds,
        interactions.c.wrap_seconds,
        interactions.c.recording_ref,
    )
    .where(*_CALL)
    .order_by(desc(interactions.c.started_at), desc(interactions.c.id))
    .limit(bindparam("limit", type_=Integer))
)
_links = union_all(
    select(
        relationships.c.id,
        relationships.c.kind,
        relationships.c.to_customer_id.label("other_id"),
        true().label("outgoing"),
    ).where(*_LINK_FROM),
    select(
        relationships.c.id,
        relationships.c.kind,
        relationships.c.from_customer_id.label("other_id"),
        false().label("outgoing"),
    ).where(*_LINK_TO),
).subquery()
_RELATIONSHIPS = Query(
    select(_links.c.kind, _links.c.other_id, _links.c.outgoing, customers.c.name)
    .join(customers, customers.c.id == _links.c.other_id)
    .order_by(_links.c.id, _links.c.outgoing)
    .limit(MAX_RELATIONSHIPS)
)
_ROLES = Query(
    select(companies.c.name, company_contacts.c.role)
    .join(companies, companies.c.id == company_contacts.c.company_id)
    .where(*_ROLE)
    .order_by(companies.c.name, company_contacts.c.role)
)
# In FollowUpView's order.
_FOLLOW_UP_COLUMNS = (
    follow_ups.c.id,
    follow_ups.c.agent,
    follow_ups.c.due_at,
    follow_ups.c.note,
    follow_ups.c.customer_id,
)
_FOLLOW_UPS = Query(
    select(*_FOLLOW_UP_COLUMNS).where(*_PENDING).order_by(follow_ups.c.due_at, follow_ups.c.id)
)


def lookup(
    conn: Connection,
    number: str | None,
    customer_id: str | None,
    account: str | None,
) -> LookupResult:
    """Find by customer id, then account (customer's, then company's), then E.164 number."""
    with Reads(conn) as reads:
        cid = parse_id(customer_id)
        if cid is not None and (
            found := _result(reads.rows(_BY_ID, {"cid": cid}), number, "customer_id")
        ):
            return found
        if account and account.strip():
            key = {"account": account.strip()}
            # A company's account number: its contacts are the candidates.
            rows = reads.rows(_BY_ACCOUNT, key) or reads.rows(_BY_COMPANY_ACCOUNT, key)
            if found := _result(rows, number, "account"):
                return found
        if number is not None and (
            found := _result(reads.rows(_BY_NUMBER, {"number": number}), number, "ani")
        ):
            return found
    return LookupResult.unknown(number)


def customer_360(conn: Connection, cid: int, interaction_limit: int) -> Customer360 | None:
    """Assemble the whole customer, or None if there is no such customer."""
    key = {"cid": cid}
    with Reads(conn) as reads:
        found = reads.rows(_HEAD, key)
        if not found:
            return None
        head = found[0]
        summary = _summary(head)
        value = CustomerValue(
            head[8] or 0.0,
            summary.tier,
            head[9] or 0,
            head[10] or 0,
            head[11] or 0,
            head[12] or 0,
            head[13],
        )
        points = reads.rows(_CONTACT_POINTS, key)
        has_cases, has_calls, has_links, has_roles, has_follow_ups = head[14:19]
        return Customer360(
            summary,
            value,
            tuple(p[1] for p in points if p[0] == "phone"),
            tuple(p[1] for p in points if p[0] == "email"),
            head[7],
            _open_cases(reads.rows(_OPEN_CASES, key)) if has_cases else (),
            _recent(reads.rows(_RECENT, {"cid": cid, "limit": interaction_limit}))
            if has_calls
            else (),
            _relationships(reads.rows(_RELATIONSHIPS, key)) if has_links else (),
            tuple(CompanyRole(r[0], r[1]) for r in reads.rows(_ROLES, key)) if has_roles else (),
            _follow_up_views(reads.rows(_FOLLOW_UPS, key)) if has_follow_ups else (),
        )


def _open_cases(rows: Sequence[Sequence[Any]]) -> tuple[CaseView, ...]:
    return tuple(CaseView(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows)


def _recent(rows: Sequence[Sequence[Any]]) -> tuple[InteractionView, ...]:
    return tuple(
        InteractionView(
            str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12]
        )
        for r in rows
    )


def _relationships(rows: Sequence[Sequence[Any]]) -> tuple[RelationshipView, ...]:
    views = []
    for kind, other_id, outgoing, name in rows:
        if not outgoing:
            kind = INVERSE_KIND.get(kind, kind)
        views.append(RelationshipView(kind, str(other_id), name))
    return tuple(views)


def _follow_up_views(rows: Iterable[Sequence[Any]]) -> tuple[FollowUpView, ...]:
    return tuple(FollowUpView(str(r[0]), r[1], r[2], r[3], str(r[4])) for r in rows)


# Off the call path: SQLAlchemy's execute, which also binds `until` through UtcDateTime.
_AGENT_FOLLOW_UPS = (
    select(*_FOLLOW_UP_COLUMNS)
    .where(
        follow_ups.c.agent == bindparam("agent"),
        follow_ups.c.done.is_(False),
        follow_ups.c.due_at <= bindparam("until", type_=UtcDateTime),
    )
    .order_by(follow_ups.c.due_at, follow_ups.c.id)
)


def agent_follow_ups(conn: Connection, agent: str, until: datetime) -> tuple[FollowUpView, ...]:
    """Return the agent's open reminders due by `until`, earliest first."""
    return _follow_up_views(conn.execute(_AGENT_FOLLOW_UPS, {"agent": agent, "until": until}))


_MARGIN = customer_values.c.lifetime_margin_cents
_TOTAL_MARGIN = select(func.coalesce(func.sum(_MARGIN), 0)).where(_MARGIN > 0)
_BY_MARGIN = (
    select(customers.c.id, customers.c.name, _MARGIN)
    .join(customers, customers.c.id == customer_values.c.customer_id)
    .where(_MARGIN > 0)
    .order_by(desc(_MARGIN), customers.c.id)
    .execution_options(yield_per=2000)
)


def key_customers(conn: Connection, share: float) -> list[KeyCustomer]:
    """Return the fewest top-margin customers who together bring `share` of all margin."""
    # int(): PostgreSQL sums bigints as numeric (Decimal).
    total = int(conn.scalar(_TOTAL_MARGIN) or 0)
    listed: list[KeyCustomer] = []
    if not total:
        return listed
    running = 0
    # Walk down the margin index and stop at the share: no full sort of everyone.
    with conn.execute(_BY_MARGIN) as rows:
        for row in rows:
            running += row.lifetime_margin_cents
            listed.append(
                KeyCustomer(
                    customer_id=str(row.id),
                    name=row.name,
                    margin_cents=row.lifetime_margin_cents,
                    cumulative_share=running / total,
                )
            )
            if running >= share * total:
                break
    return listed

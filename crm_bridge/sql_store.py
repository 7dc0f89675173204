"""The customer store on SQLite or PostgreSQL: a CustomerDirectory plus the admin writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_bridge import sql_read, sql_write
from crm_bridge.errors import CrmError, CustomerNotFound, InvalidInput
from crm_bridge.interface import (
    CallOutcome,
    Customer360,
    FollowUpView,
    LookupResult,
    NewCustomer,
)
from crm_bridge.phone import normalise, try_normalise
from crm_bridge.reader import Reader
from crm_bridge.tables import follow_ups
from crm_bridge.value import KeyCustomer, ValueWeights

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class SqlDirectory:
    """Customers in the Switchboard database (the embedded default)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        default_region: str = "US",
        weights: ValueWeights | None = None,
        interaction_limit: int = 10,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        self._reader = Reader(engine)
        self._region = default_region
        self._weights = weights or ValueWeights()
        self._interaction_limit = interaction_limit
        self._clock = clock

    @property
    def weights(self) -> ValueWeights:
        """Return the value weights this store scores with."""
        return self._weights

    async def lookup(
        self, ani: str | None, customer_id: str | None = None, account: str | None = None
    ) -> LookupResult:
        """Find who is calling, by customer id, then account number, then ANI."""
        number = try_normalise(ani, self._region)
        return await self._reader.run_point(sql_read.lookup, number, customer_id, account)

    async def customer_360(self, customer_id: str) -> Customer360:
        """Return the whole customer for the screen pop; raise CustomerNotFound."""
        cid = sql_read.parse_id(customer_id)
        if cid is not None:
            # On the event loop's thread, like the lookup: ~0.1 ms of CPU on the cursor path,
            # less than the thread hop; and threads taking the GIL back between statements
            # held the loop up (screen-pop bench at 500 calls/s: p50 160-580 ms with the hop,
            # 30-67 ms inline).
            found = await self._reader.run_point(
                sql_read.customer_360, cid, self._interaction_limit
            )
            if found is not None:
                return found
        raise CustomerNotFound("no customer with that id")

    async def record_outcome(self, outcome: CallOutcome) -> str:
        """Write a finished contact (and its case and follow-up); return the interaction id."""
        cid = sql_read.parse_id(outcome.customer_id)
        case_id = None
        if outcome.case is not None and outcome.case.case_id is not None:
            case_id = sql_read.parse_id(outcome.case.case_id)
        try:
            number = None
            if outcome.caller_number is not None:
                number = normalise(outcome.caller_number, self._region)
            async with self._engine.begin() as conn:
                interaction_id = await sql_write.record_outcome(
                    conn,
                    cid,
                    outcome,
                    number,
                    case_id,
                    self._clock(),
                    self._weights,
                )
        except CrmError as exc:
            # The message names the field, never its value (notes may hold customer data).
            log.warning("call outcome refused: %s", exc)
            raise
        return str(interaction_id)

    async def create_customer(self, new: NewCustomer) -> str:
        """Create a customer (e.g. from an unknown caller); return its id."""
        try:
            async with self._engine.begin() as conn:
                cid = await sql_write.create_customer(
                    conn, new, self._region, self._clock(), self._weights
                )
        except IntegrityError as exc:
            # Another writer took the account number between our check and our insert.
            log.warning("new customer refused: account number already in use")
            raise InvalidInput("account number: already in use") from exc
        except InvalidInput as exc:
            log.warning("new customer refused: %s", exc)
            raise
        return str(cid)

    async def add_order(
        self,
        customer_id: str,
        revenue_cents: int,
        margin_cents: int,
        ordered_at: datetime | None = None,
    ) -> str:
        """Record an order and rescore the customer; return the order id."""
        now = self._clock()
        async with self._engine.begin() as conn:
            order_id = await sql_write.add_order(
                conn,
                sql_read.parse_id(customer_id),
                revenue_cents,
                margin_cents,
                ordered_at or now,
                now,
                self._weights,
            )
        return str(order_id)

    async def add_relationship(self, from_id: str, to_id: str, kind: str) -> None:
        """Link two customers: `from_id` <kind> `to_id` (referred_by, parent_account, family)."""
        a, b = sql_read.parse_id(from_id), sql_read.parse_id(to_id)
        async with self._engine.begin() as conn:
            await sql_write.add_relationship(
                conn,
                a,
                b,
                kind,
            )

    async def create_company(self, name: str, account_number: str | None = None) -> str:
        """Create a company (its account number finds its contacts); return its id."""
        async with self._engine.begin() as conn:
            company_id = await sql_write.create_company(conn, name, account_number, self._clock())
        return str(company_id)

    async def add_company_role(self, customer_id: str, company: str, role: str) -> None:
        """Record the customer's role at a company (decision_maker, buyer, user)."""
        async with self._engine.begin() as conn:
            await sql_write.add_company_role(
                conn,
                sql_read.parse_id(customer_id),
                company,
                role,
                self._clock(),
            )

    async def follow_ups_due(
        self, agent: str, until: datetime | None = None
    ) -> tuple[FollowUpView, ...]:
        """Return the agent's open follow-up reminders due by `until` (default: now)."""
        return await self._reader.run(sql_read.agent_follow_ups, agent, until or self._clock())

    async def complete_follow_up(self, reminder_id: str) -> None:
        """Mark a follow-up reminder done; raise InvalidInput if there is no such open one."""
        rid = sql_read.parse_id(reminder_id)
        async with self._engine.begin() as conn:
            done = await conn.execute(
                update(follow_ups)
                .where(follow_ups.c.id == rid, follow_ups.c.done.is_(False))
                .values(done=True)
            )
        if rid is None or done.rowcount != 1:
            raise InvalidInput("follow-up: no such open reminder")

    async def key_customers(self, share: float = 0.8) -> list[KeyCustomer]:
        """Return the fewest top-margin customers who together bring `share` of all margin."""
        if not 0 < share <= 1:
            raise InvalidInput("share: must be in (0, 1]")
        return await self._reader.run(sql_read.key_customers, share)

    async def close(self) -> None:
        """Stop the read threads (the engine itself belongs to the composition root)."""
        self._reader.close()

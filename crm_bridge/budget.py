"""A time budget around any CustomerDirectory: a slow or broken CRM never holds up routing."""

from __future__ import annotations

import asyncio
import logging

from crm_bridge.errors import CrmUnavailable, CustomerNotFound, InvalidInput
from crm_bridge.interface import (
    CallOutcome,
    Customer360,
    CustomerDirectory,
    LookupResult,
    NewCustomer,
)
from crm_bridge.phone import try_normalise

log = logging.getLogger(__name__)


class BudgetedDirectory:
    """Bound lookups and 360s in time; degrade a failed lookup to "unknown caller"."""

    def __init__(
        self,
        inner: CustomerDirectory,
        *,
        lookup_budget_s: float,
        view_budget_s: float,
        default_region: str,
    ) -> None:
        self._inner = inner
        self._lookup_budget_s = lookup_budget_s
        self._view_budget_s = view_budget_s
        self._region = default_region

    @property
    def inner(self) -> CustomerDirectory:
        """Return the wrapped directory (e.g. the SQL store, for its reports)."""
        return self._inner

    async def lookup(
        self, ani: str | None, customer_id: str | None = None, account: str | None = None
    ) -> LookupResult:
        """Find who is calling within the budget; on timeout or failure, an unknown caller."""
        try:
            async with asyncio.timeout(self._lookup_budget_s):
                result = await self._inner.lookup(ani, customer_id=customer_id, account=account)
            if not isinstance(result, LookupResult):
                raise CrmUnavailable("lookup returned something that is not a LookupResult")
            return result
        except TimeoutError:
            log.warning("customer lookup: over its %.0f ms budget", self._lookup_budget_s * 1000)
            reason = "timeout"
        except Exception as exc:
            # Anything at all (a CRM error, garbage, a bug) must not stop the call being routed.
            log.warning("customer lookup failed: %s: %s", type(exc).__name__, _safe(exc))
            reason = "error"
        return LookupResult.unknown(try_normalise(ani, self._region), degraded=reason)

    async def customer_360(self, customer_id: str) -> Customer360:
        """Return the customer within the view budget; raise CrmUnavailable past it."""
        try:
            async with asyncio.timeout(self._view_budget_s):
                return await self._inner.customer_360(customer_id)
        except TimeoutError as exc:
            log.warning("customer 360: over its %.0f ms budget", self._view_budget_s * 1000)
            raise CrmUnavailable("customer 360: timed out") from exc

    async def record_outcome(self, outcome: CallOutcome) -> str:
        """Write the outcome with no budget: losing it is worse than waiting for it."""
        return await self._inner.record_outcome(outcome)

    async def create_customer(self, new: NewCustomer) -> str:
        """Create a customer (no budget: the agent is waiting for it on purpose)."""
        return await self._inner.create_customer(new)

    async def close(self) -> None:
        """Close the wrapped directory."""
        await self._inner.close()


def _safe(exc: Exception) -> str:
    """Return an error text fit for logs: our own messages carry no customer data; others might."""
    if isinstance(exc, CrmUnavailable | CustomerNotFound | InvalidInput):
        return str(exc)
    return "(details withheld)"

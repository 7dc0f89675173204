"""What other packages may use of crm_bridge: the directory protocol and its frozen value types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ValueTier(StrEnum):
    """Value tiers; the strings are the keys of the router's tier boosts."""

    PLATINUM = "platinum"
    GOLD = "gold"
    STANDARD = "standard"


TIER_RANK = {ValueTier.STANDARD: 0, ValueTier.GOLD: 1, ValueTier.PLATINUM: 2}


class LookupStatus(StrEnum):
    """How a lookup ended: one customer, several to choose from, or nobody known."""

    MATCHED = "matched"
    CANDIDATES = "candidates"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """Identify a customer well enough to route the call and let the agent pick."""

    customer_id: str
    name: str
    tier: ValueTier = ValueTier.STANDARD
    account_number: str | None = None
    company: str | None = None
    language: str | None = None
    owner_agent: str | None = None


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Who is calling: one customer, candidates sharing the number, or an unknown caller."""

    status: LookupStatus
    # The caller's number in E.164 when it could be read; a new customer starts from it.
    number: str | None = None
    customer: CustomerSummary | None = None
    candidates: tuple[CustomerSummary, ...] = ()
    # "customer_id", "account" or "ani": which key found the customer.
    matched_by: str | None = None
    # Set when the directory failed or ran out of time and this is a fallback answer.
    degraded: str | None = None

    @classmethod
    def unknown(cls, number: str | None, degraded: str | None = None) -> LookupResult:
        """Return the unknown-caller result for `number`."""
        return cls(LookupStatus.UNKNOWN, number=number, degraded=degraded)

    @property
    def tier(self) -> ValueTier:
        """Return the tier to route with: the customer's, the best candidate's, else standard."""
        if self.customer is not None:
            return self.customer.tier
        if self.candidates:
            # A shared number (a company switchboard, a household) is worth its best account.
            return max((c.tier for c in self.candidates), key=TIER_RANK.__getitem__)
        return ValueTier.STANDARD

    @property
    def customer_id(self) -> str | None:
        """Return the matched customer's id, if exactly one matched."""
        return self.customer.customer_id if self.customer is not None else None


@dataclass(frozen=True, slots=True)
class CustomerValue:
    """A customer's value: the score (0-100), its tier and the figures behind it."""

    score: float
    tier: ValueTier
    lifetime_revenue_cents: int = 0
    lifetime_margin_cents: int = 0
    orders_last_year: int = 0
    revenue_last_year_cents: int = 0
    last_order_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InteractionView:
    """One past contact on any channel."""

    interaction_id: str
    channel: str
    direction: str
    started_at: datetime
    agent: str | None
    queue: str | None
    outcome: str | None
    disposition: str | None
    notes: str
    talk_seconds: int
    hold_seconds: int
    wrap_seconds: int
    recording_ref: str | None


@dataclass(frozen=True, slots=True)
class CaseView:
    """A complaint or after-sales case."""

    case_id: str
    subject: str
    kind: str
    status: str
    priority: str
    opened_at: datetime
    closed_at: datetime | None
    owner_agent: str | None


@dataclass(frozen=True, slots=True)
class RelationshipView:
    """A link to another customer, seen from this one (e.g. "referred_by", "family")."""

    kind: str
    customer_id: str
    name: str


@dataclass(frozen=True, slots=True)
class CompanyRole:
    """A role the customer holds at a company ("decision_maker", "buyer", "user")."""

    company: str
    role: str


@dataclass(frozen=True, slots=True)
class FollowUpView:
    """A pending reminder for an agent to call the customer back."""

    reminder_id: str
    agent: str
    due_at: datetime
    note: str
    customer_id: str = ""


@dataclass(frozen=True, slots=True)
class Customer360:
    """Everything the screen pop shows about one customer."""

    customer: CustomerSummary
    value: CustomerValue
    numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    notes: str = ""
    open_cases: tuple[CaseView, ...] = ()
    recent_interactions: tuple[InteractionView, ...] = ()
    relationships: tuple[RelationshipView, ...] = ()
    roles: tuple[CompanyRole, ...] = ()
    follow_ups: tuple[FollowUpView, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseUpdate:
    """Open a case (case_id None) or update one from the wrap-up."""

    case_id: str | None = None
    subject: str = ""
    kind: str = "service"
    status: str = "open"
    priority: str = "normal"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Remind `agent` (default: the call's agent) to follow up at `due_at`."""

    due_at: datetime
    note: str = ""
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """A finished contact to write to the customer's history.

    Without a customer id (an unknown caller nobody created a customer for), give the
    caller's number: the interaction is kept and joins the customer created for that number.
    """

    customer_id: str | None
    started_at: datetime
    agent: str
    queue: str | None = None
    channel: str = "phone"
    direction: str = "inbound"
    outcome: str = "completed"
    disposition: str | None = None
    notes: str = ""
    talk_seconds: int = 0
    hold_seconds: int = 0
    wrap_seconds: int = 0
    recording_ref: str | None = None
    call_id: str | None = None
    caller_number: str | None = None
    case: CaseUpdate | None = None
    follow_up: FollowUp | None = None


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A customer to create, typically from an unknown caller."""

    name: str
    numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    account_number: str | None = None
    company: str | None = None
    language: str | None = None
    owner_agent: str | None = None
    notes: str = ""


class CustomerDirectory(Protocol):
    """Find customers, show them whole, and write back what happened on a call."""

    async def lookup(
        self, ani: str | None, customer_id: str | None = None, account: str | None = None
    ) -> LookupResult:
        """Find who is calling, by customer id, then account number, then ANI."""
        ...

    async def customer_360(self, customer_id: str) -> Customer360:
        """Return the whole customer for the screen pop."""
        ...

    async def record_outcome(self, outcome: CallOutcome) -> str:
        """Write a finished contact to the customer's history; return the interaction id."""
        ...

    async def create_customer(self, new: NewCustomer) -> str:
        """Create a customer (e.g. from an unknown caller); return its id."""
        ...

    async def close(self) -> None:
        """Release connections the directory holds."""
        ...

"""Typed configuration of crm_bridge; the composition root builds it from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter
from types import MappingProxyType

import phonenumbers

from crm_bridge.errors import InvalidInput
from crm_bridge.interface import ValueTier
from crm_bridge.value import ValueWeights

# Paths into the CRM's JSON: dots walk objects, "*" maps over a list, and a list of paths is
# joined with spaces (first and last name into one name).
FieldMap = Mapping[str, str | tuple[str, ...]]

DEFAULT_CONTACT_FIELDS: FieldMap = MappingProxyType(
    {
        "id": "id",
        "name": ("attributes.first_name", "attributes.last_name"),
        "account_number": "attributes.account.number",
        "company": "attributes.company.name",
        "language": "attributes.language",
        "owner_agent": "attributes.owner.username",
        "tier": "attributes.segment",
        "numbers": "attributes.phones.*.number",
        "emails": "attributes.emails.*.address",
        "notes": "attributes.notes",
    }
)

DEFAULT_ACTIVITY_FIELDS: FieldMap = MappingProxyType(
    {
        "id": "id",
        "channel": "attributes.channel",
        "direction": "attributes.direction",
        "started_at": "attributes.occurred_at",
        "agent": "attributes.agent",
        "queue": "attributes.queue",
        "outcome": "attributes.outcome",
        "disposition": "attributes.disposition",
        "notes": "attributes.notes",
        "talk_seconds": "attributes.talk_seconds",
        "hold_seconds": "attributes.hold_seconds",
        "wrap_seconds": "attributes.wrap_seconds",
        "recording_ref": "attributes.recording_url",
    }
)

# Which values each URL template may use.
TEMPLATE_FIELDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "search_by_number": frozenset({"number"}),
        "search_by_account": frozenset({"account"}),
        "contact": frozenset({"customer_id"}),
        "activities": frozenset({"customer_id"}),
        "log_activity": frozenset({"customer_id"}),
        "create_contact": frozenset(),
    }
)

DEFAULT_TIER_VALUES: Mapping[str, str] = MappingProxyType(
    {"platinum": "platinum", "gold": "gold", "standard": "standard"}
)


@dataclass(frozen=True, slots=True)
class HttpCrmConfig:
    """Where an external CRM's REST API is and how its JSON maps onto customers.

    URL templates are relative to `base_url` and take {number}, {customer_id} or {account};
    values are percent-encoded before they are put in. An empty template turns that part off.
    """

    base_url: str
    search_by_number: str = "/api/v1/contacts?phone={number}"
    search_by_account: str = "/api/v1/contacts?account={account}"
    contact: str = "/api/v1/contacts/{customer_id}"
    activities: str = "/api/v1/contacts/{customer_id}/activities?limit=10"
    log_activity: str = "/api/v1/contacts/{customer_id}/activities"
    create_contact: str = "/api/v1/contacts"
    # Where the record or list of records sits in a response.
    data_path: str = "data"
    contact_fields: FieldMap = field(default_factory=lambda: DEFAULT_CONTACT_FIELDS)
    activity_fields: FieldMap = field(default_factory=lambda: DEFAULT_ACTIVITY_FIELDS)
    # The CRM's segment names onto our tiers; anything else is standard.
    tier_values: Mapping[str, str] = field(default_factory=lambda: DEFAULT_TIER_VALUES)
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidInput("external CRM base_url: must be an http(s) URL")
        if self.timeout_s <= 0:
            raise InvalidInput("external CRM timeout_s: must be > 0")
        for name, allowed in TEMPLATE_FIELDS.items():
            template = getattr(self, name)
            try:
                used = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
            except ValueError as exc:
                raise InvalidInput(f"external CRM {name}: not a URL template") from exc
            if not used <= allowed:
                raise InvalidInput(f"external CRM {name}: may use only {sorted(allowed)}")
        tiers = {t.value for t in ValueTier}
        if not set(self.tier_values.values()) <= tiers:
            raise InvalidInput(f"external CRM tier_values: map onto {', '.join(sorted(tiers))}")


@dataclass(frozen=True, slots=True)
class CrmConfig:
    """How crm_bridge looks customers up and scores them."""

    # Region for numbers dialled in national format (ISO 3166 code, e.g. "GB", "US").
    default_region: str = "US"
    # Routing never waits longer than this for a lookup; past it the caller is unknown.
    lookup_budget_s: float = 0.150
    # The screen pop's 360 gives up after this.
    view_budget_s: float = 1.0
    interaction_limit: int = 10
    weights: ValueWeights = field(default_factory=ValueWeights)
    # None: the SQL store in the Switchboard database; else that CRM over HTTP.
    external: HttpCrmConfig | None = None

    def __post_init__(self) -> None:
        if self.default_region not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidInput("default_region: not a region libphonenumber knows")
        if self.lookup_budget_s <= 0 or self.view_budget_s <= 0:
            raise InvalidInput("budgets: must be > 0")
        if not 1 <= self.interaction_limit <= 100:
            raise InvalidInput("interaction_limit: must be 1..100")

"""Compose the screen pop: a lookup and the customer's 360 as the JSON the console shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from crm_bridge.interface import Customer360, CustomerSummary, LookupResult, LookupStatus

Pop = dict[str, Any]

# The pop shows the latest few contacts; the full history is one click away in the CRM.
INTERACTIONS_SHOWN = 5


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds")


def crm_url(template: str | None, customer_id: str) -> str | None:
    """Return the external CRM link for a customer (`{customer_id}` in the template)."""
    if not template:
        return None
    return template.replace("{customer_id}", quote(customer_id, safe=""))


def summary(customer: CustomerSummary) -> dict[str, Any]:
    """Return one customer's identifying fields."""
    return {
        "customer_id": customer.customer_id,
        "name": customer.name,
        "tier": customer.tier.value,
        "account_number": customer.account_number,
        "company": customer.company,
    }


def customer_view(view: Customer360, link_template: str | None) -> dict[str, Any]:
    """Return everything the pop shows about one customer."""
    return {
        **summary(view.customer),
        "score": round(view.value.score, 1),
        "numbers": list(view.numbers),
        "emails": list(view.emails),
        "notes": view.notes,
        "open_cases": [
            {
                "case_id": case.case_id,
                "subject": case.subject,
                "status": case.status,
                "priority": case.priority,
                "opened_at": _iso(case.opened_at),
            }
            for case in view.open_cases
        ],
        "recent_interactions": [
            {
                "interaction_id": item.interaction_id,
                "started_at": _iso(item.started_at),
                "channel": item.channel,
                "agent": item.agent,
                "disposition": item.disposition,
                "outcome": item.outcome,
                "notes": item.notes,
            }
            for item in view.recent_interactions[:INTERACTIONS_SHOWN]
        ],
        "relationships": [
            {"kind": rel.kind, "customer_id": rel.customer_id, "name": rel.name}
            for rel in view.relationships
        ]
        + [{"kind": role.role, "customer_id": None, "name": role.company} for role in view.roles],
        "follow_ups": [
            {"due_at": _iso(item.due_at), "agent": item.agent, "note": item.note}
            for item in view.follow_ups
        ],
        "crm_url": crm_url(link_template, view.customer.customer_id),
    }


def compose(
    call_id: str,
    result: LookupResult,
    view: Customer360 | None,
    link_template: str | None = None,
) -> Pop:
    """Return the pop for a call: matched (with the 360), candidates to pick from, or unknown."""
    status = result.status if view is None else LookupStatus.MATCHED
    return {
        "call_id": call_id,
        "status": status.value,
        "number": result.number,
        "tier": (view.customer.tier if view is not None else result.tier).value,
        "degraded": result.degraded,
        "customer": None if view is None else customer_view(view, link_template),
        "candidates": [] if view is not None else [summary(c) for c in result.candidates],
    }

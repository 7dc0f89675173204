"""Who is calling and what they dialled, read from an INVITE (never logged: customer data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.sip.errors import SipParseError
from telephony.sip.message import Request
from telephony.sip.uri import Address, parse_address

# Longest X-Customer-Id kept: a hint for the CRM lookup, not a place for arbitrary data.
MAX_HINT = 64


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """The caller's number (ANI), the dialled number (DNIS) and an optional customer hint."""

    ani: str = field(repr=False)
    dnis: str
    customer_hint: str | None = field(repr=False)


def caller_identity(invite: Request) -> CallerIdentity:
    """Read ANI from P-Asserted-Identity (trusted trunk) or From, DNIS from the Request-URI."""
    ani = ""
    for value in invite.headers.get_all("p-asserted-identity"):
        ani = _user_of(value)
        if ani:
            break
    if not ani:
        ani = invite.from_address().uri.user or ""
    dnis = invite.parsed_uri().user or invite.to_address().uri.user or ""
    hint = (invite.headers.get("x-customer-id") or "").strip()
    if not hint or len(hint) > MAX_HINT or not hint.isprintable():
        hint = ""
    return CallerIdentity(ani, dnis, hint or None)


def _user_of(value: str) -> str:
    # P-Asserted-Identity may list a sip: and a tel: URI, comma-separated; take the first usable.
    for part in value.split(","):
        try:
            address: Address = parse_address(part)
        except SipParseError:
            continue
        if address.uri.user:
            return address.uri.user
    return ""

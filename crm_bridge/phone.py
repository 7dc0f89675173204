"""Phone numbers to E.164 with `phonenumbers` (Google's libphonenumber), the one lookup key."""

from __future__ import annotations

import phonenumbers

from crm_bridge.errors import InvalidInput

# What carriers put in the From header when the caller withholds the number.
WITHHELD = frozenset({"", "anonymous", "unknown", "unavailable", "private", "restricted"})


def normalise(raw: str, default_region: str) -> str:
    """Return `raw` in E.164, reading national formats in `default_region`; raise InvalidInput."""
    text = raw.strip()
    if text.lower() in WITHHELD:
        raise InvalidInput("phone number: withheld or empty")
    # SIP URIs carry the number as the user part: sip:+4420...@host;user=phone
    if text.lower().startswith(("sip:", "sips:", "tel:")):
        text = text.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"phone number: cannot be read ({exc.error_type})") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInput("phone number: impossible length for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalise(raw: str | None, default_region: str) -> str | None:
    """Return `raw` in E.164, or None when it is missing, withheld or unreadable."""
    if raw is None:
        return None
    try:
        return normalise(raw, default_region)
    except InvalidInput:
        return None

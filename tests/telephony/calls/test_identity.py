"""Who is calling: P-Asserted-Identity over From, DNIS from the Request-URI, a sane hint."""

from __future__ import annotations

import pytest

from telephony.calls.identity import caller_identity
from tests.telephony.sip.helpers import raw_request, request


def invite(extra: str = "") -> bytes:
    """An INVITE from caller@127.0.0.1 to agent@127.0.0.1 with extra header lines."""
    return raw_request("INVITE", 5999, extra=extra)


def test_from_gives_the_number_without_asserted_identity() -> None:
    identity = caller_identity(request(invite()))
    assert (identity.ani, identity.dnis, identity.customer_hint) == ("caller", "agent", None)


def test_asserted_identity_wins_and_its_first_usable_uri_counts() -> None:
    extra = 'P-Asserted-Identity: "Front Desk" <sip:+4930111@trunk>, <tel:+4930111>\r\n'
    assert caller_identity(request(invite(extra))).ani == "+4930111"
    tel_only = "P-Asserted-Identity: <tel:+15550100>\r\n"
    assert caller_identity(request(invite(tel_only))).ani == "+15550100"


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("X-Customer-Id: C-1001\r\n", "C-1001"),
        ("x-customer-id:   C-7  \r\n", "C-7"),
        ("X-Customer-Id: " + "9" * 65 + "\r\n", None),  # too long for a customer id
        ("X-Customer-Id: \r\n", None),
    ],
)
def test_customer_hint_is_kept_only_when_sane(header: str, hint: str | None) -> None:
    assert caller_identity(request(invite(header))).customer_hint == hint


def test_numbers_stay_out_of_the_repr() -> None:
    extra = "P-Asserted-Identity: <sip:+4930111@trunk>\r\nX-Customer-Id: C-1001\r\n"
    text = repr(caller_identity(request(invite(extra))))
    assert "+4930111" not in text and "C-1001" not in text

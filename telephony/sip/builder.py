"""Building requests and responses from scratch or from another message (RFC 3261 §8, §17)."""

from __future__ import annotations

import secrets

from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers
from telephony.sip.message import Request, Response
from telephony.sip.uri import Address
from telephony.sip.via import MAGIC_COOKIE

DEFAULT_MAX_FORWARDS = 70


def new_branch() -> str:
    """Return a fresh RFC 3261 branch (magic cookie plus randomness)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    """Return a fresh From/To tag."""
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    """Return a fresh, globally unique Call-ID."""
    return f"{secrets.token_hex(12)}@{host}"


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Headers | None = None,
    body: bytes = b"",
) -> Response:
    """Build a response copying Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2).

    `to_tag` is added to To when To has none and the response is not 100 Trying.
    Record-Route is copied into 18x/2xx to INVITE, so the dialog's route set reaches the caller.
    """
    out = Headers()
    src = request.headers
    for value in src.get_all("via"):
        out.add("Via", value)
    for name in ("from", "to", "call-id", "cseq"):
        line = src.get(name)
        if line is not None:
            if name == "to" and to_tag and status > 100 and not _has_tag(request, line):
                line = f"{line};tag={to_tag}"
            out.add(name, line)
    if request.method == "INVITE" and (100 < status < 300):
        for value in src.get_all("record-route"):
            out.add("Record-Route", value)
    if headers is not None:
        for name, value in headers:
            out.add(name, value)
    return Response(status, reason, out, body)


def make_request(
    method: str,
    uri: str,
    *,
    from_address: Address,
    to_address: Address,
    call_id: str,
    cseq: int,
    contact: Address | None = None,
    headers: Headers | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """Build an out-of-dialog request; the endpoint adds the Via when it sends it."""
    out = Headers()
    out.add("Max-Forwards", str(DEFAULT_MAX_FORWARDS))
    out.add("From", str(from_address))
    out.add("To", str(to_address))
    out.add("Call-ID", call_id)
    out.add("CSeq", f"{cseq} {method}")
    if contact is not None:
        out.add("Contact", str(contact))
    if headers is not None:
        for name, value in headers:
            out.add(name, value)
    if body and content_type:
        out.set("Content-Type", content_type)
    return Request(method, uri, out, body)


def make_cancel(invite: Request) -> Request:
    """Build the CANCEL for a sent INVITE: same branch, Request-URI, Call-ID, From, To, Route."""
    out = Headers()
    vias = invite.headers.get_all("via")
    if vias:
        out.add("Via", vias[0])
    out.add("Max-Forwards", str(DEFAULT_MAX_FORWARDS))
    for name in ("from", "to", "call-id"):
        value = invite.headers.get(name)
        if value is not None:
            out.add(name, value)
    out.add("CSeq", f"{invite.cseq().number} CANCEL")
    for value in invite.headers.get_all("route"):
        out.add("Route", value)
    return Request("CANCEL", invite.uri, out)


def make_non2xx_ack(invite: Request, response: Response) -> Request:
    """Build the ACK a client transaction sends for a 3xx-6xx (RFC 3261 §17.1.1.3)."""
    out = Headers()
    vias = invite.headers.get_all("via")
    if vias:
        out.add("Via", vias[0])
    out.add("Max-Forwards", str(DEFAULT_MAX_FORWARDS))
    for name, source in (("from", invite), ("to", response), ("call-id", invite)):
        value = source.headers.get(name)
        if value is not None:
            out.add(name, value)
    out.add("CSeq", f"{invite.cseq().number} ACK")
    for value in invite.headers.get_all("route"):
        out.add("Route", value)
    return Request("ACK", invite.uri, out)


def _has_tag(request: Request, value: str) -> bool:
    try:
        # The request's parsed To is memoised (validation parsed it already).
        return request.to_address().tag is not None
    except SipParseError:
        return ";tag=" in value

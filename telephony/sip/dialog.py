"""SIP dialogs (RFC 3261 §12): identity, CSeq counters, route set and remote target.

A dialog is built from an INVITE and a response carrying a To tag, on either side. It
creates in-dialog requests (BYE, re-INVITE for hold, ACK for a 2xx) with the right
Request-URI, Route headers, tags and CSeq, and checks the order of requests it receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from telephony.sip.builder import DEFAULT_MAX_FORWARDS
from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers
from telephony.sip.message import Request, Response
from telephony.sip.params import Params
from telephony.sip.transport import Peer
from telephony.sip.uri import Address, SipUri, parse_address

DialogKey = tuple[str, str, str]

# Requests that replace the remote target when they carry a Contact (RFC 3261 §12.2.2).
TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})


@dataclass
class Dialog:
    """One side's state of a dialog."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_address: Address
    remote_address: Address
    remote_target: SipUri
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int | None = None
    local_contact: Address | None = None
    secure: bool = False
    # Where to send in-dialog requests when set (the address the peer's messages came from,
    # which works through NAT and reuses its TCP connection); None means Route/Contact.
    peer: Peer | None = None

    @property
    def key(self) -> DialogKey:
        """Return (Call-ID, local tag, remote tag)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(
        cls,
        request: Request,
        response: Response,
        local_contact: Address | None = None,
        *,
        peer: Peer | None = None,
    ) -> Dialog:
        """Build the dialog a server creates by answering (18x/2xx) a dialog-creating request."""
        to = response.to_address()
        if to.tag is None:
            raise SipParseError("response creating a dialog has no To tag")
        remote = request.from_address()
        return cls(
            call_id=request.call_id,
            local_tag=to.tag,
            remote_tag=remote.tag or "",
            local_address=_without_tag(to),
            remote_address=_without_tag(remote),
            remote_target=_contact_uri(request),
            route_set=request.headers.get_all("record-route"),
            local_cseq=0,
            remote_cseq=request.cseq().number,
            local_contact=local_contact,
            secure=request.parsed_uri().scheme == "sips",
            peer=peer,
        )

    @classmethod
    def as_uac(
        cls,
        request: Request,
        response: Response,
        local_contact: Address | None = None,
        *,
        peer: Peer | None = None,
    ) -> Dialog:
        """Build the dialog a client creates from its request and a response with a To tag."""
        to = response.to_address()
        if to.tag is None:
            raise SipParseError("response creating a dialog has no To tag")
        local = request.from_address()
        return cls(
            call_id=request.call_id,
            local_tag=local.tag or "",
            remote_tag=to.tag,
            local_address=_without_tag(local),
            remote_address=_without_tag(to),
            remote_target=_contact_uri(response),
            route_set=list(reversed(response.headers.get_all("record-route"))),
            local_cseq=request.cseq().number,
            remote_cseq=None,
            local_contact=local_contact,
            secure=request.parsed_uri().scheme == "sips",
            peer=peer,
        )

    def create_request(
        self,
        method: str,
        *,
        headers: Headers | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """Build an in-dialog request (BYE, re-INVITE, INFO...), taking the next local CSeq."""
        self.local_cseq += 1
        return self._request(method, self.local_cseq, headers, body, content_type)

    def create_ack(
        self, invite: Request, *, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        """Build the ACK for a 2xx to an INVITE sent in (or creating) this dialog."""
        return self._request("ACK", invite.cseq().number, None, body, content_type)

    def receive_request(self, request: Request) -> bool:
        """Check and record an in-dialog request's CSeq; False means out of order (answer 500)."""
        cseq = request.cseq().number
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_cseq is not None and cseq <= self.remote_cseq:
                return False
            self.remote_cseq = cseq
        if request.method in TARGET_REFRESH and "contact" in request.headers:
            self.remote_target = _contact_uri(request)
        return True

    def receive_response(self, request: Request, response: Response) -> None:
        """Take a new remote target from a 2xx to a target refresh (a re-INVITE)."""
        refresh = request.method in TARGET_REFRESH and 200 <= response.status < 300
        if refresh and "contact" in response.headers:
            self.remote_target = _contact_uri(response)

    def _request(
        self,
        method: str,
        cseq: int,
        extra: Headers | None,
        body: bytes,
        content_type: str | None,
    ) -> Request:
        out = Headers()
        uri = str(self.remote_target)
        routes = list(self.route_set)
        if routes:
            first = parse_address(routes[0]).uri
            if "lr" not in first.params:
                # Strict router (RFC 2543 style): it goes in the Request-URI (§12.2.1.1).
                uri = str(first)
                routes = [*routes[1:], f"<{self.remote_target}>"]
        for route in routes:
            out.add("Route", route)
        out.add("Max-Forwards", str(DEFAULT_MAX_FORWARDS))
        out.add("From", str(_with_tag(self.local_address, self.local_tag)))
        out.add("To", str(_with_tag(self.remote_address, self.remote_tag)))
        out.add("Call-ID", self.call_id)
        out.add("CSeq", f"{cseq} {method}")
        if self.local_contact is not None and method in TARGET_REFRESH:
            out.add("Contact", str(self.local_contact))
        if extra is not None:
            for name, value in extra:
                out.add(name, value)
        if body and content_type:
            out.set("Content-Type", content_type)
        return Request(method, uri, out, body)


def _contact_uri(message: Request | Response) -> SipUri:
    contacts = message.contacts()
    if not contacts or contacts[0].wildcard:
        raise SipParseError("dialog message has no usable Contact")
    # A copy: the message's parsed values are shared and the dialog may update its own.
    return replace(contacts[0].uri, params=dict(contacts[0].uri.params))


def _without_tag(address: Address) -> Address:
    params: Params = {k: v for k, v in address.params.items() if k != "tag"}
    return Address(address.uri, address.display_name, params)


def _with_tag(address: Address, tag: str) -> Address:
    params: Params = dict(address.params)
    if tag:
        params["tag"] = tag
    return Address(address.uri, address.display_name, params)

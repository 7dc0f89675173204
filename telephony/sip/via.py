"""Via header values (`SIP/2.0/UDP host:port;branch=...;rport`) and CSeq."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.sip.errors import SipParseError
from telephony.sip.headers import is_token
from telephony.sip.params import Params, format_params, parse_params
from telephony.sip.uri import parse_hostport

MAGIC_COOKIE = "z9hG4bK"


@dataclass(slots=True)
class Via:
    """One Via hop: transport, sent-by and parameters."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        """Return the branch parameter, if any."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """Return the received parameter, if any."""
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """Return the rport value filled in by a server, or None (absent or not yet filled)."""
        value = self.params.get("rport")
        if value and value.isascii() and value.isdigit() and int(value) <= 65535:
            return int(value)
        return None

    @property
    def wants_rport(self) -> bool:
        """Tell whether the client asked for symmetric response routing (RFC 3581)."""
        return "rport" in self.params

    @property
    def sent_by(self) -> str:
        """Return `host:port` (or host) as the client wrote it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{format_params(self.params)}"


def parse_via(text: str) -> Via:
    """Parse one Via value; raise SipParseError when malformed."""
    # "SIP / 2.0 / UDP" with spaces around the slashes is legal (RFC 4475 §3.1.1.1).
    pieces = text.split("/", 2)
    if len(pieces) != 3:
        raise SipParseError("Via lacks its protocol")
    protocol, version, rest = (piece.strip() for piece in pieces)
    if protocol.upper() != "SIP" or version != "2.0":
        raise SipParseError("Via has an unknown protocol")
    parts = rest.split(None, 1)
    if len(parts) != 2:
        raise SipParseError("Via lacks sent-by")
    transport = parts[0].upper()
    if not is_token(transport):
        raise SipParseError("Via has an invalid transport")
    sent_by, _, param_text = parts[1].partition(";")
    host, port = parse_hostport(sent_by, what="Via")
    return Via(transport, host, port, parse_params(param_text, what="Via"))


@dataclass(frozen=True, slots=True)
class CSeq:
    """A CSeq value: sequence number and method."""

    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(text: str) -> CSeq:
    """Parse `number METHOD`; raise SipParseError when malformed."""
    parts = text.split()
    if len(parts) != 2:
        raise SipParseError("CSeq must be a number and a method")
    number_text, method = parts
    if not number_text.isascii() or not number_text.isdigit() or len(number_text) > 10:
        raise SipParseError("CSeq number is not a number")
    number = int(number_text)
    if number >= 2**31:
        raise SipParseError("CSeq number out of range")
    if not is_token(method):
        raise SipParseError("CSeq method is not a token")
    return CSeq(number, method)

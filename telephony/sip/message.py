"""SIP requests and responses: the model, a tolerant parser and a serializer.

The parser splits the start line and header lines and nothing more; structured values (Via,
From/To, CSeq, the Request-URI) are parsed only when asked for, because a proxy-like core
touches few of them per message. Every failure is a `SipParseError`.
"""

from __future__ import annotations

from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers, display_name, header_key, is_token
from telephony.sip.uri import Address, SipUri, parse_address, parse_uri
from telephony.sip.via import CSeq, Via, parse_cseq, parse_via

SIP_VERSION = "SIP/2.0"
MAX_HEADER_LINES = 256
# What surrounds a header value; a stray CR counts, so that values survive a round trip.
_LWS = " \t\r"

REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    """Return the standard reason phrase of a status code."""
    return REASON_PHRASES.get(status, REASON_PHRASES.get(status // 100 * 100, "Unknown"))


class SipMessage:
    """What requests and responses share: headers, body and accessors for common headers.

    Parsed values (top Via, CSeq, From, To, Contacts) are parsed once and shared until the
    headers change: treat them as read-only, and change a message through `headers`.
    """

    __slots__ = ("body", "headers", "wire")

    def __init__(self, headers: Headers | None = None, body: bytes = b"") -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body
        # The bytes this message was parsed from (empty for a message built here).
        self.wire = b""

    def start_line(self) -> str:
        """Return the request or status line."""
        raise TypeError("SipMessage is abstract")

    def to_bytes(self) -> bytes:
        """Serialise for the wire; Content-Length is always written and always right."""
        lines = [self.start_line(), *self.headers.lines(skip="content-length")]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {display_name(header_key(name))} header")
        return value

    def forget_parsed(self) -> None:
        """Drop the parsed header values kept with the message (a transaction lingering on)."""
        self.headers.forget_parsed()

    def vias(self) -> list[Via]:
        """Return every Via, top first."""
        return [parse_via(value) for value in self.headers.get_all("via")]

    def top_via(self) -> Via:
        """Return the top Via."""
        return self.headers.memo("via", self._parse_top_via)

    def _parse_top_via(self) -> Via:
        values = self.headers.get_all("via")
        if not values:
            raise SipParseError("missing Via header")
        return parse_via(values[0])

    def set_top_via(self, via: Via) -> None:
        """Replace the top Via (to add received/rport, say)."""
        self.headers.replace_first_value("via", str(via))
        self.headers.memo("via", lambda: via)

    @property
    def call_id(self) -> str:
        """Return the Call-ID."""
        return self._required("call-id")

    def cseq(self) -> CSeq:
        """Return the parsed CSeq."""
        return self.headers.memo("cseq", lambda: parse_cseq(self._required("cseq")))

    def from_address(self) -> Address:
        """Return the parsed From."""
        return self.headers.memo("from", lambda: parse_address(self._required("from")))

    def to_address(self) -> Address:
        """Return the parsed To."""
        return self.headers.memo("to", lambda: parse_address(self._required("to")))

    def contacts(self) -> list[Address]:
        """Return every Contact."""
        return self.headers.memo(
            "contact", lambda: [parse_address(value) for value in self.headers.get_all("contact")]
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, SipMessage)
        # Content-Length is derived from the body on the wire, so it does not count.
        return (
            self.start_line() == other.start_line()
            and self.headers.without("content-length") == other.headers.without("content-length")
            and self.body == other.body
        )

    __hash__ = None  # type: ignore[assignment]


class Request(SipMessage):
    """A SIP request."""

    __slots__ = ("_parsed_uri", "method", "uri")

    def __init__(
        self, method: str, uri: str, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        super().__init__(headers, body)
        self.method = method
        self.uri = uri
        self._parsed_uri: tuple[str, SipUri] | None = None

    def start_line(self) -> str:
        """Return the request line."""
        return f"{self.method} {self.uri} {SIP_VERSION}"

    def parsed_uri(self) -> SipUri:
        """Return the parsed Request-URI (shared: read-only)."""
        cached = self._parsed_uri
        if cached is None or cached[0] != self.uri:
            cached = (self.uri, parse_uri(self.uri))
            self._parsed_uri = cached
        return cached[1]

    def validate(self) -> None:
        """Check the headers every request needs (RFC 3261 §8.1.1); raise SipParseError if not."""
        self.top_via()
        self.from_address()
        self.to_address()
        if not self.call_id:
            raise SipParseError("empty Call-ID")
        cseq = self.cseq()
        if cseq.method != self.method and not (self.method == "ACK" and cseq.method == "INVITE"):
            raise SipParseError("CSeq method does not match the request method")
        max_forwards = self.headers.get("max-forwards")
        if max_forwards is not None and not (
            max_forwards.isascii() and max_forwards.isdigit() and len(max_forwards) <= 3
        ):
            raise SipParseError("Max-Forwards is not a number")
        self.parsed_uri()

    def __repr__(self) -> str:
        return f"<Request {self.method}>"


class Response(SipMessage):
    """A SIP response."""

    __slots__ = ("reason", "status")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(headers, body)
        self.status = status
        self.reason = reason_phrase(status) if reason is None else reason

    def start_line(self) -> str:
        """Return the status line."""
        return f"{SIP_VERSION} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


def split_head(data: bytes) -> tuple[bytes, bytes] | None:
    """Split at the blank line ending the header block (CRLF or bare LF); None if there is none."""
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return None
    if lf < 0 or 0 <= crlf < lf:
        return data[:crlf], data[crlf + 3 :]
    return data[:lf], data[lf + 2 :]


def parse_content_length(value: str, headers: Headers | None = None) -> int:
    """Parse a Content-Length value."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise SipParseError("Content-Length is not a number", headers=headers)
    return int(value)


def parse_message(data: bytes, *, framed: bool = False) -> Request | Response:
    """Parse one message from a datagram (or, with framed=True, one cut by the stream framer).

    On UDP the datagram is the boundary: a body longer than Content-Length is truncated to it,
    a shorter one is an error (RFC 3261 §18.3).
    """
    original = data
    # Leading blank lines are keep-alives or sloppy senders (RFC 3261 §7.5 says ignore them).
    data = data.lstrip(b"\r\n")
    split = split_head(data)
    if split is None:
        head, body = data, b""
    else:
        head, body = split
    text = head.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    start = lines[0].rstrip("\r")
    if not start:
        raise SipParseError("empty message")
    if "\r" in start:
        raise SipParseError("bare CR in the start line")
    if len(lines) > MAX_HEADER_LINES:
        raise SipParseError("too many header lines")
    # Errors carry the headers only for requests: a broken response is never answered.
    is_request = start[:4].upper() != "SIP/"
    headers = _parse_header_lines(lines, is_request)
    partial = headers if is_request else None
    length_text = headers.get("content-length")
    if length_text is not None:
        length = parse_content_length(length_text, partial)
        if len(body) < length:
            raise SipParseError("body shorter than Content-Length", headers=partial)
        body = body[:length]
    elif framed:
        body = b""
    message = _parse_start_line(start, headers, body)
    message.wire = original
    return message


def _parse_header_lines(lines: list[str], is_request: bool) -> Headers:
    items: list[tuple[str, str]] = []
    for raw in lines[1:]:
        line = raw.rstrip("\r")
        if not line:
            continue
        if "\r" in line:
            # A bare CR is a line break to some parsers: relaying it would let a value
            # smuggle in a header, so the message is refused.
            partial = Headers._trusted(items) if is_request else None
            raise SipParseError("bare CR in a header line", headers=partial)
        if line[0] in " \t":
            # Header folding (RFC 3261 §7.3.1): the continuation joins the previous value.
            if not items:
                raise SipParseError("continuation line before any header")
            key, value = items[-1]
            items[-1] = (key, f"{value} {line.strip(_LWS)}".strip(_LWS))
            continue
        name, colon, value = line.partition(":")
        name_key = _NAME_KEYS.get(name) if colon else None
        if name_key is None:
            name_key = _name_key(name) if colon else None
            if name_key is None:
                partial = Headers._trusted(items) if is_request else None
                raise SipParseError("malformed header line", headers=partial)
        items.append((name_key, value.strip(_LWS)))
    return Headers._trusted(items)


# Header names as written before the colon (trailing blanks included), already checked to be
# tokens, with their keys: peers write the same ~15 spellings in every message. Bounded.
_NAME_KEYS: dict[str, str] = {}
_MAX_NAME_KEYS = 2048


def _name_key(written: str) -> str | None:
    """Check a written header name and return its key (None if it is not a token)."""
    name = written.rstrip(" \t")
    if not is_token(name):
        return None
    key = header_key(name)
    if len(_NAME_KEYS) < _MAX_NAME_KEYS:
        _NAME_KEYS[written] = key
    return key


def _parse_start_line(start: str, headers: Headers, body: bytes) -> Request | Response:
    if start[:4].upper() == "SIP/":
        parts = start.split(" ", 2)
        if len(parts) < 2 or parts[0].upper() != SIP_VERSION:
            raise SipParseError("malformed status line")
        code = parts[1]
        if len(code) != 3 or not code.isascii() or not code.isdigit() or not "1" <= code[0] <= "6":
            raise SipParseError("invalid status code")
        return Response(int(code), parts[2].strip() if len(parts) == 3 else "", headers, body)
    parts = start.split()
    if len(parts) != 3:
        raise SipParseError("malformed request line", headers=headers)
    method, uri, version = parts
    if not is_token(method):
        raise SipParseError("request method is not a token", headers=headers)
    if version.upper() != SIP_VERSION:
        raise SipParseError("unsupported SIP version", headers=headers, status=505)
    return Request(method, uri, headers, body)

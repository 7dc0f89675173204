"""A hook to count SIP messages on the wire, for metrics kept outside telephony.

Whoever counts (the board's Prometheus metrics) passes a `MessageCounter` to `SipEndpoint`;
telephony calls it once per message received (parsed) and once per message handed to the
transport to send (retransmissions included: they are messages on the wire too).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from telephony.sip.errors import SipParseError
from telephony.sip.message import Request, Response

log = logging.getLogger(__name__)

MessageCounter = Callable[[str, str, int | None], None]
"""Count one message: direction ("in"/"out"), method (a response's CSeq method), status."""

_CSEQ = re.compile(rb"\r\nCSeq[ \t]*:[ \t]*\d+[ \t]+([A-Za-z]+)", re.IGNORECASE)


def sent_summary(data: bytes) -> tuple[str, int | None]:
    """Return (method, status) of serialised outgoing bytes; status is None for a request."""
    head = data.split(b"\r\n\r\n", 1)[0]
    first = head.split(b"\r\n", 1)[0]
    if first.startswith(b"SIP/2.0 "):
        cseq = _CSEQ.search(head)
        method = cseq.group(1).decode("ascii").upper() if cseq else ""
        return method, int(first[8:11])
    return first.split(b" ", 1)[0].decode("ascii", "replace"), None


def received_summary(message: Request | Response) -> tuple[str, int | None]:
    """Return (method, status) of a parsed incoming message; status is None for a request."""
    if isinstance(message, Response):
        try:
            return message.cseq().method, message.status
        except SipParseError:
            # A response without a usable CSeq is still a message received.
            return "", message.status
    return message.method, None


def safely(counter: MessageCounter, direction: str, summary: tuple[str, int | None]) -> None:
    """Call the counter; a failing counter is logged and never breaks SIP."""
    try:
        counter(direction, *summary)
    except Exception:
        log.exception("the SIP message counter failed")

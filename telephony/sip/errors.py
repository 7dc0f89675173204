"""The one error the SIP parser raises."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.sip.headers import Headers


class SipParseError(ValueError):
    """A SIP message, or one of its header values, could not be parsed.

    `reason` never quotes the offending text, so it is safe to log (no numbers or names).
    `headers` holds what was parsed before the error, when the header block itself was
    readable, so that a request can still be answered with a 400. `status` is the response
    code that fits (400, or 505 for an unsupported SIP version).
    """

    def __init__(self, reason: str, *, headers: Headers | None = None, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.headers = headers
        self.status = status

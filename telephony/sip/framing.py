"""Cutting a TCP byte stream into SIP messages by Content-Length (RFC 3261 §18.3)."""

from __future__ import annotations

from telephony.sip.errors import SipParseError
from telephony.sip.headers import header_key
from telephony.sip.message import parse_content_length, split_head

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024


class StreamFramer:
    """Buffer stream bytes and return each complete message's bytes as it arrives."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return complete messages. A framing error ends the stream."""
        self._buffer += data
        messages: list[bytes] = []
        while True:
            # CRLF keep-alives (RFC 5626 §3.5.1) between messages carry nothing.
            while self._buffer and self._buffer[0] in (13, 10):
                del self._buffer[:1]
            if not self._buffer:
                break
            split = split_head(bytes(self._buffer[: MAX_HEAD_BYTES + 4]))
            if split is None:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise SipParseError("header block too large")
                break
            head, _ = split
            head_size = len(self._buffer[: MAX_HEAD_BYTES + 4]) - len(split[1])
            length = _content_length(head)
            if length > MAX_BODY_BYTES:
                raise SipParseError("body too large")
            total = head_size + length
            if len(self._buffer) < total:
                break
            messages.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
        return messages


def _content_length(head: bytes) -> int:
    """Find Content-Length in a header block; a stream message without one has no body."""
    for raw in head.split(b"\n")[1:]:
        name, colon, value = raw.partition(b":")
        if colon and header_key(name.strip().decode("latin-1")) == "content-length":
            return parse_content_length(value.decode("latin-1"))
    return 0

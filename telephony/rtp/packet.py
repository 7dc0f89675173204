"""The fixed RTP header (RFC 3550): build a packet, read the few fields media code needs."""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["RTP_HEADER", "RtpError", "RtpHeader", "build_packet", "is_rtp", "parse_header"]

RTP_HEADER = struct.Struct("!BBHII")
RTP_VERSION = 2


class RtpError(ValueError):
    """A datagram is not an RTP packet we can read."""


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The fields of an RTP header and where its payload starts."""

    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload_offset: int


def is_rtp(datagram: bytes) -> bool:
    """Tell cheaply whether a datagram looks like RTP version 2."""
    return len(datagram) >= RTP_HEADER.size and datagram[0] >> 6 == RTP_VERSION


def parse_header(datagram: bytes) -> RtpHeader:
    """Parse the header of an RTP packet, skipping CSRCs, extension and padding."""
    if not is_rtp(datagram):
        raise RtpError("not an RTP version 2 packet")
    first, second, sequence, timestamp, ssrc = RTP_HEADER.unpack_from(datagram)
    offset = RTP_HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:
        if len(datagram) < offset + 4:
            raise RtpError("RTP header extension is truncated")
        (words,) = struct.unpack_from("!H", datagram, offset + 2)
        offset += 4 + 4 * words
    if offset > len(datagram):
        raise RtpError("RTP header is longer than the packet")
    return RtpHeader(second & 0x7F, bool(second & 0x80), sequence, timestamp, ssrc, offset)


def build_packet(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    *,
    marker: bool = False,
) -> bytes:
    """Return an RTP packet with no CSRCs, extension or padding."""
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    header = RTP_HEADER.pack(
        RTP_VERSION << 6, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF
    )
    return header + payload

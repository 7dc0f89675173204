"""Decode G.711 mu-law and A-law to 16-bit linear samples (ITU-T G.711).

Hand-written because `audioop` is deprecated in Python 3.11 and removed in 3.13. Each law is
a 256-entry table built once; decoding a packet is one lookup per byte.
"""

from __future__ import annotations

__all__ = ["ALAW_PCM", "ULAW_PCM", "alaw_to_linear", "decode", "ulaw_to_linear"]


def ulaw_to_linear(code: int) -> int:
    """Return the 16-bit sample for one mu-law code."""
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return -magnitude if code & 0x80 else magnitude


def alaw_to_linear(code: int) -> int:
    """Return the 16-bit sample for one A-law code."""
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


# Each code's sample as two little-endian bytes, so a payload decodes with one join.
ULAW_PCM: tuple[bytes, ...] = tuple(
    ulaw_to_linear(c).to_bytes(2, "little", signed=True) for c in range(256)
)
ALAW_PCM: tuple[bytes, ...] = tuple(
    alaw_to_linear(c).to_bytes(2, "little", signed=True) for c in range(256)
)


def decode(payload: bytes, table: tuple[bytes, ...]) -> bytes:
    """Decode a G.711 payload to 16-bit little-endian linear PCM with a table above."""
    return b"".join(map(table.__getitem__, payload))

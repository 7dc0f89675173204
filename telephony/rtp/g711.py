"""Encode 16-bit linear audio to G.711 mu-law and A-law (ITU-T G.711).

Hand-written because `audioop` is deprecated in Python 3.11 and removed in 3.13, and a
dependency for two small table-driven functions is not worth it. The recorder has the matching
decoders in `recording.g711` (package boundaries keep the two apart; a test checks that
encode(decode(code)) gives back every code).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["encode_alaw", "encode_ulaw", "linear_to_alaw", "linear_to_ulaw"]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_ULAW_SEGMENT_ENDS = (0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for segment, end in enumerate(ends):
        if value <= end:
            return segment
    return len(ends)


def linear_to_ulaw(sample: int) -> int:
    """Return the mu-law code for one 16-bit signed sample."""
    mask = 0x7F if sample < 0 else 0xFF
    magnitude = min(abs(sample), _ULAW_CLIP) + _ULAW_BIAS
    segment = _segment(magnitude, _ULAW_SEGMENT_ENDS)
    return ((segment << 4) | ((magnitude >> (segment + 3)) & 0x0F)) ^ mask


def linear_to_alaw(sample: int) -> int:
    """Return the A-law code for one 16-bit signed sample."""
    # A-law works on 13-bit magnitudes with no zero: -1 maps to the smallest negative step.
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    segment = _segment(value, _ALAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    mantissa = (value >> 1) if segment < 2 else (value >> segment)
    return ((segment << 4) | (mantissa & 0x0F)) ^ mask


def encode_ulaw(samples: Iterable[int]) -> bytes:
    """Encode 16-bit signed samples to mu-law bytes."""
    return bytes(map(linear_to_ulaw, samples))


def encode_alaw(samples: Iterable[int]) -> bytes:
    """Encode 16-bit signed samples to A-law bytes."""
    return bytes(map(linear_to_alaw, samples))

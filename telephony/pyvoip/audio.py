"""Convert between pyVoIP's audio (8-bit unsigned, 8 kHz) and 16-bit signed little-endian PCM."""

from __future__ import annotations

__all__ = ["pcm16_to_u8", "u8_to_pcm16"]

# Unsigned 8-bit is the high byte of a signed 16-bit sample with its sign bit flipped.
_FLIP = bytes(b ^ 0x80 for b in range(256))


def pcm16_to_u8(pcm: bytes) -> bytes:
    """Return 16-bit little-endian PCM as pyVoIP's 8-bit unsigned samples."""
    return pcm[1::2].translate(_FLIP)


def u8_to_pcm16(samples: bytes) -> bytes:
    """Return pyVoIP's 8-bit unsigned samples as 16-bit little-endian PCM."""
    out = bytearray(2 * len(samples))
    out[1::2] = samples.translate(_FLIP)
    return bytes(out)

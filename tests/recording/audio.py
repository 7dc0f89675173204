"""Audio helpers for tests: tone generation, RTP packetising, WAV reading and a Goertzel filter.

numpy is not a dependency, so the frequency check is a plain Goertzel filter.
"""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

from telephony.rtp.packet import build_packet

RATE = 8000
SAMPLES_PER_PACKET = 160


def tone(frequency: float, samples: int, amplitude: int = 8000, start: int = 0) -> list[int]:
    """Return a sine tone as 16-bit samples, starting at sample index `start` (phase-continuous)."""
    step = 2 * math.pi * frequency / RATE
    return [round(amplitude * math.sin(step * (start + n))) for n in range(samples)]


def packet(payload: bytes, index: int, ssrc: int, pt: int = 0, ts_offset: int = 0) -> bytes:
    """Return the RTP packet carrying the `index`-th 20 ms frame of a stream."""
    return build_packet(pt, index, ts_offset + index * SAMPLES_PER_PACKET, ssrc, payload)


def read_wav(path: Path) -> tuple[wave._wave_params, array[int], array[int]]:
    """Return the WAV's parameters and its left and right channels."""
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        frames = wav.readframes(params.nframes)
    samples = array("h")
    samples.frombytes(frames)
    return params, samples[0::2], samples[1::2]


def goertzel(samples: array[int] | list[int], frequency: float) -> float:
    """Return the power of one frequency in a block of samples."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / RATE)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return previous * previous + before * before - coefficient * previous * before


def dominant(samples: array[int] | list[int], candidates: tuple[float, ...]) -> float:
    """Return which candidate frequency carries the most power."""
    return max(candidates, key=lambda f: goertzel(samples, f))


def read_pcm(pcm: bytes) -> array[int]:
    """Return 16-bit little-endian PCM bytes as samples."""
    samples = array("h")
    samples.frombytes(pcm)
    return samples

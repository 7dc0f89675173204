"""Ringback and hold audio: tones rendered once to G.711, looped as 20 ms RTP payloads."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from telephony.rtp.g711 import encode_alaw, encode_ulaw

__all__ = [
    "HOLD_BEEP",
    "RINGBACK_EU",
    "RINGBACK_US",
    "AudioLoop",
    "Tone",
]

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz, one G.711 byte per sample
PCMU_PT = 0
PCMA_PT = 8


@dataclass(frozen=True, slots=True)
class Tone:
    """A tone: frequencies summed, played on/off by a cadence (seconds: on, off, on, off...)."""

    frequencies: tuple[float, ...]
    cadence: tuple[float, ...] = ()
    amplitude: int = 6000

    def samples(self) -> list[int]:
        """Return one full cycle of the tone as 16-bit samples (a whole number of frames)."""
        # A continuous tone loops every second, where integer frequencies are phase-continuous.
        periods = self.cadence or (1.0,)
        total = _whole_frames(sum(periods))
        out = [0] * total
        step = [2 * math.pi * f / SAMPLE_RATE for f in self.frequencies]
        scale = self.amplitude / max(len(self.frequencies), 1)
        position = 0
        for index, seconds in enumerate(periods):
            length = _whole_frames(seconds)
            if index % 2 == 0:  # an "on" period
                for n in range(position, min(position + length, total)):
                    out[n] = round(scale * sum(math.sin(s * n) for s in step))
            position += length
        return out


def _whole_frames(seconds: float) -> int:
    return max(1, round(seconds * SAMPLE_RATE / FRAME_SAMPLES)) * FRAME_SAMPLES


# Europe (ETSI): 425 Hz, 1 s on, 4 s off. North America: 440 + 480 Hz, 2 s on, 4 s off.
RINGBACK_EU = Tone((425.0,), (1.0, 4.0))
RINGBACK_US = Tone((440.0, 480.0), (2.0, 4.0))
# While queued past the first rings: a short 425 Hz beep every few seconds, so callers know
# the line is alive.
HOLD_BEEP = Tone((425.0,), (0.2, 4.8))


class AudioLoop:
    """G.711 audio in a loop, cut into 20 ms payloads."""

    def __init__(self, encoded: bytes, payload_type: int) -> None:
        if payload_type not in (PCMU_PT, PCMA_PT):
            raise ValueError("audio loops are G.711: payload type 0 (PCMU) or 8 (PCMA)")
        if len(encoded) < FRAME_SAMPLES:
            raise ValueError("audio loop is shorter than one 20 ms frame")
        # Pad to whole frames, with the law's own silence, so every payload is 160 bytes.
        silence = b"\xff" if payload_type == PCMU_PT else b"\xd5"
        remainder = len(encoded) % FRAME_SAMPLES
        if remainder:
            encoded += silence * (FRAME_SAMPLES - remainder)
        self.payload_type = payload_type
        self._frames = [
            encoded[i : i + FRAME_SAMPLES] for i in range(0, len(encoded), FRAME_SAMPLES)
        ]
        silent_frame = silence * FRAME_SAMPLES
        self._sounding = [frame != silent_frame for frame in self._frames]

    @classmethod
    def from_tone(cls, tone: Tone, payload_type: int = PCMU_PT) -> AudioLoop:
        """Render a tone for a payload type (0 PCMU, 8 PCMA); rendered once, then shared."""
        return _rendered(tone, payload_type)

    def __len__(self) -> int:
        return len(self._frames)

    def frame(self, index: int) -> bytes:
        """Return the payload of the index-th 20 ms frame, looping."""
        return self._frames[index % len(self._frames)]

    def sounding(self, index: int) -> bool:
        """Tell whether the index-th frame holds any sound (not the law's digital silence)."""
        return self._sounding[index % len(self._sounding)]


@functools.lru_cache(maxsize=64)
def _rendered(tone: Tone, payload_type: int) -> AudioLoop:
    # Rendering a 5 s cadence costs ~90 ms of CPU; every queued call plays the same few tones.
    encode = encode_ulaw if payload_type == PCMU_PT else encode_alaw
    return AudioLoop(encode(tone.samples()), payload_type)

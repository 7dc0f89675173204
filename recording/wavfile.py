"""Write a stereo 16-bit 8 kHz WAV in chunks, from a worker thread, with the stdlib `wave`."""

from __future__ import annotations

import wave
from pathlib import Path

__all__ = ["CHANNELS", "SAMPLE_RATE", "SAMPLE_WIDTH", "WavWriter"]

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2
CHANNELS = 2


class WavWriter:
    """Append interleaved frames to a WAV file; open lazily, so the caller's thread never blocks.

    Every method does file I/O: call them from the recorder's writer thread only.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".part")
        self._wave: wave.Wave_write | None = None
        self.frames = 0

    def write(self, frames: bytes) -> None:
        """Append interleaved little-endian 16-bit stereo frames."""
        if self._wave is None:
            self._wave = wave.open(str(self._partial), "wb")  # noqa: SIM115 - closed in close()
            self._wave.setnchannels(CHANNELS)
            self._wave.setsampwidth(SAMPLE_WIDTH)
            self._wave.setframerate(SAMPLE_RATE)
        self._wave.writeframesraw(frames)
        self.frames += len(frames) // (CHANNELS * SAMPLE_WIDTH)

    def close(self) -> None:
        """Finish the header and move the file into place (a crash leaves only a .part file)."""
        if self._wave is None:
            self.write(b"")
        assert self._wave is not None
        self._wave.close()
        self._partial.replace(self.path)

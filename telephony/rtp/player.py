"""Play an audio loop as RTP, one packet per 20 ms, paced by the event loop until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from telephony.rtp.packet import build_packet
from telephony.rtp.tone import FRAME_SAMPLES, SAMPLE_RATE, AudioLoop

__all__ = ["MediaPlayer"]

log = logging.getLogger(__name__)

PACKET_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
# If the loop was blocked for longer than this, skip the missed packets instead of bursting.
_MAX_LAG = 0.2


class MediaPlayer:
    """Send an `AudioLoop` through `send` (a relay leg's `send`, say) until `stop`."""

    def __init__(
        self, send: Callable[[bytes], None], audio: AudioLoop, *, ssrc: int | None = None
    ) -> None:
        self._send = send
        self._audio = audio
        # Random initial sequence, timestamp and SSRC, as RFC 3550 asks.
        self.ssrc = random.getrandbits(32) if ssrc is None else ssrc
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self._task: asyncio.Task[None] | None = None
        self.packets_sent = 0
        self.skipped = 0

    @property
    def playing(self) -> bool:
        """Tell whether the player is sending."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start sending (again, after a stop: the stream continues with the next timestamp)."""
        if not self.playing:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-player")

    async def stop(self) -> None:
        """Stop sending and wait until the player's task has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        # Deadlines come from a fixed start, not from "now + 20 ms", so sleep overshoot does
        # not accumulate into drift.
        start = loop.time()
        index = 0
        marker = True
        while True:
            payload = self._audio.frame(index)
            packet = build_packet(
                self._audio.payload_type,
                self._sequence,
                self._timestamp,
                self.ssrc,
                payload,
                marker=marker,
            )
            marker = False
            try:
                self._send(packet)
            except OSError as exc:
                log.warning("hold audio could not be sent: %s", type(exc).__name__)
            self.packets_sent += 1
            self._sequence = (self._sequence + 1) & 0xFFFF
            self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
            index += 1
            deadline = start + index * PACKET_SECONDS
            lag = loop.time() - deadline
            if lag > _MAX_LAG:
                # Skip what we missed; the timestamp still advances, so the far end hears a gap
                # of the right length rather than sped-up audio.
                missed = int(lag / PACKET_SECONDS)
                index += missed
                self.skipped += missed
                self._timestamp = (self._timestamp + missed * FRAME_SAMPLES) & 0xFFFFFFFF
                deadline = start + index * PACKET_SECONDS
            await asyncio.sleep(max(0.0, deadline - loop.time()))

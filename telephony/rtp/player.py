"""Play an audio loop as RTP, one packet per 20 ms, until stopped.

Every player of an event loop is driven by one shared 20 ms clock (a single timer), not by a
task of its own: with hundreds of callers queued, a task per caller cost a task switch and a
timer per packet, and starting and cancelling one per call was a good part of a call's CPU.
"""

from __future__ import annotations

import asyncio
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


class _Clock:
    """Tick every 20 ms while any player of one event loop plays; each tick sends a packet each."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # An insertion-ordered set: players send in the order they started.
        self._players: dict[MediaPlayer, None] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._start = 0.0
        self._ticks = 0

    def add(self, player: MediaPlayer) -> None:
        self._players[player] = None
        if self._handle is None:
            # Deadlines come from a fixed start, not from "now + 20 ms", so timer overshoot
            # does not accumulate into drift.
            self._start = self.loop.time()
            self._ticks = 0
            self._handle = self.loop.call_at(self._start + PACKET_SECONDS, self._tick)

    def remove(self, player: MediaPlayer) -> None:
        self._players.pop(player, None)
        if not self._players and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self._ticks += 1
        lag = self.loop.time() - (self._start + self._ticks * PACKET_SECONDS)
        missed = int(lag / PACKET_SECONDS) if lag > _MAX_LAG else 0
        # Skip what we missed; timestamps still advance, so the far end hears a gap of the
        # right length rather than sped-up audio.
        self._ticks += missed
        for player in list(self._players):
            player.tick(missed)
        if self._players:
            self._handle = self.loop.call_at(
                self._start + (self._ticks + 1) * PACKET_SECONDS, self._tick
            )
        else:
            self._handle = None


# The clock of the running loop. One at a time: Switchboard runs one event loop (a new one
# replaces the clock of a closed one, as in tests).
_clock: _Clock | None = None


def _clock_of(loop: asyncio.AbstractEventLoop) -> _Clock:
    global _clock
    if _clock is None or _clock.loop is not loop:
        _clock = _Clock(loop)
    return _clock


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
        self._clock: _Clock | None = None
        self._index = 0
        self._marker = True
        self.packets_sent = 0
        self.skipped = 0

    @property
    def playing(self) -> bool:
        """Tell whether the player is sending."""
        return self._clock is not None

    def start(self) -> None:
        """Start sending (again, after a stop: the stream continues with the next timestamp)."""
        if self._clock is not None:
            return
        clock = self._clock = _clock_of(asyncio.get_running_loop())
        self._index = 0
        self._marker = True
        self._send_frame()
        if self._clock is clock:  # not stopped by a failing first packet
            clock.add(self)

    async def stop(self) -> None:
        """Stop sending (at once; a coroutine so callers need not know how it plays)."""
        clock, self._clock = self._clock, None
        if clock is not None:
            clock.remove(self)

    def tick(self, missed: int) -> None:
        """Send the next packet, after skipping `missed` (the shared clock calls this)."""
        if missed:
            self._index += missed
            self.skipped += missed
            self._timestamp = (self._timestamp + missed * FRAME_SAMPLES) & 0xFFFFFFFF
        self._send_frame()

    def _send_frame(self) -> None:
        packet = build_packet(
            self._audio.payload_type,
            self._sequence,
            self._timestamp,
            self.ssrc,
            self._audio.frame(self._index),
            marker=self._marker,
        )
        self._marker = False
        try:
            self._send(packet)
        except OSError as exc:
            log.warning("hold audio could not be sent: %s", type(exc).__name__)
        except Exception:
            # One broken player must not stop the clock for every other caller.
            log.exception("hold audio player failed; it stops")
            if self._clock is not None:
                self._clock.remove(self)
                self._clock = None
            return
        self.packets_sent += 1
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        self._index += 1

"""Play an audio loop as RTP, one packet per 20 ms of sound, until stopped.

The silent part of a cadence (ringback's four seconds off, the pause between hold beeps) is not
sent: RFC 3551 section 4.1's silence suppression. The timestamp runs on through the gap and the
first packet after it carries the marker bit, so the far end plays the gap as silence. Each
packet costs a system call (~6 us); ringback is 80% silence and hold audio 96%, so a queue of
callers costs a fifth of the packets or less. The longest gap of our tones (4.8 s) is far
below NAT bindings' and media-inactivity timers' (30 s and more).

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

__all__ = ["MediaPlayer", "RtpStream", "missed_frames"]

log = logging.getLogger(__name__)

PACKET_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
# If the loop was blocked for longer than this, skip the missed packets instead of bursting.
_MAX_LAG = 0.2


def missed_frames(lag: float) -> int:
    """Return how many frames a clock `lag` seconds late skips (none below _MAX_LAG)."""
    return int(lag / PACKET_SECONDS) if lag > _MAX_LAG else 0


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
        missed = missed_frames(self.loop.time() - (self._start + self._ticks * PACKET_SECONDS))
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


class RtpStream:
    """The RTP stream of an audio loop: its packets in order, with the silent frames left out."""

    __slots__ = (
        "_audio",
        "_index",
        "_marker",
        "sequence",
        "skipped",
        "ssrc",
        "suppressed",
        "timestamp",
    )

    def __init__(
        self,
        audio: AudioLoop,
        *,
        ssrc: int | None = None,
        sequence: int | None = None,
        timestamp: int | None = None,
        index: int = 0,
        marker: bool = True,
    ) -> None:
        self._audio = audio
        # Random initial sequence, timestamp and SSRC, as RFC 3550 asks.
        self.ssrc = random.getrandbits(32) if ssrc is None else ssrc
        self.sequence = random.getrandbits(16) if sequence is None else sequence
        self.timestamp = random.getrandbits(32) if timestamp is None else timestamp
        self._index = index
        self._marker = marker
        self.skipped = 0
        self.suppressed = 0

    @property
    def index(self) -> int:
        """Return the frame of the loop the next packet carries (counting from the start)."""
        return self._index

    @property
    def marked(self) -> bool:
        """Tell whether the next packet carries the marker bit."""
        return self._marker

    def rewind(self) -> None:
        """Play from the loop's start again (a restart); the next packet is marked."""
        self._index = 0
        self._marker = True

    def skip(self, frames: int) -> None:
        """Leave out `frames` frames (the clock was late): the far end hears a gap, not a rush."""
        self._index += frames
        self.skipped += frames
        self.timestamp = (self.timestamp + frames * FRAME_SAMPLES) & 0xFFFFFFFF

    def next_packet(self) -> bytes | None:
        """Return the next 20 ms frame's packet, or None for a silent frame (nothing to send)."""
        index = self._index
        self._index = index + 1
        timestamp = self.timestamp
        self.timestamp = (timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        if not self._audio.sounding(index):
            # Silence: the sequence number stays, the next packet is marked.
            self.suppressed += 1
            self._marker = True
            return None
        packet = build_packet(
            self._audio.payload_type,
            self.sequence,
            timestamp,
            self.ssrc,
            self._audio.frame(index),
            marker=self._marker,
        )
        self._marker = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        return packet


class MediaPlayer:
    """Send an `AudioLoop` through `send` (a relay leg's `send`, say) until `stop`."""

    def __init__(
        self,
        send: Callable[[bytes], None],
        audio: AudioLoop,
        *,
        ssrc: int | None = None,
        stream: RtpStream | None = None,
    ) -> None:
        self._send = send
        self.stream = stream if stream is not None else RtpStream(audio, ssrc=ssrc)
        self._clock: _Clock | None = None
        self.packets_sent = 0

    @property
    def playing(self) -> bool:
        """Tell whether the player is sending."""
        return self._clock is not None

    @property
    def ssrc(self) -> int:
        """Return the stream's SSRC."""
        return self.stream.ssrc

    @property
    def skipped(self) -> int:
        """Return how many frames were left out because the clock was late."""
        return self.stream.skipped

    @property
    def suppressed(self) -> int:
        """Return how many silent frames were not sent."""
        return self.stream.suppressed

    def start(self, *, rewind: bool = True) -> None:
        """Start sending (again, after a stop: the stream continues with the next timestamp).

        The loop plays from its start, unless `rewind` is False: then from where it stands.
        """
        if self._clock is not None:
            return
        clock = self._clock = _clock_of(asyncio.get_running_loop())
        if rewind:
            self.stream.rewind()
        self._send_frame()
        if self._clock is clock:  # not stopped by a failing first packet
            clock.add(self)

    async def stop(self) -> None:
        """Stop sending (at once; a coroutine so callers need not know how it plays)."""
        self.stop_now()

    def stop_now(self) -> None:
        """Stop sending, from code that cannot await."""
        clock, self._clock = self._clock, None
        if clock is not None:
            clock.remove(self)

    def tick(self, missed: int) -> None:
        """Send the next packet, after skipping `missed` (the shared clock calls this)."""
        if missed:
            self.stream.skip(missed)
        self._send_frame()

    def _send_frame(self) -> None:
        packet = self.stream.next_packet()
        if packet is None:
            return
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

"""Record one bridged call: RTP from both parties in, one stereo 16-bit 8 kHz WAV out.

Samples are placed on the call's timeline by RTP timestamp (so lost packets and silence
suppression become silence, and both channels stay aligned), anchored to the arrival time of
a stream's first packet. Audio is buffered in memory for a short jitter window, then handed in
chunks to a writer thread, so neither big files nor slow disks block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import sys
import time
from array import array
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from recording.g711 import ALAW_PCM, ULAW_PCM, decode
from recording.model import Channel, Recording, RecordingCodec, RecordingError
from recording.wavfile import SAMPLE_RATE, WavWriter

__all__ = ["Recorder"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHII")
_TABLES = {0: ULAW_PCM, 8: ALAW_PCM}
# A stream whose timestamps drift this far from the wall clock is re-anchored (a new source,
# a sender that jumped its clock); closer than that, the timestamps are trusted.
_REANCHOR_FRAMES = 3 * SAMPLE_RATE


@dataclass(slots=True)
class _Stream:
    """Where one party's RTP timestamps sit on the call's timeline."""

    ssrc: int = -1
    anchor_timestamp: int = 0
    anchor_frame: int = 0
    pcm: bytearray = field(default_factory=bytearray)


class Recorder:
    """Collect both directions of one call and write them to a stereo WAV; see `feed`."""

    def __init__(
        self,
        call_id: str,
        codec: RecordingCodec,
        path: Path,
        writer: Executor,
        *,
        clock: Callable[[], float] = time.monotonic,
        started_at: datetime | None = None,
        jitter_seconds: float = 1.0,
        chunk_seconds: float = 5.0,
        on_finish: Callable[[Recording], None] | None = None,
        # `on_finish` runs in the writer thread once the WAV is complete (the store's sidecar).
    ) -> None:
        self.call_id = call_id
        self.codec = codec
        self.path = path
        self._writer = writer
        self._clock = clock
        self._start = clock()
        self.started_at = started_at or datetime.now(UTC)
        self._jitter = int(jitter_seconds * SAMPLE_RATE)
        self._chunk = max(1, int(chunk_seconds * SAMPLE_RATE))
        self._on_finish = on_finish
        self._wav = WavWriter(path)
        # Keyed by plain strings so a relay's tee can pass its side names; caller first = left.
        self._streams: dict[str, _Stream] = {
            Channel.CALLER.value: _Stream(),
            Channel.AGENT.value: _Stream(),
        }
        # Frame index of the first sample still in memory (everything before is written).
        self._base = 0
        self._paused_since: int | None = None
        self._pauses: list[tuple[int, int]] = []
        self._writes: list[Future[None]] = []
        self._finished = False
        self._failed = False
        self.packets = 0
        self.ignored = 0
        self.late = 0

    @property
    def paused(self) -> bool:
        """Tell whether the recording is paused."""
        return self._paused_since is not None

    def _now_frame(self) -> int:
        return round((self._clock() - self._start) * SAMPLE_RATE)

    def feed(self, side: str, packet: bytes) -> None:
        """Take one RTP packet from a side ("caller" or "agent"); fits a relay's tee directly.

        Packets other than G.711 audio (telephone-events, comfort noise) are ignored, as are
        packets while paused: a pause keeps sensitive audio out of memory, not just the file.
        """
        if self._finished or self._failed or self._paused_since is not None:
            return
        stream = self._streams.get(side)
        if stream is None or len(packet) < _HEADER.size or packet[0] >> 6 != 2:
            self._reject("not an RTP packet from a known side")
            return
        first, second, _sequence, timestamp, ssrc = _HEADER.unpack_from(packet)
        table = _TABLES.get(second & 0x7F)
        offset = _HEADER.size + 4 * (first & 0x0F)
        if first & 0x10:
            if len(packet) < offset + 4:
                self._reject("truncated RTP header extension")
                return
            offset += 4 + 4 * int.from_bytes(packet[offset + 2 : offset + 4], "big")
        end = len(packet)
        if first & 0x20 and end > offset:
            end -= packet[-1]  # RTP padding: the last byte counts the padding bytes
        if table is None or end <= offset:
            self.ignored += 1
            return
        payload = packet[offset:end]
        now = self._now_frame()
        position = self._position(stream, ssrc, timestamp, now, len(payload))
        self._place(stream, position, decode(payload, table))
        self.packets += 1
        if now - self._base >= self._chunk + self._jitter:
            try:
                self._flush(now - self._jitter)
            except RecordingError:
                # The store closed under a live call: stop buffering; finish() reports it.
                self._failed = True
                log.error("recording %s stopped: its store is closed", self.call_id)

    def _position(self, stream: _Stream, ssrc: int, timestamp: int, now: int, samples: int) -> int:
        if ssrc == stream.ssrc:
            delta = (timestamp - stream.anchor_timestamp) & 0xFFFFFFFF
            if delta >= 0x80000000:
                delta -= 0x100000000
            position = stream.anchor_frame + delta
            if abs(position + samples - now) <= _REANCHOR_FRAMES:
                return position
        # A new stream (or one gone astray): its packet ends now, as far as we can tell.
        stream.ssrc = ssrc
        stream.anchor_timestamp = timestamp
        stream.anchor_frame = max(now - samples, 0)
        return stream.anchor_frame

    def _place(self, stream: _Stream, position: int, pcm: bytes) -> None:
        start = 2 * (position - self._base)
        if start < 0:
            # Arrived after its part of the timeline was written: keep what still fits.
            self.late += 1
            pcm = pcm[-start:]
            start = 0
            if not pcm:
                return
        buffer = stream.pcm
        end = start + len(pcm)
        if len(buffer) < end:
            buffer.extend(bytes(end - len(buffer)))
        buffer[start:end] = pcm

    def _reject(self, reason: str) -> None:
        self.ignored += 1
        if self.ignored == 1:
            log.warning("recording %s ignores bad input: %s", self.call_id, reason)

    def pause(self) -> None:
        """Stop recording audio; the paused stretch is written as silence."""
        if self._paused_since is None and not self._finished:
            self._paused_since = self._now_frame()

    def resume(self) -> None:
        """Record audio again after `pause`."""
        if self._paused_since is not None:
            self._pauses.append((self._paused_since, self._now_frame()))
            self._paused_since = None

    def _render(self, upto: int) -> bytes:
        """Interleave both channels from the base up to frame `upto`, dropping them from memory."""
        count = upto - self._base
        channels: list[array[int]] = []
        for stream in self._streams.values():
            mono = bytes(stream.pcm[: 2 * count])
            del stream.pcm[: 2 * count]
            samples = array("h")
            samples.frombytes(mono + bytes(2 * count - len(mono)))
            channels.append(samples)
        silence = array("h", bytes(2 * count))
        for start, stop in self._pauses:
            lo, hi = max(start, self._base) - self._base, min(stop, upto) - self._base
            if lo < hi:
                for samples in channels:
                    samples[lo:hi] = silence[: hi - lo]
        stereo = array("h", bytes(4 * count))
        stereo[0::2] = channels[0]
        stereo[1::2] = channels[1]
        if sys.byteorder == "big":
            stereo.byteswap()  # WAV is little-endian
        self._base = upto
        return stereo.tobytes()

    def _flush(self, upto: int) -> None:
        if upto <= self._base:
            return
        frames = self._render(upto)
        self._writes.append(self._submit(self._wav.write, frames))
        self._writes = [w for w in self._writes if not w.done() or w.exception() is not None]

    async def finish(self) -> Recording:
        """Stop, write the rest and close the WAV (in the writer thread); return its metadata."""
        if self._finished:
            raise RecordingError("recording already finished")
        if self._failed:
            self._finished = True
            raise RecordingError("the recording store closed during the call")
        end = self._now_frame()
        self.resume()
        self._finished = True
        # Every sample lies within [0, end): the file has exactly the call's length.
        while self._base < end:
            self._flush(min(end, self._base + self._chunk))
        for stream in self._streams.values():
            stream.pcm.clear()
        self._writes.append(self._submit(self._wav.close))
        await self._await_writes()
        paused = sum(stop - start for start, stop in self._pauses)
        recording = Recording(
            call_id=self.call_id,
            started_at=self.started_at,
            duration=end / SAMPLE_RATE,
            path=self.path,
            codec=self.codec,
            frames=self._wav.frames,
            paused_seconds=paused / SAMPLE_RATE,
        )
        if self._on_finish is not None:
            self._writes.append(self._submit(self._on_finish, recording))
            await self._await_writes()
        return recording

    def _submit(self, job: Callable[..., None], *args: object) -> Future[None]:
        try:
            return self._writer.submit(job, *args)
        except RuntimeError:
            raise RecordingError("the recording store is closed") from None

    async def _await_writes(self) -> None:
        writes, self._writes = self._writes, []
        try:
            for write in writes:
                await asyncio.wrap_future(write)
        except Exception as exc:
            log.error("recording %s could not be written: %s", self.call_id, type(exc).__name__)
            raise RecordingError("the recording could not be written") from exc

"""The recorder: a known tone in, a stereo WAV with the right shape, content and silences out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recording import RecordingError, RecordingStore
from recording.g711 import ALAW_PCM, ULAW_PCM, decode
from telephony.rtp.g711 import encode_alaw, encode_ulaw
from telephony.rtp.packet import build_packet
from tests.recording.audio import (
    RATE,
    SAMPLES_PER_PACKET,
    dominant,
    goertzel,
    packet,
    read_wav,
    tone,
)

TICK = SAMPLES_PER_PACKET / RATE  # 20 ms
FREQUENCIES = (400.0, 1000.0, 425.0, 700.0)


class Clock:
    """A clock the test moves by whole 20 ms ticks."""

    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> float:
        return self.ticks * TICK


@pytest.fixture
async def clocked_store(tmp_path: Path) -> AsyncIterator[tuple[RecordingStore, Clock]]:
    clock = Clock()
    store = RecordingStore(tmp_path, clock=clock, jitter_seconds=0.2, chunk_seconds=0.5)
    yield store, clock
    await store.close()


def frames(seconds: float) -> int:
    return round(seconds * RATE)


@pytest.mark.parametrize(
    ("codec", "pt", "encode", "table"),
    [("PCMU", 0, encode_ulaw, ULAW_PCM), ("PCMA", 8, encode_alaw, ALAW_PCM)],
)
async def test_two_second_call_with_gap_and_pause(
    clocked_store: tuple[RecordingStore, Clock], codec: str, pt: int, encode, table
) -> None:
    store, clock = clocked_store
    recorder = store.start("call-1", codec)
    packets = 100  # 2 s of 20 ms packets
    caller_audio = encode(tone(400, packets * SAMPLES_PER_PACKET))
    agent_audio = encode(tone(1000, packets * SAMPLES_PER_PACKET, amplitude=6000))
    for k in range(packets):
        clock.ticks = k + 1  # packet k has fully arrived 20 ms after it started
        if k == 65:
            recorder.pause()
        if k == 80:
            recorder.resume()
        window = slice(k * SAMPLES_PER_PACKET, (k + 1) * SAMPLES_PER_PACKET)
        if not 30 <= k < 50:  # the caller's packets for 0.6 s .. 1.0 s are lost
            recorder.feed("caller", packet(caller_audio[window], k, 0xCA11, pt))
        recorder.feed("agent", packet(agent_audio[window], k, 0xA9E7, pt, ts_offset=12345))
        if k % 10 == 0:  # a DTMF event now and then: not audio, so not recorded
            recorder.feed(
                "caller", build_packet(101, 1000 + k, k * 160, 0xCA11, b"\x05\x0a\x00\xa0")
            )
    clock.ticks = packets
    recording = await recorder.finish()

    assert recording.duration == pytest.approx(2.0)
    assert recording.frames == frames(2.0)
    assert recording.codec == codec
    assert recording.paused_seconds == pytest.approx(0.3)
    params, left, right = read_wav(recording.path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, 8000)
    assert params.nframes == frames(2.0)

    # Sample-exact placement: the decoded stream lands where its timestamps say.
    expected_left = decode(caller_audio, table)
    assert left[: frames(0.6)].tobytes() == expected_left[: 2 * frames(0.6)]
    # Each channel carries its own party's tone, not the other's.
    for start, stop in ((0.0, 0.6), (1.0, 1.3), (1.6, 2.0)):
        block = slice(frames(start), frames(stop))
        assert dominant(left[block], FREQUENCIES) == 400.0
        assert dominant(right[block], FREQUENCIES) == 1000.0
        assert goertzel(left[block], 1000) < goertzel(left[block], 400) / 1000
    # The lost packets are silence on the caller's side only.
    gap = slice(frames(0.6), frames(1.0))
    assert max(map(abs, left[gap])) == 0
    assert dominant(right[gap], FREQUENCIES) == 1000.0
    # The paused stretch is silence on both sides.
    paused = slice(frames(1.3), frames(1.6))
    assert max(map(abs, left[paused])) == 0
    assert max(map(abs, right[paused])) == 0
    assert max(map(abs, left[frames(1.6) :])) > 1000


async def test_reordered_packets_land_in_place(
    clocked_store: tuple[RecordingStore, Clock],
) -> None:
    store, clock = clocked_store
    recorder = store.start("reordered", "PCMU")
    audio = encode_ulaw(tone(700, 20 * SAMPLES_PER_PACKET))
    order = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19, 18]
    for step, k in enumerate(order):
        clock.ticks = step + 1
        recorder.feed("agent", packet(audio[k * 160 : (k + 1) * 160], k, 7))
    clock.ticks = 21
    recording = await recorder.finish()
    _, left, right = read_wav(recording.path)
    # The first packet to arrive (index 1) anchors the timeline at the start of the call, so
    # index 0 would fall before the call began and is dropped as late; the rest is in order.
    assert recorder.late == 1
    assert right[: 19 * 160].tobytes() == decode(audio[160:], ULAW_PCM)
    assert max(map(abs, right[19 * 160 :])) == 0
    assert max(map(abs, left)) == 0
    assert len(right) == 21 * 160


async def test_call_length_wins_over_stray_late_and_early_audio(
    clocked_store: tuple[RecordingStore, Clock],
) -> None:
    store, clock = clocked_store
    recorder = store.start("bounds", "PCMU")
    audio = encode_ulaw(tone(425, 160))
    clock.ticks = 1
    recorder.feed("caller", packet(audio, 0, 1))
    # Far in the future, then a burst claiming to be 1 minute ahead: re-anchored, not a gap.
    clock.ticks = 60
    recorder.feed("caller", packet(audio, 3000, 1))
    clock.ticks = 61
    recording = await recorder.finish()
    assert recording.frames == 61 * 160
    _, left, _ = read_wav(recording.path)
    assert left[59 * 160 : 60 * 160].tobytes() == decode(audio, ULAW_PCM)
    # Feeding after the end changes nothing, and finishing twice is an error.
    recorder.feed("caller", packet(audio, 3001, 1))
    with pytest.raises(RecordingError):
        await recorder.finish()


async def test_bad_input_is_ignored_counted_and_logged_without_content(
    clocked_store: tuple[RecordingStore, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = clocked_store
    recorder = store.start("bad-input", "PCMA")
    caplog.set_level(logging.WARNING, logger="recording")
    clock.ticks = 1
    recorder.feed("caller", b"\x00+15551234567 junk")
    recorder.feed("nobody", packet(b"\xd5" * 160, 0, 1, 8))
    recorder.feed("caller", b"\x90\x08\x00\x01" + bytes(8) + b"\x00")  # truncated extension
    assert recorder.ignored == 3
    assert "bad input" in caplog.text
    assert "5551234567" not in caplog.text
    recording = await recorder.finish()
    assert recording.frames == 160


async def test_pause_at_the_end_and_empty_call(clocked_store: tuple[RecordingStore, Clock]) -> None:
    store, clock = clocked_store
    recorder = store.start("empty", "PCMU")
    recorder.pause()
    assert recorder.paused
    clock.ticks = 5
    recording = await recorder.finish()
    assert recording.frames == 5 * 160
    assert recording.paused_seconds == pytest.approx(0.1)
    params, left, right = read_wav(recording.path)
    assert params.nframes == 800
    assert max(map(abs, left)) == max(map(abs, right)) == 0


async def test_store_closing_mid_call_stops_the_recorder_without_breaking_feed(
    tmp_path: Path,
) -> None:
    clock = Clock()
    store = RecordingStore(tmp_path, clock=clock, jitter_seconds=0.1, chunk_seconds=0.1)
    recorder = store.start("cut-short", "PCMU")
    await store.close()
    audio = encode_ulaw(tone(400, 160))
    for k in range(20):  # enough to need a flush, which now cannot be submitted
        clock.ticks = k + 1
        recorder.feed("caller", packet(audio, k, 1))
    with pytest.raises(RecordingError, match="closed"):
        await recorder.finish()

"""Ringback/hold tones: rendered right, played as paced G.711 RTP to the caller leg, stoppable."""

from __future__ import annotations

import itertools

import pytest

from recording.g711 import ALAW_PCM, ULAW_PCM, decode
from telephony.rtp.packet import parse_header
from telephony.rtp.player import MediaPlayer
from telephony.rtp.relay import RtpRelay
from telephony.rtp.tone import HOLD_BEEP, RINGBACK_EU, RINGBACK_US, AudioLoop, Tone
from tests.recording.audio import dominant, goertzel, read_pcm
from tests.telephony.media.phones import Phone

CANDIDATES = (350.0, 425.0, 440.0, 480.0, 620.0, 1000.0)


def test_eu_ringback_is_425_hz_one_second_on_four_off() -> None:
    samples = RINGBACK_EU.samples()
    assert len(samples) == 5 * 8000
    assert dominant(samples[:8000], CANDIDATES) == 425.0
    assert max(map(abs, samples[8000:])) == 0


def test_us_ringback_carries_both_frequencies() -> None:
    on = RINGBACK_US.samples()[: 2 * 8000]
    assert goertzel(on, 440) > 100 * goertzel(on, 1000)
    assert goertzel(on, 480) > 100 * goertzel(on, 1000)
    assert max(map(abs, RINGBACK_US.samples()[2 * 8000 :])) == 0


@pytest.mark.parametrize(("pt", "table"), [(0, ULAW_PCM), (8, ALAW_PCM)])
def test_audio_loop_is_whole_frames_of_the_right_law(pt: int, table: tuple[bytes, ...]) -> None:
    loop = AudioLoop.from_tone(HOLD_BEEP, pt)
    assert len(loop) == 250
    assert all(len(loop.frame(i)) == 160 for i in range(len(loop)))
    assert loop.frame(len(loop)) == loop.frame(0)
    assert dominant(read_pcm(decode(loop.frame(0), table)), CANDIDATES) == 425.0
    # The silent part decodes to (near) silence in either law.
    assert max(map(abs, read_pcm(decode(loop.frame(100), table)))) <= 8


def test_audio_loop_pads_and_validates() -> None:
    assert AudioLoop(b"\x00" * 170, 0).frame(1) == b"\x00" * 10 + b"\xff" * 150
    with pytest.raises(ValueError, match=r"G\.711"):
        AudioLoop(b"\x00" * 160, 18)
    with pytest.raises(ValueError, match="shorter"):
        AudioLoop(b"\x00" * 10, 0)


async def test_player_sends_paced_rtp_to_the_caller_leg_and_stops() -> None:
    relay = RtpRelay("127.0.0.1")
    session = await relay.open_session()
    caller = await Phone.open()
    session.caller.expect("127.0.0.1", caller.port)
    player = MediaPlayer(session.caller.send, AudioLoop.from_tone(Tone((425.0,)), 0), ssrc=77)
    player.start()
    player.start()  # starting twice does not start a second stream
    received = [await caller.next() for _ in range(30)]
    await player.stop()
    assert not player.playing
    headers = [parse_header(data) for data, _ in received]
    assert all(source == ("127.0.0.1", session.caller.local_port) for _, source in received)
    assert {h.ssrc for h in headers} == {77}
    assert {h.payload_type for h in headers} == {0}
    assert headers[0].marker and not any(h.marker for h in headers[1:])
    for before, after in itertools.pairwise(headers):
        assert after.sequence == (before.sequence + 1) & 0xFFFF
        assert after.timestamp == (before.timestamp + 160) & 0xFFFFFFFF
    audio = b"".join(data[12:] for data, _ in received)
    assert dominant(read_pcm(decode(audio, ULAW_PCM)), CANDIDATES) == 425.0
    sent = player.packets_sent
    assert sent >= 30
    assert session.caller.stats().packets_sent == sent
    await player.stop()  # stopping twice is harmless
    caller.close()
    await relay.close()


@pytest.mark.parametrize("pt", [0, 8])
def test_only_the_sounding_part_of_a_cadence_counts_as_sound(pt: int) -> None:
    ringback, beep = AudioLoop.from_tone(RINGBACK_EU, pt), AudioLoop.from_tone(HOLD_BEEP, pt)
    assert [ringback.sounding(i) for i in range(len(ringback))] == [True] * 50 + [False] * 200
    assert sum(map(beep.sounding, range(len(beep)))) == 10
    assert AudioLoop(b"\x00" * 170, 0).sounding(1)  # partly padded: still sound


async def test_the_silent_part_of_a_cadence_is_not_sent() -> None:
    # 60 ms on, 40 ms off: three packets, a two-frame gap, three packets...
    relay = RtpRelay("127.0.0.1")
    session = await relay.open_session()
    caller = await Phone.open()
    session.caller.expect("127.0.0.1", caller.port)
    player = MediaPlayer(session.caller.send, AudioLoop.from_tone(Tone((425.0,), (0.06, 0.04)), 0))
    player.start()
    headers = [parse_header((await caller.next())[0]) for _ in range(9)]
    await player.stop()
    assert [h.marker for h in headers] == [True, False, False] * 3
    for before, after in itertools.pairwise(headers):
        # Sequence numbers count packets; timestamps count time, the gap included.
        assert after.sequence == (before.sequence + 1) & 0xFFFF
        gap = 3 if after.marker else 1
        assert after.timestamp == (before.timestamp + gap * 160) & 0xFFFFFFFF
    assert player.packets_sent == session.caller.stats().packets_sent >= 9
    assert player.suppressed >= 4
    caller.close()
    await relay.close()


def test_a_tone_is_rendered_once_per_payload_type() -> None:
    # Every queued call plays ringback: rendering it per call cost ~90 ms of CPU each.
    assert AudioLoop.from_tone(RINGBACK_EU, 0) is AudioLoop.from_tone(RINGBACK_EU, 0)
    mu, a = AudioLoop.from_tone(RINGBACK_EU, 0), AudioLoop.from_tone(RINGBACK_EU, 8)
    assert (mu.payload_type, a.payload_type) == (0, 8)
    assert mu.frame(0) != a.frame(0)

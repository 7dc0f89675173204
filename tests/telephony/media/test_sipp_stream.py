"""Real sipp phones on both legs stream RTP through a relay session into the recorder."""

from __future__ import annotations

from pathlib import Path

from recording import RecordingStore
from recording.g711 import ULAW_PCM, decode
from telephony.rtp.g711 import encode_ulaw
from telephony.rtp.relay import RtpRelay
from tests.ports import free_media_port, free_port
from tests.recording.audio import dominant, read_pcm, read_wav, tone
from tests.telephony.media.sipp import finished, scenario, sipp

FREQUENCIES = (400.0, 1000.0, 425.0, 700.0)


def loud_frames(samples: list[int] | object, threshold: int = 2000) -> list[int]:
    """Return the indexes of the 20 ms blocks whose peak passes the threshold."""
    data = list(samples)  # type: ignore[call-overload]
    return [
        k
        for k in range(len(data) // 160)
        if max(map(abs, data[k * 160 : (k + 1) * 160])) > threshold
    ]


async def test_sipp_call_is_relayed_both_ways_and_recorded_in_stereo(tmp_path: Path) -> None:
    # One second of tone per party as raw mu-law, which each sipp streams twice (100 packets).
    caller_file, agent_file = tmp_path / "caller.ulaw", tmp_path / "agent.ulaw"
    caller_ulaw, agent_ulaw = encode_ulaw(tone(400, 8000)), encode_ulaw(tone(1000, 8000, 6000))
    caller_file.write_bytes(caller_ulaw)
    agent_file.write_bytes(agent_ulaw)
    relay = RtpRelay("127.0.0.1")
    store = RecordingStore(tmp_path / "recordings")
    recorder = store.start("sipp-call", "PCMU")
    session = await relay.open_session(tee=recorder.feed)
    # sipp binds four ports from -mp (audio and video RTP/RTCP): two blocks that must not meet.
    caller_media = agent_media = free_media_port()
    while abs(agent_media - caller_media) < 4:
        agent_media = free_media_port()
    # What the B2BUA learns from the two SDP bodies; each leg then latches on the first packet.
    session.caller.expect("127.0.0.1", caller_media)
    session.agent.expect("127.0.0.1", agent_media)

    uas = scenario("uas_answer_to_relay.xml", tmp_path, AGENT_AUDIO=str(agent_file))
    uac = scenario("uac_rtp_stream.xml", tmp_path, AUDIO_FILE=str(caller_file))
    uas_port = free_port()
    async with (
        sipp(
            "-sf", str(uas), "-i", "127.0.0.1", "-p", str(uas_port), "-mp", str(agent_media),
            "-m", "1", "-key", "relay_port", str(session.caller.local_port), cwd=tmp_path,
        ) as answering,
        sipp(
            f"127.0.0.1:{uas_port}", "-sf", str(uac), "-i", "127.0.0.1",
            "-p", str(free_port()), "-mp", str(caller_media), "-m", "1",
            "-key", "relay_agent_port", str(session.agent.local_port), cwd=tmp_path,
        ) as calling,
    ):  # fmt: skip
        await finished(calling, "caller", tmp_path)
        await finished(answering, "answering", tmp_path)
    recording = await recorder.finish()
    session.close()
    await session.wait_closed()
    await store.close()

    # Each leg latched and relayed every packet of its party to the other.
    assert session.caller.latched and session.agent.latched
    assert session.caller.stats().packets_received == 100
    assert session.agent.stats().packets_sent == 100
    assert session.agent.stats().packets_received == 100
    assert session.caller.stats().packets_sent == 100

    params, left, right = read_wav(recording.path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, 8000)
    assert params.nframes == recording.frames == round(recording.duration * 8000)
    # Every packet landed on its party's channel, as that party's tone.
    for channel, frequency, ulaw in ((left, 400.0, caller_ulaw), (right, 1000.0, agent_ulaw)):
        loud = loud_frames(channel)
        assert len(loud) >= 100
        first = loud[0] * 160
        streamed = channel[first : first + 16000]
        assert dominant(streamed, FREQUENCIES) == frequency
        expected = read_pcm(decode(ulaw, ULAW_PCM))
        assert max(map(abs, streamed)) == max(map(abs, expected))

"""A real sipp caller streams RTP through a relay session into the recorder."""

from __future__ import annotations

from pathlib import Path

from recording import RecordingStore
from recording.g711 import ULAW_PCM, decode
from telephony.rtp.g711 import encode_ulaw
from telephony.rtp.packet import parse_header
from telephony.rtp.player import MediaPlayer
from telephony.rtp.relay import RtpRelay
from telephony.rtp.tone import AudioLoop, Tone
from tests.recording.audio import dominant, read_pcm, read_wav, tone
from tests.telephony.media.phones import Phone
from tests.telephony.media.sipp import finished, free_udp_port, scenario, sipp

FREQUENCIES = (400.0, 1000.0, 425.0, 700.0)


async def test_sipp_caller_audio_is_relayed_and_recorded(tmp_path: Path) -> None:
    # One second of 400 Hz as raw mu-law, which sipp streams twice: 100 packets.
    audio_file = tmp_path / "caller.ulaw"
    audio_file.write_bytes(encode_ulaw(tone(400, 8000)))
    relay = RtpRelay("127.0.0.1")
    store = RecordingStore(tmp_path / "recordings")
    recorder = store.start("sipp-call", "PCMU")
    session = await relay.open_session(tee=recorder.feed)
    caller_media = free_udp_port()
    # The caller's SDP names this port; the leg latches on its first packet.
    session.caller.expect("127.0.0.1", caller_media)
    agent = await Phone.open()
    session.agent.expect("127.0.0.1", agent.port)
    agent_port = session.agent.local_port
    agent_voice = MediaPlayer(
        lambda packet: agent.send(packet, agent_port), AudioLoop.from_tone(Tone((1000.0,)))
    )
    agent_voice.start()

    uas = scenario("uas_answer_to_relay.xml", tmp_path)
    uac = scenario("uac_rtp_stream.xml", tmp_path, AUDIO_FILE=str(audio_file))
    uas_port = free_udp_port()
    async with (
        sipp(
            "-sf", str(uas), "-i", "127.0.0.1", "-p", str(uas_port), "-mp", str(free_udp_port()),
            "-m", "1", "-key", "relay_port", str(session.caller.local_port), cwd=tmp_path,
        ) as answering,
        sipp(
            f"127.0.0.1:{uas_port}", "-sf", str(uac), "-i", "127.0.0.1",
            "-p", str(free_udp_port()), "-mp", str(caller_media), "-m", "1", cwd=tmp_path,
        ) as calling,
    ):  # fmt: skip
        await finished(calling, "caller", tmp_path)
        await finished(answering, "answering", tmp_path)
    await agent_voice.stop()
    recording = await recorder.finish()
    session.close()
    await session.wait_closed()
    await store.close()

    # The agent's phone got sipp's packets through the relay, untouched.
    relayed = []
    while not agent.received.empty():
        relayed.append(parse_header(agent.received.get_nowait()[0]))
    agent.close()
    assert len(relayed) == 100
    assert {h.payload_type for h in relayed} == {0}
    assert session.caller.latched

    params, left, right = read_wav(recording.path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, 8000)
    assert params.nframes == recording.frames == round(recording.duration * 8000)
    # Every one of sipp's 100 packets landed on the caller's channel, as 400 Hz.
    loud = [
        k for k in range(len(left) // 160) if max(map(abs, left[k * 160 : (k + 1) * 160])) > 2000
    ]
    assert len(loud) >= 100
    first = loud[0] * 160
    caller_audio = left[first : first + 16000]
    assert dominant(caller_audio, FREQUENCIES) == 400.0
    expected = read_pcm(decode(encode_ulaw(tone(400, 8000)), ULAW_PCM))
    assert max(map(abs, caller_audio)) == max(map(abs, expected))
    # The agent's voice is on the right channel.
    assert dominant(right[first : first + 16000], FREQUENCIES) == 1000.0

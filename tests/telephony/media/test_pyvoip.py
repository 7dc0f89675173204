"""pyVoIP adapters against sipp playing a PBX/registrar: REGISTER, INVITE with RTP, BYE."""

from __future__ import annotations

import asyncio
import threading
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from pyVoIP.VoIP import VoIPCall

from recording.g711 import ALAW_PCM, decode
from telephony.pyvoip import (
    CallEnd,
    PbxExtension,
    PyVoipCall,
    PyVoipError,
    SipAccount,
    SoftphoneAgent,
    pcm_from_tone,
    pcm_from_wav,
)
from telephony.pyvoip.audio import pcm16_to_u8, u8_to_pcm16
from telephony.pyvoip.phone import make_phone
from telephony.rtp.g711 import encode_ulaw
from telephony.rtp.packet import parse_header
from telephony.rtp.tone import Tone
from tests.ports import free_media_port, free_port
from tests.recording.audio import dominant, goertzel, read_pcm, tone
from tests.telephony.media.phones import Phone
from tests.telephony.media.sipp import finished, scenario, sipp

# pyVoIP's transmitter thread warns when a send races with the socket closing at hang-up.
pytestmark = pytest.mark.filterwarnings("ignore:RTP Packet failed to send:RuntimeWarning")

ANI, DNIS = "+15551230001", "4711"
FREQUENCIES = (400.0, 1000.0, 425.0, 700.0)
WAIT = 30.0


def account(pbx_port: int) -> SipAccount:
    rtp = free_port()
    return SipAccount(
        server="127.0.0.1",
        port=pbx_port,
        username="switchboard",
        password="secret",
        local_host="127.0.0.1",
        sip_port=free_port(),
        rtp_ports=(rtp, rtp),
        # sipp may still be starting when pyVoIP sends its (never retransmitted) REGISTER.
        register_timeout=2,
    )


@asynccontextmanager
async def pbx(
    name: str, directory: Path, *extra: str
) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    """Run sipp as the PBX: it answers two REGISTERs (register, deregister) and makes one call."""
    audio = directory / "pbx.ulaw"
    audio.write_bytes(encode_ulaw(tone(400, 8000)))  # streamed twice: 2 s
    path = scenario(name, directory, AUDIO_FILE=str(audio))
    port = free_port()
    async with sipp(
        "-sf", str(path), "-i", "127.0.0.1", "-p", str(port), "-mp", str(free_media_port()),
        "-m", "2", *extra, cwd=directory,
    ) as process:  # fmt: skip
        yield port, process


def test_audio_conversion_round_trips_the_high_byte() -> None:
    pcm = read_pcm(
        b"".join(s.to_bytes(2, "little", signed=True) for s in (-32768, -256, 0, 255, 32767))
    )
    u8 = pcm16_to_u8(pcm.tobytes())
    assert u8 == bytes([0x00, 0x7F, 0x80, 0x80, 0xFF])
    assert list(read_pcm(u8_to_pcm16(u8))) == [-32768, -256, 0, 0, 32512]


async def test_pbx_extension_delivers_the_call_with_ani_dnis_and_audio(tmp_path: Path) -> None:
    calls: asyncio.Queue[tuple[PyVoipCall, bytes]] = asyncio.Queue()

    async def on_call(call: PyVoipCall) -> None:
        await call.answer()
        heard = bytearray()
        while frame := await call.audio.get():
            heard += frame
        await calls.put((call, bytes(heard)))

    async with pbx("pbx_calls_then_hangs_up.xml", tmp_path) as (port, process):
        extension = PbxExtension(account(port), on_call)
        await extension.start()
        assert extension.status.name == "REGISTERED"
        call, heard = await asyncio.wait_for(calls.get(), WAIT)
        await extension.stop()
        await finished(process, "PBX", tmp_path)
    assert (call.ani, call.dnis) == (ANI, DNIS)
    assert call.ended_by is CallEnd.REMOTE
    assert call.answered.is_set() and call.ended.is_set()
    samples = read_pcm(heard)
    loud = [s for s in samples if abs(s) > 2000]
    assert len(loud) > 4000  # a good part of the 2 s of tone came through
    assert dominant(samples, FREQUENCIES) == 400.0


async def test_stopping_the_extension_declines_a_ringing_call(tmp_path: Path) -> None:
    ringing: asyncio.Queue[PyVoipCall] = asyncio.Queue()

    async def on_call(call: PyVoipCall) -> None:
        await ringing.put(call)
        await call.ended.wait()  # never answers

    async with pbx("pbx_calls_and_expects_decline.xml", tmp_path) as (port, process):
        extension = PbxExtension(account(port), on_call)
        await extension.start()
        call = await asyncio.wait_for(ringing.get(), WAIT)
        assert not call.answered.is_set()
        await extension.stop()
        # The PBX got its 486 (and the deregistration): its scenario passed.
        await finished(process, "PBX", tmp_path)
    await asyncio.wait_for(call.ended.wait(), WAIT)
    assert call.ended_by is CallEnd.LOCAL
    assert (call.ani, call.dnis) == (ANI, DNIS)


async def test_softphone_answers_plays_records_and_hangs_up(tmp_path: Path) -> None:
    play = b"".join(
        s.to_bytes(2, "little", signed=True) for s in Tone((1000.0,), amplitude=8000).samples()
    )
    async with pbx("pbx_calls_and_waits_for_bye.xml", tmp_path) as (port, process):
        agent = SoftphoneAgent(account(port), answer_after=0.2, play=play, hang_up_after=1.5)
        await agent.start()
        taken = await asyncio.wait_for(agent.calls.get(), WAIT)
        await agent.stop()
        await finished(process, "PBX", tmp_path)
    assert (taken.ani, taken.dnis) == (ANI, DNIS)
    assert taken.ended_by is CallEnd.LOCAL
    samples = read_pcm(taken.heard)
    assert len([s for s in samples if abs(s) > 2000]) > 2000
    assert dominant(samples, FREQUENCIES) == 400.0


async def test_softphone_sends_real_pcma_when_only_pcma_is_offered(tmp_path: Path) -> None:
    # The PBX points the call's media at this endpoint, so we see exactly what pyVoIP sends.
    phone = await Phone.open()
    play = pcm_from_tone(Tone((1000.0,), amplitude=8000), 1.0)
    async with pbx(
        "pbx_calls_pcma_to_phone.xml", tmp_path, "-key", "phone_port", str(phone.port)
    ) as (port, process):
        agent = SoftphoneAgent(account(port), play=play, hang_up_after=1.5)
        await agent.start()
        taken = await asyncio.wait_for(agent.calls.get(), WAIT)
        await agent.stop()
        await finished(process, "PBX", tmp_path)
    assert taken.ended_by is CallEnd.LOCAL
    packets = []
    while not phone.received.empty():
        packets.append(phone.received.get_nowait()[0])
    phone.close()
    headers = [parse_header(p) for p in packets]
    assert headers and {h.payload_type for h in headers} == {8}
    payload = b"".join(p[h.payload_offset :] for p, h in zip(packets, headers, strict=True))
    samples = read_pcm(decode(payload, ALAW_PCM))
    start = next(i for i, s in enumerate(samples) if abs(s) > 1000)
    played = samples[start : start + 7600]  # within the one second of tone
    assert len(played) == 7600
    # Real A-law decodes to a clean 1 kHz tone at the level played; mu-law bytes labelled
    # PCMA (pyVoIP 1.6.8's bug, patched in the adapter) decode to a louder, distorted one.
    energy = sum(s * s for s in played)
    assert goertzel(played, 1000) / (energy * len(played) / 2) > 0.99
    assert 7000 <= max(map(abs, played)) <= 9000


def test_play_helpers(tmp_path: Path) -> None:
    pcm = pcm_from_tone(Tone((425.0,), (0.5, 0.5)), 2.5)
    samples = read_pcm(pcm)
    assert len(samples) == 20000
    assert dominant(samples[:4000], FREQUENCIES) == 425.0
    assert max(map(abs, samples[4000:8000])) == 0
    assert samples[8000:12000] == samples[:4000]  # the cadence loops
    path = tmp_path / "hold.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)
    assert pcm_from_wav(path) == pcm
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)
    with pytest.raises(ValueError, match="mono 16-bit 8 kHz"):
        pcm_from_wav(path)


async def test_registration_refused_is_an_error(tmp_path: Path) -> None:
    # Nobody listens on this port: every REGISTER times out, and pyVoIP gives up after three.
    silent = account(free_port())
    extension = PbxExtension(
        SipAccount(
            server=silent.server,
            port=silent.port,
            username="x",
            password="y",
            sip_port=silent.sip_port,
            rtp_ports=silent.rtp_ports,
            register_timeout=1,
        ),
        lambda call: call.answer(),
    )
    with pytest.raises(PyVoipError, match="registration failed"):
        await extension.start()


def test_a_collected_call_frees_its_rtp_port_without_waiting_for_a_lock() -> None:
    """pyVoIP's VoIPCall.__del__ runs wherever the collector does, inside any lock: no waiting."""
    phone = make_phone(account(free_port()), on_call=lambda call: None, on_status=print)
    port = phone.request_port(blocking=False)
    collected_call = SimpleNamespace(phone=phone, assignedPorts={port: None})
    finaliser = threading.Thread(target=VoIPCall.__del__, args=(collected_call,))
    with phone.portsLock:  # as when the collector runs in a thread holding it
        finaliser.start()
        finaliser.join(timeout=WAIT)
        assert not finaliser.is_alive(), "the finaliser waited for portsLock"
    assert phone.request_port(blocking=False) == port  # the only port in the range, free again

"""Calls a PBX sends to Switchboard's pyVoIP extension: queued, bridged to an agent, ended.

sipp plays the PBX (it answers the extension's REGISTER, then calls it and streams a tone);
the agent is pyVoIP's softphone registered to Switchboard, a second independent SIP stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest

from recording.g711 import ALAW_PCM, decode
from router import CallFinished
from router.events import CallDequeued, Outcome
from telephony.calls.pbx_ingress import PbxIngress, setup_pbx_ingress, ulaw_to_pcm16
from telephony.pyvoip import (
    CallEnd,
    PbxExtension,
    PyVoipCall,
    SipAccount,
    SoftphoneAgent,
    pcm_from_tone,
)
from telephony.rtp.g711 import encode_ulaw, linear_to_ulaw
from telephony.rtp.packet import parse_header
from telephony.rtp.tone import RINGBACK_EU, Tone
from tests.ports import free_port
from tests.recording.audio import dominant, read_pcm, read_wav, tone
from tests.telephony.calls.harness import (
    AGENT_TONE,
    CALLER_TONE,
    PASSWORD,
    Switchboard,
    closed,
    free_media_port,
    switchboard,
)
from tests.telephony.calls.test_sipp_calls import ROUTES, SALES, TONES, loud_blocks
from tests.telephony.conftest import WAIT
from tests.telephony.media.phones import Phone
from tests.telephony.media.sipp import finished, scenario, sipp

# pyVoIP's transmitter thread warns when a send races with the socket closing at hang-up.
pytestmark = pytest.mark.filterwarnings("ignore:RTP Packet failed to send:RuntimeWarning")

PBX_CALLER = "+15551230001"
ROUTE_NUMBER = "5000"


def extension_account(pbx_port: int) -> SipAccount:
    """Switchboard's extension on the sipp PBX."""
    rtp = free_port()
    return SipAccount(
        server="127.0.0.1",
        port=pbx_port,
        username="switchboard",
        password="secret",
        sip_port=free_port(),
        rtp_ports=(rtp, rtp),
        # sipp may still be starting when pyVoIP sends its (never retransmitted) REGISTER.
        register_timeout=2,
    )


@asynccontextmanager
async def pbx(
    workdir: Path, name: str, *extra: str, seconds: int, hang_up_after_ms: int = 2500
) -> AsyncIterator[tuple[int, asyncio.subprocess.Process, Path]]:
    """Run sipp as the PBX: it answers REGISTERs and calls the extension (tone for `seconds`)."""
    directory = workdir / "pbx"
    directory.mkdir()
    audio = directory / "pbx.ulaw"
    audio.write_bytes(encode_ulaw(tone(CALLER_TONE, 8000)))  # one second, looped
    replacements = {
        "AUDIO_FILE,2,0": f"{audio},{seconds},0",
        'milliseconds="2500"': f'milliseconds="{hang_up_after_ms}"',
    }
    path = scenario(name, directory, **replacements)
    port = free_port()
    async with sipp(
        "-sf", str(path), "-i", "127.0.0.1", "-p", str(port), "-mp", str(free_media_port()),
        "-m", "2", *extra, cwd=directory,
    ) as process:  # fmt: skip
        yield port, process, directory


@asynccontextmanager
async def pbx_call(
    sb: Switchboard,
    name: str,
    *extra: str,
    seconds: int,
    hang_up_after_ms: int = 2500,
    route_number: str = ROUTE_NUMBER,
) -> AsyncIterator[asyncio.Queue[PyVoipCall]]:
    """Run the sipp PBX and Switchboard's extension on it, routing to `route_number`.

    Yields a queue that gets each PBX call once the ingress has finished with it.
    """
    served: asyncio.Queue[PyVoipCall] = asyncio.Queue()
    ingress = PbxIngress(sb.b2bua, route_number)

    async def take(call: PyVoipCall) -> None:
        await ingress.take(call)
        served.put_nowait(call)

    async with pbx(
        sb.workdir, name, *extra, seconds=seconds, hang_up_after_ms=hang_up_after_ms
    ) as (port, process, directory):
        extension = PbxExtension(extension_account(port), take)
        await extension.start()
        try:
            yield served
        finally:
            await extension.stop()
        # Its scenario passed: the call went as expected, and the extension deregistered.
        await finished(process, "PBX", directory)


async def agent_phone(sb: Switchboard, **options: object) -> SoftphoneAgent:
    """Register alice's pyVoIP softphone with Switchboard; it plays the agent's tone."""
    rtp = free_port()
    phone = SoftphoneAgent(
        SipAccount(
            server="127.0.0.1",
            port=sb.port,
            username="alice",
            password=PASSWORD,
            sip_port=free_port(),
            rtp_ports=(rtp, rtp),
        ),
        play=pcm_from_tone(Tone((AGENT_TONE,)), 8.0),
        **options,  # type: ignore[arg-type]
    )
    await phone.start()
    return phone


def test_ulaw_expansion_inverts_the_encoder() -> None:
    for code in range(256):
        sample = ulaw_to_pcm16(bytes([code]))
        value = int.from_bytes(sample, "little", signed=True)
        # 0x7F is mu-law's negative zero; the encoder writes 0 as 0xFF.
        assert linear_to_ulaw(value) == (0xFF if code == 0x7F else code)


async def test_pbx_call_is_queued_bridged_recorded_and_ended_by_the_pbx(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phone = await agent_phone(sb)
        try:
            sb.ready("a1")
            async with pbx_call(
                sb, "pbx_calls_then_hangs_up.xml", seconds=8, hang_up_after_ms=6000
            ):
                await sb.events.wait(CallFinished)
            taken = await asyncio.wait_for(phone.calls.get(), WAIT)
        finally:
            await phone.stop()
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
    assert (incoming.ani, incoming.dnis) == (PBX_CALLER, ROUTE_NUMBER)
    assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a1")]
    # The PBX hung up; Switchboard then hung up the agent.
    assert taken.ended_by is CallEnd.REMOTE
    # The agent heard the PBX caller's tone: pyVoIP frames -> RTP -> relay -> agent leg.
    heard = read_pcm(taken.heard)
    loud = loud_blocks(heard)
    assert len(loud) >= 50, f"{len(loud)} loud blocks"
    assert dominant(heard[loud[0] * 160 : loud[0] * 160 + 8000], TONES) == CALLER_TONE
    # Both directions went through the relay's recording tee: caller left, agent right.
    recording = await sb.store.get(incoming.call_id)
    assert recording is not None
    _, left, right = read_wav(recording.path)
    for channel, frequency in ((left, CALLER_TONE), (right, AGENT_TONE)):
        loud = loud_blocks(channel)
        assert len(loud) >= 50, f"{frequency} Hz: {len(loud)} loud blocks"
        start = loud[0] * 160
        assert dominant(channel[start : start + 8000], TONES) == frequency


async def test_agent_hang_up_ends_the_pbx_call(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phone = await agent_phone(sb, hang_up_after=1.5)
        try:
            sb.ready("a1")
            # The PBX scenario passes only if the extension sends it a BYE.
            async with pbx_call(sb, "pbx_calls_and_waits_for_bye.xml", seconds=8):
                await sb.events.wait(CallFinished)
                taken = await asyncio.wait_for(phone.calls.get(), WAIT)
        finally:
            await phone.stop()
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
    assert taken.ended_by is CallEnd.LOCAL
    assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a1")]


async def test_pbx_caller_hanging_up_while_queued_is_abandoned(tmp_path: Path) -> None:
    # Nobody is ready: the caller waits in the queue, then the PBX hangs up.
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        async with pbx_call(sb, "pbx_calls_then_hangs_up.xml", seconds=2):
            dequeued = await sb.events.wait(CallDequeued)
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
    assert dequeued.call_id == incoming.call_id
    assert dequeued.outcome is Outcome.ABANDONED
    assert not sb.events.of(CallFinished)
    assert await sb.store.get(incoming.call_id) is None


async def test_pbx_caller_hears_ringback_then_the_agent(tmp_path: Path) -> None:
    # The PBX points the call's media at this endpoint: it gets exactly what pyVoIP sends.
    pbx_side = await Phone.open()
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phone = await agent_phone(sb, answer_after=1.0, hang_up_after=2.0)
        try:
            sb.ready("a1")
            async with pbx_call(
                sb, "pbx_calls_pcma_to_phone.xml", "-key", "phone_port", str(pbx_side.port),
                seconds=1,
            ):  # fmt: skip
                await sb.events.wait(CallFinished)
                await asyncio.wait_for(phone.calls.get(), WAIT)
        finally:
            await phone.stop()
            packets = []
            while not pbx_side.received.empty():
                packets.append(pbx_side.received.get_nowait()[0])
            pbx_side.close()
    headers = [parse_header(p) for p in packets]
    payload = b"".join(p[h.payload_offset :] for p, h in zip(packets, headers, strict=True))
    samples = read_pcm(decode(payload, ALAW_PCM))
    loud = loud_blocks(samples)
    assert len(loud) >= 50, f"{len(loud)} loud blocks"
    frequencies = (*TONES, *RINGBACK_EU.frequencies)
    first, last = loud[0] * 160, loud[-1] * 160
    # Queued: the ringback; bridged: the agent's tone (pyVoIP sent both on to the PBX).
    assert dominant(samples[first : first + 1600], frequencies) in RINGBACK_EU.frequencies
    assert dominant(samples[last - 4000 : last], frequencies) == AGENT_TONE


async def test_a_call_to_an_unrouted_number_is_declined(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        # The PBX scenario passes only if the extension answers its INVITE with 486.
        async with pbx_call(
            sb, "pbx_calls_and_expects_decline.xml", seconds=1, route_number="9999"
        ) as served:
            call = await asyncio.wait_for(served.get(), WAIT)
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
    assert incoming.dnis == "9999"
    assert not call.answered.is_set()
    assert call.ended_by is CallEnd.LOCAL
    assert not sb.events.of(CallDequeued)


async def test_setup_pbx_ingress_registers_in_the_app_and_routes_its_calls(
    tmp_path: Path,
) -> None:
    async with pbx(tmp_path, "pbx_calls_then_hangs_up.xml", seconds=2) as (port, process, dir_):
        ingress_on = partial(
            setup_pbx_ingress, account=extension_account(port), route_number=ROUTE_NUMBER
        )
        async with switchboard(
            tmp_path, [SALES], {"a1": "alice"}, ROUTES, configure=ingress_on
        ) as sb:
            dequeued = await sb.events.wait(CallDequeued)
            [incoming] = sb.intake.calls
            await closed(sb, incoming.call_id)
        # The app's cleanup stopped the extension, which deregistered: the PBX's second call.
        await finished(process, "PBX", dir_)
    assert (incoming.ani, incoming.dnis) == (PBX_CALLER, ROUTE_NUMBER)
    assert dequeued.outcome is Outcome.ABANDONED

"""A second, independent SIP stack as the agent: pyVoIP's softphone registers and auto-answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from router import CallFinished
from telephony.pyvoip import CallEnd, SipAccount, SoftphoneAgent, pcm_from_tone
from telephony.rtp.tone import Tone
from tests.ports import free_port
from tests.recording.audio import dominant, read_pcm, read_wav
from tests.telephony.calls.harness import (
    AGENT_TONE,
    CALLER_TONE,
    PASSWORD,
    Phones,
    closed,
    passed,
    switchboard,
)
from tests.telephony.calls.test_sipp_calls import ROUTES, SALES, TONES, loud_blocks
from tests.telephony.conftest import WAIT

# pyVoIP's transmitter thread warns when a send races with the socket closing at hang-up.
pytestmark = pytest.mark.filterwarnings("ignore:RTP Packet failed to send:RuntimeWarning")


async def test_sipp_caller_is_bridged_to_a_pyvoip_softphone(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
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
            play=pcm_from_tone(Tone((AGENT_TONE,)), 3.0),
        )
        await phone.start()
        try:
            assert sb.registrar.lookup("alice")
            sb.ready("a1")
            caller = await Phones(sb).caller("caller_hangs_up.xml", "5000")
            await passed(caller)
            taken = await asyncio.wait_for(phone.calls.get(), WAIT)
        finally:
            await phone.stop()
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
        assert taken.ended_by is CallEnd.REMOTE
        # The softphone heard the caller's tone through the relay.
        heard = read_pcm(taken.heard)
        loud = loud_blocks(heard)
        assert len(loud) >= 50
        assert dominant(heard[loud[0] * 160 : loud[0] * 160 + 8000], TONES) == CALLER_TONE
        assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a1")]
        recording = await sb.store.get(incoming.call_id)
        assert recording is not None
        _, left, right = read_wav(recording.path)
        for channel, frequency in ((left, CALLER_TONE), (right, AGENT_TONE)):
            loud = loud_blocks(channel)
            assert len(loud) >= 50, f"{frequency} Hz: {len(loud)} loud blocks"
            start = loud[0] * 160
            assert dominant(channel[start : start + 8000], TONES) == frequency

"""Whole calls through the B2BUA with sipp callers and sipp agent phones that register first."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from recording.g711 import ULAW_PCM, decode
from router import AgentState, CallDequeued, CallFinished, CallQueued, Offer, QueueSpec
from router.events import AgentStateChanged, OfferTimedOut, Outcome, UnknownCall
from telephony.rtp.g711 import encode_alaw
from telephony.rtp.packet import parse_header
from telephony.sdp import parse_sdp
from tests.ports import free_port
from tests.recording.audio import dominant, read_pcm, read_wav, tone
from tests.telephony.calls.harness import (
    AGENT_TONE,
    CALLER_TONE,
    Phones,
    Route,
    Switchboard,
    closed,
    passed,
    switchboard,
)
from tests.telephony.conftest import WAIT, UdpPeer, finish_sipp
from tests.telephony.sip.helpers import raw_request, response

SALES = QueueSpec(id="sales", offer_timeout_s=5.0, wrap_up_s=30.0, rona_max_misses=1)
ROUTES = {"5000": Route("sales")}
TONES = (CALLER_TONE, AGENT_TONE, 425.0, 700.0)


SDP_PCMA = (
    b"v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio PORT RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
)


def raw_invite(peer: UdpPeer, body: bytes) -> bytes:
    """An INVITE to 5000 (the sales route) from a raw UDP peer."""
    text = raw_request(
        "INVITE", peer.port, extra="Content-Type: application/sdp\r\n", body=body
    ).decode()
    return text.replace("sip:agent@127.0.0.1 SIP/2.0", "sip:5000@127.0.0.1 SIP/2.0", 1).encode()


def alaw_file(path: Path, frequency: float) -> Path:
    """Write one second of a tone as raw A-law (sipp's rtp_stream with payload type 8)."""
    path.write_bytes(encode_alaw(tone(frequency, 8000, 6000)))
    return path


def loud_blocks(samples: object, threshold: int = 2000) -> list[int]:
    """Return the indexes of the 20 ms blocks whose peak passes the threshold."""
    data = list(samples)  # type: ignore[call-overload]
    return [
        k
        for k in range(len(data) // 160)
        if max(map(abs, data[k * 160 : (k + 1) * 160])) > threshold
    ]


async def check_recording(sb: Switchboard, call_id: str) -> None:
    """The call's WAV: stereo, as long as the connected call, caller left, agent right."""
    recording = await sb.store.get(call_id)
    assert recording is not None
    answered = sb.events.time_of(
        lambda e: isinstance(e, CallDequeued) and e.outcome is Outcome.ANSWERED
    )
    finished = sb.events.time_of(lambda e: isinstance(e, CallFinished))
    # The recording spans the bridge: from the answer to the hang-up, as the router saw them.
    assert abs(recording.duration - (finished - answered)) < 0.25
    params, left, right = read_wav(recording.path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, 8000)
    assert params.nframes == recording.frames == round(recording.duration * 8000)
    # Each party streamed 2 s (100 packets): every one of them is on its own channel.
    for channel, frequency in ((left, CALLER_TONE), (right, AGENT_TONE)):
        loud = loud_blocks(channel)
        assert len(loud) >= 98, f"{frequency} Hz: {len(loud)} loud blocks"
        start = loud[0] * 160
        assert dominant(channel[start : start + 8000], TONES) == frequency


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_queued_caller_is_bridged_recorded_and_hangs_up(
    transport: str, tmp_path: Path
) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phones = Phones(sb)
        agent = await phones.agent("alice", "agent_answers.xml", transport)
        caller = await phones.caller("caller_hangs_up.xml", "5000", transport)
        # No agent is ready: the caller waits in the queue (180) until one is.
        queued = await sb.events.wait(CallQueued)
        [incoming] = sb.intake.calls
        assert (incoming.ani, incoming.dnis, incoming.customer_hint) == (
            "+4930123456",
            "5000",
            "C-1001",
        )
        call = sb.b2bua.call(queued.call_id)
        assert call is not None and not call.connected
        sb.ready("a1")
        await sb.events.wait(Offer, lambda o: o.agent_id == "a1")
        # Junk on the SIP port mid-call is logged and dropped; the listener and call go on.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            for datagram in (b"\x00\xff" * 40, b"INVITE sip:x SIP/2.0\r\n\r\n", b"BYE\r\n"):
                junk.sendto(datagram, ("127.0.0.1", sb.port))
        await passed(caller)
        await passed(agent)
        await closed(sb, queued.call_id)
        assert sb.events.of(CallFinished) == [CallFinished(queued.call_id, "a1")]
        assert sb.runtime.engine.agent_snapshot("a1").state is AgentState.WRAP_UP
        await check_recording(sb, queued.call_id)


@pytest.mark.parametrize(("caller_transport", "agent_transport"), [("UDP", "TCP"), ("TCP", "UDP")])
async def test_agent_hangs_up_and_the_caller_leg_ends_too(
    caller_transport: str, agent_transport: str, tmp_path: Path
) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phones = Phones(sb)
        agent = await phones.agent("alice", "agent_hangs_up.xml", agent_transport)
        sb.ready("a1")
        caller = await phones.caller("caller_waits_for_bye.xml", "5000", caller_transport)
        await passed(agent)
        await passed(caller)
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
        assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a1")]
        await check_recording(sb, incoming.call_id)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_caller_cancels_while_queued(transport: str, tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        caller = await Phones(sb).caller("caller_cancels.xml", "5000", transport)
        await passed(caller)
        dequeued = await sb.events.wait(CallDequeued)
        assert dequeued.outcome is Outcome.ABANDONED
        await closed(sb, dequeued.call_id)
        assert sb.runtime.engine.call_ids() == ()
        assert await sb.store.get(dequeued.call_id) is None


async def test_ring_no_answer_cancels_and_the_next_agent_answers(tmp_path: Path) -> None:
    # a1 rings for 1.5 s unanswered; a2 answers at once (well within its own 1.5 s).
    quick = QueueSpec(id="sales", offer_timeout_s=1.5, wrap_up_s=30.0, rona_max_misses=1)
    agents = {"a1": "alice", "a2": "bob"}
    async with switchboard(tmp_path, [quick], agents, ROUTES) as sb:
        phones = Phones(sb)
        silent = await phones.agent("alice", "agent_no_answer.xml")
        answering = await phones.agent("bob", "agent_answers.xml")
        sb.ready("a1", "a2")  # a1 has been idle longest: it is offered the call first
        caller = await phones.caller("caller_hangs_up.xml", "5000")
        await passed(silent)  # it rang, got the CANCEL, answered 487 and got its ACK
        await passed(caller)
        await passed(answering)
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
        offers = [(o.agent_id) for o in sb.events.of(Offer)]
        assert offers == ["a1", "a2"]
        [missed] = sb.events.of(OfferTimedOut)
        assert missed.agent_id == "a1"
        assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a2")]
        states = [e.new for e in sb.events.of(AgentStateChanged) if e.agent_id == "a1"]
        assert states[-1] is AgentState.NOT_READY


async def test_an_agent_that_declines_is_skipped_for_the_next(tmp_path: Path) -> None:
    agents = {"a1": "alice", "a2": "bob"}
    async with switchboard(tmp_path, [SALES], agents, ROUTES) as sb:
        phones = Phones(sb)
        busy = await phones.agent("alice", "agent_busy.xml")
        answering = await phones.agent("bob", "agent_answers.xml")
        sb.ready("a1", "a2")
        caller = await phones.caller("caller_hangs_up.xml", "5000")
        await passed(busy)  # it answered 486 and got its ACK
        await passed(caller)
        await passed(answering)
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
        assert [o.agent_id for o in sb.events.of(Offer)] == ["a1", "a2"]
        [rejected] = sb.events.of(OfferTimedOut)
        assert rejected.agent_id == "a1" and "rejected" in rejected.reason.why
        assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a2")]


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_redirect_mode_answers_302_to_the_agents_contact(
    transport: str, tmp_path: Path
) -> None:
    routes = {"5000": Route("sales", redirect=True)}
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, routes) as sb:
        phones = Phones(sb)
        await phones.register("alice", free_port())
        sb.ready("a1")
        caller = await phones.caller(
            "caller_redirected.xml", "5000", transport, EXPECTED_AGENT="alice"
        )
        await passed(caller)  # its ereg checked the Contact of the 302 names alice
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)
        assert sb.events.of(CallFinished) == [CallFinished(incoming.call_id, "a1")]
        assert await sb.store.get(incoming.call_id) is None  # no media, so no recording


async def test_redirect_scenario_fails_when_the_contact_names_another_agent(
    tmp_path: Path,
) -> None:
    # The control for the test above: its ereg really reads the 302's Contact.
    routes = {"5000": Route("sales", redirect=True)}
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, routes) as sb:
        phones = Phones(sb)
        await phones.register("alice", free_port())
        sb.ready("a1")
        process, directory = await phones.caller(
            "caller_redirected.xml", "5000", EXPECTED_AGENT="bob"
        )
        result = await finish_sipp(process, directory)
        assert result.returncode != 0
        assert "regexp" in result.errors.lower() or "ereg" in result.errors.lower()


async def test_hold_pauses_the_recording_and_reinvites_the_agent(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phones = Phones(sb)
        agent = await phones.agent("alice", "agent_held_and_resumed.xml")
        sb.ready("a1")
        caller = await phones.caller("caller_hangs_up.xml", "5000")
        answered = await sb.events.wait(CallDequeued, lambda e: e.outcome is Outcome.ANSWERED)
        call = sb.b2bua.call(answered.call_id)
        assert call is not None and call.media is not None
        media = call.media
        sb.b2bua.hold(answered.call_id)
        assert not media.session.forwarding
        await asyncio.wait_for(call.settled.wait(), WAIT)  # the agent's phone took a=inactive
        sb.b2bua.resume(answered.call_id)
        await asyncio.wait_for(call.settled.wait(), WAIT)  # ...and a=sendrecv
        assert media.session.forwarding
        assert media.packets_played >= 1
        await passed(caller)
        await passed(agent)  # its eregs checked both re-INVITEs' directions
        await closed(sb, answered.call_id)
        recording = await sb.store.get(answered.call_id)
        assert recording is not None and recording.paused_seconds > 0
        with pytest.raises(UnknownCall):
            sb.b2bua.hold(answered.call_id)


async def test_blind_transfer_ends_the_agent_leg_and_rings_the_next_agent(
    tmp_path: Path,
) -> None:
    agents = {"a1": "alice", "a2": "bob"}
    async with switchboard(tmp_path, [SALES], agents, ROUTES) as sb:
        phones = Phones(sb)
        first = await phones.agent("alice", "agent_answers.xml")
        second = await phones.agent("bob", "agent_answers.xml")
        sb.ready("a1", "a2")  # a1 has been idle longest: it answers first
        caller = await phones.caller("caller_hangs_up.xml", "5000")
        answered = await sb.events.wait(CallDequeued, lambda e: e.outcome is Outcome.ANSWERED)
        sb.b2bua.transfer(answered.call_id, agent_id="a2")
        await passed(first)  # its leg got a BYE
        await sb.events.wait(Offer, lambda o: o.agent_id == "a2")
        await passed(caller)  # one dialog for the caller throughout, BYE at the end
        await passed(second)
        await closed(sb, answered.call_id)
        assert sb.events.of(CallFinished) == [
            CallFinished(answered.call_id, "a1"),
            CallFinished(answered.call_id, "a2"),
        ]
        recording = await sb.store.get(answered.call_id)
        assert recording is not None  # one WAV for the whole call, across the transfer
        _, left, right = read_wav(recording.path)
        assert len(loud_blocks(left)) >= 98 and len(loud_blocks(right)) >= 98
        with pytest.raises(UnknownCall):
            sb.b2bua.transfer(answered.call_id, queue_id="sales")


async def test_alaw_call_is_bridged_and_dtmf_passes_through(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phones = Phones(sb)
        phones.audio = {
            "CALLER_AUDIO": str(alaw_file(tmp_path / "caller.alaw", CALLER_TONE)),
            "AGENT_AUDIO": str(alaw_file(tmp_path / "agent.alaw", AGENT_TONE)),
        }
        agent = await phones.agent("alice", "agent_answers_alaw.xml")  # checks a PCMA-only offer
        sb.ready("a1")
        caller = await phones.caller("caller_alaw_dtmf.xml", "5000")
        answered = await sb.events.wait(CallDequeued, lambda e: e.outcome is Outcome.ANSWERED)
        call = sb.b2bua.call(answered.call_id)
        assert call is not None and call.media is not None and call.media.recorder is not None
        media, recorder = call.media, call.media.recorder
        await passed(caller)
        await passed(agent)
        await closed(sb, answered.call_id)
        # The caller's telephone-events reached the agent's side of the relay unchanged, and
        # were kept out of the recording's audio.
        caller_leg, agent_leg = media.session.caller.stats(), media.session.agent.stats()
        assert caller_leg.packets_received > 100  # 100 audio packets and the DTMF events
        assert agent_leg.packets_sent == caller_leg.packets_received
        assert getattr(recorder, "ignored", 0) == caller_leg.packets_received - 100
        recording = await sb.store.get(answered.call_id)
        assert recording is not None and recording.codec == "PCMA"
        await check_recording(sb, answered.call_id)


async def test_an_answer_without_an_offered_codec_is_hung_up_and_rejected(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        agent = await Phones(sb).agent("alice", "agent_answers.xml")  # always answers PCMU
        sb.ready("a1")
        pcma = SDP_PCMA.replace(b"PORT", str(free_port()).encode())
        udp_peer.send(raw_invite(udp_peer, pcma), sb.port)
        missed = await sb.events.wait(OfferTimedOut)
        assert missed.agent_id == "a1" and "rejected" in missed.reason.why
        await passed(agent)  # it got the ACK, then our BYE
        assert sb.events.of(CallDequeued) == []  # the caller still waits, never bridged
        assert sb.runtime.engine.call_ids() == (sb.intake.calls[0].call_id,)


async def test_late_offer_caller_answers_in_the_ack_and_hears_the_agent(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    loop = asyncio.get_running_loop()
    rtp, media = await loop.create_datagram_endpoint(UdpPeer, local_addr=("127.0.0.1", 0))
    try:
        async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
            agent = await Phones(sb).agent("alice", "agent_answers.xml")
            sb.ready("a1")
            udp_peer.send(raw_invite(udp_peer, b""), sb.port)  # no SDP: a late offer
            while (ok := response(await udp_peer.recv())).status < 200:
                assert ok.status != 183  # no early media without the caller's offer
            assert ok.status == 200
            offer = parse_sdp(ok.body)  # Switchboard's offer: the codec the agent chose
            assert offer.audio().formats[0] == "0"
            answer = SDP_PCMA.replace(b"PORT", str(media.port).encode())
            answer = answer.replace(
                b"RTP/AVP 8\r\na=rtpmap:8 PCMA", b"RTP/AVP 0\r\na=rtpmap:0 PCMU"
            )
            tag = ok.to_address().tag
            ack = raw_request(
                "ACK",
                udp_peer.port,
                to_tag=tag,
                extra="Content-Type: application/sdp\r\n",
                body=answer,
            )
            udp_peer.send(ack, sb.port)
            # The agent's tone now reaches the caller's media port through the relay.
            datagrams = [await media.recv() for _ in range(25)]
            payload = b"".join(d[parse_header(d).payload_offset :] for d in datagrams)
            assert dominant(read_pcm(decode(payload, ULAW_PCM)), TONES) == AGENT_TONE
            bye = raw_request("BYE", udp_peer.port, to_tag=tag, cseq=2)
            udp_peer.send(bye, sb.port)
            assert response(await udp_peer.recv()).status == 200
            await passed(agent)
            await closed(sb, sb.intake.calls[0].call_id)
    finally:
        rtp.close()


async def test_the_agent_phone_holding_is_answered_recvonly(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phones = Phones(sb)
        agent = await phones.agent("alice", "agent_holds_caller.xml")  # checks the recvonly
        sb.ready("a1")
        caller = await phones.caller("caller_hangs_up.xml", "5000")
        await passed(agent)
        await passed(caller)
        await closed(sb, sb.intake.calls[0].call_id)
        assert len(sb.events.of(CallFinished)) == 1


async def test_shutting_down_hangs_up_both_legs_and_keeps_the_recording(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, ROUTES) as sb:
        phones = Phones(sb)
        agent = await phones.agent("alice", "agent_answers.xml")
        sb.ready("a1")
        caller = await phones.caller("caller_waits_for_bye.xml", "5000")
        answered = await sb.events.wait(CallDequeued, lambda e: e.outcome is Outcome.ANSWERED)
        call = sb.b2bua.call(answered.call_id)
        assert call is not None
        await asyncio.wait_for(call.bridged.wait(), WAIT)  # the caller ACKed its 200
        store = sb.store
    # The app's cleanup ended the call: a BYE to each phone, the call ended in the router.
    await passed(agent)
    await passed(caller)
    assert sb.events.of(CallFinished) == [CallFinished(answered.call_id, "a1")]
    recording = await asyncio.to_thread(lambda: sorted((tmp_path / "recordings").glob("*.json")))
    assert len(recording) == 1 and store.file_stem(answered.call_id) in recording[0].name

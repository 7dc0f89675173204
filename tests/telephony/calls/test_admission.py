"""What a caller hears outside a bridge: refusals, redirect, overflow, bad SDP, ringback, drain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from recording.g711 import ALAW_PCM, decode
from router import AgentState, QueueSpec
from router.events import CallDequeued, OfferTimedOut, Outcome, Overflowed
from router.model import Destination, DestinationKind
from telephony.rtp.packet import parse_header
from telephony.sdp import parse_sdp
from telephony.sip import Response
from tests.recording.audio import dominant, read_pcm
from tests.telephony.calls.harness import Route, closed, switchboard
from tests.telephony.conftest import UdpPeer
from tests.telephony.sip.helpers import raw_request, response

SDP = (
    b"v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
SALES = QueueSpec(id="sales")


def invite(peer: UdpPeer, body: bytes = SDP) -> bytes:
    """An INVITE dialling "agent" (the user part of the helper's Request-URI)."""
    return raw_request(
        "INVITE",
        peer.port,
        call_id="admission@test",
        extra="Content-Type: application/sdp\r\n",
        body=body,
    )


async def final_response(peer: UdpPeer) -> tuple[Response, list[int]]:
    """Read responses until the final one; return it and the provisional statuses before it."""
    provisional: list[int] = []
    while True:
        message = response(await peer.recv())
        if message.status >= 200:
            return message, provisional
        provisional.append(message.status)


async def test_a_number_without_route_is_refused(tmp_path: Path, udp_peer: UdpPeer) -> None:
    async with switchboard(tmp_path, [SALES], {}, {}) as sb:
        udp_peer.send(invite(udp_peer), sb.port)
        final, provisional = await final_response(udp_peer)
        assert final.status == 404
        assert 180 not in provisional
        [incoming] = sb.intake.calls
        assert incoming.dnis == "agent"
        await closed(sb, incoming.call_id)
        assert sb.runtime.engine.call_ids() == ()


async def test_redirected_admission_answers_302_with_the_contact(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    routes = {"agent": Route(elsewhere="sip:overflow@example.net")}
    async with switchboard(tmp_path, [SALES], {}, routes) as sb:
        udp_peer.send(invite(udp_peer), sb.port)
        final, _ = await final_response(udp_peer)
        assert final.status == 302
        assert final.headers.get("contact") == "<sip:overflow@example.net>"
        assert sb.runtime.engine.call_ids() == ()


async def test_a_full_queue_overflows_to_its_final_status(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    full = QueueSpec(
        id="sales",
        max_queue_length=0,
        on_queue_full=Destination(DestinationKind.REFUSE, sip_status=486),
    )
    async with switchboard(tmp_path, [full], {"a1": "alice"}, {"agent": Route("sales")}) as sb:
        sb.ready("a1")
        sb.runtime.act(lambda now: sb.runtime.engine.agent_not_ready("a1", "break", now))
        udp_peer.send(invite(udp_peer), sb.port)
        final, provisional = await final_response(udp_peer)
        assert final.status == 486
        assert 180 not in provisional
        [overflowed] = sb.events.of(Overflowed)
        assert overflowed.destination.sip_status == 486
        assert sb.runtime.engine.call_ids() == ()


async def test_an_offer_without_g711_gets_488_and_is_not_routed(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    opus = SDP.replace(
        b"RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", b"RTP/AVP 96\r\na=rtpmap:96 opus/48000"
    )
    async with switchboard(tmp_path, [SALES], {}, {"agent": Route("sales")}) as sb:
        udp_peer.send(invite(udp_peer, opus), sb.port)
        final, _ = await final_response(udp_peer)
        assert final.status == 488
        udp_peer.send(invite(udp_peer, b"v=0\r\nthis is not SDP"), sb.port)
        assert (await final_response(udp_peer))[0].status == 488
        assert sb.intake.calls == []
        assert sb.events.of(CallDequeued) == []


async def test_queued_caller_hears_ringback_as_early_media_then_cancels(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    loop = asyncio.get_running_loop()
    rtp, media = await loop.create_datagram_endpoint(UdpPeer, local_addr=("127.0.0.1", 0))
    try:
        offer = SDP.replace(b"m=audio 40000", f"m=audio {media.port}".encode())
        offer = offer.replace(b"RTP/AVP 0\r\n", b"RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\n")
        async with switchboard(tmp_path, [SALES], {}, {"agent": Route("sales")}) as sb:
            udp_peer.send(invite(udp_peer, offer), sb.port)
            statuses = []
            while not statuses or statuses[-1] != 183:
                message = response(await udp_peer.recv())
                statuses.append(message.status)
            assert statuses[-2:] == [180, 183]
            answer = parse_sdp(message.body)
            # The relay answers with the caller's first G.711 codec and its own address.
            assert answer.audio().formats == ("8",)
            assert answer.audio_endpoint().host == "127.0.0.1"
            # Ringback (425 Hz, 1 s on) arrives as RTP in that codec before any agent answers.
            datagrams = [await media.recv() for _ in range(25)]
            headers = [parse_header(d) for d in datagrams]
            assert {h.payload_type for h in headers} == {8}
            payload = b"".join(
                d[h.payload_offset :] for d, h in zip(datagrams, headers, strict=True)
            )
            heard = read_pcm(decode(payload, ALAW_PCM))
            assert dominant(heard, (425.0, 400.0, 1000.0)) == 425.0
            [incoming] = sb.intake.calls
            assert sb.runtime.engine.call_ids() == (incoming.call_id,)
            # The caller gives up (CANCEL): 200 to it, 487 to the INVITE, abandoned in the router.
            via = message.headers.get("via")
            assert via is not None
            branch = via.split("branch=")[1].split(";")[0]
            cancel = raw_request("CANCEL", udp_peer.port, branch=branch, call_id="admission@test")
            udp_peer.send(cancel, sb.port)
            finals = {response(await udp_peer.recv()).status for _ in range(2)}
            assert finals == {200, 487}
            dequeued = await sb.events.wait(CallDequeued)
            assert dequeued.outcome is Outcome.ABANDONED
            await closed(sb, incoming.call_id)
    finally:
        rtp.close()


async def test_a_queued_caller_past_max_wait_gets_the_final_status(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    patient = QueueSpec(
        id="sales",
        max_wait_s=0.3,
        on_max_wait=Destination(DestinationKind.REFUSE, sip_status=480),
    )
    async with switchboard(tmp_path, [patient], {}, {"agent": Route("sales")}) as sb:
        udp_peer.send(invite(udp_peer), sb.port)
        final, provisional = await final_response(udp_peer)
        assert provisional[-2:] == [180, 183]  # it was queued first, hearing ringback
        assert final.status == 480
        [overflowed] = sb.events.of(Overflowed)
        [incoming] = sb.intake.calls
        assert overflowed.call_id == incoming.call_id
        await closed(sb, incoming.call_id)
        assert sb.runtime.engine.call_ids() == ()


async def test_drain_refuses_new_calls_and_ends_waiting_ones_with_503(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    async with switchboard(tmp_path, [SALES], {}, {"agent": Route("sales")}) as sb:
        udp_peer.send(invite(udp_peer), sb.port)
        ringing = response(await udp_peer.recv())
        while ringing.status == 100:
            ringing = response(await udp_peer.recv())
        assert ringing.status == 180
        loop = asyncio.get_running_loop()
        # Nobody answers within the grace period: the waiting caller gets 503.
        await sb.b2bua.drain(loop.time() + 0.2)
        final, _ = await final_response(udp_peer)
        assert final.status == 503
        dequeued = await sb.events.wait(CallDequeued)
        assert dequeued.outcome is Outcome.ABANDONED
        assert sb.b2bua.calls == 0
        # A call after the drain began is refused at once and never reaches routing.
        late = raw_request(
            "INVITE",
            udp_peer.port,
            call_id="late@test",
            extra="Content-Type: application/sdp\r\n",
            body=SDP,
        )
        udp_peer.send(late, sb.port)
        final, _ = await final_response(udp_peer)
        assert (final.call_id, final.status) == ("late@test", 503)
        assert len(sb.intake.calls) == 1


async def test_an_agent_without_a_registered_phone_is_skipped(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    once = QueueSpec(id="sales", rona_max_misses=1)
    async with switchboard(tmp_path, [once], {"a1": "alice"}, {"agent": Route("sales")}) as sb:
        sb.ready("a1")  # ready in the router, but alice's phone never registered
        udp_peer.send(invite(udp_peer), sb.port)
        missed = await sb.events.wait(OfferTimedOut)
        assert missed.agent_id == "a1" and "rejected" in missed.reason.why
        assert sb.runtime.engine.agent_snapshot("a1").state is AgentState.NOT_READY
        [incoming] = sb.intake.calls
        assert sb.runtime.engine.call_ids() == (incoming.call_id,)  # still waiting


async def test_without_early_media_a_queued_caller_gets_180_only(
    tmp_path: Path, udp_peer: UdpPeer
) -> None:
    routes = {"agent": Route("sales")}
    async with switchboard(tmp_path, [SALES], {}, routes, early_media=False) as sb:
        udp_peer.send(invite(udp_peer), sb.port)
        ringing = response(await udp_peer.recv())
        while ringing.status == 100:
            ringing = response(await udp_peer.recv())
        assert ringing.status == 180
        via = ringing.headers.get("via")
        assert via is not None
        branch = via.split("branch=")[1].split(";")[0]
        cancel = raw_request("CANCEL", udp_peer.port, branch=branch, call_id="admission@test")
        udp_peer.send(cancel, sb.port)
        # Nothing came between the 180 and the CANCEL's answers: no 183, no relay session.
        assert {response(await udp_peer.recv()).status for _ in range(2)} == {200, 487}
        [incoming] = sb.intake.calls
        await closed(sb, incoming.call_id)


@pytest.mark.parametrize(
    ("target", "status"), [("sip:voicemail@pbx.example.net", 302), ("sales-mailbox", 480)]
)
async def test_overflow_to_voicemail_redirects_to_a_sip_target(
    target: str, status: int, tmp_path: Path, udp_peer: UdpPeer
) -> None:
    to_voicemail = QueueSpec(
        id="sales", max_wait_s=0.2, on_max_wait=Destination(DestinationKind.VOICEMAIL, target)
    )
    async with switchboard(tmp_path, [to_voicemail], {}, {"agent": Route("sales")}) as sb:
        udp_peer.send(invite(udp_peer), sb.port)
        final, _ = await final_response(udp_peer)
        assert final.status == status
        if status == 302:
            assert final.headers.get("contact") == f"<{target}>"
        await closed(sb, sb.intake.calls[0].call_id)
        assert sb.runtime.engine.call_ids() == ()

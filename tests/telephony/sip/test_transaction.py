"""Transactions against a real UDP socket peer, with T1 = 20 ms: retransmission and absorption."""

from __future__ import annotations

import asyncio

from telephony.sip.builder import make_request
from telephony.sip.dialog import Dialog
from telephony.sip.endpoint import SipEndpoint
from telephony.sip.message import Request, Response
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import ClientTransaction, ServerTransaction, TxState
from telephony.sip.transport import Peer
from telephony.sip.uri import parse_address
from tests.telephony.conftest import WAIT, UdpPeer
from tests.telephony.sip.helpers import RecordingHandler, raw_request, request, response


def outgoing(method: str, peer: UdpPeer) -> tuple[Request, Peer]:
    """A request from the endpoint to the raw peer."""
    req = make_request(
        method,
        f"sip:agent@127.0.0.1:{peer.port}",
        from_address=parse_address("<sip:switchboard@127.0.0.1>;tag=sb1"),
        to_address=parse_address("<sip:agent@127.0.0.1>"),
        call_id="out-1@test",
        cseq=1,
    )
    return req, Peer("UDP", "127.0.0.1", peer.port)


async def test_non_invite_client_retransmits_then_times_out(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, dest = outgoing("OPTIONS", udp_peer)
        tx = endpoint.send_request(req, dest)
        first = await udp_peer.recv()
        for _ in range(3):
            assert await udp_peer.recv() == first  # timer E: identical retransmissions
        final = await asyncio.wait_for(tx.wait_final(), WAIT)
        assert final.status == 408  # timer F
        assert tx.state is TxState.TERMINATED
        assert endpoint.transaction_counts == (0, 0)


async def test_non_invite_client_stops_on_final_response(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, dest = outgoing("OPTIONS", udp_peer)
        seen: list[int] = []
        tx = endpoint.send_request(req, dest, on_response=lambda r: seen.append(r.status))
        sent = request(await udp_peer.recv())
        ok = Response(200, headers=sent.headers.copy())
        udp_peer.send(ok.to_bytes(), endpoint.port)
        final = await asyncio.wait_for(tx.wait_final(), WAIT)
        assert final.status == 200
        assert tx.state is TxState.COMPLETED  # timer K absorbs retransmitted responses
        udp_peer.send(ok.to_bytes(), endpoint.port)
        await asyncio.wait_for(tx.done, WAIT)
        assert seen == [200]  # the retransmitted 200 was absorbed


async def test_invite_client_retransmits_until_provisional_and_acks_failure(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, dest = outgoing("INVITE", udp_peer)
        provisional: asyncio.Queue[int] = asyncio.Queue()
        tx = endpoint.send_request(
            req, dest, on_response=lambda r: provisional.put_nowait(r.status)
        )
        first = await udp_peer.recv()
        assert await udp_peer.recv() == first  # timer A
        invite = request(first)
        udp_peer.send(Response(180, headers=invite.headers.copy()).to_bytes(), endpoint.port)
        assert await asyncio.wait_for(provisional.get(), WAIT) == 180
        assert tx.state is TxState.PROCEEDING
        busy = Response(486, headers=invite.headers.copy())
        busy.headers.set("To", "<sip:agent@127.0.0.1>;tag=agent9")
        udp_peer.send(busy.to_bytes(), endpoint.port)
        assert (await asyncio.wait_for(tx.wait_final(), WAIT)).status == 486
        # Retransmissions of INVITE already queued before the 180 may still be in the socket.
        ack = request(await udp_peer.recv())
        while ack.method == "INVITE":
            ack = request(await udp_peer.recv())
        assert ack.method == "ACK"
        assert ack.top_via().branch == invite.top_via().branch
        assert ack.to_address().tag == "agent9"
        udp_peer.send(busy.to_bytes(), endpoint.port)  # a retransmitted 486 is ACKed again
        assert request(await udp_peer.recv()).method == "ACK"


async def test_invite_client_resends_the_ack_it_was_given_for_a_retransmitted_2xx(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, dest = outgoing("INVITE", udp_peer)
        seen: list[int] = []
        tx = endpoint.send_request(req, dest, on_response=lambda r: seen.append(r.status))
        invite = request(await udp_peer.recv())
        ok = Response(200, headers=invite.headers.copy())
        ok.headers.set("To", "<sip:agent@127.0.0.1>;tag=agent7")
        ok.headers.set("Contact", f"<sip:agent@127.0.0.1:{udp_peer.port}>")
        udp_peer.send(ok.to_bytes(), endpoint.port)
        final = await asyncio.wait_for(tx.wait_final(), WAIT)
        dialog = Dialog.as_uac(req, final, endpoint.contact(), peer=dest)
        endpoint.send_ack(dialog.create_ack(req), dest, answering=tx)

        async def next_ack() -> bytes:
            while True:  # INVITE retransmissions sent before the 200 arrived may come first
                wire = await udp_peer.recv()
                if request(wire).method == "ACK":
                    return wire

        ack = await next_ack()
        udp_peer.send(ok.to_bytes(), endpoint.port)  # as if our ACK was lost: the 200 again
        assert await next_ack() == ack  # the transaction sent the same ACK by itself
        assert seen == [200]  # and did not pass the retransmission up
        assert tx.state is TxState.ACCEPTED
        await asyncio.wait_for(tx.done, WAIT)  # timer M's rest, on the shared linger wheel
        assert endpoint.transaction_counts == (0, 0)


async def test_invite_client_times_out_with_408(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, dest = outgoing("INVITE", udp_peer)
        tx = endpoint.send_request(req, dest)
        assert (await asyncio.wait_for(tx.wait_final(), WAIT)).status == 408  # timer B
        assert endpoint.transaction_counts == (0, 0)


async def ringing_invite(endpoint: SipEndpoint, udp_peer: UdpPeer) -> ClientTransaction:
    """Send an INVITE to the raw peer, answer it 180, and return its ringing transaction."""
    req, dest = outgoing("INVITE", udp_peer)
    ringing: asyncio.Queue[int] = asyncio.Queue()
    tx = endpoint.send_request(req, dest, on_response=lambda r: ringing.put_nowait(r.status))
    invite = request(await udp_peer.recv())
    udp_peer.send(Response(180, headers=invite.headers.copy()).to_bytes(), endpoint.port)
    assert await asyncio.wait_for(ringing.get(), WAIT) == 180
    return tx


async def test_cancelled_invite_that_never_gets_a_final_answer_ends_after_64_t1(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    # A phone that rang, then ignores our CANCEL: the transaction must not wait forever.
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        tx = await ringing_invite(endpoint, udp_peer)
        tx.cancelled()
        final = await asyncio.wait_for(tx.wait_final(), WAIT)
        assert final.status == 487
        assert tx.state is TxState.TERMINATED
        assert endpoint.transaction_counts == (0, 0)


async def test_a_proceeding_invite_that_is_not_cancelled_keeps_ringing(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    # Timer B guards only Calling: without a CANCEL, a ringing phone is waited for.
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        tx = await ringing_invite(endpoint, udp_peer)
        done, _ = await asyncio.wait([tx.done], timeout=2 * 64 * fast_timers.t1)
        assert not done and tx.state is TxState.PROCEEDING
        tx.terminate()


async def test_server_absorbs_retransmitted_request(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"MESSAGE"}, 202)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        wire = raw_request("MESSAGE", udp_peer.port, branch="z9hG4bKsame")
        udp_peer.send(wire, endpoint.port)
        first = await udp_peer.recv()
        assert response(first).status == 202
        udp_peer.send(wire, endpoint.port)
        assert await udp_peer.recv() == first  # same response, same To tag
        assert handler.transactions.qsize() == 1  # the handler saw it once


async def test_invite_server_retransmits_error_until_ack(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"INVITE"}, 486)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("INVITE", udp_peer.port, branch="z9hG4bKinv1"), endpoint.port)
        busy = await udp_peer.recv()
        assert response(busy).status == 486
        assert await udp_peer.recv() == busy  # timer G
        tx: ServerTransaction = await handler.transactions.get()
        to_tag = response(busy).to_address().tag
        udp_peer.send(
            raw_request("ACK", udp_peer.port, branch="z9hG4bKinv1", to_tag=to_tag), endpoint.port
        )
        await asyncio.wait_for(tx.done, WAIT)  # confirmed, then timer I
        assert tx.acked
        assert handler.acks.empty()  # a non-2xx ACK belongs to the transaction


async def test_invite_server_reports_missing_ack(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"INVITE"}, 480)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("INVITE", udp_peer.port), endpoint.port)
        tx: ServerTransaction = await handler.transactions.get()
        gave_up = asyncio.get_running_loop().create_future()
        tx.on_ack_timeout = gave_up.set_result
        assert await asyncio.wait_for(gave_up, WAIT) is tx  # timer H
        assert not tx.acked


async def test_invite_server_retransmits_2xx_until_ack(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"INVITE"}, 200)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("INVITE", udp_peer.port, branch="z9hG4bKinv2"), endpoint.port)
        ok = await udp_peer.recv()
        assert response(ok).status == 200
        assert await udp_peer.recv() == ok
        assert await udp_peer.recv() == ok
        tx: ServerTransaction = await handler.transactions.get()
        to_tag = response(ok).to_address().tag
        # The ACK of a 2xx is a new transaction: a different branch.
        udp_peer.send(
            raw_request("ACK", udp_peer.port, branch="z9hG4bKack2", to_tag=to_tag), endpoint.port
        )
        ack = await asyncio.wait_for(handler.acks.get(), WAIT)
        assert ack.method == "ACK"
        assert tx.acked and tx.state is TxState.ACCEPTED
        await asyncio.wait_for(tx.done, WAIT)  # timer L


async def test_cancel_gets_200_and_invite_487(fast_timers: TimerConfig, udp_peer: UdpPeer) -> None:
    handler = RecordingHandler({"INVITE"}, hold=True)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("INVITE", udp_peer.port, branch="z9hG4bKinv3"), endpoint.port)
        assert response(await udp_peer.recv()).status == 100
        await handler.transactions.get()
        udp_peer.send(raw_request("CANCEL", udp_peer.port, branch="z9hG4bKinv3"), endpoint.port)
        statuses = {}
        for _ in range(2):
            got = response(await udp_peer.recv())
            statuses[got.cseq().method] = got.status
        assert statuses == {"CANCEL": 200, "INVITE": 487}
        assert (await handler.cancelled.get()).cancelled


async def test_cancel_of_unknown_invite_gets_481(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(RecordingHandler({"INVITE"}), port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("CANCEL", udp_peer.port), endpoint.port)
        assert response(await udp_peer.recv()).status == 481


async def test_unreachable_tcp_destination_ends_with_503() -> None:
    # A port nobody listens on: bind one, note it, close it.
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with SipEndpoint(port=0, timers=TimerConfig(t1=5.0)) as endpoint:
        req = make_request(
            "OPTIONS",
            f"sip:agent@127.0.0.1:{port};transport=tcp",
            from_address=parse_address("<sip:switchboard@127.0.0.1>;tag=sb1"),
            to_address=parse_address("<sip:agent@127.0.0.1>"),
            call_id="out-2@test",
            cseq=1,
        )
        tx = endpoint.send_request(req)
        assert tx.destination == Peer("TCP", "127.0.0.1", port)
        # With T1 = 5 s, timer F would take 320 s: the 503 can only come from the refusal.
        assert (await asyncio.wait_for(tx.wait_final(), WAIT)).status == 503
        assert endpoint.transaction_counts == (0, 0)


async def test_udp_destination_by_name_is_resolved(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, _ = outgoing("OPTIONS", udp_peer)
        tx = endpoint.send_request(req, Peer("UDP", "localhost", udp_peer.port))
        sent = request(await udp_peer.recv())
        assert sent.method == "OPTIONS"
        udp_peer.send(Response(200, headers=sent.headers.copy()).to_bytes(), endpoint.port)
        assert (await asyncio.wait_for(tx.wait_final(), WAIT)).status == 200


async def test_ringing_invite_outlives_timer_b(fast_timers: TimerConfig, udp_peer: UdpPeer) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as endpoint:
        req, dest = outgoing("INVITE", udp_peer)
        rang = asyncio.Event()
        ringing_tx = endpoint.send_request(req, dest, on_response=lambda r: rang.set())
        invite = request(await udp_peer.recv())
        udp_peer.send(Response(180, headers=invite.headers.copy()).to_bytes(), endpoint.port)
        await asyncio.wait_for(rang.wait(), WAIT)
        # A second INVITE, started later, to a peer that never answers: its timer B fires
        # after the first one's would have.
        other, _ = outgoing("INVITE", udp_peer)
        other.headers.set("Call-ID", "out-3@test")
        silent = endpoint.send_request(other, Peer("UDP", "127.0.0.1", 9))
        assert (await asyncio.wait_for(silent.wait_final(), WAIT)).status == 408
        assert ringing_tx.state is TxState.PROCEEDING and not ringing_tx.final.done()
        ok = Response(200, headers=invite.headers.copy())
        ok.headers.set("To", "<sip:agent@127.0.0.1>;tag=late")
        udp_peer.send(ok.to_bytes(), endpoint.port)
        assert (await asyncio.wait_for(ringing_tx.wait_final(), WAIT)).status == 200


async def test_2xx_ack_reusing_the_invite_branch_is_still_an_ack(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"INVITE"}, 200)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("INVITE", udp_peer.port, branch="z9hG4bKold"), endpoint.port)
        ok = response(await udp_peer.recv())
        tx: ServerTransaction = await handler.transactions.get()
        ack = raw_request("ACK", udp_peer.port, branch="z9hG4bKold", to_tag=ok.to_address().tag)
        udp_peer.send(ack, endpoint.port)
        assert (await asyncio.wait_for(handler.acks.get(), WAIT)).method == "ACK"
        assert tx.acked


async def test_100_trying_only_when_the_handler_does_not_answer_at_once(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"INVITE"}, 302)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as endpoint:
        udp_peer.send(raw_request("INVITE", udp_peer.port), endpoint.port)
        assert response(await udp_peer.recv()).status == 302  # no 100 before it
        handler.hold = True
        udp_peer.send(raw_request("INVITE", udp_peer.port, call_id="call-2@test"), endpoint.port)
        got = response(await udp_peer.recv())
        while got.call_id != "call-2@test":  # skip timer G's copies of the first 302
            got = response(await udp_peer.recv())
        assert got.status == 100

"""The endpoint's own answers: OPTIONS, 405/501, 481, 400 for malformed input; UDP and TCP."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from telephony.sip.endpoint import SipEndpoint
from telephony.sip.framing import StreamFramer
from telephony.sip.message import Response
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import ServerTransaction
from telephony.sip.transport import UDP_RECEIVE_BUFFER
from tests.telephony.conftest import WAIT, UdpPeer
from tests.telephony.sip.helpers import RecordingHandler, raw_request, response


async def test_options_gets_200_with_allow(fast_timers: TimerConfig, udp_peer: UdpPeer) -> None:
    async with SipEndpoint(RecordingHandler({"INVITE", "BYE"}), port=0, timers=fast_timers) as ep:
        udp_peer.send(raw_request("OPTIONS", udp_peer.port), ep.port)
        got = response(await udp_peer.recv())
        assert got.status == 200
        allow = got.headers.get_all("allow")
        assert allow == ["ACK", "BYE", "CANCEL", "INVITE", "OPTIONS"]
        via = got.top_via()
        assert via.rport == udp_peer.port and via.received == "127.0.0.1"
        assert got.to_address().tag


@pytest.mark.parametrize(("method", "status"), [("SUBSCRIBE", 405), ("FROBNICATE", 501)])
async def test_unhandled_methods(
    method: str, status: int, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(RecordingHandler({"INVITE"}), port=0, timers=fast_timers) as ep:
        udp_peer.send(raw_request(method, udp_peer.port), ep.port)
        got = response(await udp_peer.recv())
        assert got.status == status
        if status == 405:
            assert "INVITE" in got.headers.get_all("allow")


async def test_in_dialog_request_for_unknown_dialog_gets_481(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(RecordingHandler({"BYE"}), port=0, timers=fast_timers) as ep:
        udp_peer.send(raw_request("BYE", udp_peer.port, to_tag="nosuch"), ep.port)
        assert response(await udp_peer.recv()).status == 481


async def test_bye_without_to_tag_gets_481_and_never_reaches_the_handler(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"BYE"})
    async with SipEndpoint(handler, port=0, timers=fast_timers) as ep:
        udp_peer.send(raw_request("BYE", udp_peer.port), ep.port)
        assert response(await udp_peer.recv()).status == 481
    assert handler.transactions.empty()


async def test_require_of_unknown_extension_gets_420(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(RecordingHandler({"INVITE"}), port=0, timers=fast_timers) as ep:
        udp_peer.send(raw_request("INVITE", udp_peer.port, extra="Require: foo\r\n"), ep.port)
        got = response(await udp_peer.recv())
        assert got.status == 420
        assert got.headers.get("unsupported") == "foo"


MALFORMED = [
    # Answerable: the headers a response needs are there, something else is broken.
    (b"CSeq: 1 OPTIONS", b"CSeq: x OPTIONS", 400),
    (b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE", 400),
    (b"OPTIONS sip:agent@127.0.0.1 SIP/2.0", b"OPTIONS sip:agent@127.0.0.1 SIP/7.0", 505),
    (b"OPTIONS sip:agent@127.0.0.1 SIP/2.0", b"OPTIONS <sip:agent@127.0.0.1> SIP/2.0", 400),
    (b"Max-Forwards: 70", b"Max-Forwards 70", 400),
    (b"Content-Length: 0", b"Content-Length: 50", 400),
    (b"From: <sip:caller@127.0.0.1>", b'From: "unterminated <sip:caller@127.0.0.1>', 400),
]


@pytest.mark.parametrize(("find", "replace", "status"), MALFORMED)
async def test_malformed_request_gets_an_answer_and_listener_keeps_serving(
    find: bytes,
    replace: bytes,
    status: int,
    fast_timers: TimerConfig,
    udp_peer: UdpPeer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wire = raw_request("OPTIONS", udp_peer.port)
    assert find in wire
    async with SipEndpoint(port=0, timers=fast_timers) as ep:
        with caplog.at_level(logging.WARNING, logger="telephony.sip"):
            udp_peer.send(wire.replace(find, replace), ep.port)
            got = response(await udp_peer.recv())
        assert got.status == status
        assert got.headers.get("warning")
        assert any("malformed" in r.getMessage() for r in caplog.records)
        # No customer data in the log: neither the user part nor the Call-ID.
        assert not any("caller" in r.getMessage() for r in caplog.records)
        udp_peer.send(raw_request("OPTIONS", udp_peer.port), ep.port)
        assert response(await udp_peer.recv()).status == 200


async def test_unanswerable_garbage_is_dropped_and_listener_keeps_serving(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as ep:
        for junk in (b"\x00\xff garbage", b"SIP/2.0 200 OK\r\n\r\n", b"INVITE\r\n\r\n", b"\r\n"):
            udp_peer.send(junk, ep.port)
        udp_peer.send(raw_request("OPTIONS", udp_peer.port), ep.port)
        assert response(await udp_peer.recv()).status == 200
        assert udp_peer.received.empty()


async def test_tcp_requests_and_answers_on_the_same_connection(fast_timers: TimerConfig) -> None:
    async with SipEndpoint(RecordingHandler({"MESSAGE"}, 202), port=0, timers=fast_timers) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        local_port = writer.get_extra_info("sockname")[1]
        framer = StreamFramer()
        received: list[Response] = []

        async def read(count: int) -> None:
            while len(received) < count:
                chunk = await asyncio.wait_for(reader.read(4096), WAIT)
                assert chunk, "connection closed"
                received.extend(response(raw) for raw in framer.feed(chunk))

        # Two messages in one write, then garbage that is answerable, then a valid one.
        writer.write(
            raw_request("OPTIONS", local_port, transport="TCP")
            + raw_request("MESSAGE", local_port, transport="TCP", cseq=2)
        )
        await read(2)
        writer.write(
            raw_request("OPTIONS", local_port, transport="TCP").replace(b"CSeq: 1", b"CSeq: z")
        )
        await read(3)
        writer.write(raw_request("OPTIONS", local_port, transport="TCP", cseq=4))
        await read(4)
        assert [r.status for r in received] == [200, 202, 400, 200]
        writer.close()
        await writer.wait_closed()


async def test_handler_crash_becomes_500(fast_timers: TimerConfig, udp_peer: UdpPeer) -> None:
    class Broken(RecordingHandler):
        async def on_request(self, tx: ServerTransaction) -> None:
            raise RuntimeError("boom")

    async with SipEndpoint(Broken({"MESSAGE"}), port=0, timers=fast_timers) as ep:
        udp_peer.send(raw_request("MESSAGE", udp_peer.port), ep.port)
        assert response(await udp_peer.recv()).status == 500
        udp_peer.send(raw_request("OPTIONS", udp_peer.port), ep.port)
        assert response(await udp_peer.recv()).status == 200


async def test_broken_tcp_stream_is_closed_and_others_still_served(
    fast_timers: TimerConfig,
) -> None:
    async with SipEndpoint(port=0, timers=fast_timers) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        # A header block that never ends: the framer gives up and the connection is closed.
        writer.write(b"OPTIONS sip:x SIP/2.0\r\n" + b"X-Pad: y\r\n" * 8000)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()
        await writer.wait_closed()
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        port = writer.get_extra_info("sockname")[1]
        writer.write(raw_request("OPTIONS", port, transport="TCP"))
        framer = StreamFramer()
        messages: list[bytes] = []
        while not messages:
            messages = framer.feed(await asyncio.wait_for(reader.read(4096), WAIT))
        assert response(messages[0]).status == 200
        writer.close()
        await writer.wait_closed()


async def test_invite_retransmission_while_ringing_is_absorbed(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    handler = RecordingHandler({"INVITE"}, hold=True)
    async with SipEndpoint(handler, port=0, timers=fast_timers) as ep:
        wire = raw_request("INVITE", udp_peer.port, branch="z9hG4bKring")
        udp_peer.send(wire, ep.port)
        trying = await udp_peer.recv()
        tx = await asyncio.wait_for(handler.transactions.get(), WAIT)
        tx.respond(180)
        ringing = await udp_peer.recv()
        assert response(ringing).status == 180
        udp_peer.send(wire, ep.port)
        assert await udp_peer.recv() == ringing  # the last provisional, not a new transaction
        assert handler.transactions.empty()
        assert response(trying).status == 100
        tx.respond(486)
        assert response(await udp_peer.recv()).status == 486


def receive_buffer_cap() -> int:
    """Return the largest receive buffer an unprivileged socket may ask Linux for."""
    return int(Path("/proc/sys/net/core/rmem_max").read_text())


async def test_udp_socket_gets_a_large_receive_buffer() -> None:
    # Bursts beyond the kernel's default buffer would be dropped while the loop is busy.
    cap = receive_buffer_cap()
    async with SipEndpoint(port=0, tcp=False) as ep:
        udp = ep._transport._udp
        assert udp is not None
        size = udp.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    # Linux reports twice the granted size (bookkeeping overhead included).
    assert size >= min(UDP_RECEIVE_BUFFER, cap)


async def test_retransmitted_datagram_is_answered_and_counted_until_its_transaction_ends(
    fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    counted: list[tuple[str, str, int | None]] = []
    handler = RecordingHandler({"INVITE"}, 486)
    async with SipEndpoint(
        handler,
        port=0,
        timers=fast_timers,
        count_message=lambda *message: counted.append(message),
    ) as ep:
        wire = raw_request("INVITE", udp_peer.port, branch="z9hG4bKagain")
        udp_peer.send(wire, ep.port)
        busy = await udp_peer.recv()
        tx = await asyncio.wait_for(handler.transactions.get(), WAIT)
        assert list(ep._by_datagram.values()) == [tx]
        udp_peer.send(wire, ep.port)  # the copy takes the fast path: same answer, counted
        assert await udp_peer.recv() == busy
        assert counted.count(("in", "INVITE", None)) == 2
        to_tag = response(busy).to_address().tag
        ack = raw_request("ACK", udp_peer.port, branch="z9hG4bKagain", to_tag=to_tag)
        udp_peer.send(ack, ep.port)
        await asyncio.wait_for(tx.done, WAIT)
        assert ep._by_datagram == {}  # nothing kept for an ended transaction
        # The transaction is over: the same bytes are a new request, seen by the handler.
        udp_peer.send(wire, ep.port)
        again = await asyncio.wait_for(handler.transactions.get(), WAIT)
        assert again is not tx

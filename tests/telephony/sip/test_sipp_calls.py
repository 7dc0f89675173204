"""Whole calls with real sipp: sipp's built-in UAC calls us, and we call sipp's built-in UAS.

These drive INVITE client and server transactions, 2xx ACKs, dialogs and in-dialog BYE
against an independent SIP stack, over UDP and TCP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telephony.sip import (
    Address,
    Dialog,
    Headers,
    Request,
    Response,
    ServerTransaction,
    SipEndpoint,
    SipHandler,
    make_cancel,
    make_request,
    new_call_id,
    new_tag,
    parse_address,
)
from telephony.sip.transport import Peer
from tests.ports import free_port
from tests.telephony.conftest import (
    SCENARIOS,
    WAIT,
    finish_sipp,
    start_sipp,
    wait_for_tcp,
)
from tests.telephony.sip.test_sipp import TRANSPORTS, succeeded

SDP = b"v=0\r\no=sb 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
SDP += b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"


class Answerer(SipHandler):
    """Rings, answers every INVITE with SDP, and ends the dialog on BYE."""

    methods = frozenset({"INVITE", "BYE"})

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.endpoint: SipEndpoint | None = None
        self.answered = 0
        self.acked = 0
        self.ended = 0

    async def on_request(self, tx: ServerTransaction) -> None:
        assert self.endpoint is not None
        if tx.method == "INVITE":
            tx.respond(180)
            contact = self.endpoint.contact("agent", self.transport)
            ok = tx.create_response(
                200,
                headers=Headers([("Contact", str(contact))]),
                body=SDP,
                content_type="application/sdp",
            )
            self.endpoint.add_dialog(Dialog.as_uas(tx.request, ok, contact, peer=tx.source))
            tx.send_response(ok)
            self.answered += 1
        else:
            assert isinstance(tx.dialog, Dialog)
            self.endpoint.remove_dialog(tx.dialog)
            tx.respond(200)
            self.ended += 1

    def on_ack(self, ack: Request, invite_tx: ServerTransaction | None) -> None:
        assert invite_tx is not None and invite_tx.acked
        self.acked += 1


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_sipp_uac_calls_us(transport: str, tmp_path: Path) -> None:
    handler = Answerer(transport)
    async with SipEndpoint(handler, port=0) as endpoint:
        handler.endpoint = endpoint
        args = [f"127.0.0.1:{endpoint.port}", "-sn", "uac", "-m", "5", "-r", "50"]
        args += ["-t", TRANSPORTS[transport], "-i", "127.0.0.1", "-p", "0"]
        result = await start_sipp(args, tmp_path)
        assert succeeded(await finish_sipp(result, tmp_path))
    assert (handler.answered, handler.acked, handler.ended) == (5, 5, 5)


def invite_to(port: int, transport: str, contact: Address) -> Request:
    """An INVITE from Switchboard to an agent phone on 127.0.0.1:port."""
    return make_request(
        "INVITE",
        f"sip:agent@127.0.0.1:{port}" + (";transport=tcp" if transport == "TCP" else ""),
        from_address=parse_address(f"<sip:switchboard@127.0.0.1>;tag={new_tag()}"),
        to_address=parse_address(f"<sip:agent@127.0.0.1:{port}>"),
        call_id=new_call_id("127.0.0.1"),
        cseq=1,
        contact=contact,
        body=SDP,
        content_type="application/sdp",
    )


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_we_call_sipp_uas_and_hang_up(transport: str, tmp_path: Path) -> None:
    port = free_port()
    scenario = str(SCENARIOS / "agent_uas.xml")
    args = ["-sf", scenario, "-m", "1", "-t", TRANSPORTS[transport], "-i", "127.0.0.1"]
    uas = await start_sipp([*args, "-p", str(port)], tmp_path)
    async with SipEndpoint(port=0) as endpoint:
        if transport == "TCP":
            await wait_for_tcp("127.0.0.1", port)
        contact = endpoint.contact("switchboard", transport)
        invite = invite_to(port, transport, contact)
        provisional: list[int] = []
        # Over UDP, timer A retransmits the INVITE until sipp is up and answers.
        tx = endpoint.send_request(invite, on_response=lambda r: provisional.append(r.status))
        assert tx.destination == Peer(transport, "127.0.0.1", port)
        ok: Response = await asyncio.wait_for(tx.wait_final(), WAIT)
        assert ok.status == 200
        assert 180 in provisional
        dialog = Dialog.as_uac(invite, ok, contact, peer=tx.destination)
        endpoint.send_ack(dialog.create_ack(invite), dialog.peer)
        bye = endpoint.send_request(dialog.create_request("BYE"), dialog.peer)
        assert (await asyncio.wait_for(bye.wait_final(), WAIT)).status == 200
        # sipp exits once the call is over; our TCP connection must stay open until then.
        assert succeeded(await finish_sipp(uas, tmp_path))


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_ring_no_answer_is_cancelled(transport: str, tmp_path: Path) -> None:
    port = free_port()
    scenario = str(SCENARIOS / "agent_no_answer.xml")
    args = ["-sf", scenario, "-m", "1", "-t", TRANSPORTS[transport], "-i", "127.0.0.1"]
    uas = await start_sipp([*args, "-p", str(port)], tmp_path)
    async with SipEndpoint(port=0) as endpoint:
        if transport == "TCP":
            await wait_for_tcp("127.0.0.1", port)
        invite = invite_to(port, transport, endpoint.contact("switchboard", transport))
        ringing = asyncio.Event()
        tx = endpoint.send_request(invite, on_response=lambda r: ringing.set())
        await asyncio.wait_for(ringing.wait(), WAIT)
        # The offer timed out: CANCEL the ringing leg (same branch, same destination).
        cancel = endpoint.send_request(make_cancel(invite), tx.destination)
        assert (await asyncio.wait_for(cancel.wait_final(), WAIT)).status == 200
        assert (await asyncio.wait_for(tx.wait_final(), WAIT)).status == 487
        assert succeeded(await finish_sipp(uas, tmp_path))  # it got the ACK of the 487

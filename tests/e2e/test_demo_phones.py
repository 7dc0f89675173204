"""The demo's softphones (pyVoIP) register with a real registrar, take a call, and deregister."""

from __future__ import annotations

import asyncio

from demo.phones import PhoneFleet, PhoneLogin
from telephony.sdp import PCMU, audio_offer
from telephony.sip import (
    Dialog,
    Registrar,
    SipEndpoint,
    StaticCredentials,
    make_request,
    new_call_id,
    new_tag,
    parse_address,
)
from tests.ports import free_port

WAIT = 20.0  # pyVoIP starts a call's thread a second after the INVITE; never reached when working


async def test_phones_register_refused_ones_are_left_out_and_calls_are_counted() -> None:
    registrar = Registrar(StaticCredentials({"1001": "pw1", "1002": "pw2"}), realm="demo.test")
    logins = [
        PhoneLogin("amara", "1001", "pw1"),
        PhoneLogin("ben", "1002", "pw2"),
        PhoneLogin("chloe", "1003", "unknown-user"),
    ]
    async with SipEndpoint(registrar=registrar, port=0) as endpoint:
        fleet = PhoneFleet(
            logins,
            server_host="127.0.0.1",
            server_port=endpoint.port,
            answer_after_s=0.1,
            rtp_first_port=free_port() // 2 * 2,
            register_timeout=1,
        )
        stats = await asyncio.wait_for(fleet.start(), WAIT)
        try:
            assert sorted(stats.registered) == ["amara", "ben"]
            assert stats.failed == ["chloe"]
            [binding] = registrar.lookup("1001")
            contact = endpoint.contact("switchboard")
            invite = make_request(
                "INVITE",
                str(binding.contact.uri),
                from_address=parse_address(f"<sip:switchboard@127.0.0.1>;tag={new_tag()}"),
                to_address=parse_address(f"<sip:1001@127.0.0.1:{endpoint.port}>"),
                call_id=new_call_id("127.0.0.1"),
                cseq=1,
                contact=contact,
                body=audio_offer("127.0.0.1", free_port(), codecs=(PCMU,)).encode(),
                content_type="application/sdp",
            )
            tx = endpoint.send_request(invite, binding.destination)
            ok = await asyncio.wait_for(tx.wait_final(), WAIT)
            assert ok.status == 200  # auto-answered
            dialog = Dialog.as_uac(invite, ok, contact, peer=binding.destination)
            endpoint.send_ack(dialog.create_ack(invite), dialog.peer)
            bye = endpoint.send_request(dialog.create_request("BYE"), dialog.peer)
            assert (await asyncio.wait_for(bye.wait_final(), WAIT)).status == 200
            await asyncio.wait_for(fleet.wait_calls_taken(1), WAIT)
            assert stats.calls_taken == 1
        finally:
            await asyncio.wait_for(fleet.stop(), WAIT)
        assert registrar.lookup("1001") == [] and registrar.lookup("1002") == []

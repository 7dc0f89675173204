"""Dialogs: building them from INVITE/2xx on both sides, in-dialog requests, and a real call."""

from __future__ import annotations

import asyncio

import pytest

from telephony.sip.builder import make_request, new_call_id, new_tag
from telephony.sip.dialog import Dialog
from telephony.sip.endpoint import SipEndpoint, SipHandler
from telephony.sip.headers import Headers
from telephony.sip.message import Request
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import ServerTransaction
from telephony.sip.uri import parse_address
from tests.telephony.conftest import WAIT
from tests.telephony.sip.helpers import request, response
from tests.telephony.sip.samples import INVITE, RESPONSE


def answered_invite() -> tuple[Request, Dialog, Dialog]:
    """An INVITE through two record-routing proxies, answered; both sides' dialogs."""
    invite = request(INVITE)
    invite.headers.add("Record-Route", "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>")
    ok = response(RESPONSE)
    ok.status, ok.reason = 200, "OK"
    uas = Dialog.as_uas(invite, ok, parse_address("<sip:bob@192.0.2.4>"))
    uac = Dialog.as_uac(invite, ok, parse_address("<sip:alice@pc33.atlanta.example.com>"))
    return invite, uas, uac


def test_uas_and_uac_dialogs_mirror_each_other() -> None:
    _, uas, uac = answered_invite()
    assert uas.key == ("a84b4c76e66710@pc33.atlanta.example.com", "a6c85cf", "1928301774")
    assert uac.local_tag == uas.remote_tag and uac.remote_tag == uas.local_tag
    assert uas.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert uac.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert str(uas.remote_target) == "sip:alice@pc33.atlanta.example.com"
    assert str(uac.remote_target) == "sip:bob@192.0.2.4"


def test_bye_from_the_caller_side_follows_the_route_set() -> None:
    invite, _, uac = answered_invite()
    bye = uac.create_request("BYE")
    assert bye.uri == "sip:bob@192.0.2.4"
    assert bye.headers.get_all("route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert bye.cseq().number == invite.cseq().number + 1
    assert bye.from_address().tag == "1928301774"
    assert bye.to_address().tag == "a6c85cf"
    assert "contact" not in bye.headers
    second = uac.create_request("BYE")
    assert second.cseq().number == bye.cseq().number + 1


def test_reinvite_for_hold_and_ack() -> None:
    invite, uas, _ = answered_invite()
    hold = uas.create_request(
        "INVITE", body=b"v=0\r\na=sendonly\r\n", content_type="application/sdp"
    )
    assert hold.cseq().number == 1  # the UAS starts its own CSeq space
    assert hold.headers.get("contact") == "<sip:bob@192.0.2.4>"
    assert hold.headers.get("content-type") == "application/sdp"
    ack = uas.create_ack(hold)
    assert ack.method == "ACK" and ack.cseq().number == 1 and ack.cseq().method == "ACK"
    assert invite.cseq().method == "INVITE"


def test_strict_router_goes_into_the_request_uri() -> None:
    _, _, uac = answered_invite()
    uac.route_set = ["<sip:strict.example.com>", "<sip:p2.example.com;lr>"]
    bye = uac.create_request("BYE")
    assert bye.uri == "sip:strict.example.com"
    assert bye.headers.get_all("route") == ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4>"]


def test_remote_cseq_must_grow_and_target_refresh() -> None:
    invite, uas, _ = answered_invite()
    request_ = uas.create_request("BYE")  # any request shape; we feed copies as remote ones
    remote = Request("INVITE", "sip:bob@192.0.2.4", request_.headers.copy())
    remote.headers.set("CSeq", f"{invite.cseq().number} INVITE")
    assert not uas.receive_request(remote)  # not above the INVITE's CSeq
    remote.headers.set("CSeq", f"{invite.cseq().number + 1} INVITE")
    remote.headers.set("Contact", "<sip:alice@192.0.2.99:5070>")
    assert uas.receive_request(remote)
    assert str(uas.remote_target) == "sip:alice@192.0.2.99:5070"


class Callee(SipHandler):
    """Answers INVITE 200 and creates the dialog; answers BYE 200 and ends it."""

    methods = frozenset({"INVITE", "BYE"})

    def __init__(self, transport: str) -> None:
        self.endpoint: SipEndpoint | None = None
        self.transport = transport
        self.byes: asyncio.Queue[ServerTransaction] = asyncio.Queue()
        self.reinvites: asyncio.Queue[ServerTransaction] = asyncio.Queue()
        self.acked = asyncio.Event()

    async def on_request(self, tx: ServerTransaction) -> None:
        assert self.endpoint is not None
        if tx.method == "INVITE" and tx.dialog is not None:
            # A re-INVITE (hold): answer with our SDP, the dialog stays.
            contact = self.endpoint.contact("agent", self.transport)
            tx.respond(
                200,
                headers=Headers([("Contact", str(contact))]),
                body=b"v=0\r\na=recvonly\r\n",
                content_type="application/sdp",
            )
            self.reinvites.put_nowait(tx)
        elif tx.method == "INVITE":
            contact = self.endpoint.contact("agent", self.transport)
            ok = tx.create_response(200, headers=Headers([("Contact", str(contact))]))
            self.endpoint.add_dialog(Dialog.as_uas(tx.request, ok, contact))
            tx.send_response(ok)
        else:
            assert isinstance(tx.dialog, Dialog)
            self.endpoint.remove_dialog(tx.dialog)
            tx.respond(200)
            self.byes.put_nowait(tx)

    def on_ack(self, ack: Request, invite_tx: ServerTransaction | None) -> None:
        self.acked.set()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_a_call_between_two_endpoints(transport: str, fast_timers: TimerConfig) -> None:
    callee = Callee(transport)
    async with (
        SipEndpoint(port=0, timers=fast_timers) as caller_ep,
        SipEndpoint(callee, port=0, timers=fast_timers) as callee_ep,
    ):
        callee.endpoint = callee_ep
        contact = caller_ep.contact("caller", transport)
        target = f"sip:agent@127.0.0.1:{callee_ep.port}"
        if transport == "TCP":
            target += ";transport=tcp"
        invite = make_request(
            "INVITE",
            target,
            from_address=parse_address(f"<sip:caller@127.0.0.1>;tag={new_tag()}"),
            to_address=parse_address("<sip:agent@127.0.0.1>"),
            call_id=new_call_id("127.0.0.1"),
            cseq=1,
            contact=contact,
            body=b"v=0\r\n",
            content_type="application/sdp",
        )
        tx = caller_ep.send_request(invite)
        ok = await asyncio.wait_for(tx.wait_final(), WAIT)
        assert ok.status == 200
        dialog = Dialog.as_uac(invite, ok, contact)
        caller_ep.add_dialog(dialog)
        caller_ep.send_ack(dialog.create_ack(invite))
        await asyncio.wait_for(callee.acked.wait(), WAIT)

        # Hold: a re-INVITE in the dialog, answered and ACKed.
        hold = dialog.create_request(
            "INVITE", body=b"v=0\r\na=sendonly\r\n", content_type="application/sdp"
        )
        assert hold.cseq().number == 2
        hold_tx = caller_ep.send_request(hold)
        held = await asyncio.wait_for(hold_tx.wait_final(), WAIT)
        assert held.status == 200 and held.body == b"v=0\r\na=recvonly\r\n"
        dialog.receive_response(hold, held)
        caller_ep.send_ack(dialog.create_ack(hold))
        reinvite = await asyncio.wait_for(callee.reinvites.get(), WAIT)
        assert reinvite.request.body == b"v=0\r\na=sendonly\r\n"
        await asyncio.wait_for(reinvite.done, WAIT)  # ACKed: timer L ends the transaction
        assert reinvite.acked

        bye_tx = caller_ep.send_request(dialog.create_request("BYE"))
        assert (await asyncio.wait_for(bye_tx.wait_final(), WAIT)).status == 200
        callee_bye = await asyncio.wait_for(callee.byes.get(), WAIT)
        assert callee_bye.source.transport == transport
        assert isinstance(callee_bye.dialog, Dialog)
        assert callee_bye.dialog.call_id == invite.call_id
        # The dialog is gone: another BYE gets 481.
        again = caller_ep.send_request(dialog.create_request("BYE"))
        assert (await asyncio.wait_for(again.wait_final(), WAIT)).status == 481

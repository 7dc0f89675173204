"""An asyncio SIP core: messages, transports, transactions, dialogs, endpoint and registrar.

Written here because no maintained asyncio SIP library exists (issue 3). The layer above
(calls/B2BUA) uses it like this:

    class Calls(SipHandler):
        methods = frozenset({"INVITE", "BYE"})

        async def on_request(self, tx: ServerTransaction) -> None:
            if tx.method == "INVITE":
                tx.respond(180)                      # same To tag on every response
                ok = tx.create_response(200, headers=Headers([("Contact", str(contact))]),
                                        body=sdp, content_type="application/sdp")
                endpoint.add_dialog(Dialog.as_uas(tx.request, ok, contact))
                tx.send_response(ok)                 # retransmitted until the ACK comes
            elif tx.method == "BYE":                 # tx.dialog is the matched Dialog
                endpoint.remove_dialog(tx.dialog)
                tx.respond(200)

        def on_ack(self, ack, invite_tx): ...      # the ACK of our 2xx
        def on_cancel(self, invite_tx): ...        # default: 487 to the INVITE

    endpoint = SipEndpoint(Calls(), host=..., port=5060, registrar=Registrar(...))
    async with endpoint:                             # or await start() / stop()
        invite = make_request("INVITE", uri, from_address=..., to_address=..., call_id=...,
                              cseq=1, contact=endpoint.contact(), body=sdp,
                              content_type="application/sdp")
        tx = endpoint.send_request(invite, binding.destination, on_response=on_provisional)
        final = await tx.wait_final()                # 408 on timeout, 503 if unreachable
        if final.status < 300:
            dialog = Dialog.as_uac(invite, final, endpoint.contact())
            endpoint.send_ack(dialog.create_ack(invite))   # again if the 2xx is retransmitted
        # ring-no-answer: endpoint.send_request(make_cancel(invite), tx.destination)

Everything a peer sends is parsed tolerantly; a bad message raises `SipParseError`, which the
endpoint turns into a 400 when the request can be answered.
"""

from telephony.sip.builder import make_cancel, make_request, make_response, new_call_id, new_tag
from telephony.sip.dialog import Dialog
from telephony.sip.endpoint import SipEndpoint, SipHandler, destination_for
from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers
from telephony.sip.message import Request, Response, SipMessage, parse_message
from telephony.sip.registrar import (
    Binding,
    Credential,
    CredentialProvider,
    Registrar,
    StaticCredentials,
)
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import ClientTransaction, ServerTransaction, TxState
from telephony.sip.transport import Peer
from telephony.sip.uri import Address, SipUri, parse_address, parse_uri
from telephony.sip.via import CSeq, Via, parse_cseq, parse_via

__all__ = [
    "Address",
    "Binding",
    "CSeq",
    "ClientTransaction",
    "Credential",
    "CredentialProvider",
    "Dialog",
    "Headers",
    "Peer",
    "Registrar",
    "Request",
    "Response",
    "ServerTransaction",
    "SipEndpoint",
    "SipHandler",
    "SipMessage",
    "SipParseError",
    "SipUri",
    "StaticCredentials",
    "TimerConfig",
    "TxState",
    "Via",
    "destination_for",
    "make_cancel",
    "make_request",
    "make_response",
    "new_call_id",
    "new_tag",
    "parse_address",
    "parse_cseq",
    "parse_message",
    "parse_uri",
    "parse_via",
]

"""Builders for raw requests that test peers send, and a recording handler."""

from __future__ import annotations

import asyncio
import secrets

from telephony.sip.endpoint import SipHandler
from telephony.sip.message import Request, Response, parse_message
from telephony.sip.transaction import ServerTransaction


def raw_request(
    method: str,
    port: int,
    *,
    branch: str | None = None,
    call_id: str = "call-1@test",
    cseq: int = 1,
    to_tag: str | None = None,
    transport: str = "UDP",
    extra: str = "",
    body: bytes = b"",
) -> bytes:
    """A request as a remote UA would write it, from 127.0.0.1:port."""
    branch = branch or "z9hG4bK" + secrets.token_hex(6)
    to = "<sip:agent@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    cseq_method = "INVITE" if method == "ACK" else method
    head = (
        f"{method} sip:agent@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:{port};branch={branch};rport\r\n"
        f"From: <sip:caller@127.0.0.1>;tag=caller1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {cseq_method}\r\n"
        f"Contact: <sip:caller@127.0.0.1:{port}>\r\n"
        f"Max-Forwards: 70\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def response(data: bytes) -> Response:
    """Parse bytes that must be a response."""
    message = parse_message(data)
    assert isinstance(message, Response), data[:40]
    return message


def request(data: bytes) -> Request:
    """Parse bytes that must be a request."""
    message = parse_message(data)
    assert isinstance(message, Request), data[:40]
    return message


class RecordingHandler(SipHandler):
    """Answers each request with a fixed status, remembering transactions and ACKs."""

    def __init__(self, methods: set[str], status: int = 200, *, hold: bool = False) -> None:
        self.methods = frozenset(methods)
        self.status = status
        self.hold = hold
        self.transactions: asyncio.Queue[ServerTransaction] = asyncio.Queue()
        self.acks: asyncio.Queue[Request] = asyncio.Queue()
        self.cancelled: asyncio.Queue[ServerTransaction] = asyncio.Queue()

    async def on_request(self, tx: ServerTransaction) -> None:
        """Record, then answer unless told to hold the request open."""
        self.transactions.put_nowait(tx)
        if not self.hold:
            tx.respond(self.status, headers=None)

    def on_ack(self, ack: Request, invite_tx: ServerTransaction | None) -> None:
        """Record the ACK."""
        self.acks.put_nowait(ack)

    def on_cancel(self, invite_tx: ServerTransaction) -> None:
        """Record, then answer 487 as the default does."""
        self.cancelled.put_nowait(invite_tx)
        super().on_cancel(invite_tx)

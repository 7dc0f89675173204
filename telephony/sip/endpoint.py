"""The SIP endpoint: transports, transaction tables and dispatch to the layer above.

The layer above (calls/B2BUA) subclasses `SipHandler`, lists the methods it takes in
`methods`, and gets each new request as a `ServerTransaction` in `on_request`; it answers
with `tx.respond(...)`. It sends requests with `SipEndpoint.send_request`, which returns a
`ClientTransaction` (await `wait_final()`, or pass `on_response` for provisionals), and
registers the dialogs it creates with `add_dialog` so in-dialog requests reach it.

The endpoint itself answers OPTIONS (200 with Allow), sends 100 Trying to INVITE, answers
CANCEL (200, then `on_cancel`), 481 for unknown dialogs and transactions, 405 or 501 for
methods nobody takes, and 400 for malformed requests that carry enough headers to answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from telephony.sip.builder import new_branch
from telephony.sip.counting import MessageCounter
from telephony.sip.dialog import Dialog, DialogKey
from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers
from telephony.sip.message import Request, Response, reason_phrase
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import (
    ClientTransaction,
    ResponseCallback,
    ServerTransaction,
    TxKey,
    TxState,
    client_key,
    server_key,
)
from telephony.sip.transport import (
    DEFAULT_PORT,
    Peer,
    SipTransport,
    response_destination,
    stamp_via,
)
from telephony.sip.uri import Address, SipUri, parse_address, parse_uri
from telephony.sip.via import Via, parse_via

log = logging.getLogger(__name__)

# Methods this core knows by name (RFC 3261 and common extensions): these get 405, others 501.
KNOWN_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)


class SipHandler:
    """The interface of the layer above; override the methods it handles."""

    # Methods sent to on_request (INVITE, BYE...); OPTIONS and CANCEL are handled by the endpoint.
    methods: frozenset[str] = frozenset()

    def on_request(self, tx: ServerTransaction) -> Coroutine[Any, Any, None] | None:
        """Answer a new request (in `methods`); `tx.dialog` is set for in-dialog requests.

        An `async def` runs as a task; a plain method that returns None runs inline, which
        saves a task per request for a handler that never waits (the B2BUA).
        """
        tx.respond(501)
        return None

    def on_ack(self, ack: Request, invite_tx: ServerTransaction | None) -> None:
        """Take the ACK of a 2xx (it carries the answer SDP when the offer was in the 2xx)."""

    def on_cancel(self, invite_tx: ServerTransaction) -> None:
        """React to a CANCEL of a pending INVITE; the default answers the INVITE with 487."""
        if not invite_tx.final_sent:
            invite_tx.respond(487)


class RequestProcessor(Protocol):
    """Something that answers one method completely (the registrar answers REGISTER)."""

    async def handle(self, tx: ServerTransaction) -> None:
        """Answer the request in the transaction."""


class SipEndpoint:
    """A SIP user agent core: listens on UDP and TCP, runs transactions, dispatches requests."""

    def __init__(
        self,
        handler: SipHandler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        advertised_host: str | None = None,
        timers: TimerConfig | None = None,
        registrar: RequestProcessor | None = None,
        udp: bool = True,
        tcp: bool = True,
        user_agent: str = "Switchboard",
        count_message: MessageCounter | None = None,
    ) -> None:
        # count_message: called for every message received and sent (metrics, passed in).
        self.handler = handler if handler is not None else SipHandler()
        self.timers = timers if timers is not None else TimerConfig()
        self.registrar = registrar
        self.user_agent = user_agent
        self._advertised_host = advertised_host
        self._transport = SipTransport(
            host,
            port,
            self._on_message,
            self._on_parse_error,
            on_unreachable=self._on_unreachable,
            on_retransmission=self._on_retransmission,
            udp=udp,
            tcp=tcp,
            count=count_message,
        )
        self._server_txs: dict[TxKey, ServerTransaction] = {}
        self._client_txs: dict[tuple[str, str], ClientTransaction] = {}
        self._invites: dict[tuple[str, int], ServerTransaction] = {}
        # Live UDP server transactions by the datagram that opened them: under load a peer
        # retransmits before the answer reaches it, and the copies need no parsing.
        self._by_datagram: dict[bytes, ServerTransaction] = {}
        self._dialogs: dict[DialogKey, Dialog] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Bound once and shared by every transaction: a bound method per transaction is two
        # more objects each for the GC to walk while it lingers (32 s over UDP).
        self._send = self._transport.send
        self._on_client_terminated = self._client_terminated
        self._on_server_terminated = self._server_terminated

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening."""
        await self._transport.start()

    async def stop(self) -> None:
        """Stop listening, end every transaction and handler task."""
        for server_tx in list(self._server_txs.values()):
            server_tx.terminate()
        for client_tx in list(self._client_txs.values()):
            client_tx.terminate()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._transport.stop()

    async def __aenter__(self) -> SipEndpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def host(self) -> str:
        """Return the host written in Via and Contact."""
        return self._advertised_host or self._transport.host

    @property
    def port(self) -> int:
        """Return the listening port (the real one when configured as 0)."""
        return self._transport.port

    @property
    def allowed_methods(self) -> list[str]:
        """Return the methods this endpoint takes, for Allow headers."""
        methods = {"OPTIONS", *self.handler.methods}
        if self.registrar is not None:
            methods.add("REGISTER")
        if "INVITE" in methods:
            methods.update({"ACK", "CANCEL"})
        return sorted(methods)

    def contact(self, user: str = "switchboard", transport: str = "UDP") -> Address:
        """Return a Contact address pointing at this endpoint."""
        params: dict[str, str | None] = {}
        if transport != "UDP":
            params["transport"] = transport.lower()
        return Address(SipUri("sip", user, self.host, self.port, params))

    # -- dialogs ---------------------------------------------------------------------------

    def add_dialog(self, dialog: Dialog) -> None:
        """Route the dialog's in-dialog requests to the handler (otherwise they get 481)."""
        self._dialogs[dialog.key] = dialog

    def remove_dialog(self, dialog: Dialog) -> None:
        """Forget a dialog (after BYE)."""
        self._dialogs.pop(dialog.key, None)

    def find_dialog(self, key: DialogKey) -> Dialog | None:
        """Return a registered dialog by (Call-ID, local tag, remote tag)."""
        return self._dialogs.get(key)

    # -- sending ---------------------------------------------------------------------------

    def send_request(
        self,
        request: Request,
        destination: Peer | None = None,
        *,
        on_response: ResponseCallback | None = None,
    ) -> ClientTransaction:
        """Send a request in a new client transaction; its destination defaults to Route/URI."""
        peer = destination if destination is not None else destination_for(request)
        # A CANCEL reuses its INVITE's Via and branch (RFC 3261 §9.1); others get a fresh one.
        if not (request.method == "CANCEL" and "via" in request.headers):
            self._add_via(request, peer)
        if "user-agent" not in request.headers:
            request.headers.add("User-Agent", self.user_agent)
        tx = ClientTransaction(
            request,
            peer,
            send=self._send,
            timers=self.timers,
            on_terminated=self._on_client_terminated,
            on_response=on_response,
        )
        self._client_txs[tx.key] = tx
        tx.start()
        return tx

    def send_ack(
        self,
        ack: Request,
        destination: Peer | None = None,
        *,
        answering: ClientTransaction | None = None,
    ) -> None:
        """Send the ACK of a 2xx: outside any transaction, with a fresh branch (§13.2.2.4).

        With `answering` (the INVITE's transaction), that transaction sends this ACK again for
        each retransmitted 2xx by itself, instead of passing them up.
        """
        peer = destination if destination is not None else destination_for(ack)
        self._add_via(ack, peer)
        wire = ack.to_bytes()
        self._transport.send(wire, peer)
        if answering is not None:
            answering.acked_with(wire)

    def send_response(self, response: Response, destination: Peer) -> None:
        """Send a response statelessly (2xx retransmissions are the transaction's job)."""
        self._transport.send(response.to_bytes(), destination)

    def _add_via(self, request: Request, peer: Peer) -> None:
        via = Via(peer.transport, self.host, self.port, {"branch": new_branch(), "rport": None})
        request.headers.prepend("Via", str(via))

    # -- receiving -------------------------------------------------------------------------

    def _on_message(self, message: Request | Response, peer: Peer) -> None:
        try:
            if isinstance(message, Response):
                self._on_response(message, peer)
            else:
                self._on_request(message, peer)
        except Exception:
            # The listener must survive anything one message does; the error is a bug to fix.
            log.exception("SIP message from %s could not be handled", peer)

    def _on_parse_error(self, error: SipParseError, peer: Peer) -> None:
        log.warning("malformed SIP message from %s: %s", peer, error.reason)
        if error.headers is not None:
            self._answer_malformed(error.headers, error, peer)

    def _on_unreachable(self, peer: Peer) -> None:
        for tx in [tx for tx in self._client_txs.values() if tx.destination == peer]:
            tx.transport_failed()

    def _on_retransmission(self, data: bytes, peer: Peer) -> str | None:
        tx = self._by_datagram.get(data)
        if tx is None or tx.source != peer:
            return None
        tx.retransmission_received()
        return tx.method

    def _on_response(self, response: Response, peer: Peer) -> None:
        try:
            key = client_key(response)
        except SipParseError as exc:
            log.warning("malformed SIP response from %s: %s", peer, exc.reason)
            return
        tx = self._client_txs.get(key)
        if tx is None:
            log.debug("response %d matches no transaction", response.status)
            return
        tx.receive_response(response)

    def _on_request(self, request: Request, peer: Peer) -> None:
        try:
            request.validate()
        except SipParseError as exc:
            log.warning("malformed SIP %s from %s: %s", _safe_method(request), peer, exc.reason)
            if request.method != "ACK":
                self._answer_malformed(request.headers, exc, peer)
            return
        via = request.top_via()
        if stamp_via(via, peer):
            request.set_top_via(via)
        key = server_key(request)
        existing = self._server_txs.get(key)
        if existing is not None:
            if request.method == "ACK" and existing.state is TxState.ACCEPTED:
                # The ACK of a 2xx from a UA that reused the INVITE's branch (RFC 2543 style).
                self._on_2xx_ack(request)
            else:
                existing.receive_request(request)
            return
        if request.method == "ACK":
            self._on_2xx_ack(request)
            return
        tx = self._new_server_tx(request, peer)
        if request.method == "CANCEL":
            self._on_cancel(tx, key)
            return
        if not self._precheck(tx):
            return
        to_tag = request.to_address().tag
        if to_tag is not None:
            from_tag = request.from_address().tag or ""
            dialog = self._dialogs.get((request.call_id, to_tag, from_tag))
            if dialog is None:
                tx.respond(481)
                return
            if not dialog.receive_request(request):
                tx.respond(500, "Out Of Order CSeq")
                return
            tx.dialog = dialog
        elif request.method == "BYE":
            # A BYE only ever ends a dialog; without a To tag it names none (RFC 3261 §15.1.2).
            tx.respond(481)
            return
        self._dispatch(tx)

    def _precheck(self, tx: ServerTransaction) -> bool:
        request = tx.request
        if request.headers.get("max-forwards") == "0" and request.method != "OPTIONS":
            tx.respond(483)
            return False
        required = [
            option for value in request.headers.get_all("require") for option in value.split(",")
        ]
        if required:
            unsupported = Headers([("Unsupported", ", ".join(o.strip() for o in required))])
            tx.respond(420, headers=unsupported)
            return False
        return True

    def _dispatch(self, tx: ServerTransaction) -> None:
        method = tx.method
        if method == "OPTIONS" and method not in self.handler.methods:
            tx.respond(200, headers=self._capabilities())
        elif method == "REGISTER" and self.registrar is not None:
            self._spawn(self.registrar.handle(tx), tx)
        elif method in self.handler.methods:
            try:
                work = self.handler.on_request(tx)
            except Exception:
                log.exception("%s handler failed", method)
                return
            if work is not None:
                self._spawn(work, tx)
            if method == "INVITE":
                # After the handler's first step: a handler that answers at once (redirect
                # mode) saves the 100; one that waits gets it without delay.
                if work is None:
                    self._trying_if_silent(tx)
                else:
                    asyncio.get_running_loop().call_soon(self._trying_if_silent, tx)
        elif method in KNOWN_METHODS:
            tx.respond(405, headers=Headers([("Allow", ", ".join(self.allowed_methods))]))
        else:
            tx.respond(501)

    @staticmethod
    def _trying_if_silent(tx: ServerTransaction) -> None:
        if tx.last_response is None and tx.state is TxState.PROCEEDING:
            tx.respond(100)

    def _capabilities(self) -> Headers:
        return Headers(
            [
                ("Allow", ", ".join(self.allowed_methods)),
                ("Accept", "application/sdp"),
                ("User-Agent", self.user_agent),
            ]
        )

    def _on_cancel(self, cancel_tx: ServerTransaction, key: TxKey) -> None:
        invite_tx = self._server_txs.get((key[0], key[1], "INVITE"))
        if invite_tx is None or invite_tx.state is TxState.TERMINATED:
            cancel_tx.respond(481)
            return
        cancel_tx.respond(200)
        if not invite_tx.final_sent and not invite_tx.cancelled:
            invite_tx.cancelled = True
            try:
                self.handler.on_cancel(invite_tx)
            except Exception:
                log.exception("CANCEL handler failed")
                if not invite_tx.final_sent:
                    invite_tx.respond(487)

    def _on_2xx_ack(self, ack: Request) -> None:
        invite_tx = self._invites.get((ack.call_id, ack.cseq().number))
        if invite_tx is not None:
            invite_tx.ack_received()
        try:
            self.handler.on_ack(ack, invite_tx)
        except Exception:
            log.exception("ACK handler failed")

    def _answer_malformed(self, headers: Headers, error: SipParseError, peer: Peer) -> None:
        """Send a 400 (or 505) statelessly, when the request has what a response needs."""
        vias = headers.get_all("via")
        if not vias or any(name not in headers for name in ("from", "to", "call-id", "cseq")):
            return
        try:
            via = parse_via(vias[0])
        except SipParseError:
            return
        if (headers.get("cseq") or "").split()[-1:] == ["ACK"]:
            return
        stamp_via(via, peer)
        out = Headers()
        out.add("Via", str(via))
        for value in vias[1:]:
            out.add("Via", value)
        for name in ("from", "to", "call-id", "cseq"):
            out.add(name, headers.get(name) or "")
        out.add("Warning", f'399 {self.host} "{error.reason}"')
        response = Response(error.status, reason_phrase(error.status), out)
        try:
            self._transport.send(response.to_bytes(), response_destination(via, peer))
        except (OSError, ConnectionError) as exc:
            log.warning("cannot answer a malformed request from %s: %s", peer, exc)

    # -- bookkeeping -----------------------------------------------------------------------

    def _new_server_tx(self, request: Request, peer: Peer) -> ServerTransaction:
        tx = ServerTransaction(
            request,
            peer,
            send=self._send,
            timers=self.timers,
            on_terminated=self._on_server_terminated,
        )
        self._server_txs[tx.key] = tx
        if tx.is_invite:
            self._invites[(request.call_id, request.cseq().number)] = tx
        if request.wire and not peer.reliable:
            self._by_datagram[request.wire] = tx
        return tx

    def _server_terminated(self, tx: ServerTransaction) -> None:
        if self._server_txs.get(tx.key) is tx:
            del self._server_txs[tx.key]
        wire = tx.request.wire
        if wire and self._by_datagram.get(wire) is tx:
            del self._by_datagram[wire]
        if tx.is_invite:
            invite_key = (tx.request.call_id, tx.request.cseq().number)
            if self._invites.get(invite_key) is tx:
                del self._invites[invite_key]

    def _client_terminated(self, tx: ClientTransaction) -> None:
        if self._client_txs.get(tx.key) is tx:
            del self._client_txs[tx.key]

    def _spawn(self, work: object, tx: ServerTransaction) -> None:
        assert asyncio.iscoroutine(work)
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._task_done(done, tx))

    def _task_done(self, task: asyncio.Task[None], tx: ServerTransaction) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s handler failed", tx.method, exc_info=exc)
            if not tx.final_sent and tx.state is not TxState.TERMINATED:
                tx.respond(500)

    @property
    def transaction_counts(self) -> tuple[int, int]:
        """Return (server, client) transactions alive, for metrics and tests."""
        return len(self._server_txs), len(self._client_txs)


def destination_for(request: Request) -> Peer:
    """Where a request goes: its first Route, else its Request-URI (no DNS SRV lookups)."""
    routes = request.headers.get_all("route")
    uri = parse_address(routes[0]).uri if routes else parse_uri(request.uri)
    if uri.scheme not in ("sip", "sips"):
        raise SipParseError("cannot send to a non-SIP URI")
    host = uri.params.get("maddr") or uri.host
    port = uri.port or (5061 if uri.scheme == "sips" else DEFAULT_PORT)
    transport = "TCP" if uri.scheme == "sips" else uri.transport
    return Peer(transport, host, port)


def _safe_method(request: Request) -> str:
    return request.method if request.method in KNOWN_METHODS else "request"
